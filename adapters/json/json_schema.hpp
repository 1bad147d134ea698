#pragma once
// JSON in, validated: a Boost.JSON parse with limits, then a JSON Schema check, with every
// error naming the JSON pointer, the rule and the line and column of the offending value.
//
// Supports the subset of JSON Schema (draft 2020-12 semantics) the hub's schemas use:
// type, required, properties, additionalProperties (boolean), enum, const, minimum, maximum,
// minLength, maxLength, pattern (ECMAScript, unanchored; refused for strings over 4096
// bytes, which std::regex cannot match without deep recursion), format "date-time"
// (model::is_timestamp), items, minItems, maxItems, plus the annotations $schema, $id, $comment, title, description, default, examples. A schema using
// any other keyword is refused when it is compiled, so nothing is silently left unchecked.
// Beyond JSON Schema, every string must hold only characters XML 1.0 allows (rule
// "characters"): the hub translates JSON into XML formats, which cannot carry the others.
//
// Positions: Boost.JSON does not report where values are, so on an error the validator walks
// the original text along the JSON pointer (a small scanner over text already known to be
// valid JSON) to find the value's offset. The cost is paid only for rejected documents.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "hub/model/result.hpp"

namespace deit::json {

struct Limits {
  std::size_t max_bytes = 1 << 20;  // 1 MiB
  std::size_t max_depth = 32;
};

// Parses one JSON document (UTF-8, nothing after the value but whitespace). Errors are
// rule "well-formed", "size" or "depth" with line and column.
Result<boost::json::value> parse(std::string_view text, const Limits& limits = {});

// One segment of a JSON pointer: a member name or an array index.
struct PointerSegment {
  std::string name;
  std::size_t index = 0;
  bool is_index = false;
};
// RFC 6901 text of a pointer ("/incident/patients/0/age"; "" is the whole document).
std::string pointer_text(const std::vector<PointerSegment>& pointer);
// Byte offset in `text` (valid JSON) of the value at `pointer`, or of its member name when
// `at_name` is set; the closest enclosing value when the pointer does not resolve.
std::size_t locate(std::string_view text, const std::vector<PointerSegment>& pointer, bool at_name = false);

class Schema {
 public:
  // Compiles a schema document. Errors name the schema file and the keyword's pointer.
  static Result<std::shared_ptr<const Schema>> compile(std::string_view schema_text, std::string name);

  // Validates `value` (parsed from `text`) and returns the first error, located in `text`.
  Status validate(const boost::json::value& value, std::string_view text) const;

  // parse() then validate().
  Result<boost::json::value> parse_and_validate(std::string_view text, const Limits& limits = {}) const;

  struct Node;
  ~Schema();

 private:
  Schema() = default;
  std::vector<Node> nodes_;  // nodes_[0] is the root
  std::string name_;
};

}  // namespace deit::json
