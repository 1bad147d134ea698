#include "gazetteer/matcher.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <span>

namespace deit::gazetteer {

using namespace snapshot;

// ---------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------

namespace {

bool known_term(const Snapshot* snap, const std::string& term) { return snap == nullptr || snap->find_term(term) >= 0; }

bool is_single_letter(const std::string& t) { return t.size() == 1 && t[0] >= 'A' && t[0] <= 'Z'; }

void add_word(ParsedQuery& q, std::string_view token, const Snapshot* snap = nullptr) {
  std::string_view canonical = text::canonical_word(token);
  // "STRET", "AVENEU": a misspelt street type the gazetteer does not hold as a word.
  if (canonical == token && snap != nullptr && token.size() >= 4 && snap->find_term(token) < 0)
    canonical = text::canonical_word_fuzzy(token);
  if (text::is_stop_word(canonical)) return;
  if (std::find(q.words.begin(), q.words.end(), canonical) == q.words.end()) q.words.emplace_back(canonical);
}

// "FLAT2", "APT12A": a flat marker glued to its number.
bool split_glued_marker(const std::string& token, text::NumberRange* out) {
  static constexpr std::string_view kMarkers[] = {"FLAT", "APT", "UNIT", "FLT", "APARTMENT"};
  for (auto m : kMarkers) {
    if (token.size() > m.size() && token.compare(0, m.size(), m) == 0 &&
        text::parse_number_token(std::string_view(token).substr(m.size()), out))
      return true;
  }
  return false;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return c >= 'A' && c <= 'Z'; }

// Cheap necessary conditions for parse_postcode to succeed with that kind: most words are
// not postcodes, and a failed parse builds an error message.
bool may_end_full_postcode(std::string_view t) {  // "3EX" ends a full postcode
  const std::size_t n = t.size();
  return n >= 3 && is_digit(t[n - 3]) && is_letter(t[n - 2]) && is_letter(t[n - 1]);
}
bool may_be_outward_code(std::string_view t) {  // a district number second or third
  return t.size() >= 2 && (is_digit(t[1]) || (t.size() > 2 && is_digit(t[2])));
}

}  // namespace

ParsedQuery parse_free_text(std::string_view input, const Snapshot* snap) {
  ParsedQuery q;
  std::vector<std::string> tokens = text::tokenize(input);
  std::vector<bool> used(tokens.size(), false);
  q.words.reserve(tokens.size());

  // Postcode: full (one or two tokens), else sector, else outward code, if the gazetteer knows it.
  for (std::size_t i = 0; i < tokens.size() && !q.postcode; ++i) {
    if (i + 1 < tokens.size() && tokens[i + 1].size() == 3 && may_end_full_postcode(tokens[i + 1])) {
      auto pc = parse_postcode(tokens[i] + " " + tokens[i + 1]);
      if (pc.ok() && pc->kind == Postcode::Kind::full) {
        q.postcode = *pc;
        used[i] = used[i + 1] = true;
        break;
      }
    }
    if (tokens[i].size() >= 5 && may_end_full_postcode(tokens[i])) {
      auto pc = parse_postcode(tokens[i]);
      if (pc.ok() && pc->kind == Postcode::Kind::full) {
        q.postcode = *pc;
        used[i] = true;
      }
    }
  }
  if (!q.postcode) {
    for (std::size_t i = tokens.size(); i-- > 0;) {
      const std::string& t = tokens[i];
      if (t.size() < 2 || t.size() > 4 || !(t[0] >= 'A' && t[0] <= 'Z') || !may_be_outward_code(t)) continue;
      auto pc = parse_postcode(t);
      if (!pc.ok() || pc->kind != Postcode::Kind::outward) continue;
      if (i + 1 < tokens.size() && tokens[i + 1].size() == 1 && tokens[i + 1][0] >= '0' && tokens[i + 1][0] <= '9') {
        auto sector = parse_postcode(t + " " + tokens[i + 1]);
        if (sector.ok() && known_term(snap, "@" + sector->normalised())) {
          q.postcode = *sector;
          used[i] = used[i + 1] = true;
          break;
        }
      }
      if (known_term(snap, "@" + pc->outward)) {
        q.postcode = *pc;
        used[i] = true;
        break;
      }
    }
  }

  // Numbers, flat markers and words.
  std::vector<text::NumberRange> numbers;
  bool pending_flat = false;
  bool last_was_number = false;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (used[i]) {
      last_was_number = false;
      continue;
    }
    const std::string& t = tokens[i];
    text::NumberRange r;
    if (text::is_flat_marker(t)) {
      pending_flat = true;
      last_was_number = false;
      continue;
    }
    if (split_glued_marker(t, &r)) {
      q.sao = r;
      last_was_number = false;
      continue;
    }
    std::size_t slash = t.find('/');
    if (slash != std::string::npos) {
      text::NumberRange a, b;
      if (text::parse_number_token(std::string_view(t).substr(0, slash), &a) &&
          text::parse_number_token(std::string_view(t).substr(slash + 1), &b)) {
        q.sao = a;
        numbers.push_back(b);
        last_was_number = true;
        pending_flat = false;
        continue;
      }
    }
    if (text::parse_number_token(t, &r)) {
      if (pending_flat && !q.sao) {
        q.sao = r;
      } else {
        numbers.push_back(r);
      }
      pending_flat = false;
      last_was_number = true;
      continue;
    }
    if (is_single_letter(t)) {
      if (pending_flat && !q.sao) {  // "FLAT B"
        q.sao_letter = t[0];
        pending_flat = false;
        continue;
      }
      if (last_was_number) {  // "12 A"
        text::NumberRange* target = !numbers.empty() ? &numbers.back() : (q.sao ? &*q.sao : nullptr);
        if (target != nullptr && target->start_suffix == 0 && target->end == 0) {
          target->start_suffix = t[0];
          last_was_number = false;
          continue;
        }
      }
    }
    pending_flat = false;
    last_was_number = false;
    add_word(q, t, snap);
  }
  if (q.sao || q.sao_letter) {
    if (!numbers.empty()) q.pao = numbers.front();
  } else if (numbers.size() >= 2) {
    q.sao = numbers[0];
    q.pao = numbers[1];
  } else if (numbers.size() == 1) {
    q.pao = numbers[0];
  }
  // A lone long number with nothing else may be a UPRN typed by a call handler.
  if (numbers.size() == 1 && q.words.empty() && !q.postcode && !q.sao && numbers[0].start_suffix == 0 &&
      numbers[0].end == 0) {
    std::string digits;
    for (char c : input)
      if (c >= '0' && c <= '9') digits.push_back(c);
    if (digits.size() >= 6 && digits.size() <= 12) q.uprn = std::stoull(digits);
  }
  if (!q.pao && !q.sao && tokens.size() == 1 && tokens[0].size() >= 6 && tokens[0].size() <= 12 &&
      std::all_of(tokens[0].begin(), tokens[0].end(), [](char c) { return c >= '0' && c <= '9'; })) {
    q.uprn = std::stoull(tokens[0]);
  }
  return q;
}

ParsedQuery parse_structured(const StructuredAddress& a) {
  ParsedQuery q;
  auto take_object = [&](const std::string& text, bool secondary) {
    if (text.empty()) return;
    AddressableObject o = parse_addressable_object(text);
    if (o.start_number != 0) {
      text::NumberRange r{o.start_number, o.start_suffix, o.end_number, o.end_suffix};
      (secondary ? q.sao : q.pao) = r;
    }
    for (auto& w : text::canonical_words(o.text)) {
      if (secondary && o.start_number == 0 && w.size() == 1) {
        q.sao_letter = w[0];
        continue;
      }
      add_word(q, w);
    }
  };
  take_object(a.sao, true);
  take_object(a.pao, false);
  for (const std::string* part : {&a.street, &a.locality, &a.town})
    for (auto& w : text::canonical_words(*part)) add_word(q, w);
  if (!a.postcode.empty()) {
    auto pc = parse_postcode(a.postcode);
    if (pc.ok()) q.postcode = *pc;
  }
  return q;
}

// ---------------------------------------------------------------------------------------
// Scoring shared by the indexed path and the overlay path
// ---------------------------------------------------------------------------------------

namespace {

constexpr double kWordsWeight = 0.5;
constexpr double kNumbersWeight = 0.3;
constexpr double kPostcodeWeight = 0.2;

int max_edits(std::size_t length) { return length >= 8 ? 2 : length >= 4 ? 1 : 0; }
double credit_for_distance(int d) { return d == 0 ? 1.0 : d == 1 ? 0.8 : 0.6; }

double number_match(const text::NumberRange& q, std::uint16_t start, char start_suffix, std::uint16_t end,
                    char end_suffix) {
  if (start == 0) return 0;
  if (q.start == start && q.start_suffix == start_suffix && q.end == end && (q.end == 0 || q.end_suffix == end_suffix))
    return 1.0;
  if (q.end == 0 && end != 0 && q.start >= start && q.start <= end) return q.start == start ? 0.9 : 0.8;
  if (q.end != 0 && end == 0 && start >= q.start && start <= q.end) return start == q.start ? 0.85 : 0.7;
  if (q.start == start) {
    if (q.start_suffix == start_suffix) return 0.9;  // same start, different range end
    return q.start_suffix != 0 && start_suffix == 0 ? 0.5 : 0.6;
  }
  return 0;
}

struct NumberFacts {
  std::uint16_t sao_start, sao_end, pao_start, pao_end;
  char sao_start_suffix, sao_end_suffix, pao_start_suffix, pao_end_suffix;
  std::string_view sao_text;
};

// Numbers component: -1 when the query gave no numbers. `flat_penalty` is set when the
// address is a flat the query did not ask for (so the building ranks above its flats).
double numbers_component(const ParsedQuery& q, const NumberFacts& a, bool* flat_penalty, std::string* why) {
  *flat_penalty = false;
  const bool address_is_flat = a.sao_start != 0 || !a.sao_text.empty();
  if (!q.pao && !q.sao && !q.sao_letter) {
    *flat_penalty = address_is_flat;
    return -1;
  }
  double pao_score = -1, sao_score = -1;
  bool sao_consumed = false;
  if (q.pao) {
    pao_score = number_match(*q.pao, a.pao_start, a.pao_start_suffix, a.pao_end, a.pao_end_suffix);
    if (pao_score == 0 && a.pao_start == 0 && a.sao_start != 0 && !q.sao && !q.sao_letter) {
      // "12 ALBANY COURT": flats numbered inside a named building.
      pao_score = 0.95 * number_match(*q.pao, a.sao_start, a.sao_start_suffix, a.sao_end, a.sao_end_suffix);
      sao_consumed = pao_score > 0;
    }
    if (why != nullptr)
      *why += pao_score >= 1 ? "number exact" : pao_score > 0 ? "number close" : "number differs";
  }
  if (q.sao) {
    sao_score = number_match(*q.sao, a.sao_start, a.sao_start_suffix, a.sao_end, a.sao_end_suffix);
    if (why != nullptr) *why += std::string(why->empty() ? "" : "; ") + (sao_score >= 1 ? "flat exact" : sao_score > 0 ? "flat close" : "flat differs");
  } else if (q.sao_letter) {
    sao_score = (a.sao_start_suffix == q.sao_letter && a.sao_start == 0) ||
                        (a.sao_text.size() == 1 && a.sao_text[0] == q.sao_letter)
                    ? 1.0
                    : 0.0;
    if (why != nullptr) *why += std::string(why->empty() ? "" : "; ") + (sao_score >= 1 ? "flat letter exact" : "flat letter differs");
  } else if (address_is_flat && !sao_consumed) {
    *flat_penalty = true;
  }
  if (pao_score >= 0 && sao_score >= 0) return 0.6 * pao_score + 0.4 * sao_score;
  return pao_score >= 0 ? pao_score : sao_score;
}

double postcode_component(const ParsedQuery& q, std::string_view address_postcode, std::string* why) {
  if (!q.postcode) return -1;
  if (address_postcode.empty()) {
    if (why != nullptr) *why += "; address has no postcode";
    return 0.5;
  }
  const Postcode& p = *q.postcode;
  std::string_view outward = address_postcode.substr(0, address_postcode.find(' '));
  bool same_outward = outward == p.outward;
  bool same_sector = same_outward && address_postcode.size() > outward.size() + 1 && !p.inward.empty() &&
                     address_postcode[outward.size() + 1] == p.inward[0];
  double s = 0;
  switch (p.kind) {
    case Postcode::Kind::full:
      s = address_postcode == p.normalised() ? 1.0 : same_sector ? 0.6 : same_outward ? 0.4 : 0.0;
      break;
    case Postcode::Kind::sector:
      s = same_sector ? 1.0 : same_outward ? 0.5 : 0.0;
      break;
    case Postcode::Kind::outward:
      s = same_outward ? 1.0 : 0.0;
      break;
  }
  if (why != nullptr) {
    *why += "; postcode " + std::string(address_postcode) +
            (s >= 1 ? " agrees" : s >= 0.6 ? " same sector" : s > 0 ? " same district" : " differs");
  }
  return s;
}

double blend(double words, double numbers, double postcode, bool flat_penalty) {
  double sum = 0, weight = 0;
  if (words >= 0) {
    sum += kWordsWeight * words;
    weight += kWordsWeight;
  }
  if (numbers >= 0) {
    sum += kNumbersWeight * numbers;
    weight += kNumbersWeight;
  }
  if (postcode >= 0) {
    sum += kPostcodeWeight * postcode;
    weight += kPostcodeWeight;
  }
  double score = weight > 0 ? sum / weight : 0;
  if (flat_penalty) score *= 0.9;
  return score;
}

// Best credit of `word` among the canonical words of `name`; `scratch` holds them.
double text_credit(const std::string& word, std::string_view name, text::CanonicalWords& scratch) {
  if (name.empty()) return 0;
  double best = 0;
  for (std::string_view w : scratch.assign(name)) {
    if (w == word) return 1.0;
    int limit = max_edits(std::min(w.size(), word.size()));
    if (limit == 0) continue;
    int d = text::edit_distance(word, w, limit);
    if (d <= limit) best = std::max(best, credit_for_distance(d));
  }
  return best;
}

}  // namespace

double score_plain_address(const ParsedQuery& q, const Address& a, std::string* explanation) {
  std::vector<std::string_view> names{a.street, a.locality, a.town, a.administrative_area, a.pao.text, a.sao.text,
                                      a.organisation};
  text::CanonicalWords scratch;
  double total = 0, got = 0;
  std::string matched, missing;
  for (const auto& w : q.words) {
    double weight = w.size() <= 2 ? 0.5 : 1.0;  // "ST", "RD": common, weak evidence
    double best = 0;
    for (auto name : names) best = std::max(best, text_credit(w, name, scratch));
    total += weight;
    got += weight * best;
    (best > 0 ? matched : missing) += (best > 0 ? (matched.empty() ? "" : " ") : (missing.empty() ? "" : " ")) + w;
  }
  double words = q.words.empty() ? -1 : got / total;
  NumberFacts facts{a.sao.start_number, a.sao.end_number, a.pao.start_number, a.pao.end_number, a.sao.start_suffix,
                    a.sao.end_suffix,   a.pao.start_suffix, a.pao.end_suffix,   a.sao.text};
  bool flat_penalty = false;
  std::string why;
  double numbers = numbers_component(q, facts, &flat_penalty, explanation != nullptr ? &why : nullptr);
  double postcode = postcode_component(q, a.postcode, explanation != nullptr ? &why : nullptr);
  if (explanation != nullptr) {
    *explanation = "recent update; " + why + (matched.empty() ? "" : "; words " + matched) +
                   (missing.empty() ? "" : "; not found " + missing);
  }
  return blend(words, numbers, postcode, flat_penalty);
}

// ---------------------------------------------------------------------------------------
// Indexed matching
// ---------------------------------------------------------------------------------------

namespace {

struct WordPlan {
  std::string text;
  std::uint64_t chars = 0;  // text::character_set(text)
  double weight = 0;
  std::vector<std::pair<std::uint32_t, double>> alternatives;  // (term, credit)
  std::uint64_t df = 0;
};

struct AltRef {
  std::uint32_t term;
  std::uint16_t word;
  float credit;
};

// A sorted street list: a posting span, or a merged copy when a word has several terms.
struct StreetList {
  std::span<const std::uint32_t> view;
  std::vector<std::uint32_t> owned;
};

void gallop_intersect(std::span<const std::uint32_t> small, std::span<const std::uint32_t> large,
                      std::vector<std::uint32_t>& out) {
  if (small.size() > large.size()) std::swap(small, large);
  const std::uint32_t* lo = large.data();
  const std::uint32_t* end = large.data() + large.size();
  if (large.size() <= 8 * small.size()) {
    // Lists of like length: stepping through both beats galloping. Same output.
    for (std::uint32_t v : small) {
      while (lo < end && *lo < v) ++lo;
      if (lo == end) return;
      if (*lo == v) out.push_back(v);
    }
    return;
  }
  for (std::uint32_t v : small) {
    std::size_t step = 1;
    const std::uint32_t* hi = lo;
    while (hi < end && *hi < v) {
      lo = hi;
      hi += step;
      step <<= 1;
    }
    if (hi > end) hi = end;
    lo = std::lower_bound(lo, hi, v);
    if (lo == end) return;
    if (*lo == v) out.push_back(v);
  }
}

// A hint only: never faults, changes no result.
inline void prefetch(const void* p) {
#if defined(__GNUC__)
  __builtin_prefetch(p);
#else
  (void)p;
#endif
}

struct StreetCandidate {
  std::uint32_t street;
  double key;
};

}  // namespace

std::vector<MatchHit> Matcher::match_all(const ParsedQuery& q, std::size_t max,
                                         const std::function<bool(std::uint64_t)>& skip) const {
  std::vector<MatchHit> hits;
  hits.reserve(std::min<std::size_t>(max, 16));
  const double street_total = static_cast<double>(snap_.streets().size()) + 1;

  // Words -> terms, with weights.
  std::vector<WordPlan> words(q.words.size());
  std::vector<std::pair<std::uint32_t, int>> similar;
  double total_weight = 0;
  for (std::size_t i = 0; i < q.words.size(); ++i) {
    WordPlan& w = words[i];
    w.text = q.words[i];
    w.chars = text::character_set(w.text);
    snap_.similar_terms(w.text, max_edits(w.text.size()), similar);
    std::uint64_t best_df = 0;
    double best_credit = 0;
    for (auto [term, d] : similar) {
      double credit = credit_for_distance(d);
      std::uint32_t df = snap_.terms()[term].postings_count;
      w.alternatives.emplace_back(term, credit);
      w.df += df;
      if (credit > best_credit || (credit == best_credit && df < best_df)) {
        best_credit = credit;
        best_df = df;
      }
    }
    w.weight = w.alternatives.empty() ? 0.3 * std::log(street_total)
                                      : std::log(1.0 + street_total / (1.0 + static_cast<double>(best_df)));
    total_weight += w.weight;
  }
  std::vector<AltRef> alts;
  for (std::size_t i = 0; i < words.size(); ++i)
    for (auto [term, credit] : words[i].alternatives)
      alts.push_back(AltRef{term, static_cast<std::uint16_t>(i), static_cast<float>(credit)});
  std::sort(alts.begin(), alts.end(), [](const AltRef& a, const AltRef& b) { return a.term < b.term; });

  std::int64_t outward_term = -1, sector_term = -1;
  if (q.postcode) {
    outward_term = snap_.find_term("@" + q.postcode->outward);
    if (q.postcode->kind != Postcode::Kind::outward) sector_term = snap_.find_term("@" + q.postcode->sector());
  }

  // Street scoring: the weighted share of query words among a street's terms. Every
  // candidate street is scored, so the query's terms (alternatives and postcode terms) go
  // into a small open-addressing table and each street term costs one probe, mostly a miss.
  struct QueryTerm {
    std::uint32_t term_plus1 = 0;  // 0: empty slot
    std::uint32_t first_alt = 0;   // its run in alts (sorted by term)
    std::uint32_t alt_count = 0;
    std::uint8_t postcode = 0;     // 1: the outward term, 2: the sector term
  };
  std::size_t table_size = 16;
  while (table_size < 2 * (alts.size() + 2)) table_size *= 2;
  std::vector<QueryTerm> query_terms(table_size);
  auto slot_of = [&](std::uint32_t term) {
    std::size_t slot = (term * std::uint64_t{0x9E3779B97F4A7C15}) >> 40 & (table_size - 1);
    while (query_terms[slot].term_plus1 != 0 && query_terms[slot].term_plus1 != term + 1) slot = (slot + 1) & (table_size - 1);
    query_terms[slot].term_plus1 = term + 1;
    return slot;
  };
  for (std::size_t j = 0; j < alts.size(); ++j) {
    QueryTerm& t = query_terms[slot_of(alts[j].term)];
    if (t.alt_count == 0) t.first_alt = static_cast<std::uint32_t>(j);
    ++t.alt_count;
  }
  if (outward_term >= 0) query_terms[slot_of(static_cast<std::uint32_t>(outward_term))].postcode |= 1;
  if (sector_term >= 0) query_terms[slot_of(static_cast<std::uint32_t>(sector_term))].postcode |= 2;
  // Street terms ascend: past the largest query term nothing more can match.
  std::uint32_t last_query_term = alts.empty() ? 0 : alts.back().term;
  for (std::int64_t t : {outward_term, sector_term})
    if (t >= 0) last_query_term = std::max(last_query_term, static_cast<std::uint32_t>(t));
  const bool any_query_term = !alts.empty() || outward_term >= 0 || sector_term >= 0;
  std::vector<double> credit(words.size());
  auto street_word_credits = [&](std::uint32_t street, std::vector<double>& out, double* postcode_bonus) {
    std::fill(out.begin(), out.end(), 0.0);
    std::uint8_t postcode = 0;
    for (std::uint32_t term : snap_.street_terms(snap_.streets()[street])) {
      if (term > last_query_term || !any_query_term) break;
      std::size_t slot = (term * std::uint64_t{0x9E3779B97F4A7C15}) >> 40 & (table_size - 1);
      while (query_terms[slot].term_plus1 != 0 && query_terms[slot].term_plus1 != term + 1)
        slot = (slot + 1) & (table_size - 1);
      const QueryTerm& t = query_terms[slot];
      if (t.term_plus1 == 0) continue;
      for (std::uint32_t j = t.first_alt; j < t.first_alt + t.alt_count; ++j) {
        double& c = out[alts[j].word];
        c = std::max(c, static_cast<double>(alts[j].credit));
      }
      postcode |= t.postcode;
    }
    *postcode_bonus = (postcode & 2) != 0 ? 1.0 : (postcode & 1) != 0 ? 0.5 : 0;
  };
  std::vector<std::uint32_t> postcode_streets;
  if (q.postcode && q.postcode->kind == Postcode::Kind::full) {
    if (const PostcodeEntry* p = snap_.find_postcode(q.postcode->normalised())) {
      for (std::uint32_t a : snap_.postcode_addresses(*p)) postcode_streets.push_back(snap_.addresses()[a].street);
      std::sort(postcode_streets.begin(), postcode_streets.end());
      postcode_streets.erase(std::unique(postcode_streets.begin(), postcode_streets.end()), postcode_streets.end());
    }
  }
  std::vector<StreetCandidate> scored;
  double best_key = 0;
  auto score_streets = [&](std::vector<std::uint32_t>& ids) {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    // Scoring a street is two cache misses in a national snapshot (its entry, then its
    // terms): ask for both a few streets ahead so that the misses overlap.
    constexpr std::size_t kEntryAhead = 8, kTermsAhead = 4;
    for (std::size_t k = 0; k < std::min(ids.size(), kEntryAhead); ++k) prefetch(&snap_.streets()[ids[k]]);
    for (std::size_t k = 0; k < ids.size(); ++k) {
      if (k + kEntryAhead < ids.size()) prefetch(&snap_.streets()[ids[k + kEntryAhead]]);
      if (k + kTermsAhead < ids.size()) prefetch(snap_.street_terms(snap_.streets()[ids[k + kTermsAhead]]).data());
      const std::uint32_t s = ids[k];
      double bonus = 0;
      street_word_credits(s, credit, &bonus);
      double got = 0;
      for (std::size_t i = 0; i < words.size(); ++i) got += words[i].weight * credit[i];
      double key = (total_weight > 0 ? got / total_weight : 0) + 0.2 * bonus;
      if (std::binary_search(postcode_streets.begin(), postcode_streets.end(), s)) key += 0.3;
      scored.push_back(StreetCandidate{s, key});
      best_key = std::max(best_key, key);
    }
  };

  // Candidate streets, in two rounds. Round 1: the postcode's streets and every short list
  // (rarest first, up to kUnionLimit streets together), so one misleading rare word cannot
  // hide the right street. Round 2, only when round 1 found no street holding most of the
  // query: streets shared by two longer lists (galloping intersections).
  {
    struct Source {
      std::uint64_t df;
      int word;  // -1: postcode term
      std::int64_t term;
    };
    std::vector<Source> sources;
    for (std::size_t i = 0; i < words.size(); ++i) {
      if (words[i].df == 0) continue;
      // A word typed correctly generates candidates from its own term only; typo
      // alternatives still score.
      std::uint64_t df = words[i].alternatives.front().second >= 1.0
                             ? snap_.terms()[words[i].alternatives.front().first].postings_count
                             : words[i].df;
      sources.push_back(Source{df, static_cast<int>(i), -1});
    }
    std::int64_t pc_term = sector_term >= 0 ? sector_term : outward_term;
    if (pc_term >= 0) sources.push_back(Source{snap_.terms()[static_cast<std::size_t>(pc_term)].postings_count, -1, pc_term});
    std::sort(sources.begin(), sources.end(), [](const Source& a, const Source& b) { return a.df < b.df; });
    if (sources.size() > 5) sources.resize(5);
    std::vector<StreetList> lists(sources.size());
    for (std::size_t k = 0; k < sources.size(); ++k) {
      if (sources[k].word < 0) {
        lists[k].view = snap_.postings(static_cast<std::uint32_t>(sources[k].term));
        continue;
      }
      const WordPlan& w = words[static_cast<std::size_t>(sources[k].word)];
      if (w.alternatives.size() == 1 || w.alternatives.front().second >= 1.0) {
        lists[k].view = snap_.postings(w.alternatives.front().first);
        continue;
      }
      // Postings are sorted: merge them (linear) rather than concatenate and sort.
      std::vector<std::uint32_t> merged;
      for (auto [term, c] : w.alternatives) {
        auto p = snap_.postings(term);
        merged.clear();
        merged.reserve(lists[k].owned.size() + p.size());
        std::set_union(lists[k].owned.begin(), lists[k].owned.end(), p.begin(), p.end(), std::back_inserter(merged));
        lists[k].owned.swap(merged);
      }
      lists[k].view = lists[k].owned;
    }
    constexpr std::size_t kUnionLimit = 2000;
    constexpr std::size_t kSingleLimit = 60000;
    constexpr std::size_t kPairLimit = 40000;   // two lists both longer than this: skip the pair
    constexpr std::size_t kSmallPair = 5000;    // round 1 pairs without the rarest list
    constexpr double kGoodEnough = 0.6;         // round 1 suffices when a street holds this share
    // Round 1: the postcode's streets and the streets holding at least two of the three
    // rarest lists (galloping intersections: cheap, and usually a handful of streets).
    std::vector<std::uint32_t> round(postcode_streets);
    const std::size_t top = std::min<std::size_t>(lists.size(), 3);
    for (std::size_t a = 0; a < top; ++a)
      for (std::size_t b = a + 1; b < top; ++b)
        if (a == 0 || std::min(lists[a].view.size(), lists[b].view.size()) <= kSmallPair)
          gallop_intersect(lists[a].view, lists[b].view, round);
    score_streets(round);
    // Round 2, only when no street holds most of the query: every short list whole (rarest
    // first, up to kUnionLimit streets), so one misleading or misspelt word cannot hide the
    // right street, plus pairs involving the 4th and 5th rarest lists.
    if (best_key < kGoodEnough) {
      round.clear();
      std::size_t cumulative = 0;
      for (std::size_t k = 0; k < lists.size() && cumulative + lists[k].view.size() <= kUnionLimit; ++k) {
        cumulative += lists[k].view.size();
        round.insert(round.end(), lists[k].view.begin(), lists[k].view.end());
      }
      if (lists.size() == 1 && cumulative == 0) {
        auto v = lists[0].view;
        round.insert(round.end(), v.begin(), v.begin() + static_cast<std::ptrdiff_t>(std::min(v.size(), kSingleLimit)));
      }
      for (std::size_t a = 1; a < lists.size(); ++a)
        for (std::size_t b = a + 1; b < lists.size(); ++b) {
          const bool done_in_round1 = b < top && std::min(lists[a].view.size(), lists[b].view.size()) <= kSmallPair;
          if (!done_in_round1 && std::min(lists[a].view.size(), lists[b].view.size()) <= kPairLimit)
            gallop_intersect(lists[a].view, lists[b].view, round);
        }
      for (std::size_t b = top; b < lists.size(); ++b) gallop_intersect(lists[0].view, lists[b].view, round);
      score_streets(round);  // a street already scored in round 1 may appear twice: harmless
    }
  }
  // Duplicates from the two rounds carry the same key; keep one.
  std::sort(scored.begin(), scored.end(), [](const StreetCandidate& a, const StreetCandidate& b) {
    return a.street != b.street ? a.street < b.street : a.key > b.key;
  });
  scored.erase(std::unique(scored.begin(), scored.end(),
                           [](const StreetCandidate& a, const StreetCandidate& b) { return a.street == b.street; }),
               scored.end());
  constexpr std::size_t kStreetsToExpand = 8;
  if (scored.size() > kStreetsToExpand) {
    std::partial_sort(scored.begin(), scored.begin() + kStreetsToExpand, scored.end(),
                      [](const StreetCandidate& a, const StreetCandidate& b) { return a.key > b.key; });
    scored.resize(kStreetsToExpand);
  } else {
    std::sort(scored.begin(), scored.end(), [](const StreetCandidate& a, const StreetCandidate& b) { return a.key > b.key; });
  }

  // Score the addresses of the best streets.
  struct Scored {
    double score;
    std::uint64_t uprn;
    std::uint32_t entry;
  };
  std::vector<Scored> results;
  {
    std::size_t addresses = 0;
    for (const StreetCandidate& sc : scored) addresses += snap_.streets()[sc.street].address_count;
    results.reserve(addresses);
  }
  std::vector<double> address_credit(words.size());
  text::CanonicalWords name_words;
  const double best_street_key = scored.empty() ? 0 : scored.front().key;
  // With a number in the query, addresses whose numbers disagree are skipped cheaply; if
  // that leaves nothing, the streets are scanned again without the filter.
  const bool has_number = q.pao || q.sao || q.sao_letter;
  for (int pass = has_number ? 0 : 1; pass < 2 && results.empty(); ++pass)
  for (const StreetCandidate& sc : scored) {
    if (sc.key < best_street_key - 0.3) break;
    double bonus = 0;
    street_word_credits(sc.street, credit, &bonus);
    bool leftovers = std::any_of(credit.begin(), credit.end(), [](double c) { return c < 1.0; });
    const StreetEntry& street = snap_.streets()[sc.street];
    // The words' share for an address without names of its own: the street's.
    double street_got = 0;
    for (std::size_t i = 0; i < words.size(); ++i) street_got += words[i].weight * credit[i];
    // "AUSTEN RISE" should prefer AUSTEN RISE to UPPER AUSTEN RISE: count street-name
    // words the query did not mention.
    int unmentioned_street_words = 0;
    if (!words.empty()) {
      for (std::string_view dw : name_words.assign(snap_.string(street.description))) {
        bool mentioned = false;
        const std::uint64_t dw_chars = text::character_set(dw);
        for (const auto& w : words) {
          if (w.chars == dw_chars && w.text == dw) { mentioned = true; break; }
          int limit = max_edits(std::min(w.text.size(), dw.size()));
          if (limit > 0 && text::might_be_within(w.text, w.chars, dw, dw_chars, limit) &&
              text::edit_distance(w.text, dw, limit) <= limit) {
            mentioned = true;
            break;
          }
        }
        unmentioned_street_words += mentioned ? 0 : 1;
      }
    }
    for (std::uint32_t ai = street.first_address; ai < street.first_address + street.address_count; ++ai) {
      const AddressEntry& e = snap_.addresses()[ai];
      NumberFacts facts{e.sao_start,        e.sao_end,        e.pao_start,        e.pao_end,       e.sao_start_suffix,
                        e.sao_end_suffix,   e.pao_start_suffix, e.pao_end_suffix, snap_.string(e.sao_text)};
      bool flat_penalty = false;
      double numbers = numbers_component(q, facts, &flat_penalty, nullptr);
      if (pass == 0 && numbers <= 0) continue;
      double got = 0;
      int unmatched_name_words = 0;  // building-name words the query did not mention
      if (e.pao_text != 0 || e.sao_text != 0 || e.organisation != 0) {
        address_credit = credit;
        for (std::uint32_t name : {e.pao_text, e.sao_text, e.organisation}) {
          if (name == 0) continue;
          for (std::string_view nw : name_words.assign(snap_.string(name))) {
            bool mentioned = false;
            const std::uint64_t nw_chars = text::character_set(nw);
            for (std::size_t i = 0; i < words.size(); ++i) {
              if (nw_chars == words[i].chars && nw == words[i].text) {
                address_credit[i] = 1.0;
                mentioned = true;
                continue;
              }
              if (!leftovers || address_credit[i] >= 1.0) continue;
              int limit = max_edits(std::min(nw.size(), words[i].text.size()));
              if (limit == 0 || !text::might_be_within(words[i].text, words[i].chars, nw, nw_chars, limit)) continue;
              int d = text::edit_distance(words[i].text, nw, limit);
              if (d <= limit) {
                address_credit[i] = std::max(address_credit[i], credit_for_distance(d));
                mentioned = true;
              }
            }
            if (!mentioned && name != e.organisation) ++unmatched_name_words;
          }
        }
        for (std::size_t i = 0; i < words.size(); ++i) got += words[i].weight * address_credit[i];
      } else {
        got = street_got;
      }
      double words_score = words.empty() ? -1 : (total_weight > 0 ? got / total_weight : 0);
      double postcode = q.postcode ? postcode_component(q, snap_.string(e.postcode), nullptr) : -1;
      double score = blend(words_score, numbers, postcode, flat_penalty);
      if (!words.empty()) score -= 0.03 * std::min(unmatched_name_words, 3) + 0.04 * std::min(unmentioned_street_words, 2);
      if (e.flags & kAlternative) score *= 0.98;
      results.push_back(Scored{score, e.uprn, ai});
    }
  }

  // Best entry per UPRN, best first: of the best `max + 8` UPRNs, the first `max` not
  // skipped. Those are near the front: the best few entries are selected in linear time
  // (nth_element) and only they are sorted; the whole list is sorted only if UPRNs with
  // several entries use them up. A bounded heap, which the benchmark location's 307 tied
  // candidates kept reordering, cost 5 % more of match_all's instructions (callgrind).
  auto better = [](const Scored& a, const Scored& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.uprn != b.uprn ? a.uprn < b.uprn : a.entry < b.entry;
  };
  const std::size_t considered_max = max + 8;
  const std::size_t front_size = std::min(results.size(), 2 * considered_max);
  const auto front_end = results.begin() + static_cast<std::ptrdiff_t>(front_size);
  std::nth_element(results.begin(), front_end, results.end(), better);
  std::vector<Scored> front(results.begin(), front_end);
  std::sort(front.begin(), front.end(), better);
  std::vector<std::uint64_t> seen;
  const std::size_t total = results.size();
  for (std::size_t k = 0; k < total && seen.size() < considered_max && hits.size() < max; ++k) {
    if (k == front.size()) {
      std::sort(results.begin(), results.end(), better);
      front.swap(results);
    }
    const Scored& r = front[k];
    if (std::find(seen.begin(), seen.end(), r.uprn) != seen.end()) continue;
    seen.push_back(r.uprn);
    if (skip(r.uprn)) continue;
    MatchHit h;
    h.uprn = r.uprn;
    h.entry = &snap_.addresses()[r.entry];
    h.confidence = r.score;
    hits.push_back(std::move(h));
  }

  // Explanations for what is returned only, appended in place (no temporaries).
  auto append_word = [](std::string& list, std::string_view word) {
    if (!list.empty()) list += ' ';
    list += word;
  };
  auto add_part = [](std::string& why, std::string_view label, const std::string& list) {
    if (list.empty()) return;
    if (!why.empty()) why += "; ";
    why += label;
    why += list;
  };
  std::string exact, fuzzy, building, missing;
  for (MatchHit& h : hits) {
    const AddressEntry& e = *h.entry;
    double bonus = 0;
    street_word_credits(e.street, credit, &bonus);
    std::string why;
    why.reserve(160);
    NumberFacts facts{e.sao_start,      e.sao_end,          e.pao_start,      e.pao_end,       e.sao_start_suffix,
                      e.sao_end_suffix, e.pao_start_suffix, e.pao_end_suffix, snap_.string(e.sao_text)};
    bool flat_penalty = false;
    numbers_component(q, facts, &flat_penalty, &why);
    postcode_component(q, snap_.string(e.postcode), &why);
    if (flat_penalty) why += std::string(why.empty() ? "" : "; ") + "a flat, query named no flat";
    exact.clear();
    fuzzy.clear();
    building.clear();
    missing.clear();
    for (std::size_t i = 0; i < words.size(); ++i) {
      const WordPlan& w = words[i];
      if (credit[i] >= 1.0) {
        append_word(exact, w.text);
        continue;
      }
      if (credit[i] > 0) {
        for (auto [term, c] : w.alternatives)
          if (std::fabs(c - credit[i]) < 1e-6 &&
              std::binary_search(snap_.street_terms(snap_.streets()[e.street]).begin(),
                                 snap_.street_terms(snap_.streets()[e.street]).end(), term)) {
            append_word(fuzzy, w.text);
            fuzzy += '~';
            fuzzy += snap_.string(snap_.terms()[term].text);
            break;
          }
        continue;
      }
      double best = 0;
      for (std::uint32_t name : {e.pao_text, e.sao_text, e.organisation})
        if (name != 0) best = std::max(best, text_credit(w.text, snap_.string(name), name_words));
      append_word(best > 0 ? building : missing, w.text);
    }
    add_part(why, "words ", exact);
    add_part(why, "typo-tolerant ", fuzzy);
    add_part(why, "building name ", building);
    add_part(why, "not found ", missing);
    if (e.flags & kAlternative) why += "; alternative address form";
    h.explanation = std::move(why);
  }
  return hits;
}

}  // namespace deit::gazetteer
