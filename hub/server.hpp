#pragma once
// The hub's network face: HTTPS with mutual TLS (Boost.Beast + OpenSSL) for the REST API,
// a WebSocket stream and a long-poll inbox for receiving, push delivery to agencies'
// own HTTPS endpoints, and the periodic dead-letter sweep. Sessions are C++20 coroutines,
// one strand each; all decisions are delegated to Hub.

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "hub/hub.hpp"

namespace deit::hub {

class Server {
 public:
  // `work` (optional) takes the CPU-heavy part of a submit (decoding, schema validation,
  // the gazetteer check, routing and translation) off the I/O threads whenever one of
  // them is already busy with it, so that reading, answering and streaming deliveries do
  // not queue behind it. The caller joins it after the I/O threads and before the store
  // closes.
  Server(Hub& hub, boost::asio::io_context& io, boost::asio::thread_pool* work = nullptr);
  ~Server();

  // Loads certificates, binds the listener and starts the background tasks.
  Status start();
  // The bound port (useful when the configuration asks for port 0).
  std::uint16_t port() const;
  // Stops accepting and cancels background tasks; open sessions end with the io_context.
  void stop();
  // Reads the TLS files named in the configuration (certificate, key, CA, CRL) again, for
  // SIGHUP and POST /v1/admin/reload-tls. New connections use them at once; connections
  // made earlier have their client certificate verified again against the new CA and CRL
  // before they do anything more. A file that does not load changes nothing. Thread-safe.
  Status reload_tls(const std::string& actor = "SIGHUP");
  // Reloads the configuration file (Hub::reload_config), for SIGHUP and POST
  // /v1/admin/reload-config, then starts pushers for agencies now delivered by push and
  // wakes streams and long-polls, whose certificates are identified again before they go
  // on. Thread-safe.
  Result<Hub::ConfigReload> reload_config(const std::string& actor = "SIGHUP");

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace deit::hub
