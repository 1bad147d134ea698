#include <string>

#include "gazetteer/model.hpp"
#include "gazetteer/text.hpp"

namespace deit::gazetteer {

std::string AddressableObject::describe() const {
  std::string number;
  if (start_number != 0) {
    number = std::to_string(start_number);
    if (start_suffix != 0) number.push_back(start_suffix);
    if (end_number != 0) {
      number.push_back('-');
      number += std::to_string(end_number);
      if (end_suffix != 0) number.push_back(end_suffix);
    }
  }
  if (text.empty()) return number;
  if (number.empty()) return text;
  return text + " " + number;
}

std::string Address::single_line() const {
  std::string out;
  auto add = [&out](const std::string& part) {
    if (part.empty()) return;
    if (!out.empty()) out += ", ";
    out += part;
  };
  add(organisation);
  if (!sao.empty()) add(sao.text.empty() ? "FLAT " + sao.describe() : sao.describe());
  std::string pao_part = pao.describe();
  if (pao.start_number != 0 && !street.empty() && pao.text.empty()) {
    add(pao_part + " " + street);
  } else {
    add(pao_part);
    add(street);
  }
  add(locality);
  add(town);
  add(postcode);
  return out;
}

AddressableObject parse_addressable_object(std::string_view input) {
  AddressableObject out;
  std::string words;
  bool have_number = false;
  for (auto& token : text::tokenize(input)) {
    if (text::is_flat_marker(token)) continue;
    text::NumberRange r;
    if (!have_number && text::parse_number_token(token, &r)) {
      out.start_number = r.start;
      out.start_suffix = r.start_suffix;
      out.end_number = r.end;
      out.end_suffix = r.end_suffix;
      have_number = true;
      continue;
    }
    // "12 A" typed with a space: a lone letter right after the number is its suffix.
    if (have_number && out.start_suffix == 0 && out.end_number == 0 && token.size() == 1 && words.empty() &&
        token[0] >= 'A' && token[0] <= 'Z') {
      out.start_suffix = token[0];
      continue;
    }
    if (!words.empty()) words.push_back(' ');
    words += token;
  }
  out.text = words;
  return out;
}

}  // namespace deit::gazetteer
