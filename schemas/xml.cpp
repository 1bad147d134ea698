#include "schemas/xml.hpp"

#include <xercesc/framework/MemBufInputSource.hpp>
#include <xercesc/framework/XMLGrammarPoolImpl.hpp>
#include <xercesc/sax/EntityResolver.hpp>
#include <xercesc/sax/ErrorHandler.hpp>
#include <xercesc/sax/Locator.hpp>
#include <xercesc/sax/SAXParseException.hpp>
#include <xercesc/sax2/Attributes.hpp>
#include <xercesc/sax2/ContentHandler.hpp>
#include <xercesc/sax2/LexicalHandler.hpp>
#include <xercesc/sax2/SAX2XMLReader.hpp>
#include <xercesc/sax2/XMLReaderFactory.hpp>
#include <xercesc/util/OutOfMemoryException.hpp>
#include <xercesc/util/PlatformUtils.hpp>
#include <xercesc/util/SecurityManager.hpp>
#include <xercesc/util/XMLException.hpp>
#include <xercesc/util/XMLUni.hpp>
#include <xercesc/util/regx/RangeToken.hpp>
#include <xercesc/util/regx/RegularExpression.hpp>
#include <xercesc/util/regx/Token.hpp>
#include <xercesc/validators/common/Grammar.hpp>
#include <xercesc/validators/datatype/DatatypeValidator.hpp>
#include <xercesc/validators/datatype/DatatypeValidatorFactory.hpp>
#include <xercesc/validators/schema/SchemaAttDef.hpp>
#include <xercesc/validators/schema/SchemaElementDecl.hpp>
#include <xercesc/validators/schema/SchemaGrammar.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace deit::xml {

namespace x = xercesc;

namespace {

void ensure_xerces_initialised() {
  // Xerces is initialised once for the process and never terminated: parsers live in
  // thread-local caches until their threads end.
  static std::once_flag once;
  std::call_once(once, [] { x::XMLPlatformUtils::Initialize(); });
}

// UTF-16 (XMLCh) to UTF-8 without the transcoder service: this runs for every name,
// attribute and text node, so ASCII (nearly all of what the formats carry) is narrowed in
// chunks through a local buffer, in a loop without early exits that the compiler
// vectorises; from the first chunk holding anything else on, the general path.
void append_utf8(std::string& out, const XMLCh* s, std::size_t n) {
  char chunk[128];
  while (n > 0) {
    const std::size_t m = std::min(n, sizeof chunk);
    XMLCh seen = 0;
    for (std::size_t i = 0; i < m; ++i) {
      seen |= s[i];
      chunk[i] = static_cast<char>(s[i]);
    }
    if (seen >= 0x80) break;
    out.append(chunk, m);
    s += m;
    n -= m;
  }
  if (n == 0) return;
  const std::size_t base = out.size();
  // Worst case 3 bytes per UTF-16 unit (a surrogate pair, 2 units, makes 4 bytes).
  out.resize(base + 3 * n);
  char* p = out.data() + base;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t c = s[i];
    if (c < 0x80) {
      *p++ = static_cast<char>(c);
      continue;
    }
    if (c >= 0xD800 && c <= 0xDBFF && i + 1 < n && s[i + 1] >= 0xDC00 && s[i + 1] <= 0xDFFF) {
      c = 0x10000 + ((c - 0xD800) << 10) + (s[i + 1] - 0xDC00);
      ++i;
    }
    if (c < 0x800) {
      *p++ = static_cast<char>(0xC0 | (c >> 6));
      *p++ = static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      *p++ = static_cast<char>(0xE0 | (c >> 12));
      *p++ = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      *p++ = static_cast<char>(0x80 | (c & 0x3F));
    } else {
      *p++ = static_cast<char>(0xF0 | (c >> 18));
      *p++ = static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      *p++ = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      *p++ = static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  out.resize(static_cast<std::size_t>(p - out.data()));
}

void assign_utf8(std::string& out, const XMLCh* s) {
  out.clear();
  if (s) append_utf8(out, s, x::XMLString::stringLen(s));
}

std::string utf8(const XMLCh* s) {
  std::string out;
  if (s) append_utf8(out, s, x::XMLString::stringLen(s));
  return out;
}

// Refuses every entity and external resource at parse time; at schema load time,
// resolves imports and includes from the set's own in-memory XSDs only.
class ClosedResolver final : public x::EntityResolver {
 public:
  explicit ClosedResolver(const std::vector<std::pair<std::string, std::string>>* sources = nullptr)
      : sources_(sources) {}
  x::InputSource* resolveEntity(const XMLCh* const, const XMLCh* const system_id) override {
    std::string wanted = utf8(system_id);
    auto slash = wanted.find_last_of('/');
    if (slash != std::string::npos) wanted.erase(0, slash + 1);
    if (sources_) {
      for (const auto& [name, text] : *sources_) {
        if (name == wanted) {
          return new x::MemBufInputSource(reinterpret_cast<const XMLByte*>(text.data()), text.size(),
                                          name.c_str(), false);
        }
      }
    }
    throw x::SAXException("external resources are not allowed");
  }

 private:
  const std::vector<std::pair<std::string, std::string>>* sources_;
};

struct ParseFailure {};

// Builds the Element tree, enforces the depth limit, forbids DOCTYPE and records the
// first error with the path of the element being read.
//
// Open elements sit on a stack; a finished element waits in `finished_` until its parent
// ends, and then moves into the parent's children in one exactly sized step. So no
// children vector ever grows element by element (each growth moved and destroyed every
// sibling so far), and the two stacks keep their capacity from one document to the next.
class TreeBuilder final : public x::ContentHandler, public x::ErrorHandler, public x::LexicalHandler {
 public:
  explicit TreeBuilder(int max_depth) : max_depth_(max_depth) {}

  std::optional<Error> first_error;

  void reset(int max_depth) {
    max_depth_ = max_depth;
    open_.clear();
    child_marks_.clear();
    finished_.clear();
    // A document of many thousands of elements must not leave its stack allocated forever.
    if (finished_.capacity() > kKeptCapacity) std::vector<Element>().swap(finished_);
    first_error.reset();
    locator_ = nullptr;
    last_uri_ = nullptr;
    last_ns_.reset();
  }

  // The document's root once parsing succeeded: every element has ended, leaving one.
  Element take_root() {
    Element root = finished_.size() == 1 ? std::move(finished_.front()) : Element{};
    finished_.clear();
    return root;
  }

  std::string path() const {
    std::string p;
    for (const Element& e : open_) {
      p += '/';
      p += e.name;
    }
    return p.empty() ? "/" : p;
  }

  // Every error here is in the document: one Xerces reports before it has read a line
  // (an undecodable first line, say) is located at its start, never at line 0.
  void fail(std::string rule, std::string message, int line, int column) {
    if (first_error) return;
    Error e = Error::make(std::move(rule), std::move(message), path());
    e.line = std::max(line, 1);
    e.column = std::max(column, 1);
    first_error = std::move(e);
  }

  int line() const { return locator_ ? static_cast<int>(locator_->getLineNumber()) : 0; }
  int column() const { return locator_ ? static_cast<int>(locator_->getColumnNumber()) : 0; }

  // ContentHandler
  void setDocumentLocator(const x::Locator* const locator) override { locator_ = locator; }
  void startDocument() override {}
  void endDocument() override {}
  void startPrefixMapping(const XMLCh* const, const XMLCh* const) override {}
  void endPrefixMapping(const XMLCh* const) override {}
  void skippedEntity(const XMLCh* const) override {}
  void processingInstruction(const XMLCh* const, const XMLCh* const) override {}
  void ignorableWhitespace(const XMLCh* const, const XMLSize_t) override {}

  void startElement(const XMLCh* const uri, const XMLCh* const localname, const XMLCh* const,
                    const x::Attributes& attrs) override {
    if (static_cast<int>(open_.size()) >= max_depth_) {
      fail("depth", "elements are nested more than " + std::to_string(max_depth_) + " deep", line(), column());
      throw x::SAXException("depth limit");
    }
    Element& e = open_.emplace_back();
    child_marks_.push_back(finished_.size());
    assign_utf8(e.name, localname);
    // Xerces hands every element of a namespace the same string from its URI pool, which
    // lives as long as the document: convert each namespace once per document, and let its
    // elements share the result.
    if (uri != last_uri_ || !last_ns_) {
      std::string ns;
      assign_utf8(ns, uri);
      last_ns_ = std::make_shared<const std::string>(std::move(ns));
      last_uri_ = uri;
    }
    e.ns = last_ns_;
    e.line = line();
    e.column = column();
    const XMLSize_t n = attrs.getLength();
    if (n == 0) return;
    e.attributes.resize(n);
    for (XMLSize_t i = 0; i < n; ++i) {
      assign_utf8(e.attributes[i].first, attrs.getLocalName(i));
      assign_utf8(e.attributes[i].second, attrs.getValue(i));
    }
  }

  void endElement(const XMLCh* const, const XMLCh* const, const XMLCh* const) override {
    Element& e = open_.back();
    const std::size_t first_child = child_marks_.back();
    child_marks_.pop_back();
    if (first_child < finished_.size()) {
      const auto begin = finished_.begin() + static_cast<std::ptrdiff_t>(first_child);
      e.children.reserve(static_cast<std::size_t>(finished_.end() - begin));
      std::move(begin, finished_.end(), std::back_inserter(e.children));
      finished_.erase(begin, finished_.end());
    }
    finished_.push_back(std::move(e));
    open_.pop_back();
  }

  void characters(const XMLCh* const chars, const XMLSize_t length) override {
    if (!open_.empty()) append_utf8(open_.back().text, chars, length);
  }

  // ErrorHandler: stop at the first error so the partner sees the cause, not its echoes.
  void warning(const x::SAXParseException&) override {}
  void error(const x::SAXParseException& e) override { record(e, "schema"); }
  void fatalError(const x::SAXParseException& e) override { record(e, "well-formed"); }
  void resetErrors() override {}

  // LexicalHandler: a DOCTYPE is the door to DTDs and entity expansion; keep it shut.
  void startDTD(const XMLCh* const, const XMLCh* const, const XMLCh* const) override {
    fail("doctype", "DOCTYPE declarations are not allowed", line(), column());
    throw x::SAXException("doctype");
  }
  void endDTD() override {}
  void startEntity(const XMLCh* const) override {}
  void endEntity(const XMLCh* const) override {}
  void startCDATA() override {}
  void endCDATA() override {}
  void comment(const XMLCh* const, const XMLSize_t) override {}

 private:
  static constexpr std::size_t kKeptCapacity = 4096;

  void record(const x::SAXParseException& e, const char* rule) {
    fail(rule, utf8(e.getMessage()), static_cast<int>(e.getLineNumber()), static_cast<int>(e.getColumnNumber()));
    throw x::SAXException("stop");
  }

  int max_depth_;
  std::vector<Element> open_;               // the elements being read, outermost first
  std::vector<std::size_t> child_marks_;    // per open element: where its children start in finished_
  std::vector<Element> finished_;           // ended elements whose parent has not ended yet
  const XMLCh* last_uri_ = nullptr;         // the namespace last converted, in this document
  std::shared_ptr<const std::string> last_ns_;
  const x::Locator* locator_ = nullptr;
};

// Xerces decodes ahead of the parser and reports a bad byte at the parser's position, often
// line 1. A document in UTF-8 (no BOM for another encoding, no other encoding declared) is
// checked here instead, so the refusal points at the byte itself.
std::optional<Error> invalid_utf8_position(std::string_view document) {
  const auto starts = [&](std::string_view prefix) { return document.substr(0, prefix.size()) == prefix; };
  if (starts("\xFE\xFF") || starts("\xFF\xFE") || document.substr(0, 4).find('\0') != std::string_view::npos)
    return std::nullopt;  // UTF-16 or UTF-32, with or without a byte order mark
  if (starts("<?xml")) {
    const std::string_view declaration = document.substr(0, document.find("?>"));
    const auto at = declaration.find("encoding");
    if (at != std::string_view::npos) {
      const auto quote = declaration.find_first_of("\"'", at);
      std::string name;
      for (std::size_t i = quote == std::string_view::npos ? declaration.size() : quote + 1;
           i < declaration.size() && declaration[i] != '"' && declaration[i] != '\''; ++i)
        name += static_cast<char>(std::tolower(static_cast<unsigned char>(declaration[i])));
      if (name != "utf-8" && name != "utf8") return std::nullopt;  // Xerces decodes the others
    }
  } else if (!starts("<") && !starts("\xEF\xBB\xBF") && !starts(" ") && !starts("\n") && !starts("\r") && !starts("\t")) {
    return std::nullopt;  // not recognisably UTF-8 XML: Xerces reports what it is
  }
  std::size_t offset = 0;
  if (is_valid_utf8(document, &offset)) return std::nullopt;
  const auto [line, column] = line_column_at(document, offset);
  char byte[8];
  std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(document[offset]));
  Error e = Error::make("well-formed", std::string("not valid UTF-8: byte ") + byte + " does not continue a character", "/");
  e.line = line;
  e.column = column;
  return e;
}

std::atomic<std::uint64_t> next_set_id{1};
std::atomic<std::size_t> default_max_bytes{Limits{}.max_bytes};
std::atomic<int> default_max_depth{Limits{}.max_depth};

}  // namespace

Limits default_limits() { return Limits{default_max_bytes.load(), default_max_depth.load()}; }

void set_default_limits(const Limits& limits) {
  default_max_bytes = limits.max_bytes;
  default_max_depth = limits.max_depth;
}

struct SchemaSet::Impl {
  std::uint64_t id = next_set_id++;
  std::unique_ptr<x::XMLGrammarPoolImpl> pool;
  std::vector<std::string> namespaces;
  // Whether any element declares xs:key, xs:unique or xs:keyref. Checking costs Xerces work
  // at every element even when there is nothing to check, so it is on exactly when there is.
  bool identity_constraints = false;
  x::SecurityManager security;

  ~Impl() = default;
};

namespace {

struct CachedParser {
  std::shared_ptr<SchemaSet::Impl> keep_alive;  // the pool must outlive its parsers
  std::unique_ptr<TreeBuilder> builder;
  std::unique_ptr<ClosedResolver> resolver;
  std::unique_ptr<x::SAX2XMLReader> reader;
};

bool declares_identity_constraints(x::XMLGrammarPool& pool) {
  auto grammars = pool.getGrammarEnumerator();
  while (grammars.hasMoreElements()) {
    x::Grammar& grammar = grammars.nextElement();
    if (grammar.getGrammarType() != x::Grammar::SchemaGrammarType) continue;
    auto elements = static_cast<x::SchemaGrammar&>(grammar).getElemEnumerator();
    while (elements.hasMoreElements())
      if (elements.nextElement().getIdentityConstraintCount() > 0) return true;
  }
  return false;
}

// Xerces builds a character class's lookup table the first time a match uses it
// (RangeToken::createMap), without a lock. The pool's patterns, and the built-in types'
// (xs:integer is a pattern), are shared by every thread's parser, so two threads meeting a
// class first at the same moment both build it: a race, and with Xerces' assertions on an
// abort ("RangeToken.cpp: Assertion `!fMap' failed", seen once in CI). These build every
// table while one thread has the patterns to itself.

// Xerces keeps these protected; a derived class may name them, and is never instantiated.
struct RegexTokens : x::RegularExpression {
  static const x::Token* tree(const x::RegularExpression& r) { return r.*(&RegexTokens::fTokenTree); }
  static x::RangeToken* first_char(const x::RegularExpression& r) { return r.*(&RegexTokens::fFirstChar); }
};
struct TypePattern : x::DatatypeValidator {
  static const x::RegularExpression* of(const x::DatatypeValidator& v) { return (v.*(&TypePattern::getRegex))(); }
};

void build_class_tables(const x::Token* token) {
  if (token == nullptr) return;
  const auto type = token->getTokenType();
  if (type == x::Token::T_RANGE || type == x::Token::T_NRANGE)
    const_cast<x::RangeToken*>(static_cast<const x::RangeToken*>(token))->createMap();
  for (XMLSize_t i = 0; i < token->size(); ++i) build_class_tables(token->getChild(i));
}

void build_class_tables(const x::DatatypeValidator* type) {
  for (; type != nullptr; type = type->getBaseValidator()) {
    if (const x::RegularExpression* pattern = TypePattern::of(*type)) {
      build_class_tables(RegexTokens::tree(*pattern));
      if (x::RangeToken* first = RegexTokens::first_char(*pattern)) first->createMap();
    }
  }
}

void build_class_tables(x::DVHashTable* types) {
  if (types == nullptr) return;
  x::RefHashTableOfEnumerator<x::DatatypeValidator> each(types, false, x::XMLPlatformUtils::fgMemoryManager);
  while (each.hasMoreElements()) build_class_tables(&each.nextElement());
}

// Every pattern the pool's grammars can use: the built-in types, each grammar's named
// types, and the types of its elements and attributes (anonymous ones included).
void build_class_tables(x::XMLGrammarPool& pool) {
  build_class_tables(x::DatatypeValidatorFactory::getBuiltInRegistry());
  auto grammars = pool.getGrammarEnumerator();
  while (grammars.hasMoreElements()) {
    x::Grammar& grammar = grammars.nextElement();
    if (grammar.getGrammarType() != x::Grammar::SchemaGrammarType) continue;
    auto& schema = static_cast<x::SchemaGrammar&>(grammar);
    build_class_tables(schema.getDatatypeRegistry()->getUserDefinedRegistry());
    auto elements = schema.getElemEnumerator();
    while (elements.hasMoreElements()) {
      const x::SchemaElementDecl& element = elements.nextElement();
      build_class_tables(element.getDatatypeValidator());
      if (!element.hasAttDefs()) continue;  // getAttDefList throws for an element without any
      const x::XMLAttDefList& attributes = element.getAttDefList();
      for (XMLSize_t i = 0; i < attributes.getAttDefCount(); ++i)
        build_class_tables(static_cast<const x::SchemaAttDef&>(attributes.getAttDef(i)).getDatatypeValidator());
    }
  }
}

void set_secure_features(x::SAX2XMLReader& r, x::SecurityManager* security) {
  r.setFeature(x::XMLUni::fgSAX2CoreNameSpaces, true);
  r.setFeature(x::XMLUni::fgSAX2CoreNameSpacePrefixes, false);
  r.setFeature(x::XMLUni::fgSAX2CoreValidation, true);
  r.setFeature(x::XMLUni::fgXercesDynamic, false);
  r.setFeature(x::XMLUni::fgXercesSchema, true);
  r.setFeature(x::XMLUni::fgXercesSchemaFullChecking, false);
  r.setFeature(x::XMLUni::fgXercesLoadExternalDTD, false);
  r.setFeature(x::XMLUni::fgXercesDisableDefaultEntityResolution, true);
  r.setFeature(x::XMLUni::fgXercesIdentityConstraintChecking, true);
  r.setFeature(x::XMLUni::fgXercesHandleMultipleImports, true);
  r.setProperty(x::XMLUni::fgXercesSecurityManager, security);
}

}  // namespace

SchemaSet::SchemaSet(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
SchemaSet::~SchemaSet() = default;

Result<std::shared_ptr<const SchemaSet>> SchemaSet::load(const std::vector<SchemaSource>& schemas) {
  ensure_xerces_initialised();
  auto impl = std::make_shared<Impl>();
  impl->pool = std::make_unique<x::XMLGrammarPoolImpl>(x::XMLPlatformUtils::fgMemoryManager);
  impl->security.setEntityExpansionLimit(100);

  std::vector<std::pair<std::string, std::string>> sources;
  for (const auto& s : schemas) sources.emplace_back(s.system_id, std::string(s.text));

  TreeBuilder builder(1000);
  ClosedResolver resolver(&sources);
  std::unique_ptr<x::SAX2XMLReader> reader(
      x::XMLReaderFactory::createXMLReader(x::XMLPlatformUtils::fgMemoryManager, impl->pool.get()));
  set_secure_features(*reader, &impl->security);
  reader->setFeature(x::XMLUni::fgXercesSchemaFullChecking, true);
  reader->setErrorHandler(&builder);
  reader->setEntityResolver(&resolver);

  for (const auto& [name, text] : sources) {
    builder.reset(1000);
    x::MemBufInputSource input(reinterpret_cast<const XMLByte*>(text.data()), text.size(), name.c_str(), false);
    try {
      if (!reader->loadGrammar(input, x::Grammar::SchemaGrammarType, true)) {
        return Error::make("schema-load", "could not compile schema " + name);
      }
    } catch (const x::SAXException&) {
    } catch (const x::XMLException& e) {
      return Error::make("schema-load", name + ": " + utf8(e.getMessage()));
    }
    if (builder.first_error) {
      Error e = *builder.first_error;
      e.field = name;
      return e;
    }
  }
  for (const auto& s : schemas) impl->namespaces.push_back(s.target_namespace);
  impl->identity_constraints = declares_identity_constraints(*impl->pool);
  impl->pool->lockPool();
  {
    // The built-in types are shared by every schema set and loads may overlap; the first
    // load builds their tables before any set can parse, later ones find them built.
    static std::mutex building;
    std::lock_guard lock(building);
    build_class_tables(*impl->pool);
  }
  return std::shared_ptr<const SchemaSet>(new SchemaSet(std::move(impl)));
}

Result<Element> SchemaSet::parse(std::string_view document, const Limits& limits) const {
  if (document.size() > limits.max_bytes) {
    return Error::make("size", "document is " + std::to_string(document.size()) + " bytes; the limit is " +
                                   std::to_string(limits.max_bytes));
  }
  if (document.empty()) return Error::make("well-formed", "document is empty");
  if (auto bad = invalid_utf8_position(document)) return *bad;

  thread_local std::unordered_map<std::uint64_t, CachedParser> parsers;
  CachedParser& p = parsers[impl_->id];
  if (!p.reader) {
    p.keep_alive = impl_;
    p.builder = std::make_unique<TreeBuilder>(limits.max_depth);
    p.resolver = std::make_unique<ClosedResolver>();
    p.reader.reset(x::XMLReaderFactory::createXMLReader(x::XMLPlatformUtils::fgMemoryManager, impl_->pool.get()));
    set_secure_features(*p.reader, &impl_->security);
    p.reader->setFeature(x::XMLUni::fgXercesIdentityConstraintChecking, impl_->identity_constraints);
    // Only grammars already in the locked pool; schemaLocation hints are ignored.
    p.reader->setFeature(x::XMLUni::fgXercesUseCachedGrammarInParse, true);
    p.reader->setFeature(x::XMLUni::fgXercesLoadSchema, false);
    p.reader->setContentHandler(p.builder.get());
    p.reader->setErrorHandler(p.builder.get());
    p.reader->setLexicalHandler(p.builder.get());
    p.reader->setEntityResolver(p.resolver.get());
  }
  TreeBuilder& b = *p.builder;
  b.reset(limits.max_depth);

  x::MemBufInputSource input(reinterpret_cast<const XMLByte*>(document.data()), document.size(), "document", false);
  // The document outlives the parse: Xerces reads it in place instead of copying it first.
  input.setCopyBufToStream(false);
  try {
    p.reader->parse(input);
  } catch (const x::SAXException&) {
  } catch (const x::XMLException& e) {
    // getSrcLine() is a line of Xerces' own source code, not of the document.
    b.fail("well-formed", utf8(e.getMessage()), b.line(), b.column());
  } catch (const x::OutOfMemoryException&) {
    b.fail("size", "document too large to parse", 0, 0);
  }
  if (b.first_error) return *b.first_error;

  Element root = b.take_root();
  bool known_namespace = false;
  const std::string root_ns = root.ns ? *root.ns : std::string();
  for (const auto& ns : impl_->namespaces) known_namespace |= (ns == root_ns);
  if (!known_namespace) {
    Error e = Error::make("namespace",
                          "root element '" + root.name + "' in namespace '" + root_ns + "' is not a known format",
                          "/" + root.name);
    e.line = root.line;
    e.column = root.column;
    return e;
  }
  return root;
}

// ---- Element ----

const Element* Element::child(std::string_view local_name) const {
  for (const auto& c : children)
    if (c.name == local_name) return &c;
  return nullptr;
}

std::vector<const Element*> Element::children_named(std::string_view local_name) const {
  std::vector<const Element*> out;
  for (const auto& c : children)
    if (c.name == local_name) out.push_back(&c);
  return out;
}

std::string_view Element::child_text(std::string_view local_name) const {
  const Element* c = child(local_name);
  return c ? std::string_view(c->text) : std::string_view();
}

std::string_view Element::attribute(std::string_view local_name) const {
  for (const auto& [k, v] : attributes)
    if (k == local_name) return v;
  return {};
}

bool Element::has_attribute(std::string_view local_name) const {
  for (const auto& [k, v] : attributes)
    if (k == local_name) return true;
  return false;
}

// ---- Writer ----

namespace {
constexpr bool needs_escape(char c) { return c == '&' || c == '<' || c == '>' || c == '"' || c == '\''; }

void append_attributes(std::string& out,
                       std::initializer_list<std::pair<std::string_view, std::string_view>> attributes) {
  for (const auto& [k, v] : attributes) {
    if (v.empty()) continue;
    out += ' ';
    out += k;
    out += "=\"";
    append_escaped(out, v);
    out += '"';
  }
}
}  // namespace

void append_escaped(std::string& out, std::string_view text) {
  // Runs without a special character (nearly all text) are appended whole.
  std::size_t from = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (!needs_escape(c)) continue;
    out.append(text.data() + from, i - from);
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += "&apos;"; break;
    }
    from = i + 1;
  }
  out.append(text.data() + from, text.size() - from);
}

void Writer::declaration() { out_ += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"; }

void Writer::open(std::string_view name,
                  std::initializer_list<std::pair<std::string_view, std::string_view>> attributes) {
  out_ += '<';
  out_ += name;
  append_attributes(out_, attributes);
  out_ += '>';
  open_names_ += name;
  open_lengths_.push_back(name.size());
  inline_text_ = false;
}

void Writer::close() {
  const std::size_t length = open_lengths_.back();
  open_lengths_.pop_back();
  out_ += "</";
  out_.append(open_names_, open_names_.size() - length, length);
  out_ += '>';
  open_names_.resize(open_names_.size() - length);
}

void Writer::leaf(std::string_view name, std::string_view text,
                  std::initializer_list<std::pair<std::string_view, std::string_view>> attributes) {
  out_ += '<';
  out_ += name;
  append_attributes(out_, attributes);
  out_ += '>';
  append_escaped(out_, text);
  out_ += "</";
  out_ += name;
  out_ += '>';
}

void Writer::optional_leaf(std::string_view name, std::string_view text) {
  if (!text.empty()) leaf(name, text);
}

void Writer::raw_text(std::string_view text) { append_escaped(out_, text); }

void Writer::markup(std::string_view xml) { out_ += xml; }

// ---- text helpers ----

std::pair<int, int> line_column_at(std::string_view text, std::size_t offset) {
  int line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

bool is_valid_utf8(std::string_view text, std::size_t* bad_offset) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  auto bad = [&] {
    if (bad_offset) *bad_offset = i;
    return false;
  };
  while (i < n) {
    // Eight ASCII bytes at a time: documents are nearly all ASCII.
    while (i + 8 <= n) {
      std::uint64_t word;
      std::memcpy(&word, s + i, sizeof word);
      if (word & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i == n) break;
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return bad();
    }
    if (i + len > n) return bad();
    for (int k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return bad();
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return bad();
    i += len;
  }
  return true;
}

bool is_xml_text(std::string_view text, std::size_t* bad_offset) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool control = s[i] < 0x20 && s[i] != '\t' && s[i] != '\n' && s[i] != '\r';
    const bool non_character = s[i] == 0xEF && i + 2 < text.size() && s[i + 1] == 0xBF && (s[i + 2] == 0xBE || s[i + 2] == 0xBF);
    if (control || non_character) {
      if (bad_offset) *bad_offset = i;
      return false;
    }
  }
  return true;
}

}  // namespace deit::xml
