#pragma once
// The link listener's admission decision (ZAP, ZeroMQ RFC 27): only CURVE clients whose
// long-term public key is configured for exactly one agency are admitted, and the
// agency id becomes the connection's User-Id, which the listener reads from every message.
// decide_zap() is a plain function of the request frames so tests can call it directly.

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "hub/config.hpp"

namespace deit::hub::links {

// CURVE public key (32 raw bytes) -> agency id, from agencies[].link_keys.
class KeyRing {
 public:
  static KeyRing from_config(const Config& config);
  // Returns false when the key is not valid Z85 or already belongs to another agency.
  bool admit(std::string_view z85_public_key, const std::string& agency);
  // The agency of a raw 32-byte key, or nullptr.
  const std::string* agency_of(std::string_view raw_key) const;
  std::size_t size() const { return agencies_.size(); }

 private:
  std::unordered_map<std::string, std::string> agencies_;
};

struct ZapDecision {
  std::vector<std::string> reply;  // the frames to send back to libzmq
  bool admitted = false;
  std::string agency;     // when admitted
  std::string peer;       // the peer's IP address, as libzmq reports it
  std::string mechanism;  // NULL, PLAIN, CURVE, ...
  std::string key;        // the client's public key (Z85) when the mechanism is CURVE
  std::string reason;     // why it was refused, for the log
};

// `request` is the ZAP request after the REP envelope: version, request id, domain,
// address, routing id, mechanism, credentials...
ZapDecision decide_zap(const std::vector<std::string>& request, const KeyRing& keys);

}  // namespace deit::hub::links
