#include "gazetteer/text.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace deit::gazetteer::text {
namespace {

// ASCII only, whatever the C locale: what the C locale's isalnum and toupper give, which
// the snapshot's stored names were made with (nothing here calls setlocale).
bool is_alnum(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

// Sorted by the first column for binary search. Every spelling a call handler or a
// custodian might use maps to one canonical form.
constexpr std::array<std::pair<std::string_view, std::string_view>, 73> kCanonical{{
    {"ALY", "ALLEY"}, {"APPR", "APP"}, {"APPROACH", "APP"}, {"AV", "AVE"},
    {"AVE", "AVE"}, {"AVENUE", "AVE"}, {"AVN", "AVE"}, {"BLDGS", "BLDGS"},
    {"BROADWAY", "BDWY"}, {"BUILDINGS", "BLDGS"}, {"CENTRE", "CTR"}, {"CL", "CL"},
    {"CLOSE", "CL"}, {"CLS", "CL"}, {"COTT", "COTTAGE"}, {"COTTS", "COTTAGES"},
    {"COURT", "CT"}, {"CRES", "CRES"}, {"CRESCENT", "CRES"}, {"CRS", "CRES"},
    {"CT", "CT"}, {"CTR", "CTR"}, {"DR", "DR"}, {"DRIVE", "DR"},
    {"DRV", "DR"}, {"EST", "EST"}, {"ESTATE", "EST"}, {"GARDENS", "GDNS"},
    {"GDN", "GDNS"}, {"GDNS", "GDNS"}, {"GR", "GRV"}, {"GREAT", "GT"},
    {"GREEN", "GRN"}, {"GRN", "GRN"}, {"GROVE", "GRV"}, {"GRV", "GRV"},
    {"GT", "GT"}, {"HOUSE", "HSE"}, {"HSE", "HSE"}, {"IND", "IND"},
    {"INDUSTRIAL", "IND"}, {"LA", "LN"}, {"LANE", "LN"}, {"LITTLE", "LTL"},
    {"LN", "LN"}, {"LT", "LTL"}, {"LTL", "LTL"}, {"LWR", "LOWER"},
    {"MOUNT", "MT"}, {"MT", "MT"}, {"PARADE", "PDE"}, {"PARK", "PK"},
    {"PDE", "PDE"}, {"PK", "PK"}, {"PL", "PL"}, {"PLACE", "PL"},
    {"RD", "RD"}, {"ROAD", "RD"}, {"SAINT", "ST"}, {"SQ", "SQ"},
    {"SQR", "SQ"}, {"SQUARE", "SQ"}, {"ST", "ST"}, {"STR", "ST"},
    {"STREET", "ST"}, {"TCE", "TER"}, {"TER", "TER"}, {"TERR", "TER"},
    {"TERRACE", "TER"}, {"UPR", "UPPER"}, {"WK", "WALK"}, {"WLK", "WALK"},
    {"YD", "YARD"},
}};

constexpr std::array<std::string_view, 8> kStopWords{"AND", "AT", "IN", "NEAR", "NR", "OF", "OPP", "THE"};
static_assert(std::all_of(kStopWords.begin(), kStopWords.end(), [](std::string_view w) { return w.size() >= 2 && w.size() <= 4; }));
constexpr std::array<std::string_view, 9> kFlatMarkers{"APARTMENT", "APT", "FLAT", "FLT", "ROOM",
                                                       "STUDIO", "SUITE", "UNIT", "FLATS"};

}  // namespace

namespace {

// The tokenizer behind tokenize and CanonicalWords: writes each upper-cased token into
// `out` (room for input.size() characters: a token never has more characters than it
// consumed) and calls emit(token) with a view of it there.
template <typename Emit>
void scan_tokens(std::string_view input, char* out, Emit emit) {
  std::size_t start = 0, length = 0;
  auto flush = [&] {
    if (length == 0) return;
    emit(std::string_view(out + start, length));
    start += length;
    length = 0;
  };
  for (std::size_t i = 0; i < input.size(); ++i) {
    char c = input[i];
    if (is_alnum(c)) {
      out[start + length++] = upper(c);
    } else if (c == '\'' || c == '`') {
      // Joined: "MARY'S" -> "MARYS".
    } else if ((c == '-' || c == '/') && length != 0 && is_digit(out[start]) && i + 1 < input.size() &&
               is_digit(input[i + 1])) {
      out[start + length++] = c;  // "12-14", "2/12", "12A-14"
    } else if ((c == '-' || c == '/') && length != 0 && is_digit(out[start]) && i + 2 < input.size() &&
               input[i + 1] == ' ' && is_digit(input[i + 2])) {
      out[start + length++] = c;  // "12- 14"
      ++i;
    } else {
      flush();
    }
  }
  flush();
}

}  // namespace

std::vector<std::string> tokenize(std::string_view input) {
  std::vector<std::string> tokens;
  std::string buffer(input.size(), '\0');
  scan_tokens(input, buffer.data(), [&](std::string_view token) { tokens.emplace_back(token); });
  return tokens;
}

std::string_view canonical_word(std::string_view token) {
  // Called for every word of every name a query looks at: a run of the table by first
  // letter, then a scan of a handful of entries, beats a binary search of string compares.
  static constexpr auto kFirst = [] {
    std::array<std::uint8_t, 27> first{};  // first[c - 'A'] .. first[c - 'A' + 1]: entries starting with c
    std::size_t k = 0;
    for (char c = 'A'; c <= 'Z'; ++c) {
      first[static_cast<std::size_t>(c - 'A')] = static_cast<std::uint8_t>(k);
      while (k < kCanonical.size() && kCanonical[k].first[0] == c) ++k;
    }
    first[26] = static_cast<std::uint8_t>(k);
    return first;
  }();
  static_assert(std::is_sorted(kCanonical.begin(), kCanonical.end()) && kFirst[26] == kCanonical.size());
  if (token.empty() || token[0] < 'A' || token[0] > 'Z') return token;
  const auto c = static_cast<std::size_t>(token[0] - 'A');
  for (std::size_t k = kFirst[c]; k < kFirst[c + 1]; ++k)
    if (kCanonical[k].first == token) return kCanonical[k].second;
  return token;
}

std::string_view canonical_word_fuzzy(std::string_view token) {
  std::string_view exact = canonical_word(token);
  if (exact != token || token.size() < 4) return exact;
  static constexpr auto kSpellingSets = [] {
    std::array<std::uint64_t, kCanonical.size()> sets{};
    for (std::size_t k = 0; k < kCanonical.size(); ++k) sets[k] = character_set(kCanonical[k].first);
    return sets;
  }();
  const std::uint64_t token_set = character_set(token);
  for (std::size_t k = 0; k < kCanonical.size(); ++k) {
    const auto& [spelling, canonical] = kCanonical[k];
    if (spelling.size() < 5 || !might_be_within(token, token_set, spelling, kSpellingSets[k], 1)) continue;
    if (edit_distance(token, spelling, 1) <= 1) return canonical;
  }
  return token;
}

bool is_stop_word(std::string_view canonical) {
  // Every name word of every candidate address comes through here: no stop word is longer
  // than four letters, so most words need no comparison at all.
  if (canonical.size() < 2 || canonical.size() > 4) return false;
  return std::find(kStopWords.begin(), kStopWords.end(), canonical) != kStopWords.end();
}

bool is_flat_marker(std::string_view token) {
  return std::find(kFlatMarkers.begin(), kFlatMarkers.end(), token) != kFlatMarkers.end();
}

const std::vector<std::string_view>& CanonicalWords::assign(std::string_view name) {
  words_.clear();
  if (buffer_.size() < name.size()) buffer_.resize(name.size());
  // buffer_ is not resized while scanning, so views into it stay valid.
  scan_tokens(name, buffer_.data(), [&](std::string_view token) {
    std::string_view canonical = canonical_word(token);
    if (!is_stop_word(canonical)) words_.push_back(canonical);
  });
  return words_;
}

std::vector<std::string> canonical_words(std::string_view name) {
  CanonicalWords words;
  words.assign(name);
  return {words.words().begin(), words.words().end()};
}

std::string canonical_name(std::string_view name) {
  std::string out;
  for (auto& word : canonical_words(name)) {
    if (!out.empty()) out.push_back(' ');
    out += word;
  }
  return out;
}

namespace {
// digits then at most one letter; returns characters consumed (0 when not a number).
std::size_t parse_one_number(std::string_view t, std::uint16_t* number, char* suffix) {
  std::size_t i = 0;
  unsigned value = 0;
  while (i < t.size() && is_digit(t[i]) && i < 5) value = value * 10 + static_cast<unsigned>(t[i++] - '0');
  if (i == 0 || value == 0 || value > 65535) return 0;
  *number = static_cast<std::uint16_t>(value);
  *suffix = 0;
  if (i < t.size() && t[i] >= 'A' && t[i] <= 'Z') *suffix = t[i++];
  return i;
}
}  // namespace

bool parse_number_token(std::string_view token, NumberRange* out) {
  NumberRange r;
  std::size_t used = parse_one_number(token, &r.start, &r.start_suffix);
  if (used == 0) return false;
  if (used < token.size()) {
    if (token[used] != '-') return false;
    std::size_t more = parse_one_number(token.substr(used + 1), &r.end, &r.end_suffix);
    if (more == 0 || used + 1 + more != token.size()) return false;
  }
  *out = r;
  return true;
}

// character_set gives bit (c & 63) for each character: a bit shared by two characters
// could only make the bound below smaller, so it stays a bound.
namespace {

// Positions of s holding a character the other word lacks. Each needs an edit of its own
// (a substitution or deletion removes one position; an insertion or transposition removes
// none), so this is a lower bound on the distance.
int foreign_positions(std::string_view s, std::uint64_t other_set) {
  int count = 0;
  for (unsigned char c : s) count += (other_set >> (c & 63) & 1) == 0 ? 1 : 0;
  return count;
}

}  // namespace

int edit_distance(std::string_view a, std::string_view b, int limit) {
  const int n = static_cast<int>(a.size());
  const int m = static_cast<int>(b.size());
  if (std::abs(n - m) > limit) return limit + 1;
  if (n == 0) return m;
  if (m == 0) return n;
  // The distance never exceeds the longer length, so a larger limit changes nothing below.
  const int bound = std::min(limit, std::max(n, m));
  if (bound < std::max(n, m)) {
    const std::uint64_t set_a = character_set(a), set_b = character_set(b);
    if (foreign_positions(a, set_b) > bound || foreign_positions(b, set_a) > bound) return limit + 1;
  }
  // Three rolling rows, each computed only within `bound` of the diagonal: a cell farther
  // out is at least its distance from the diagonal, more than `bound`, and `far` stands in
  // for it. A computed cell is then exact when it is within `bound`, and above it otherwise.
  const int far = bound + 1;
  const int columns = m + 2;  // 0..m, and one past the band's end
  std::array<int, 3 * 64> small;
  std::vector<int> large;
  int* rows = small.data();
  if (columns > 64) {
    large.resize(3 * static_cast<std::size_t>(columns));
    rows = large.data();
  }
  std::fill(rows, rows + 3 * columns, far);
  int* prev2 = rows;
  int* prev = rows + columns;
  int* cur = rows + 2 * columns;
  for (int j = 0; j <= std::min(m, bound); ++j) prev[j] = j;
  for (int i = 1; i <= n; ++i) {
    const int lo = std::max(1, i - bound);
    const int hi = std::min(m, i + bound);
    cur[lo - 1] = lo == 1 ? i : far;
    int row_min = cur[lo - 1];
    for (int j = lo; j <= hi; ++j) {
      int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      int v = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) v = std::min(v, prev2[j - 2] + 1);
      cur[j] = v;
      row_min = std::min(row_min, v);
    }
    if (hi < m) cur[hi + 1] = far;
    if (row_min > bound) return limit + 1;
    int* t = prev2;
    prev2 = prev;
    prev = cur;
    cur = t;
  }
  return prev[m] <= bound ? prev[m] : limit + 1;
}

std::uint64_t stable_hash(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a 64, then a murmur finaliser
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

std::string to_upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = upper(c);
  return out;
}

std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

}  // namespace deit::gazetteer::text
