#pragma once
// A synchronous HTTPS client with a client certificate (mutual TLS), and a WebSocket
// stream client: what deitctl, the end-to-end tests and the benchmarks use to talk to a hub.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hub/model/result.hpp"

namespace deit::hub {

struct ClientOptions {
  std::string host = "127.0.0.1";
  std::string port = "8443";
  std::string ca_file;
  std::string cert_file;  // client certificate (PEM)
  std::string key_file;
};

// The paths of `<dir>/<name>.pem`, `<dir>/<name>.key` and `<dir>/ca.pem`.
ClientOptions options_for(const std::string& certs_dir, const std::string& name, const std::string& host_port);

struct HttpReply {
  int status = 0;
  std::string content_type;
  std::string body;
};

class Client {
 public:
  static Result<std::unique_ptr<Client>> connect(const ClientOptions& options);
  ~Client();
  // Sends one request on the kept-alive connection; reconnects once if it was closed.
  Result<HttpReply> request(const std::string& method, const std::string& target, const std::string& body = {},
                            const std::string& content_type = {});

  struct Impl;

 private:
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class StreamClient {
 public:
  // Opens GET /v1/stream as a WebSocket over mutual TLS. With `batch` above 1 each frame
  // is a JSON array of up to that many deliveries (`?batch=N`); with 1, one delivery.
  static Result<std::unique_ptr<StreamClient>> connect(const ClientOptions& options, unsigned batch = 1);
  ~StreamClient();
  // Blocks for the next frame (JSON text). `timeout_ms` 0 waits forever.
  Result<std::string> next(int timeout_ms = 0);
  Status ack(const std::vector<std::uint64_t>& seqs);
  void close();

  struct Impl;

 private:
  explicit StreamClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace deit::hub
