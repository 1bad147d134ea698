#include "adapters/xml_support.hpp"

#include <charconv>
#include <string>

namespace deit::adapters {

Error error_at(const xml::Element& element, std::string field, std::string rule, std::string message) {
  Error e = Error::make(std::move(rule), std::move(message), std::move(field));
  e.line = element.line;
  e.column = element.column;
  return e;
}

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

template <typename T>
Result<T> read_number(const xml::Element& element, std::string_view text, const std::string& field,
                      const char* what) {
  text = trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    // Built by appending: GCC 12 at -O3 reports a false -Wrestrict on "'" + std::string(...).
    std::string message;
    message.reserve(text.size() + 32);
    message.append("'").append(text).append("' is not ").append(what);
    return error_at(element, field, "type", std::move(message));
  }
  return value;
}
}  // namespace

Result<std::uint64_t> read_uint64(const xml::Element& element, std::string_view text, const std::string& field) {
  return read_number<std::uint64_t>(element, text, field, "an unsigned integer");
}
Result<int> read_int(const xml::Element& element, std::string_view text, const std::string& field) {
  return read_number<int>(element, text, field, "an integer");
}
Result<double> read_double(const xml::Element& element, std::string_view text, const std::string& field) {
  return read_number<double>(element, text, field, "a number");
}

bool read_bool(std::string_view text, bool fallback) {
  text = trim(text);
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0") return false;
  return fallback;
}

std::string format_double(double value) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return ec == std::errc() ? std::string(buf, end) : std::string("0");
}

XmlFormatAdapter::XmlFormatAdapter(std::string_view name, std::string_view content_type,
                                   std::shared_ptr<const xml::SchemaSet> schemas, std::shared_ptr<MappingStore> mappings,
                                   Read read, Write write)
    : name_(name),
      content_type_(content_type),
      schemas_(std::move(schemas)),
      mappings_(std::move(mappings)),
      read_(std::move(read)),
      write_(std::move(write)) {}

Result<Decoded> XmlFormatAdapter::decode(std::string_view bytes) const {
  auto root = schemas_->parse(bytes);
  if (!root) return root.error();
  return read_(*root, *mappings_->current());
}

Result<Encoded> XmlFormatAdapter::encode(const model::IncidentMessage& message) const {
  Encoded out;
  out.content_type = content_type_;
  out.bytes = write_(message, *mappings_->current(), out.findings);
  return out;
}

Status XmlFormatAdapter::validate(std::string_view bytes) const {
  auto root = schemas_->parse(bytes);
  if (!root) return root.error();
  return Status::success();
}

}  // namespace deit::adapters
