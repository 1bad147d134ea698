// End-to-end: hostile input against a real deit-hub process. Each attack gets a specific
// refusal (problem+json naming the rule, the field and, for a document, the line) or is
// closed, and during all of it a well-behaved sender's transfers are stored and delivered.
// Complements TransferEndToEnd.RefusalsAreProblemDetailsNamingTheRule (one of each simple
// refusal on a quiet hub): here the attacks run concurrently with real traffic, and the
// connection-level attacks (slowloris, half-open, chunked oversize) are driven byte by byte.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "tests/e2e/hub_process.hpp"

using namespace deit;
using namespace deit::e2e;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// The limits under test: a request header must be complete 1 s after it starts (or after
// the handshake); an idle kept-alive connection may wait 20 s. The bounds below sit far
// between the two, so a loaded machine cannot make them flaky and the wrong timeout fails.
constexpr const char* kLimits =
    R"("limits": {"header_timeout_s": 1, "idle_timeout_s": 20, "max_body_bytes": 65536, "max_xml_depth": 32})";
constexpr milliseconds kClosedWithin{10000};
// An ambulance service that sends its own JSON format (the others send DEIT XML).
constexpr const char* kJsonAgency = R"({"id": "json-ambulance", "kind": "ambulance", "format": "ambulance"})";

// The string at `key`, or empty when it is missing or not a string: a refusal's shape is
// what these tests check.
std::string text_or_empty(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// A connection driven byte by byte: plain TCP, optionally TLS with an agency's certificate
// (OpenSSL directly, on a non-blocking socket, so that every wait has a deadline).
class RawConnection {
 public:
  explicit RawConnection(const std::string& port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(std::stoi(port)));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
  }
  ~RawConnection() {
    if (ssl_) SSL_free(ssl_);
    if (ctx_) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }

  // `resume`: a session from an earlier connection to offer the hub (TLS resumption);
  // `tls12`: offer TLS 1.2 only.
  bool handshake(const HubProcess& hub, const std::string& identity, SSL_SESSION* resume = nullptr, bool tls12 = false) {
    const std::string certs = hub.certs().string();
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (SSL_CTX_load_verify_locations(ctx_, (certs + "/ca.pem").c_str(), nullptr) != 1 ||
        SSL_CTX_use_certificate_chain_file(ctx_, (certs + "/" + identity + ".pem").c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx_, (certs + "/" + identity + ".key").c_str(), SSL_FILETYPE_PEM) != 1)
      return false;
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    if (tls12) SSL_CTX_set_max_proto_version(ctx_, TLS1_2_VERSION);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    if (resume) SSL_set_session(ssl_, resume);
    const auto deadline = Clock::now() + milliseconds(10000);
    for (;;) {
      const int r = SSL_connect(ssl_);
      if (r == 1) return true;
      if (!wait_for(SSL_get_error(ssl_, r), deadline)) return false;
    }
  }

  // The TLS session, for the caller to free; and whether the handshake resumed one.
  SSL_SESSION* session() const { return SSL_get1_session(ssl_); }
  bool resumed() const { return SSL_session_reused(ssl_) == 1; }

  // Writes all of `bytes` (over TLS once handshaken); false when the hub has closed.
  bool send(std::string_view bytes) {
    const auto deadline = Clock::now() + milliseconds(10000);
    while (!bytes.empty()) {
      const int n = SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
      if (n > 0) {
        bytes.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      if (!wait_for(SSL_get_error(ssl_, n), deadline)) return false;
    }
    return true;
  }

  // Reads (and keeps) whatever arrives until the hub closes the connection or `limit`
  // passes. True when it was closed in time.
  bool closed_within(milliseconds limit, std::string* received = nullptr) {
    const auto deadline = Clock::now() + limit;
    char buf[4096];
    for (;;) {
      if (ssl_ == nullptr) {
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return true;
        if (n > 0) continue;
        if (!wait_for(SSL_ERROR_WANT_READ, deadline)) return false;
        continue;
      }
      const int n = SSL_read(ssl_, buf, sizeof buf);
      if (n > 0) {
        if (received) received->append(buf, static_cast<std::size_t>(n));
        continue;
      }
      const int err = SSL_get_error(ssl_, n);
      if (err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SYSCALL || err == SSL_ERROR_SSL) return true;
      if (!wait_for(err, deadline)) return false;
    }
  }

 private:
  // Waits until the socket can make progress for an SSL_ERROR_WANT_*; false on any other
  // error or at the deadline.
  bool wait_for(int ssl_error, Clock::time_point deadline) {
    short events = 0;
    if (ssl_error == SSL_ERROR_WANT_READ) events = POLLIN;
    else if (ssl_error == SSL_ERROR_WANT_WRITE) events = POLLOUT;
    else return false;
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd_, events, 0};
    return ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 200))) >= 0 && Clock::now() < deadline;
  }

  int fd_ = -1;
  bool connected_ = false;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
};

// A loopback port that records whether anything connected: the hub must never fetch an
// external entity or DTD, wherever a document points.
class Canary {
 public:
  Canary() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
  }
  ~Canary() { ::close(fd_); }
  std::string url(const std::string& file) const { return "http://127.0.0.1:" + std::to_string(port_) + "/" + file; }
  bool touched() const {
    const int c = ::accept(fd_, nullptr, nullptr);
    if (c >= 0) ::close(c);
    return c >= 0;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

std::string with_line_replaced(std::string doc, const std::string& from, const std::string& to, int* line = nullptr) {
  const auto at = doc.find(from);
  if (at == std::string::npos) throw std::runtime_error("not in the sample: " + from);
  doc.replace(at, from.size(), to);
  if (line) *line = 1 + static_cast<int>(std::count(doc.begin(), doc.begin() + static_cast<long>(at), '\n'));
  return doc;
}

struct HostileCase {
  std::string name;
  std::string identity;  // who sends it
  std::string body;
  std::string content_type;
  int status;
  std::string rule;
  std::string field_part;  // expected inside "field"
  int line;                // expected line; 0: must be absent, -1: present (any)
};

std::vector<HostileCase> hostile_cases(const Canary& canary) {
  std::vector<HostileCase> cases;
  const std::string xml = "application/xml";
  const std::string sample = sample_message("hostile-x", "HOSTILE");
  const std::string root = "<incidentMessage xmlns=\"urn:deit-hub:incident:1\" schemaVersion=\"1.0\">";

  // External entities: a file and a URL; and an external DTD. Refused at the DOCTYPE,
  // before anything could be read or fetched.
  cases.push_back({"xxe-file", "hertfordshire-police",
                   "<?xml version=\"1.0\"?>\n<!DOCTYPE incidentMessage [\n  <!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n]>\n" +
                       root + "<messageId>&xxe;</messageId></incidentMessage>",
                   xml, 400, "doctype", "", 2});
  cases.push_back({"xxe-url", "hertfordshire-police",
                   "<?xml version=\"1.0\"?>\n<!DOCTYPE incidentMessage [<!ENTITY % remote SYSTEM \"" +
                       canary.url("evil.dtd") + "\"> %remote;]>\n" + root + "</incidentMessage>",
                   xml, 400, "doctype", "", 2});
  cases.push_back({"external-dtd", "hertfordshire-police",
                   "<?xml version=\"1.0\"?>\n<!DOCTYPE incidentMessage SYSTEM \"" + canary.url("incident.dtd") + "\">\n" +
                       sample.substr(sample.find("<incidentMessage")),
                   xml, 400, "doctype", "", 2});
  // Billion laughs in full (ten levels of ten): refused before a single expansion.
  std::string laughs = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n";
  for (int i = 1; i <= 9; ++i) {
    laughs += " <!ENTITY lol" + std::to_string(i) + " \"";
    for (int k = 0; k < 10; ++k) laughs += "&lol" + (i == 1 ? std::string() : std::to_string(i - 1)) + ";";
    laughs += "\">\n";
  }
  laughs += "]>\n" + root + "<messageId>&lol9;</messageId></incidentMessage>";
  cases.push_back({"billion-laughs", "hertfordshire-police", laughs, xml, 400, "doctype", "", 2});

  // Deep nesting: 5,000 levels (well inside the body limit) are refused at the first level
  // the schema does not declare, without reading on; JSON, which has no schema for
  // elements, stops at the depth limit.
  std::string deep = "<?xml version=\"1.0\"?>\n" + root + "\n";
  for (int i = 0; i < 5000; ++i) deep += "<n>";
  cases.push_back({"deep-nesting-xml", "hertfordshire-police", deep, xml, 422, "schema", "/incidentMessage", 3});
  cases.push_back({"deep-nesting-json", "json-ambulance",
                   "{\"incident\":\n" + std::string(5000, '[') + std::string(5000, ']') + "}", "application/json", 400,
                   "depth", "", 2});

  // Invalid UTF-8 inside a field: located, not mangled.
  int line = 0;
  std::string bad_utf8 = with_line_replaced(sample, "<summary>", "<summary>caf\xC3\x28 \xFF\xFE ", &line);
  cases.push_back({"invalid-utf8-xml", "hertfordshire-police", bad_utf8, xml, 400, "well-formed", "", line});
  std::string ambulance = read_text(std::string(DEIT_SOURCE_DIR) + "/tests/adapters/golden/rtc-injury.ambulance.json");
  std::string bad_json = with_line_replaced(ambulance, "\"summary\": \"RTC", "\"summary\": \"\xED\xA0\x80 RTC", &line);
  cases.push_back({"invalid-utf8-json", "json-ambulance", bad_json, "application/json", 400, "well-formed", "", line});

  // Schema-invalid: an element the schema does not have, and another format's document.
  std::string extra = with_line_replaced(sample, "<summary>", "<secretSauce>1</secretSauce><summary>", &line);
  cases.push_back({"schema-unknown-element", "hertfordshire-police", extra, xml, 422, "schema", "/incidentMessage/incident",
                   line});
  std::string fire = read_text(std::string(DEIT_SOURCE_DIR) + "/tests/adapters/golden/rtc-injury.fire.xml");
  cases.push_back({"other-format", "hertfordshire-police", fire, xml, 422, "", "", -1});

  // Wrong content types: refused before the body is parsed, naming the header.
  cases.push_back({"json-to-xml-agency", "hertfordshire-police", sample, "application/json", 415,
                   "unsupported-media-type", "Content-Type", 0});
  cases.push_back({"form-to-xml-agency", "hertfordshire-police", sample, "multipart/form-data; boundary=x", 415,
                   "unsupported-media-type", "Content-Type", 0});
  cases.push_back({"xml-to-json-agency", "json-ambulance", ambulance, "application/xml", 415,
                   "unsupported-media-type", "Content-Type", 0});
  return cases;
}

void expect_refusal(const HostileCase& c, const Result<hub::HttpReply>& reply) {
  ASSERT_TRUE(reply.ok()) << c.name << ": " << reply.error().describe();
  EXPECT_EQ(reply->status, c.status) << c.name << ": " << reply->body;
  EXPECT_EQ(reply->content_type, "application/problem+json") << c.name;
  const auto p = parse_object(reply->body);
  if (!c.rule.empty()) {
    EXPECT_EQ(text_or_empty(p, "rule"), c.rule) << c.name << ": " << reply->body;
  }
  EXPECT_FALSE(text_or_empty(p, "rule").empty()) << c.name;
  EXPECT_FALSE(text_or_empty(p, "detail").empty()) << c.name;
  if (!c.field_part.empty()) {
    EXPECT_NE(text_or_empty(p, "field").find(c.field_part), std::string::npos) << c.name << ": " << reply->body;
  }
  if (c.line > 0) {
    ASSERT_TRUE(p.contains("line")) << c.name << ": " << reply->body;
    EXPECT_EQ(p.at("line").to_number<int>(), c.line) << c.name << ": " << reply->body;
    EXPECT_GT(p.at("column").to_number<int>(), 0) << c.name;
  } else if (c.line < 0) {
    EXPECT_TRUE(p.contains("line")) << c.name << ": " << reply->body;
  }
  EXPECT_EQ(reply->body.find("root:"), std::string::npos) << c.name << " leaked a file";
}

// Reads stream frames until every id in `want` arrived or nothing came for `timeout_ms`;
// acknowledges each frame; returns every message id seen.
std::multiset<std::string> drain(hub::StreamClient& stream, const std::set<std::string>& want, int timeout_ms) {
  std::multiset<std::string> seen;
  std::set<std::string> missing = want;
  while (!missing.empty()) {
    auto frame = stream.next(timeout_ms);
    if (!frame) break;
    const auto d = parse_object(*frame);
    seen.insert(text_or_empty(d, "message"));
    missing.erase(text_or_empty(d, "message"));
    EXPECT_TRUE(stream.ack({d.at("delivery").to_number<std::uint64_t>()}).ok());
  }
  return seen;
}

class HostileInputEndToEnd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { std::signal(SIGPIPE, SIG_IGN); }  // writes to a closed socket fail instead
};

}  // namespace

TEST_F(HostileInputEndToEnd, HostileDocumentsGetPreciseRefusalsWhileGoodTransfersFlow) {
  HubProcess hub(kJsonAgency, "", kLimits);
  Canary canary;
  const auto cases = hostile_cases(canary);
  auto fire = hub.stream("hertfordshire-fire");

  // A well-behaved control room keeps sending while three attackers send every case twice.
  std::set<std::string> good_ids;
  std::thread good([&] {
    auto police = hub.client("hertfordshire-police");
    for (int i = 0; i < 8; ++i) {
      const std::string id = "good-" + std::to_string(i);
      auto r = police->request("POST", "/v1/transfers", sample_message(id, "GOOD-" + std::to_string(i)), "application/xml");
      ASSERT_TRUE(r.ok()) << r.error().describe();
      EXPECT_EQ(r->status, 202) << r->body;
      good_ids.insert(id);
      std::this_thread::sleep_for(milliseconds(50));
    }
  });
  std::vector<std::thread> attackers;
  for (int a = 0; a < 3; ++a) {
    attackers.emplace_back([&, a] {
      std::map<std::string, std::unique_ptr<hub::Client>> clients;
      for (int round = 0; round < 2; ++round) {
        for (std::size_t k = 0; k < cases.size(); ++k) {
          const HostileCase& c = cases[(k + static_cast<std::size_t>(a) * 5) % cases.size()];
          auto& client = clients[c.identity];
          if (!client) client = hub.client(c.identity);
          expect_refusal(c, client->request("POST", "/v1/transfers", c.body, c.content_type));
        }
      }
    });
  }
  good.join();
  for (auto& t : attackers) t.join();

  // Every good transfer was delivered, and nothing else was.
  const auto delivered = drain(*fire, good_ids, 10000);
  for (const auto& id : good_ids) EXPECT_EQ(delivered.count(id), 1u) << id << " not delivered exactly once";
  EXPECT_EQ(delivered.size(), good_ids.size());
  EXPECT_FALSE(canary.touched()) << "the hub fetched an external entity or DTD";
  const std::string log = hub.log();
  EXPECT_NE(log.find("rule=doctype"), std::string::npos);
  EXPECT_NE(log.find("rule=depth"), std::string::npos);
}

TEST_F(HostileInputEndToEnd, OversizedChunkedBodyIsRefusedWithoutALength) {
  // Without Content-Length the hub cannot refuse up front: it must count as it reads.
  HubProcess hub("", "", kLimits);
  RawConnection c(hub.port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.handshake(hub, "hertfordshire-police"));
  ASSERT_TRUE(c.send("POST /v1/transfers HTTP/1.1\r\nHost: hub\r\nContent-Type: application/xml\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk(8192, 'x');
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk.size());
  bool hub_stopped_reading = false;
  for (int i = 0; i < 64 && !hub_stopped_reading; ++i)  // 512 KiB offered against a 64 KiB limit
    hub_stopped_reading = !c.send(size_line + chunk + "\r\n");
  std::string reply;
  EXPECT_TRUE(c.closed_within(kClosedWithin, &reply));
  // The refusal may be lost to a reset while the client is still writing; the log is not.
  if (!reply.empty()) {
    EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply;
    EXPECT_NE(reply.find("\"rule\":\"size\""), std::string::npos) << reply;
  }
  EXPECT_TRUE(log_shows(hub, "rule=size"));
  auto ok = hub.client("hertfordshire-police")
                ->request("POST", "/v1/transfers", sample_message("after-chunked", "AFTER"), "application/xml");
  ASSERT_TRUE(ok.ok()) << ok.error().describe();
  EXPECT_EQ(ok->status, 202) << ok->body;
}

TEST_F(HostileInputEndToEnd, SlowAndHalfOpenConnectionsAreClosedWhileOthersAreServed) {
  HubProcess hub("", "", kLimits);
  auto fire = hub.stream("hertfordshire-fire");

  // Thirty TCP connections that never start TLS, and ten that finish the handshake and
  // never send a request.
  std::vector<std::unique_ptr<RawConnection>> silent_tcp, silent_tls;
  for (int i = 0; i < 30; ++i) {
    silent_tcp.push_back(std::make_unique<RawConnection>(hub.port()));
    ASSERT_TRUE(silent_tcp.back()->connected());
  }
  for (int i = 0; i < 10; ++i) {
    silent_tls.push_back(std::make_unique<RawConnection>(hub.port()));
    ASSERT_TRUE(silent_tls.back()->handshake(hub, "bedfordshire-police"));
  }
  const auto opened = Clock::now();

  // Five slowloris clients: a request header trickled one byte every 100 ms, never ending.
  // Each byte is progress, so only a deadline for the whole header can stop them.
  std::vector<std::thread> slow;
  std::atomic<int> slow_closed_in_time{0};
  for (int i = 0; i < 5; ++i) {
    slow.emplace_back([&] {
      RawConnection c(hub.port());
      if (!c.handshake(hub, "thames-valley-police")) return;
      const std::string header = "POST /v1/transfers HTTP/1.1\r\nHost: hub\r\nContent-Type: application/xml\r\nX-Padding: " +
                                 std::string(400, 'a');
      const auto start = Clock::now();
      for (char ch : header) {
        if (Clock::now() - start > kClosedWithin || !c.send(std::string_view(&ch, 1))) break;
        std::this_thread::sleep_for(milliseconds(100));
      }
      if (c.closed_within(milliseconds(100)) && Clock::now() - start < kClosedWithin) ++slow_closed_in_time;
    });
  }

  // Meanwhile a well-behaved control room is served as usual.
  auto police = hub.client("hertfordshire-police");
  std::set<std::string> good_ids;
  for (int i = 0; i < 3; ++i) {
    const std::string id = "served-" + std::to_string(i);
    auto r = police->request("POST", "/v1/transfers", sample_message(id, "SERVED-" + std::to_string(i)), "application/xml");
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_EQ(r->status, 202) << r->body;
    good_ids.insert(id);
  }
  const auto delivered = drain(*fire, good_ids, 10000);
  for (const auto& id : good_ids) EXPECT_EQ(delivered.count(id), 1u) << id;

  // Every silent connection is closed by the hub, long before the idle timeout.
  for (auto& c : silent_tcp) {
    const auto left = kClosedWithin - std::chrono::duration_cast<milliseconds>(Clock::now() - opened);
    EXPECT_TRUE(c->closed_within(std::max(left, milliseconds(1)))) << "a TCP connection without TLS was kept open";
  }
  for (auto& c : silent_tls) {
    const auto left = kClosedWithin - std::chrono::duration_cast<milliseconds>(Clock::now() - opened);
    EXPECT_TRUE(c->closed_within(std::max(left, milliseconds(1)))) << "a TLS connection without a request was kept open";
  }
  for (auto& t : slow) t.join();
  EXPECT_EQ(slow_closed_in_time.load(), 5) << "slowloris clients were not cut off at the header deadline";

  auto health = police->request("GET", "/v1/health");
  ASSERT_TRUE(health.ok()) << health.error().describe();
  EXPECT_EQ(health->status, 200);
  EXPECT_TRUE(log_shows(hub, "event=tls-handshake-failed"));
}

// Every connection presents its certificate in full: the hub issues no TLS 1.3 session
// tickets and keeps no TLS 1.2 session cache, so a session from an earlier connection is
// never resumed (and the certificate never escapes a check against the current CRL).
TEST_F(HostileInputEndToEnd, NoConnectionResumesATlsSession) {
  HubProcess hub;
  for (const char* version : {"TLS 1.3", "TLS 1.2"}) {
    SCOPED_TRACE(version);
    RawConnection first(hub.port());
    ASSERT_TRUE(first.connected());
    ASSERT_TRUE(first.handshake(hub, "hertfordshire-police", nullptr, std::string_view(version) == "TLS 1.2"));
    ASSERT_TRUE(first.send("GET /v1/health HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n"));
    std::string answer;
    ASSERT_TRUE(first.closed_within(milliseconds(5000), &answer));
    EXPECT_NE(answer.find("HTTP/1.1 200"), std::string::npos) << answer;  // tickets would have come before it
    SSL_SESSION* session = first.session();
    ASSERT_NE(session, nullptr);
    EXPECT_EQ(SSL_SESSION_is_resumable(session), 0);

    RawConnection second(hub.port());
    ASSERT_TRUE(second.handshake(hub, "hertfordshire-police", session, std::string_view(version) == "TLS 1.2"));
    EXPECT_FALSE(second.resumed());
    SSL_SESSION_free(session);
  }
}
