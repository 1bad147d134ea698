#pragma once
// Helpers shared by the XML adapters: typed reads from a validated element tree that fail
// with the element's path, line and column, and number formatting that round-trips.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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

}  // namespace deit::adapters
