#include "gazetteer/postcode.hpp"

#include <cctype>

namespace deit::gazetteer {
namespace {

bool letter(char c) { return c >= 'A' && c <= 'Z'; }
bool digit(char c) { return c >= '0' && c <= '9'; }
bool in(char c, std::string_view set) { return set.find(c) != std::string_view::npos; }

Error format_error(std::string message) {
  return Error::make("postcode-format", std::move(message), "postcode");
}

// Outward code shapes: A9, A99, AA9, AA99, A9A, AA9A (letters restricted by position).
bool valid_outward(std::string_view o, std::string* why) {
  if (o.size() < 2 || o.size() > 4) {
    *why = "outward code must be 2 to 4 characters";
    return false;
  }
  if (!letter(o[0]) || in(o[0], "QVX")) {
    *why = "outward code must start with a letter other than Q, V or X";
    return false;
  }
  std::size_t i = 1;
  if (letter(o[1])) {
    if (in(o[1], "IJZ")) {
      *why = "second letter of the area cannot be I, J or Z";
      return false;
    }
    i = 2;
  }
  if (i >= o.size() || !digit(o[i])) {
    *why = "outward code needs a district number after the area letters";
    return false;
  }
  ++i;
  if (i == o.size()) return true;
  if (digit(o[i]) && i + 1 == o.size()) return true;
  if (letter(o[i]) && i + 1 == o.size()) {
    const bool single_letter_area = !letter(o[1]);
    if (single_letter_area ? in(o[i], "ABCDEFGHJKPSTUW") : in(o[i], "ABEHMNPRVWXY")) return true;
    *why = "district letter not allowed in that position";
    return false;
  }
  *why = "outward code has unexpected characters";
  return false;
}

}  // namespace

std::string Postcode::normalised() const {
  if (inward.empty()) return outward;
  return outward + " " + inward;
}

std::string Postcode::sector() const {
  if (inward.empty()) return {};
  return outward + " " + inward.substr(0, 1);
}

Result<Postcode> parse_postcode(std::string_view text) {
  std::string compact;
  std::string first_part;  // up to the first space, to tell "AL1 3" from "AL13"
  bool seen_space = false;    // a space between two parts; trailing white space is not one
  bool pending_space = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!compact.empty()) pending_space = true;
      continue;
    }
    if (!std::isalnum(static_cast<unsigned char>(c))) return format_error("postcode contains '" + std::string(1, c) + "'");
    seen_space = seen_space || pending_space;
    char u = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    compact.push_back(u);
    if (!seen_space) first_part.push_back(u);
  }
  if (compact.empty()) return format_error("postcode is empty");
  if (compact == "GIR0AA") return Postcode{Postcode::Kind::full, "GIR", "0AA", "GIR"};

  Postcode pc;
  std::string why;
  const std::size_t n = compact.size();
  if (n >= 5 && digit(compact[n - 3]) && letter(compact[n - 2]) && letter(compact[n - 1])) {
    pc.kind = Postcode::Kind::full;
    pc.outward = compact.substr(0, n - 3);
    pc.inward = compact.substr(n - 3);
    if (in(pc.inward[1], "CIKMOV") || in(pc.inward[2], "CIKMOV"))
      return format_error("inward code letters cannot be C, I, K, M, O or V");
  } else if (seen_space && first_part.size() + 1 == n && digit(compact[n - 1])) {
    pc.kind = Postcode::Kind::sector;
    pc.outward = first_part;
    pc.inward = compact.substr(n - 1);
  } else if (!seen_space) {
    pc.kind = Postcode::Kind::outward;
    pc.outward = compact;
  } else {
    return format_error("'" + std::string(text) + "' is neither a full postcode, a sector nor an outward code");
  }
  if (!valid_outward(pc.outward, &why)) return format_error(why + " ('" + pc.outward + "')");
  pc.area = pc.outward.substr(0, letter(pc.outward[1]) ? 2 : 1);
  return pc;
}

Result<std::string> normalise_postcode(std::string_view text) {
  auto parsed = parse_postcode(text);
  if (!parsed) return parsed.error();
  if (parsed->kind != Postcode::Kind::full)
    return format_error("'" + std::string(text) + "' is a partial postcode, a full one is required");
  return parsed->normalised();
}

bool is_valid_full_postcode(std::string_view text) {
  auto parsed = parse_postcode(text);
  return parsed.ok() && parsed->kind == Postcode::Kind::full;
}

}  // namespace deit::gazetteer
