#include "adapters/json/json_schema.hpp"

#include <boost/json.hpp>

#include <cmath>
#include <optional>
#include <regex>

#include "hub/model/incident.hpp"
#include "schemas/xml.hpp"

namespace deit::json {

namespace bj = boost::json;

namespace {

constexpr std::size_t kMaxPatternInput = 4096;

enum TypeBit : unsigned {
  kObject = 1,
  kArray = 2,
  kString = 4,
  kInteger = 8,
  kNumber = 16,  // includes integers
  kBoolean = 32,
  kNull = 64,
};

Error located(std::string rule, std::string message, std::string field, std::string_view text, std::size_t offset) {
  Error e = Error::make(std::move(rule), std::move(message), std::move(field));
  auto [line, column] = xml::line_column_at(text, offset);
  e.line = line;
  e.column = column;
  return e;
}

// ---- a scanner over text that Boost.JSON has already accepted ----

std::size_t skip_ws(std::string_view t, std::size_t i) {
  while (i < t.size() && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r')) ++i;
  return i;
}

void append_code_point(std::string& out, std::uint32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

std::uint32_t hex4(std::string_view t, std::size_t i) {
  std::uint32_t v = 0;
  for (std::size_t k = i; k < i + 4 && k < t.size(); ++k) {
    char c = t[k];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= static_cast<std::uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f') v |= static_cast<std::uint32_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= static_cast<std::uint32_t>(c - 'A' + 10);
  }
  return v;
}

// Reads the string starting at t[i] == '"'; returns the index after it, the decoded text in `out`.
std::size_t read_string(std::string_view t, std::size_t i, std::string* out) {
  ++i;
  while (i < t.size() && t[i] != '"') {
    if (t[i] == '\\' && i + 1 < t.size()) {
      char e = t[i + 1];
      if (e == 'u') {
        std::uint32_t c = hex4(t, i + 2);
        i += 6;
        if (c >= 0xD800 && c <= 0xDBFF && i + 5 < t.size() && t[i] == '\\' && t[i + 1] == 'u') {
          std::uint32_t low = hex4(t, i + 2);
          if (low >= 0xDC00 && low <= 0xDFFF) {
            c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
            i += 6;
          }
        }
        if (out) append_code_point(*out, c);
        continue;
      }
      if (out) {
        switch (e) {
          case 'n': *out += '\n'; break;
          case 't': *out += '\t'; break;
          case 'r': *out += '\r'; break;
          case 'b': *out += '\b'; break;
          case 'f': *out += '\f'; break;
          default: *out += e;
        }
      }
      i += 2;
      continue;
    }
    if (out) *out += t[i];
    ++i;
  }
  return i + 1;
}

std::size_t skip_value(std::string_view t, std::size_t i) {
  i = skip_ws(t, i);
  if (i >= t.size()) return i;
  const char c = t[i];
  if (c == '"') return read_string(t, i, nullptr);
  if (c == '{' || c == '[') {
    int depth = 0;
    while (i < t.size()) {
      const char d = t[i];
      if (d == '"') {
        i = read_string(t, i, nullptr);
        continue;
      }
      if (d == '{' || d == '[') ++depth;
      if (d == '}' || d == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return i;
  }
  while (i < t.size() && t[i] != ',' && t[i] != '}' && t[i] != ']' && t[i] != ' ' && t[i] != '\n' &&
         t[i] != '\r' && t[i] != '\t')
    ++i;
  return i;
}

// The member `name` of the object at t[i]: offsets of its name and value, last one wins
// (as in Boost.JSON, where a repeated name replaces the earlier value).
bool find_member(std::string_view t, std::size_t object, std::string_view name, std::size_t& name_at,
                 std::size_t& value_at) {
  bool found = false;
  std::size_t i = skip_ws(t, object + 1);
  std::string key;
  while (i < t.size() && t[i] == '"') {
    const std::size_t key_at = i;
    key.clear();
    i = read_string(t, i, &key);
    i = skip_ws(t, i);
    ++i;  // ':'
    i = skip_ws(t, i);
    if (key == name) {
      found = true;
      name_at = key_at;
      value_at = i;
    }
    i = skip_ws(t, skip_value(t, i));
    if (i < t.size() && t[i] == ',') i = skip_ws(t, i + 1);
  }
  return found;
}

bool find_element(std::string_view t, std::size_t array, std::size_t index, std::size_t& value_at) {
  std::size_t i = skip_ws(t, array + 1);
  for (std::size_t k = 0; i < t.size() && t[i] != ']'; ++k) {
    if (k == index) {
      value_at = i;
      return true;
    }
    i = skip_ws(t, skip_value(t, i));
    if (i < t.size() && t[i] == ',') i = skip_ws(t, i + 1);
  }
  return false;
}

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string escape_pointer_token(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

std::string_view kind_name(const bj::value& v) {
  switch (v.kind()) {
    case bj::kind::object: return "an object";
    case bj::kind::array: return "an array";
    case bj::kind::string: return "a string";
    case bj::kind::int64:
    case bj::kind::uint64: return "an integer";
    case bj::kind::double_: return "a number";
    case bj::kind::bool_: return "a boolean";
    case bj::kind::null: return "null";
  }
  return "a value";
}

std::optional<double> as_number(const bj::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  return std::nullopt;
}

bool is_integer(const bj::value& v) {
  if (v.is_int64() || v.is_uint64()) return true;
  return v.is_double() && std::isfinite(v.get_double()) && std::floor(v.get_double()) == v.get_double();
}

bool json_equal(const bj::value& a, const bj::value& b) {
  auto na = as_number(a), nb = as_number(b);
  if (na && nb) return *na == *nb;
  return a == b;
}

}  // namespace

std::string pointer_text(const std::vector<PointerSegment>& pointer) {
  std::string out;
  for (const auto& s : pointer) {
    out += '/';
    out += s.is_index ? std::to_string(s.index) : escape_pointer_token(s.name);
  }
  return out;
}

std::size_t locate(std::string_view text, const std::vector<PointerSegment>& pointer, bool at_name) {
  std::size_t at = skip_ws(text, 0);
  std::size_t name_at = at;
  for (const auto& segment : pointer) {
    if (at >= text.size()) break;
    std::size_t next = 0;
    if (!segment.is_index && text[at] == '{') {
      if (!find_member(text, at, segment.name, name_at, next)) return at;
    } else if (segment.is_index && text[at] == '[') {
      if (!find_element(text, at, segment.index, next)) return at;
      name_at = next;
    } else {
      return at;
    }
    at = next;
  }
  return at_name && !pointer.empty() ? name_at : at;
}

Result<bj::value> parse(std::string_view text, const Limits& limits) {
  if (text.size() > limits.max_bytes) {
    return Error::make("size", "document is " + std::to_string(text.size()) + " bytes; the limit is " +
                                   std::to_string(limits.max_bytes));
  }
  bj::parse_options options;
  options.max_depth = limits.max_depth;
  bj::stream_parser parser({}, options);
  boost::system::error_code ec;
  const std::size_t consumed = parser.write_some(text.data(), text.size(), ec);
  if (!ec && consumed < text.size()) {
    return located("well-formed", "unexpected text after the JSON value", "", text, consumed);
  }
  if (!ec) parser.finish(ec);
  if (ec) {
    const bool too_deep = ec == bj::error::too_deep;
    std::string message = too_deep ? "values are nested more than " + std::to_string(limits.max_depth) + " deep"
                                    : "not valid JSON: " + ec.message();
    if (!too_deep) {
      std::size_t bad = 0;
      if (!xml::is_valid_utf8(text, &bad)) {
        return located("well-formed", "not valid UTF-8", "", text, bad);
      }
    }
    return located(too_deep ? "depth" : "well-formed", std::move(message), "", text, consumed);
  }
  return parser.release();
}

// ---- schema ----

struct Schema::Node {
  unsigned types = 0;  // 0 = any
  std::vector<std::string> required;
  std::vector<std::pair<std::string, std::size_t>> properties;  // name, node index
  bool additional_properties = true;
  std::vector<bj::value> enum_values;
  std::optional<double> minimum, maximum;
  std::optional<std::size_t> min_length, max_length, min_items, max_items;
  std::optional<std::regex> pattern;
  std::string pattern_text;
  bool date_time = false;  // "format": "date-time", checked by model::is_timestamp
  std::optional<std::size_t> items;
};

Schema::~Schema() = default;

namespace {

struct Compiler {
  std::vector<Schema::Node>& nodes;
  const std::string& name;

  Error fail(const std::string& where, std::string message) const {
    return Error::make("schema-load", name + ": " + message, where.empty() ? "/" : where);
  }

  Result<std::size_t> compile(const bj::value& v, const std::string& where) {
    if (!v.is_object()) return fail(where, "a schema must be an object");
    const std::size_t index = nodes.size();
    nodes.emplace_back();
    for (const auto& [key, value] : v.get_object()) {
      const std::string at = where + "/" + escape_pointer_token(key);
      Schema::Node& node = nodes[index];
      if (key == "type") {
        auto add = [&](std::string_view t) -> bool {
          if (t == "object") node.types |= kObject;
          else if (t == "array") node.types |= kArray;
          else if (t == "string") node.types |= kString;
          else if (t == "integer") node.types |= kInteger;
          else if (t == "number") node.types |= kNumber;
          else if (t == "boolean") node.types |= kBoolean;
          else if (t == "null") node.types |= kNull;
          else return false;
          return true;
        };
        if (value.is_string()) {
          if (!add(value.get_string())) return fail(at, "unknown type");
        } else if (value.is_array()) {
          for (const auto& t : value.get_array())
            if (!t.is_string() || !add(t.get_string())) return fail(at, "unknown type");
        } else {
          return fail(at, "type must be a string or an array");
        }
      } else if (key == "required") {
        if (!value.is_array()) return fail(at, "required must be an array");
        for (const auto& r : value.get_array()) {
          if (!r.is_string()) return fail(at, "required must list strings");
          node.required.emplace_back(r.get_string());
        }
      } else if (key == "properties") {
        if (!value.is_object()) return fail(at, "properties must be an object");
        for (const auto& [prop, sub] : value.get_object()) {
          auto child = compile(sub, at + "/" + escape_pointer_token(prop));
          if (!child) return child.error();
          nodes[index].properties.emplace_back(std::string(prop), child.value());
        }
      } else if (key == "additionalProperties") {
        if (!value.is_bool()) return fail(at, "only a boolean additionalProperties is supported");
        node.additional_properties = value.get_bool();
      } else if (key == "enum") {
        if (!value.is_array()) return fail(at, "enum must be an array");
        for (const auto& e : value.get_array()) node.enum_values.push_back(e);
      } else if (key == "const") {
        node.enum_values = {value};
      } else if (key == "minimum" || key == "maximum") {
        auto n = as_number(value);
        if (!n) return fail(at, std::string(key) + " must be a number");
        (key == "minimum" ? node.minimum : node.maximum) = *n;
      } else if (key == "minLength" || key == "maxLength" || key == "minItems" || key == "maxItems") {
        if (!value.is_int64() || value.get_int64() < 0) return fail(at, "must be a non-negative integer");
        const auto n = static_cast<std::size_t>(value.get_int64());
        if (key == "minLength") node.min_length = n;
        else if (key == "maxLength") node.max_length = n;
        else if (key == "minItems") node.min_items = n;
        else node.max_items = n;
      } else if (key == "pattern") {
        if (!value.is_string()) return fail(at, "pattern must be a string");
        node.pattern_text = std::string(value.get_string());
        try {
          node.pattern.emplace(node.pattern_text, std::regex::ECMAScript | std::regex::optimize);
        } catch (const std::regex_error& e) {
          return fail(at, std::string("pattern does not compile: ") + e.what());
        }
      } else if (key == "format") {
        if (!value.is_string() || value.get_string() != "date-time")
          return fail(at, "only the format \"date-time\" is supported");
        node.date_time = true;
      } else if (key == "items") {
        auto child = compile(value, at);
        if (!child) return child.error();
        nodes[index].items = child.value();
      } else if (key == "$schema" || key == "$id" || key == "$comment" || key == "title" || key == "description" ||
                 key == "default" || key == "examples") {
        // annotations
      } else {
        return fail(at, "keyword '" + std::string(key) + "' is not supported by this validator");
      }
    }
    return index;
  }
};

struct Validator {
  const std::vector<Schema::Node>& nodes;
  std::string_view text;
  std::vector<PointerSegment> pointer;

  Error fail(std::string rule, std::string message, bool at_name = false) const {
    return located(std::move(rule), std::move(message), pointer_text(pointer), text, locate(text, pointer, at_name));
  }

  std::optional<Error> check(const bj::value& v, std::size_t node_index) {
    const Schema::Node& node = nodes[node_index];
    if (node.types) {
      bool ok = false;
      switch (v.kind()) {
        case bj::kind::object: ok = node.types & kObject; break;
        case bj::kind::array: ok = node.types & kArray; break;
        case bj::kind::string: ok = node.types & kString; break;
        case bj::kind::int64:
        case bj::kind::uint64: ok = node.types & (kInteger | kNumber); break;
        case bj::kind::double_: ok = (node.types & kNumber) || ((node.types & kInteger) && is_integer(v)); break;
        case bj::kind::bool_: ok = node.types & kBoolean; break;
        case bj::kind::null: ok = node.types & kNull; break;
      }
      if (!ok) return fail("type", "expected " + expected_types(node.types) + ", found " + std::string(kind_name(v)));
    }
    if (!node.enum_values.empty()) {
      bool ok = false;
      for (const auto& e : node.enum_values) ok |= json_equal(e, v);
      if (!ok) {
        std::string allowed;
        for (const auto& e : node.enum_values) allowed += (allowed.empty() ? "" : ", ") + bj::serialize(e);
        return fail("enum", bj::serialize(v) + " is not one of " + allowed);
      }
    }
    if (auto n = as_number(v)) {
      if (node.minimum && *n < *node.minimum)
        return fail("minimum", bj::serialize(v) + " is less than the minimum " + bj::serialize(bj::value(*node.minimum)));
      if (node.maximum && *n > *node.maximum)
        return fail("maximum", bj::serialize(v) + " is more than the maximum " + bj::serialize(bj::value(*node.maximum)));
    }
    if (v.is_string()) {
      const auto s = v.get_string();
      const std::string_view sv(s.data(), s.size());
      // Every string may be translated into an XML format, which cannot carry these.
      if (std::size_t bad = 0; !xml::is_xml_text(sv, &bad))
        return fail("characters", "character " + std::to_string(bad + 1) +
                                      " of the string is a control character or non-character that XML cannot carry");
      const std::size_t length = utf8_length(sv);
      if (node.max_length && length > *node.max_length)
        return fail("maxLength", std::to_string(length) + " characters; at most " + std::to_string(*node.max_length) +
                                     " allowed");
      if (node.min_length && length < *node.min_length)
        return fail("minLength", std::to_string(length) + " characters; at least " + std::to_string(*node.min_length) +
                                     " required");
      // std::regex recurses once per character matched, so a long string can overflow the
      // stack: a pattern is only tried on strings of reasonable length.
      if (node.pattern && sv.size() > kMaxPatternInput)
        return fail("pattern", std::to_string(sv.size()) + " bytes is too long to match " + node.pattern_text +
                                   " (at most " + std::to_string(kMaxPatternInput) + ")");
      if (node.pattern && !std::regex_search(sv.begin(), sv.end(), *node.pattern))
        return fail("pattern", "\"" + std::string(sv) + "\" does not match " + node.pattern_text);
      if (node.date_time && !model::is_timestamp(sv))
        return fail("format", "\"" + std::string(sv) + "\" is not a date and time (RFC 3339, every field in range)");
    }
    if (v.is_array()) {
      const auto& a = v.get_array();
      if (node.max_items && a.size() > *node.max_items)
        return fail("maxItems", std::to_string(a.size()) + " items; at most " + std::to_string(*node.max_items) +
                                    " allowed");
      if (node.min_items && a.size() < *node.min_items)
        return fail("minItems", std::to_string(a.size()) + " items; at least " + std::to_string(*node.min_items) +
                                    " required");
      if (node.items) {
        for (std::size_t i = 0; i < a.size(); ++i) {
          pointer.push_back({{}, i, true});
          if (auto e = check(a[i], *node.items)) return e;
          pointer.pop_back();
        }
      }
    }
    if (v.is_object()) {
      const auto& o = v.get_object();
      for (const auto& r : node.required)
        if (!o.contains(r)) return fail("required", "the member \"" + r + "\" is required");
      for (const auto& [key, member] : o) {
        std::optional<std::size_t> sub;
        for (const auto& [name, index] : node.properties)
          if (name == key) sub = index;
        pointer.push_back({std::string(key), 0, false});
        if (sub) {
          if (auto e = check(member, *sub)) return e;
        } else if (!node.additional_properties) {
          return fail("additionalProperties", "the member \"" + std::string(key) + "\" is not allowed here", true);
        }
        pointer.pop_back();
      }
    }
    return std::nullopt;
  }

  static std::string expected_types(unsigned types) {
    std::string out;
    auto add = [&](unsigned bit, const char* name) {
      if (!(types & bit)) return;
      if (!out.empty()) out += " or ";
      out += name;
    };
    add(kObject, "an object");
    add(kArray, "an array");
    add(kString, "a string");
    add(kInteger, "an integer");
    add(kNumber, "a number");
    add(kBoolean, "a boolean");
    add(kNull, "null");
    return out;
  }
};

}  // namespace

Result<std::shared_ptr<const Schema>> Schema::compile(std::string_view schema_text, std::string name) {
  auto doc = parse(schema_text, Limits{4 << 20, 64});
  if (!doc) {
    Error e = doc.error();
    e.rule = "schema-load";
    e.field = name;
    return e;
  }
  std::shared_ptr<Schema> schema(new Schema());
  schema->name_ = std::move(name);
  Compiler compiler{schema->nodes_, schema->name_};
  auto root = compiler.compile(doc.value(), "");
  if (!root) return root.error();
  return std::shared_ptr<const Schema>(std::move(schema));
}

Status Schema::validate(const bj::value& value, std::string_view text) const {
  Validator validator{nodes_, text, {}};
  if (auto e = validator.check(value, 0)) {
    // One rule for every schema violation, as for XML; the keyword leads the message.
    e->message = e->rule + ": " + e->message;
    e->rule = "schema";
    return *e;
  }
  return Status::success();
}

Result<bj::value> Schema::parse_and_validate(std::string_view text, const Limits& limits) const {
  auto value = parse(text, limits);
  if (!value) return value.error();
  if (auto status = validate(value.value(), text); !status) return status.error();
  return value;
}

}  // namespace deit::json
