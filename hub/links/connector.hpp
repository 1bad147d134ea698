#pragma once
// The connecting side of a DEIT link (docs/links.md), synchronous: what `deitctl connect`,
// the end-to-end tests and an agency's own integration use. One Connector is one session;
// when it reports "link-lost", open a new one (everything unacknowledged is redelivered).
// Not thread-safe: use it from one thread.

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "hub/links/curve_keys.hpp"
#include "hub/links/protocol.hpp"

namespace deit::hub::links {

struct ConnectorOptions {
  std::string endpoint;    // tcp://host:port of the hub's link listener
  std::string server_key;  // the hub's CURVE public key (Z85)
  CurveKeyPair key;        // this agency's key pair
  LinkRole role = LinkRole::receive;
  std::size_t window = 64;  // deliveries it accepts unacknowledged
  std::chrono::milliseconds handshake_timeout{10'000};
};

class Connector {
 public:
  // Connects, says HELLO and waits for WELCOME. Errors: rule "unauthorised" (the hub
  // refused this key), "timeout" (no WELCOME: hub down, or a wrong server key), "frame".
  static Result<std::unique_ptr<Connector>> open(const ConnectorOptions& options);
  ~Connector();

  const std::string& agency() const { return agency_; }
  std::size_t window() const { return window_; }

  // The next delivery. Errors: "timeout" when none arrived in time; "link-lost" when the
  // hub fell silent, said BYE, or no longer knows the session (open a new Connector).
  Result<Deliver> next(std::chrono::milliseconds timeout);
  Status ack(const std::vector<std::uint64_t>& seqs);
  // Submits an incident message; the answer comes after the hub committed it.
  Result<Reply> submit(const std::string& content_type, const std::string& body, std::chrono::milliseconds timeout);
  Result<Reply> decide(const std::string& transfer, bool accept, const std::string& reason,
                       const std::string& operator_name, std::chrono::milliseconds timeout);

  // For tests and diagnostics: sends raw frames and returns the next message that is not
  // a delivery or a heartbeat (deliveries are kept for next()).
  Result<Message> exchange_raw(const std::vector<std::string>& frames, std::chrono::milliseconds timeout);
  // Says BYE and closes; waits up to a second for queued acknowledgements to leave.
  void close();

  struct Impl;

 private:
  explicit Connector(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string agency_;
  std::size_t window_ = 1;
};

}  // namespace deit::hub::links
