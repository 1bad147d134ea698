#pragma once
// Shared by the libFuzzer harnesses in tests/fuzz/. A harness checks invariants with
// require(); a broken one prints what and why and aborts, so libFuzzer (or the corpus
// replay test of the normal build) stops and keeps the input that broke it.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "hub/model/result.hpp"

namespace deit::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

[[noreturn]] inline void broken(std::string_view what, std::string_view detail) {
  std::fprintf(stderr, "\nfuzz invariant broken: %.*s\n%.*s\n", static_cast<int>(what.size()), what.data(),
               static_cast<int>(detail.size()), detail.data());
  std::fflush(stderr);
  std::abort();
}

inline void require(bool holds, std::string_view what, std::string_view detail = {}) {
  if (!holds) broken(what, detail);
}

// Every refusal must tell a partner what was wrong: a rule id and a sentence, and a
// location that is never negative.
inline void require_explained(const Error& e, std::string_view where) {
  const std::string detail = std::string(where) + ": " + e.describe() + " [rule '" + e.rule + "']";
  require(!e.rule.empty(), "an error without a rule", detail);
  require(!e.message.empty(), "an error without a message", detail);
  require(e.line >= 0 && e.column >= 0, "an error with a negative line or column", detail);
}

}  // namespace deit::fuzz
