// deit-load: submits N incidents over mutual TLS on K connections while a receiver drains
// them from the WebSocket stream, and prints one JSON line: throughput and submit-to-receipt
// latency (p50/p99/max). With --rate, sends are scheduled (open loop) and latency is taken
// from each message's scheduled time, so a slow hub cannot hide its queueing. --batch N
// (default 64) is the stream's `?batch=`: at most N deliveries per frame. --hub-pid P adds
// the hub's CPU per transfer and the machine's CPU use over the same window: from the
// first submit to the last receipt, so the connections' TLS handshakes are not counted.
// The K senders are coroutines on one thread, not a thread each: the load generator
// shares the machine's cores with the hub, and 32 threads waking for every submit cost
// it about twice the CPU per incident.

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>
#include <openssl/ssl.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include "hub/cli/client.hpp"

using namespace deit;
using Clock = std::chrono::steady_clock;
namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using tcp = net::ip::tcp;

namespace {

std::string arg(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (argv[i] == name) return argv[i + 1];
  return fallback;
}

std::string message_for(const std::string& base, const std::string& id) {
  std::string xml = base;
  auto swap = [&](const std::string& from, const std::string& to) {
    const auto pos = xml.find(from);
    if (pos != std::string::npos) xml.replace(pos, from.size(), to);
  };
  swap("<messageId>HP-2026-000123-1</messageId>", "<messageId>" + id + "</messageId>");
  swap("<senderReference>HP-20261123-0123</senderReference>", "<senderReference>" + id + "</senderReference>");
  swap("<receiver>hertfordshire-fire</receiver>", "<receiver>east-of-england-ambulance</receiver>");
  return xml;
}

ssl::context tls_context(const hub::ClientOptions& o) {
  ssl::context tls(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
  tls.load_verify_file(o.ca_file);
  tls.use_certificate_chain_file(o.cert_file);
  tls.use_private_key_file(o.key_file, ssl::context::pem);
  tls.set_verify_mode(ssl::verify_peer);
  return tls;
}

// Connects and completes the TLS handshake, synchronously: before the clock starts.
boost::system::error_code open_tls(TlsStream& stream, const tcp::endpoint& endpoint, const std::string& host) {
  boost::system::error_code ec;
  beast::get_lowest_layer(stream).socket().connect(endpoint, ec);
  if (!ec) beast::get_lowest_layer(stream).socket().set_option(tcp::no_delay(true), ec);
  SSL_set_tlsext_host_name(stream.native_handle(), host.c_str());
  stream.set_verify_callback(ssl::host_name_verification(host));
  if (!ec) stream.handshake(ssl::stream_base::client, ec);
  return ec;
}

// The delivery number and message id of each envelope in a stream frame (a JSON array of
// objects), found by their keys instead of parsing the frame: a frame of 64 carries some
// 170 KB of escaped incident bodies, and parsing them cost the load generator about a
// tenth of its CPU. Inside a JSON string every quote is escaped, so `"delivery":` and
// `"message":"` can only be keys. Message ids here have no escapes.
std::vector<std::pair<std::uint64_t, std::string_view>> envelopes(std::string_view frame) {
  std::vector<std::pair<std::uint64_t, std::string_view>> out;
  constexpr std::string_view kDelivery = "\"delivery\":", kMessage = "\"message\":\"";
  for (std::size_t at = frame.find(kDelivery); at != std::string_view::npos; at = frame.find(kDelivery, at)) {
    at += kDelivery.size();
    std::uint64_t seq = 0;
    while (at < frame.size() && frame[at] >= '0' && frame[at] <= '9') seq = seq * 10 + static_cast<std::uint64_t>(frame[at++] - '0');
    std::string_view message;
    if (const auto m = frame.find(kMessage, at); m != std::string_view::npos) {
      const auto start = m + kMessage.size();
      message = frame.substr(start, frame.find('"', start) - start);
    }
    out.emplace_back(seq, message);
  }
  return out;
}

// CPU time so far, in clock ticks: one process (utime + stime of /proc/PID/stat), or the
// machine's counters (user nice system idle iowait irq softirq steal of /proc/stat).
std::uint64_t process_ticks(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));  // the name may hold spaces
  std::string field;
  std::uint64_t utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {  // field 3 is the state
    if (i == 14) utime = std::stoull(field);
    if (i == 15) {
      stime = std::stoull(field);
      break;
    }
  }
  return utime + stime;
}
std::vector<std::uint64_t> machine_ticks() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  in >> cpu;
  std::vector<std::uint64_t> ticks(8);
  for (auto& t : ticks) in >> t;
  return ticks;
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const std::size_t k = std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  const std::string hub = arg(argc, argv, "--hub", "127.0.0.1:8443");
  const std::string certs = arg(argc, argv, "--certs", "var/certs");
  const long n = std::stol(arg(argc, argv, "--messages", "10000"));
  const int k = std::stoi(arg(argc, argv, "--connections", "8"));
  const double rate = std::stod(arg(argc, argv, "--rate", "0"));  // messages/s in total; 0 = as fast as possible
  const std::string batch = arg(argc, argv, "--batch", "64");
  const std::string hub_pid = arg(argc, argv, "--hub-pid", "");
  const std::string run_id = arg(argc, argv, "--run", std::to_string(std::chrono::system_clock::now().time_since_epoch().count()));
  std::ifstream in(std::string(DEIT_SOURCE_DIR) + "/samples/rtc-injury.xml");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string base = ss.str();

  std::vector<Clock::time_point> sent_at(static_cast<std::size_t>(n));
  std::vector<bool> seen(static_cast<std::size_t>(n));
  std::vector<double> latencies_ms;
  latencies_ms.reserve(static_cast<std::size_t>(n));
  long received = 0, duplicates = 0, errors = 0;

  // Every connection is open (TCP and TLS handshakes done) before the clock starts: a
  // control room connects once and then sends for hours, so 32 simultaneous handshakes
  // belong to no incident's latency.
  net::io_context io(1);
  const auto options = hub::options_for(certs, "hertfordshire-police", hub);
  const auto endpoint = *tcp::resolver(io).resolve(options.host, options.port).begin();
  auto sender_tls = tls_context(options);
  std::vector<std::unique_ptr<TlsStream>> connections;
  for (int c = 0; c < k; ++c) {
    auto stream = std::make_unique<TlsStream>(io, sender_tls);
    if (auto ec = open_tls(*stream, endpoint, options.host)) {
      std::cerr << "deit-load: connection " << c << ": " << ec.message() << "\n";
      return 1;
    }
    connections.push_back(std::move(stream));
  }
  // The receiver drains the WebSocket stream on the same thread as the senders: one
  // epoll_wait then serves both, and the load generator leaves more of the two cores to the
  // hub. Deliveries come in frames of up to 64 (GET /v1/stream?batch=64), as a busy control
  // room's client would take them.
  const auto receiver_options = hub::options_for(certs, "east-of-england-ambulance", hub);
  auto receiver_tls = tls_context(receiver_options);
  websocket::stream<TlsStream> ws(io, receiver_tls);
  {
    auto ec = open_tls(ws.next_layer(), endpoint, options.host);
    if (!ec) ws.handshake(options.host + ":" + options.port, "/v1/stream?batch=" + batch, ec);
    if (ec) {
      std::cerr << "deit-load: stream: " << ec.message() << "\n";
      return 1;
    }
    // A hub that stops delivering ends the run after 15 s instead of hanging it.
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(10);
    timeouts.idle_timeout = std::chrono::seconds(15);
    timeouts.keep_alive_pings = false;
    ws.set_option(timeouts);
  }
  const std::string prefix = "L" + run_id + "-";
  Clock::time_point finished;
  std::uint64_t hub_ticks_at_start = 0, hub_ticks_at_end = 0;
  std::vector<std::uint64_t> machine_at_start, machine_at_end;
  auto receiver = [&]() -> net::awaitable<void> {
    beast::flat_buffer buffer;
    std::vector<std::uint64_t> pending;
    std::string acks;
    while (received < n) {
      buffer.clear();
      auto [ec, bytes] = co_await ws.async_read(buffer, net::as_tuple(net::use_awaitable));
      if (ec) break;
      const auto now = Clock::now();
      const std::string_view frame(static_cast<const char*>(buffer.data().data()), buffer.data().size());
      for (const auto& [delivery, message] : envelopes(frame)) {
        pending.push_back(delivery);
        if (!message.starts_with(prefix)) continue;
        const long i = std::stol(std::string(message.substr(prefix.size())));
        if (i >= 0 && i < n && !seen[static_cast<std::size_t>(i)]) {
          seen[static_cast<std::size_t>(i)] = true;
          latencies_ms.push_back(std::chrono::duration<double, std::milli>(now - sent_at[static_cast<std::size_t>(i)]).count());
          ++received;
        } else {
          ++duplicates;
        }
      }
      if (pending.size() >= 32 || received == n) {
        acks = "{\"ack\":[";
        for (std::size_t j = 0; j < pending.size(); ++j) (acks += j ? "," : "") += std::to_string(pending[j]);
        acks += "]}";
        pending.clear();
        if (auto [write_ec, written] = co_await ws.async_write(net::buffer(acks), net::as_tuple(net::use_awaitable)); write_ec)
          break;
      }
    }
    finished = Clock::now();
    if (!hub_pid.empty()) {
      hub_ticks_at_end = process_ticks(hub_pid);
      machine_at_end = machine_ticks();
    }
    // Closing also ends the stream's idle timer, which would otherwise keep io.run() going.
    co_await ws.async_close(websocket::close_code::normal, net::as_tuple(net::use_awaitable));
  };
  if (!hub_pid.empty()) {
    hub_ticks_at_start = process_ticks(hub_pid);
    machine_at_start = machine_ticks();
  }
  const auto start = Clock::now();
  auto submitted = start;
  int senders_running = k;
  // Where the time goes: how late each submit started against its schedule (the sender's
  // previous request still running), and how long the hub took to answer "received".
  std::vector<double> late_ms(static_cast<std::size_t>(n)), answer_ms(static_cast<std::size_t>(n));
  auto sender = [&](int c) -> net::awaitable<void> {
    TlsStream& stream = *connections[static_cast<std::size_t>(c)];
    beast::flat_buffer buffer;
    net::steady_timer timer(io);
    for (long i = c; i < n; i += k) {
      http::request<http::string_body> req{http::verb::post, "/v1/transfers", 11};
      req.set(http::field::host, options.host);
      req.set(http::field::content_type, "application/xml");
      req.keep_alive(true);
      req.body() = message_for(base, prefix + std::to_string(i));
      req.prepare_payload();
      auto when = start;
      if (rate > 0) {
        when = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(static_cast<double>(i) / rate));
        timer.expires_at(when);
        co_await timer.async_wait(net::as_tuple(net::use_awaitable));
      } else {
        when = Clock::now();
      }
      sent_at[static_cast<std::size_t>(i)] = when;
      const auto started = Clock::now();
      auto [write_ec, written] = co_await http::async_write(stream, req, net::as_tuple(net::use_awaitable));
      http::response<http::string_body> res;
      boost::system::error_code read_ec = write_ec;
      if (!write_ec) std::tie(read_ec, std::ignore) = co_await http::async_read(stream, buffer, res, net::as_tuple(net::use_awaitable));
      if (read_ec) {  // the connection is gone: this and every later submit on it failed
        errors += (n - 1 - i) / k + 1;
        break;
      }
      if (res.result_int() != 202) ++errors;
      late_ms[static_cast<std::size_t>(i)] = std::chrono::duration<double, std::milli>(started - when).count();
      answer_ms[static_cast<std::size_t>(i)] = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    }
    if (--senders_running == 0) submitted = Clock::now();
  };
  net::co_spawn(io, receiver(), net::detached);
  for (int c = 0; c < k; ++c) net::co_spawn(io, sender(c), net::detached);
  io.run();

  // Per message: when it was due (s from the start), how late it went and how long the hub
  // took to answer (ms), and when it was due on the steady clock (CLOCK_MONOTONIC, s): the
  // clock `perf record -k CLOCK_MONOTONIC` stamps events with, to line a slow answer up
  // with what the hub's threads were doing.
  if (const char* trace = std::getenv("DEIT_LOAD_TRACE")) {
    std::ofstream out(trace);
    out.precision(9);
    for (long i = 0; i < n; ++i) {
      const auto u = static_cast<std::size_t>(i);
      out << std::chrono::duration<double>(sent_at[u] - start).count() << ',' << late_ms[u] << ',' << answer_ms[u] << ','
          << std::chrono::duration<double>(sent_at[u].time_since_epoch()).count() << '\n';
    }
  }
  const double seconds = std::chrono::duration<double>(finished - start).count();
  std::vector<double> l = latencies_ms;
  const double max = l.empty() ? 0 : *std::max_element(l.begin(), l.end());
  boost::json::object out{
      {"bench", "transfer"},
      {"messages", n},
      {"connections", k},
      {"offered_rate_per_s", rate},
      {"received", received},
      {"errors", errors},
      {"duplicates", duplicates},
      {"submit_seconds", std::chrono::duration<double>(submitted - start).count()},
      {"seconds", seconds},
      {"throughput_per_s", static_cast<double>(received) / seconds},
      {"latency_ms", {{"p50", percentile(l, 0.50)}, {"p99", percentile(l, 0.99)}, {"max", max}}},
      {"submit_late_ms", {{"p50", percentile(late_ms, 0.50)}, {"p99", percentile(late_ms, 0.99)}}},
      {"submit_answer_ms", {{"p50", percentile(answer_ms, 0.50)}, {"p99", percentile(answer_ms, 0.99)}}}};
  if (!hub_pid.empty() && received > 0 && !machine_at_end.empty()) {
    const double us_per_tick = 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK));
    out["hub_cpu_us_per_transfer"] =
        std::round(static_cast<double>(hub_ticks_at_end - hub_ticks_at_start) * us_per_tick / static_cast<double>(received));
    std::vector<double> d(8);
    double total = 0;
    for (std::size_t i = 0; i < 8; ++i) total += d[i] = static_cast<double>(machine_at_end[i] - machine_at_start[i]);
    total = std::max(total, 1.0);
    auto pct = [&](double ticks) { return std::round(1000 * ticks / total) / 10; };
    out["machine_cpu_pct"] = {{"busy", pct(total - d[3] - d[4])}, {"idle", pct(d[3])}, {"iowait", pct(d[4])}, {"steal", pct(d[7])}};
  }
  std::cout << boost::json::serialize(out) << std::endl;
  return received == n && errors == 0 ? 0 : 1;
}
