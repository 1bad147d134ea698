#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "gazetteer/text.hpp"

namespace deit::gazetteer::text {
namespace {

// Optimal string alignment distance over the full table, no bound and no shortcuts.
int reference_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<int>> d(n + 1, std::vector<int>(m + 1, 0));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = static_cast<int>(i);
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = static_cast<int>(j);
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[n][m];
}

// A word, or a few edits away from one, so that small distances are common.
std::string random_word(std::mt19937& rng, const std::string& alphabet, std::size_t max_length) {
  std::uniform_int_distribution<std::size_t> length(0, max_length), letter(0, alphabet.size() - 1);
  std::string w(length(rng), ' ');
  for (char& c : w) c = alphabet[letter(rng)];
  return w;
}

std::string mutate(std::mt19937& rng, std::string w, const std::string& alphabet) {
  std::uniform_int_distribution<int> edits(0, 3), kind(0, 3);
  std::uniform_int_distribution<std::size_t> letter(0, alphabet.size() - 1);
  for (int e = edits(rng); e > 0; --e) {
    std::uniform_int_distribution<std::size_t> at(0, w.size());
    std::size_t i = at(rng);
    switch (kind(rng)) {
      case 0: w.insert(w.begin() + static_cast<std::ptrdiff_t>(i), alphabet[letter(rng)]); break;
      case 1: if (i < w.size()) w.erase(i, 1); break;
      case 2: if (i < w.size()) w[i] = alphabet[letter(rng)]; break;
      default: if (i + 1 < w.size()) std::swap(w[i], w[i + 1]); break;
    }
  }
  return w;
}

TEST(EditDistanceTest, AgreesWithTheFullTableOnRandomWords) {
  std::mt19937 rng(20261123);
  // A small alphabet makes near misses and shared letters likely; the long words take the
  // heap path (more than 62 columns).
  for (const std::string alphabet : {"AB", "ABCDE", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/"}) {
    for (std::size_t max_length : {6, 14, 30, 80}) {
      for (int round = 0; round < 3000; ++round) {
        const std::string a = random_word(rng, alphabet, max_length);
        const std::string b = round % 2 == 0 ? mutate(rng, a, alphabet) : random_word(rng, alphabet, max_length);
        const int exact = reference_distance(a, b);
        for (int limit : {0, 1, 2, 3, 5, 64, 1000}) {
          ASSERT_EQ(edit_distance(a, b, limit), std::min(exact, limit + 1)) << a << " | " << b << " limit " << limit;
          ASSERT_EQ(edit_distance(b, a, limit), std::min(exact, limit + 1)) << b << " | " << a << " limit " << limit;
        }
      }
    }
  }
}

TEST(EditDistanceTest, CharacterSetTestNeverRejectsAPairWithinTheLimit) {
  std::mt19937 rng(7);
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  for (int round = 0; round < 20000; ++round) {
    const std::string a = random_word(rng, alphabet, 12);
    const std::string b = mutate(rng, a, alphabet);
    const int exact = reference_distance(a, b);
    for (int limit : {0, 1, 2, 3}) {
      if (exact <= limit) {
        ASSERT_TRUE(might_be_within(a, character_set(a), b, character_set(b), limit)) << a << " | " << b << " " << limit;
      }
    }
  }
  EXPECT_FALSE(might_be_within("HEATH", character_set("HEATH"), "CLOSE", character_set("CLOSE"), 1));
  EXPECT_TRUE(might_be_within("ALBNAS", character_set("ALBNAS"), "ALBANS", character_set("ALBANS"), 0));
}

TEST(EditDistanceTest, KnownPairs) {
  EXPECT_EQ(edit_distance("STRET", "STREET", 1), 1);
  EXPECT_EQ(edit_distance("ALBNAS", "ALBANS", 2), 1);  // transposition
  EXPECT_EQ(edit_distance("HEATH", "CLOSE", 1), 2);    // rejected by the character bound
  EXPECT_EQ(edit_distance("", "ABC", 3), 3);
  EXPECT_EQ(edit_distance("ABC", "", 2), 3);
  EXPECT_EQ(edit_distance("CA", "ABC", 5), 3);  // OSA, not Damerau: no edit of a transposed pair
}

TEST(CanonicalWordsTest, ReusedBuffersGiveWhatCanonicalWordsGives) {
  CanonicalWords words;
  for (const char* name : {"St. Mary's Road", "THE OLD RECTORY", "12- 14 High St", "", "flat 2/12 ACACIA avenue",
                           "a very long building name that is longer than the first one was by far, and then some",
                           "X", "Unit 3, Luton Engineering Ltd"}) {
    const std::vector<std::string> expected = canonical_words(name);
    const auto& got = words.assign(name);
    ASSERT_EQ(got.size(), expected.size()) << name;
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], expected[i]) << name;
  }
  EXPECT_EQ(canonical_words("St. Mary's Road"), (std::vector<std::string>{"ST", "MARYS", "RD"}));
}

}  // namespace
}  // namespace deit::gazetteer::text
