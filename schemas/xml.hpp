#pragma once
// Validated XML in, a small element tree out; and a writer for the way back.
//
// SchemaSet holds XSDs in a locked Xerces-C++ grammar pool. parse() validates a document
// against it while building an Element tree in one pass. It is hardened for input from
// outside: no DOCTYPE (so no DTD, no internal or external entities, no "billion laughs"),
// nothing fetched from the network or disk, a size limit and an element depth limit.
// Every refusal is an Error with the rule, the element path and the line and column.

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hub/model/result.hpp"

namespace deit::xml {

struct Element {
  std::string name;  // local name
  // Namespace URI: one string shared by a parsed document's elements in that namespace
  // (null only in an Element built by hand).
  std::shared_ptr<const std::string> ns;
  std::vector<std::pair<std::string, std::string>> attributes;  // local name, value
  std::string text;  // character data directly inside this element
  std::vector<Element> children;
  int line = 0;
  int column = 0;

  // First child with this local name, or nullptr.
  const Element* child(std::string_view local_name) const;
  std::vector<const Element*> children_named(std::string_view local_name) const;
  // Text of the first child with this name ("" when absent).
  std::string_view child_text(std::string_view local_name) const;
  // Attribute value ("" when absent).
  std::string_view attribute(std::string_view local_name) const;
  bool has_attribute(std::string_view local_name) const;
};

struct Limits {
  std::size_t max_bytes = 1 << 20;  // 1 MiB
  int max_depth = 32;
};

// The limits parse() applies when the caller names none; the hub sets them once from its
// configuration at start-up.
Limits default_limits();
void set_default_limits(const Limits& limits);

struct SchemaSource {
  std::string target_namespace;  // must equal the XSD's targetNamespace
  std::string system_id;         // a name for messages, e.g. "deit-incident-1.xsd"
  std::string_view text;         // the XSD itself (the set keeps a copy)
};

class SchemaSet {
 public:
  // Compiles the XSDs into a grammar pool and locks it. Fails with the XSD's line/column.
  static Result<std::shared_ptr<const SchemaSet>> load(const std::vector<SchemaSource>& schemas);

  // Parses and validates `document` against the set; the root element's namespace must be
  // one of the set's. Thread-safe: each thread keeps its own parser over the shared pool.
  Result<Element> parse(std::string_view document, const Limits& limits = default_limits()) const;

  ~SchemaSet();
  SchemaSet(const SchemaSet&) = delete;
  SchemaSet& operator=(const SchemaSet&) = delete;

  struct Impl;

 private:
  explicit SchemaSet(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// Appends well-formed, escaped XML to a string. Elements are closed in order; the caller
// is responsible for producing a document that its schema accepts.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void declaration();
  // Opens <name attr="v"...>; attributes with empty values are left out.
  void open(std::string_view name, std::initializer_list<std::pair<std::string_view, std::string_view>> attributes = {});
  void close();
  // <name>text</name>, always written.
  void leaf(std::string_view name, std::string_view text,
            std::initializer_list<std::pair<std::string_view, std::string_view>> attributes = {});
  // <name>text</name>, only when text is not empty.
  void optional_leaf(std::string_view name, std::string_view text);
  void raw_text(std::string_view text);  // escaped character data inside the open element
  // Appends XML that is already well formed and escaped (what another Writer produced).
  void markup(std::string_view xml);

 private:
  std::string& out_;
  std::string open_names_;                // the open elements' names, outermost first
  std::vector<std::size_t> open_lengths_;  // and their lengths
  bool inline_text_ = false;
};

// Escapes &, <, >, " and ' for use in text or attribute values.
void append_escaped(std::string& out, std::string_view text);

// Converts a byte offset to 1-based line and column (for JSON and other text errors).
std::pair<int, int> line_column_at(std::string_view text, std::size_t offset);

// True when `text` is valid UTF-8 (no overlongs, no surrogates, max U+10FFFF).
bool is_valid_utf8(std::string_view text, std::size_t* bad_offset = nullptr);

// True when valid UTF-8 `text` holds only characters XML 1.0 allows (no control characters
// but tab, LF and CR; no U+FFFE or U+FFFF): what a JSON string must hold to be carried into
// an XML format.
bool is_xml_text(std::string_view text, std::size_t* bad_offset = nullptr);

}  // namespace deit::xml
