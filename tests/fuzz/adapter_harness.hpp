#pragma once
// The body of every adapter harness: decode bytes in one format and check what must hold
// whatever the bytes are.
//  - A refusal names its rule and message; for a document (anything but an empty or
//    oversized one) also the line where the problem is.
//  - validate() and decode() agree: a schema refusal is the same refusal from both.
//  - A decoded message encodes, and the encoding decodes again (an adapter's output always
//    validates against its own schema); a second round trip changes nothing more.
//  - The decoded message translates into every other format, and each translation
//    validates there: this is what the hub does for every receiver. Encoders do not yet
//    honour every facet of every other schema (docs/fuzzing.md lists what is open), so
//    DEIT_FUZZ_TRANSLATIONS=0 turns this check off (scripts/test.sh does, to keep CI stable).

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "adapters/adapter.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace deit::fuzz {

inline const adapters::Registry& fuzz_registry() {
  static const std::shared_ptr<const adapters::Registry> registry = [] {
    auto r = adapters::builtin_registry();
    if (!r) broken("the built-in adapters did not load", r.error().describe());
    return std::move(r).value();
  }();
  return *registry;
}

inline const adapters::Adapter& fuzz_adapter_named(std::string_view format) {
  const adapters::Adapter* a = fuzz_registry().find(format);
  if (a == nullptr) broken("no such adapter (is its schema embedded?)", format);
  return *a;
}

inline void require_round_trip(const adapters::Adapter& a, const model::IncidentMessage& first) {
  const std::string format(a.name());
  auto encoded = a.encode(first);
  if (!encoded) {
    require_explained(encoded.error(), format + " encode");
    return;  // an adapter may refuse to encode, with a reason; it must not produce garbage
  }
  auto second = a.decode(encoded->bytes);
  require(second.ok(), "the adapter's own output does not decode",
          format + ": " + (second.ok() ? "" : second.error().describe()) + "\n" + encoded->bytes);
  if (encoded->findings.empty()) {
    require(second->message == first, "decode(encode(m)) != m although encode reported nothing lost",
            format + "\n" + encoded->bytes);
  }
  auto reencoded = a.encode(second->message);
  require(reencoded.ok(), "a re-decoded message does not encode", format);
  auto third = a.decode(reencoded->bytes);
  require(third.ok() && third->message == second->message, "a second round trip changed the message",
          format + "\n" + reencoded->bytes);
}

inline int fuzz_adapter(std::string_view format, std::string_view bytes) {
  const adapters::Adapter& a = fuzz_adapter_named(format);
  auto decoded = a.decode(bytes);
  auto valid = a.validate(bytes);
  if (!decoded) {
    const Error& e = decoded.error();
    require_explained(e, std::string(format) + " decode");
    const bool whole_document = e.rule == "size" || bytes.empty();
    if (!whole_document) require(e.line > 0, "a refused document without a line", e.describe() + " rule " + e.rule);
    if (!valid) {
      require(valid.error().rule == e.rule && valid.error().line == e.line && valid.error().field == e.field,
              "validate() and decode() refuse differently", valid.error().describe() + " vs " + e.describe());
    }
    return 0;
  }
  require(valid.ok(), "decode() accepted what validate() refuses", valid.ok() ? "" : valid.error().describe());
  require_round_trip(a, decoded->message);
  static const bool check_translations = [] {
    const char* v = std::getenv("DEIT_FUZZ_TRANSLATIONS");
    return v == nullptr || std::string_view(v) != "0";
  }();
  if (!check_translations) return 0;
  for (std::string_view other_name : fuzz_registry().names()) {
    if (other_name == format) continue;
    const adapters::Adapter& other = fuzz_adapter_named(other_name);
    auto translated = other.encode(decoded->message);
    if (!translated) {
      require_explained(translated.error(), std::string(other_name) + " encode");
      continue;
    }
    auto ok = other.validate(translated->bytes);
    require(ok.ok(), "a translation does not validate in its format",
            std::string(format) + " -> " + std::string(other_name) + ": " + (ok.ok() ? "" : ok.error().describe()) +
                "\n" + translated->bytes);
  }
  return 0;
}

}  // namespace deit::fuzz
