#include "hub/cli/client.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <filesystem>

namespace deit::hub {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

ClientOptions options_for(const std::string& certs_dir, const std::string& name, const std::string& host_port) {
  namespace fs = std::filesystem;
  ClientOptions o;
  const auto colon = host_port.rfind(':');
  if (colon != std::string::npos) {
    o.host = host_port.substr(0, colon);
    o.port = host_port.substr(colon + 1);
  } else if (!host_port.empty()) {
    o.host = host_port;
  }
  o.ca_file = (fs::path(certs_dir) / "ca.pem").string();
  o.cert_file = (fs::path(certs_dir) / (name + ".pem")).string();
  o.key_file = (fs::path(certs_dir) / (name + ".key")).string();
  return o;
}

namespace {

Result<std::unique_ptr<ssl::context>> make_context(const ClientOptions& o) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->load_verify_file(o.ca_file, ec);
  if (ec) return Error::make("tls", "cannot load CA " + o.ca_file + ": " + ec.message(), "ca");
  if (!o.cert_file.empty()) {
    ctx->use_certificate_chain_file(o.cert_file, ec);
    if (ec) return Error::make("tls", "cannot load certificate " + o.cert_file + ": " + ec.message(), "cert");
    ctx->use_private_key_file(o.key_file, ssl::context::pem, ec);
    if (ec) return Error::make("tls", "cannot load key " + o.key_file + ": " + ec.message(), "key");
  }
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

Status open_tls(net::io_context& io, beast::ssl_stream<beast::tcp_stream>& stream, const ClientOptions& o) {
  boost::system::error_code ec;
  tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(o.host, o.port, ec);
  if (ec) return Error::make("connect", "cannot resolve " + o.host + ": " + ec.message());
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
  beast::get_lowest_layer(stream).socket().connect(*endpoints.begin(), ec);
  if (ec) return Error::make("connect", "cannot connect to " + o.host + ":" + o.port + ": " + ec.message());
  beast::get_lowest_layer(stream).socket().set_option(tcp::no_delay(true), ec);
  SSL_set_tlsext_host_name(stream.native_handle(), o.host.c_str());
  stream.set_verify_callback(ssl::host_name_verification(o.host));
  stream.handshake(ssl::stream_base::client, ec);
  if (ec) return Error::make("tls", "TLS handshake with " + o.host + ":" + o.port + " failed: " + ec.message());
  return Status::success();
}

}  // namespace

struct Client::Impl {
  ClientOptions options;
  net::io_context io;
  std::unique_ptr<ssl::context> ctx;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> stream;
  beast::flat_buffer buffer;

  Status reconnect() {
    stream = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(io, *ctx);
    buffer.clear();
    return open_tls(io, *stream, options);
  }
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() {
  if (impl_ && impl_->stream) {
    boost::system::error_code ec;
    beast::get_lowest_layer(*impl_->stream).socket().shutdown(tcp::socket::shutdown_both, ec);
  }
}

Result<std::unique_ptr<Client>> Client::connect(const ClientOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  auto ctx = make_context(options);
  if (!ctx) return ctx.error();
  impl->ctx = std::move(ctx).value();
  if (auto s = impl->reconnect(); !s) return s.error();
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Result<HttpReply> Client::request(const std::string& method, const std::string& target, const std::string& body,
                                  const std::string& content_type) {
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, impl_->options.host);
  req.set(http::field::user_agent, "deitctl");
  if (!content_type.empty()) req.set(http::field::content_type, content_type);
  req.body() = body;
  req.keep_alive(true);
  req.prepare_payload();
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!impl_->stream) {
      if (auto s = impl_->reconnect(); !s) return s.error();
    }
    boost::system::error_code ec;
    beast::get_lowest_layer(*impl_->stream).expires_after(std::chrono::seconds(120));
    http::write(*impl_->stream, req, ec);
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    if (!ec) http::read(*impl_->stream, impl_->buffer, parser, ec);
    if (ec) {
      impl_->stream.reset();
      // A kept-alive connection the server closed: try once on a new one.
      if (attempt == 0 && (ec == http::error::end_of_stream || ec == net::error::eof ||
                           ec == net::error::connection_reset || ec == net::ssl::error::stream_truncated ||
                           ec == net::error::broken_pipe))
        continue;
      return Error::make("http", method + " " + target + ": " + ec.message());
    }
    auto res = parser.release();
    HttpReply reply{static_cast<int>(res.result_int()), std::string(res[http::field::content_type]), std::move(res.body())};
    if (!res.keep_alive()) impl_->stream.reset();
    return reply;
  }
  return Error::make("http", method + " " + target + ": connection closed");
}

struct StreamClient::Impl {
  net::io_context io;
  std::unique_ptr<ssl::context> ctx;
  std::unique_ptr<websocket::stream<beast::ssl_stream<beast::tcp_stream>>> ws;
  beast::flat_buffer buffer;
};

StreamClient::StreamClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StreamClient::~StreamClient() { close(); }

Result<std::unique_ptr<StreamClient>> StreamClient::connect(const ClientOptions& options, unsigned batch) {
  auto impl = std::make_unique<Impl>();
  auto ctx = make_context(options);
  if (!ctx) return ctx.error();
  impl->ctx = std::move(ctx).value();
  impl->ws = std::make_unique<websocket::stream<beast::ssl_stream<beast::tcp_stream>>>(impl->io, *impl->ctx);
  if (auto s = open_tls(impl->io, impl->ws->next_layer(), options); !s) return s.error();
  beast::get_lowest_layer(*impl->ws).expires_never();
  boost::system::error_code ec;
  const std::string target = batch > 1 ? "/v1/stream?batch=" + std::to_string(batch) : "/v1/stream";
  impl->ws->handshake(options.host + ":" + options.port, target, ec);
  if (ec) return Error::make("websocket", "stream handshake failed: " + ec.message());
  return std::unique_ptr<StreamClient>(new StreamClient(std::move(impl)));
}

Result<std::string> StreamClient::next(int timeout_ms) {
  boost::system::error_code result = net::error::would_block;
  std::size_t got = 0;
  impl_->buffer.clear();
  impl_->ws->async_read(impl_->buffer, [&](boost::system::error_code ec, std::size_t n) {
    result = ec;
    got = n;
  });
  impl_->io.restart();
  if (timeout_ms > 0) {
    impl_->io.run_for(std::chrono::milliseconds(timeout_ms));
    if (result == net::error::would_block) {
      // Timed out: cancel the read and let it finish so the stream stays usable.
      beast::get_lowest_layer(*impl_->ws).cancel();
      impl_->io.restart();
      impl_->io.run();
      return Error::make("timeout", "no delivery within " + std::to_string(timeout_ms) + " ms");
    }
  } else {
    impl_->io.run();
  }
  if (result) return Error::make("websocket", "stream read failed: " + result.message());
  (void)got;
  return beast::buffers_to_string(impl_->buffer.data());
}

Status StreamClient::ack(const std::vector<std::uint64_t>& seqs) {
  std::string frame = "{\"ack\":[";
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    if (i) frame += ',';
    frame += std::to_string(seqs[i]);
  }
  frame += "]}";
  boost::system::error_code ec;
  impl_->ws->text(true);
  impl_->ws->write(net::buffer(frame), ec);
  if (ec) return Error::make("websocket", "ack failed: " + ec.message());
  return Status::success();
}

void StreamClient::close() {
  if (!impl_ || !impl_->ws || !impl_->ws->is_open()) return;
  boost::system::error_code ec;
  beast::get_lowest_layer(*impl_->ws).expires_after(std::chrono::seconds(2));
  impl_->ws->close(websocket::close_code::normal, ec);
}

}  // namespace deit::hub
