#pragma once
// ZeroMQ CURVE links (docs/links.md), beside the HTTPS API and with the same semantics:
//  - the link listener: a ROUTER socket, CURVE server with the hub's key pair, whose ZAP
//    handler admits only public keys configured for exactly one agency. A connector opens a
//    session with HELLO and receives its agency's deliveries in sequence order within a
//    window, acknowledging each; it may also submit incidents and accept or reject
//    transfers, answered only after the store committed. A hub in mode link may open a
//    session to deliver its queue here; its deliveries are taken as submissions (incidents)
//    or decisions (status), acknowledged after commit.
//  - outbound links: for each agency with delivery mode "link" the hub connects out as a
//    CURVE client and delivers that agency's queue the same way, waiting for ACKs.
// Every acknowledgement goes through Hub::acknowledge, so it is committed before the hub
// forgets a delivery; anything unacknowledged is delivered again on the next session.
//
// One thread owns every ZeroMQ socket. Store completions and dispatcher notifications
// reach it through a queue and an eventfd; nothing blocks that thread on the network.

#include <memory>
#include <string>

#include "hub/hub.hpp"

namespace deit::hub::links {

class LinkService {
 public:
  explicit LinkService(Hub& hub);
  ~LinkService();

  // Reads the hub's key, binds the listener (if links.listen is set), starts the outbound
  // links and the link thread. Does nothing when links are not configured.
  Status start();
  // Says BYE on every session, stops the thread and closes the sockets. Idempotent.
  void stop();
  // The bound listener endpoint (tcp://host:port, with the port the system chose for *).
  std::string endpoint() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace deit::hub::links
