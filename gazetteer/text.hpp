#pragma once
// Text normalisation shared by the snapshot builder and the matcher. Both sides must
// canonicalise identically, so every rule lives here and nowhere else.
//
// Canonical form: upper-case ASCII words; punctuation is a separator except an apostrophe
// (joined: "MARY'S" -> "MARYS") and '-' or '/' between digits ("12-14", "2/12"); street-type
// abbreviations map to one spelling ("STREET", "STR", "ST" -> "ST"), so "St" reads as
// Saint or Street and context decides; stop words ("THE", "OF") are dropped.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace deit::gazetteer::text {

// Splits into raw upper-case tokens (numbers and ranges kept whole). No canonicalisation.
std::vector<std::string> tokenize(std::string_view input);

// The canonical spelling of one raw token ("AVENUE" -> "AVE", "SAINT" -> "ST").
std::string_view canonical_word(std::string_view upper_token);

// As canonical_word, but also accepts a full spelling within one edit ("STRET" -> "ST").
std::string_view canonical_word_fuzzy(std::string_view upper_token);

bool is_stop_word(std::string_view canonical);
// FLAT, APARTMENT, APT, UNIT, ...: the next number is a secondary addressable object.
bool is_flat_marker(std::string_view upper_token);

// Canonical words of a name ("St. Mary's Road" -> {"ST", "MARYS", "RD"}), stop words removed.
std::vector<std::string> canonical_words(std::string_view name);
// The same words for one name after another, into buffers kept between calls: no
// allocation once they have grown. The views are valid until the next assign.
class CanonicalWords {
 public:
  const std::vector<std::string_view>& assign(std::string_view name);
  const std::vector<std::string_view>& words() const { return words_; }

 private:
  std::string buffer_;
  std::vector<std::string_view> words_;
};
// The canonical words joined by single spaces: the stored form of names.
std::string canonical_name(std::string_view name);

// A house number token: "12", "12A", "12-14", "12A-12C". False for anything else.
struct NumberRange {
  std::uint16_t start = 0;
  char start_suffix = 0;
  std::uint16_t end = 0;
  char end_suffix = 0;
};
bool parse_number_token(std::string_view token, NumberRange* out);

// Optimal-string-alignment edit distance (transposition counts 1). Returns limit + 1 as
// soon as the distance is known to exceed limit.
int edit_distance(std::string_view a, std::string_view b, int limit);

// The characters of a word as a set (bit c & 63), for might_be_within.
constexpr std::uint64_t character_set(std::string_view word) {
  std::uint64_t set = 0;  // letters and digits never share a bit
  for (char c : word) set |= std::uint64_t{1} << (static_cast<unsigned char>(c) & 63);
  return set;
}
// False when a and b are certainly more than `limit` edits apart: their lengths differ by
// more, or one holds more than `limit` distinct characters the other lacks (each costs an
// edit). A constant-time test for loops that would call edit_distance on most pairs.
inline bool might_be_within(std::string_view a, std::uint64_t set_a, std::string_view b, std::uint64_t set_b,
                            int limit) {
  const auto n = static_cast<std::ptrdiff_t>(a.size()), m = static_cast<std::ptrdiff_t>(b.size());
  if (n - m > limit || m - n > limit) return false;
  // "At most `limit` bits set", by clearing the lowest bit `limit` times (no popcount
  // instruction is assumed).
  auto few = [limit](std::uint64_t bits) {
    for (int k = 0; k < limit && bits != 0; ++k) bits &= bits - 1;
    return bits == 0;
  };
  return few(set_a & ~set_b) && few(set_b & ~set_a);
}

// Stable 64-bit hash: it is stored in snapshots, so it must never change.
std::uint64_t stable_hash(std::string_view s);

std::string to_upper(std::string_view s);
std::string trim(std::string_view s);

}  // namespace deit::gazetteer::text
