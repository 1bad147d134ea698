#pragma once
// Helpers shared by the XML adapters: typed reads from a validated element tree that fail
// with the element's path, line and column, and number formatting that round-trips.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/adapter.hpp"
#include "adapters/mapping_tables.hpp"
#include "hub/model/result.hpp"
#include "schemas/xml.hpp"

namespace deit::adapters {

// An Error located at `element` (line/column) with `field` as its path.
Error error_at(const xml::Element& element, std::string field, std::string rule, std::string message);

Result<std::uint64_t> read_uint64(const xml::Element& element, std::string_view text, const std::string& field);
Result<int> read_int(const xml::Element& element, std::string_view text, const std::string& field);
Result<double> read_double(const xml::Element& element, std::string_view text, const std::string& field);
// xs:boolean: "true", "false", "1", "0".
bool read_bool(std::string_view text, bool fallback = false);

// Shortest text that parses back to the same double ("51.75", not "51.750000").
std::string format_double(double value);

// An XML format: validated against its schema set, then read and written through the
// code mapping tables current at that moment. The formats differ only in `read` and `write`.
class XmlFormatAdapter final : public Adapter {
 public:
  using Read = std::function<Result<Decoded>(const xml::Element& root, const MappingTables& tables)>;
  using Write = std::function<std::string(const model::IncidentMessage& message, const MappingTables& tables,
                                          std::vector<Finding>& findings)>;

  XmlFormatAdapter(std::string_view name, std::string_view content_type, std::shared_ptr<const xml::SchemaSet> schemas,
                   std::shared_ptr<MappingStore> mappings, Read read, Write write);

  std::string_view name() const override { return name_; }
  std::string_view content_type() const override { return content_type_; }
  Result<Decoded> decode(std::string_view bytes) const override;
  Result<Encoded> encode(const model::IncidentMessage& message) const override;
  Status validate(std::string_view bytes) const override;

 private:
  std::string name_;
  std::string content_type_;
  std::shared_ptr<const xml::SchemaSet> schemas_;
  std::shared_ptr<MappingStore> mappings_;
  Read read_;
  Write write_;
};

}  // namespace deit::adapters
