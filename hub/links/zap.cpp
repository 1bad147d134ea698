#include "hub/links/zap.hpp"

#include "hub/links/curve_keys.hpp"
#include "hub/links/protocol.hpp"

namespace deit::hub::links {

KeyRing KeyRing::from_config(const Config& config) {
  KeyRing ring;
  for (const auto& agency : config.agencies)
    for (const auto& key : agency.link_keys) ring.admit(key, agency.id);
  return ring;
}

bool KeyRing::admit(std::string_view z85_public_key, const std::string& agency) {
  const std::string raw = decode_z85_key(z85_public_key);
  if (raw.empty()) return false;
  auto [it, inserted] = agencies_.emplace(raw, agency);
  return inserted || it->second == agency;
}

const std::string* KeyRing::agency_of(std::string_view raw_key) const {
  auto it = agencies_.find(std::string(raw_key));
  return it == agencies_.end() ? nullptr : &it->second;
}

ZapDecision decide_zap(const std::vector<std::string>& request, const KeyRing& keys) {
  ZapDecision d;
  auto answer = [&](const char* code, std::string text, std::string user_id = {}) {
    d.reply = {"1.0", request.size() > 1 ? request[1] : std::string(), code, std::move(text), std::move(user_id), ""};
  };
  if (request.size() > 3) d.peer = request[3];
  if (request.size() > 5) d.mechanism = request[5];
  if (request.size() < 6 || request[0] != "1.0") {
    // RFC 27: a request the handler cannot make sense of is an internal error (500).
    d.reason = "malformed ZAP request";
    answer("500", d.reason);
    return d;
  }
  if (request[2] != kZapDomain) {
    d.reason = "wrong ZAP domain '" + request[2] + "'";
    answer("400", d.reason);
    return d;
  }
  if (d.mechanism != "CURVE") {
    d.reason = "wrong mechanism";
    answer("400", "only CURVE is accepted");
    return d;
  }
  if (request.size() != 7 || request[6].size() != 32) {
    d.reason = "malformed CURVE credentials";
    answer("400", d.reason);
    return d;
  }
  d.key = encode_z85_key(request[6]);
  const std::string* agency = keys.agency_of(request[6]);
  if (!agency) {
    d.reason = "unknown key";
    answer("400", "public key is not admitted");
    return d;
  }
  d.admitted = true;
  d.agency = *agency;
  answer("200", "OK", *agency);
  return d;
}

}  // namespace deit::hub::links
