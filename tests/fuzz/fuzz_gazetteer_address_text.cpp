// libFuzzer harness: the address text rules shared by the snapshot builder and the matcher
// (gazetteer/text.hpp) and the addressable-object parser (gazetteer/model.hpp).
// Checks: tokens are upper-case letters, digits and the '-' or '/' of a range; canonical
// names are a fixed point (the builder stores canonical names and the matcher
// canonicalises queries again, so canonicalising twice must change nothing); a parsed
// addressable object never keeps a flat marker and has no suffix or range without a
// number; edit_distance agrees with a plain dynamic-programming reference.

#include <algorithm>
#include <vector>

#include "gazetteer/model.hpp"
#include "gazetteer/text.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace deit;
using namespace deit::fuzz;
namespace text = deit::gazetteer::text;

namespace {

// Optimal string alignment distance, the textbook recurrence over a full table.
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

bool token_character(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '/'; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = as_text(data, size);
  for (const std::string& token : text::tokenize(input)) {
    require(!token.empty() && std::all_of(token.begin(), token.end(), token_character), "a malformed token", token);
    text::NumberRange range;
    if (text::parse_number_token(token, &range)) {
      require(range.start != 0, "a number token without a number", token);
      require(range.end != 0 || range.end_suffix == 0, "a range suffix without a range end", token);
    }
    const std::string_view fuzzy = text::canonical_word_fuzzy(token);
    require(fuzzy == token || fuzzy == text::canonical_word(fuzzy), "a fuzzy spelling that is not canonical", token);
  }

  const std::string once = text::canonical_name(input);
  require(text::canonical_name(once) == once, "canonical_name is not a fixed point", std::string(input) + " -> " + once);

  const gazetteer::AddressableObject object = gazetteer::parse_addressable_object(input);
  if (object.start_number == 0)
    require(object.start_suffix == 0 && object.end_number == 0 && object.end_suffix == 0,
            "a suffix or range without a number", input);
  for (const std::string& word : text::tokenize(object.text))
    require(!text::is_flat_marker(word), "a flat marker kept in the object's text", object.text);
  (void)object.describe();

  // The input's two halves as a pair of words for the edit distance.
  const std::string_view a = input.substr(0, std::min<std::size_t>(input.size() / 2, 40));
  const std::string_view b = input.substr(input.size() / 2, 40);
  const int reference = reference_distance(a, b);
  for (int limit : {0, 1, 2, 3, 64}) {
    const int d = text::edit_distance(a, b, limit);
    require(d == std::min(reference, limit + 1), "edit_distance disagrees with the reference",
            std::string(a) + " | " + std::string(b) + " limit " + std::to_string(limit) + ": " + std::to_string(d) +
                " vs " + std::to_string(reference));
  }
  return 0;
}
