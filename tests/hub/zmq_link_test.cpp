// ZeroMQ links without sockets: CURVE keys and their files, the links configuration, the
// ZAP admission decision and the link protocol codec (every frame validated).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "hub/config.hpp"
#include "hub/links/curve_keys.hpp"
#include "hub/links/protocol.hpp"
#include "hub/links/zap.hpp"

namespace deit::hub::links {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("deit-zmq-link-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

CurveKeyPair new_pair() {
  auto p = generate_key_pair();
  EXPECT_TRUE(p.ok());
  return *p;
}

// ---- keys ------------------------------------------------------------------------------

TEST(CurveKeys, Z85KeysAreCheckedForLengthAndAlphabet) {
  const CurveKeyPair pair = new_pair();
  EXPECT_TRUE(check_z85_key(pair.public_key, "k").ok());

  auto short_key = check_z85_key(pair.public_key.substr(0, 39), "agencies[0].link_keys[0]");
  ASSERT_FALSE(short_key.ok());
  EXPECT_EQ(short_key.error().field, "agencies[0].link_keys[0]");
  EXPECT_NE(short_key.error().message.find("40 characters"), std::string::npos);

  std::string bad = pair.public_key;
  bad[7] = '"';  // not in the Z85 alphabet
  auto bad_char = check_z85_key(bad, "k");
  ASSERT_FALSE(bad_char.ok());
  EXPECT_NE(bad_char.error().message.find("character 8"), std::string::npos) << bad_char.error().message;
}

TEST(CurveKeys, RawAndZ85RoundTrip) {
  const CurveKeyPair pair = new_pair();
  const std::string raw = decode_z85_key(pair.public_key);
  ASSERT_EQ(raw.size(), 32u);
  EXPECT_EQ(encode_z85_key(raw), pair.public_key);
  EXPECT_TRUE(decode_z85_key("too short").empty());
  EXPECT_EQ(encode_z85_key(std::string(32, 'x')).size(), 40u);
  EXPECT_TRUE(encode_z85_key("short").empty());
}

TEST(CurveKeys, PublicKeyIsDerivedFromTheSecret) {
  const CurveKeyPair pair = new_pair();
  auto derived = public_key_of(pair.secret_key);
  ASSERT_TRUE(derived.ok()) << derived.error().describe();
  EXPECT_EQ(*derived, pair.public_key);
  EXPECT_NE(*derived, new_pair().public_key);
}

TEST(CurveKeys, KeyFilesRoundTripWithAPrivateSecretFile) {
  TempDir dir;
  const CurveKeyPair pair = new_pair();
  const std::string secret = dev_key_path(dir.path().string(), "herts");
  EXPECT_EQ(fs::path(secret).filename(), "herts.curve.key");
  ASSERT_TRUE(write_key_pair(secret, pair).ok());
  struct stat st {};
  ASSERT_EQ(::stat(secret.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(public_key_path(secret), (dir.path() / "herts.curve.pub").string());

  auto read = read_key_pair(secret);
  ASSERT_TRUE(read.ok()) << read.error().describe();
  EXPECT_EQ(read->secret_key, pair.secret_key);
  EXPECT_EQ(read->public_key, pair.public_key);
  auto pub = read_public_key(public_key_path(secret));
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(*pub, pair.public_key);
  auto pub_from_secret = read_public_key(secret);
  ASSERT_TRUE(pub_from_secret.ok());
  EXPECT_EQ(*pub_from_secret, pair.public_key);

  std::ofstream(dir.path() / "broken.key") << "# comment only\n";
  auto broken = read_key_pair((dir.path() / "broken.key").string());
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message.find("no key"), std::string::npos);
  EXPECT_FALSE(read_key_pair((dir.path() / "missing.key").string()).ok());
}

// ---- configuration ---------------------------------------------------------------------

std::string config_text(const std::string& links, const std::string& agencies, bool dev = false) {
  return std::string(R"({"tls": {"ca": "c/ca.pem", "cert": "c/hub.pem", "key": "c/hub.key", "generate_dev_certs": )") +
         (dev ? "true" : "false") + "},\n" + (links.empty() ? "" : links + ",\n") + "\"agencies\": [" + agencies + "]}";
}

Error config_error(const std::string& text) {
  auto c = parse_config(text, "/srv/deit");
  if (c.ok()) {
    ADD_FAILURE() << "expected an error for\n" << text;
    return {};
  }
  return c.error();
}

TEST(LinksConfig, AgencyKeysAndTheListenerParse) {
  const CurveKeyPair a = new_pair(), b = new_pair(), remote = new_pair();
  auto c = parse_config(
      config_text(R"("links": {"listen": "tcp://127.0.0.1:8444", "key": "keys/hub.curve.key", "heartbeat_ms": 1000,
                               "heartbeat_timeout_ms": 4000, "window": 32})",
                  R"({"id": "herts-police", "kind": "police", "link_keys": [")" + a.public_key + R"(", ")" +
                      b.public_key + R"("]},
                     {"id": "remote-fire", "kind": "fire", "link_keys": [")" + remote.public_key + R"("],
                      "delivery": {"mode": "link", "endpoint": "tcp://10.0.0.9:8444", "server_key": ")" +
                      remote.public_key + R"("}})"),
      "/srv/deit");
  ASSERT_TRUE(c.ok()) << c.error().describe();
  EXPECT_EQ(c->links.listen, "tcp://127.0.0.1:8444");
  EXPECT_EQ(c->links.key_file, "/srv/deit/keys/hub.curve.key");
  EXPECT_EQ(c->links.heartbeat, std::chrono::milliseconds(1000));
  EXPECT_EQ(c->links.heartbeat_timeout, std::chrono::milliseconds(4000));
  EXPECT_EQ(c->links.window, 32u);
  EXPECT_TRUE(c->links.enabled());
  EXPECT_TRUE(c->links.uses_outbound);
  EXPECT_EQ(c->agencies[0].link_keys.size(), 2u);
  EXPECT_EQ(c->agencies[1].delivery, DeliveryMode::link);
  EXPECT_EQ(c->agencies[1].server_key, remote.public_key);
  EXPECT_EQ(c->agencies[1].endpoint, "tcp://10.0.0.9:8444");
}

TEST(LinksConfig, LinksAreOffUnlessConfigured) {
  auto c = parse_config(config_text("", R"({"id": "herts-police", "kind": "police"})"), "/srv/deit");
  ASSERT_TRUE(c.ok()) << c.error().describe();
  EXPECT_FALSE(c->links.enabled());
  auto d = default_config("/srv/deit");
  ASSERT_TRUE(d.ok()) << d.error().describe();
  EXPECT_EQ(d->links.listen, "tcp://127.0.0.1:8444");
  EXPECT_TRUE(d->tls.generate_dev_certs);
}

TEST(LinksConfig, MalformedKeysNameTheirPath) {
  Error e = config_error(config_text("", R"({"id": "a", "kind": "police"}, {"id": "b", "kind": "fire", "link_keys": ["abc"]})"));
  EXPECT_EQ(e.field, "agencies[1].link_keys[0]");
  EXPECT_NE(e.message.find("40 characters"), std::string::npos) << e.message;

  e = config_error(config_text("", R"({"id": "a", "kind": "police", "link_keys": "x"})"));
  EXPECT_EQ(e.field, "agencies[0].link_keys");

  std::string bad = new_pair().public_key;
  bad[0] = ' ';
  e = config_error(config_text("", R"({"id": "a", "kind": "police", "link_keys": [")" + bad + R"("]})"));
  EXPECT_EQ(e.field, "agencies[0].link_keys[0]");
  EXPECT_NE(e.message.find("Z85 alphabet"), std::string::npos) << e.message;
}

TEST(LinksConfig, AKeyBelongsToExactlyOneAgency) {
  const std::string key = new_pair().public_key;
  Error e = config_error(config_text("", R"({"id": "a", "kind": "police", "link_keys": [")" + key +
                                             R"("]}, {"id": "b", "kind": "fire", "link_keys": [")" + key + R"("]})"));
  EXPECT_EQ(e.field, "agencies[1].link_keys[0]");
  EXPECT_NE(e.message.find("'a'"), std::string::npos) << e.message;
}

TEST(LinksConfig, LinkDeliveryNeedsATcpEndpointAndTheServerKey) {
  const std::string key = new_pair().public_key;
  Error e = config_error(config_text("", R"({"id": "a", "kind": "police", "delivery": {"mode": "link", "endpoint": "tcp://h:9"}})", true));
  EXPECT_EQ(e.field, "agencies[0].delivery.server_key");
  e = config_error(config_text(
      "", R"({"id": "a", "kind": "police", "delivery": {"mode": "link", "endpoint": "https://h:9", "server_key": ")" + key + R"("}})", true));
  EXPECT_EQ(e.field, "agencies[0].delivery.endpoint");
  e = config_error(config_text(
      "", R"({"id": "a", "kind": "police", "delivery": {"mode": "link", "endpoint": "tcp://h:99999", "server_key": ")" + key + R"("}})", true));
  EXPECT_EQ(e.field, "agencies[0].delivery.endpoint");
  e = config_error(config_text(
      "", R"({"id": "a", "kind": "police", "delivery": {"mode": "pull", "server_key": ")" + key + R"("}})", true));
  EXPECT_EQ(e.field, "agencies[0].delivery.server_key");
  e = config_error(config_text("", R"({"id": "a", "kind": "police", "delivery": {"mode": "zmq"}})"));
  EXPECT_NE(e.message.find("pull, push, link"), std::string::npos);
}

TEST(LinksConfig, ListenerSettingsAreChecked) {
  const std::string agency = R"({"id": "a", "kind": "police"})";
  Error e = config_error(config_text(R"("links": {"listen": "127.0.0.1:8444"})", agency, true));
  EXPECT_EQ(e.field, "links.listen");
  e = config_error(config_text(R"("links": {"listen": "tcp://127.0.0.1:8444", "heartbeat_ms": 1000, "heartbeat_timeout_ms": 1500})", agency, true));
  EXPECT_EQ(e.field, "links.heartbeat_timeout_ms");
  e = config_error(config_text(R"("links": {"listen": "tcp://127.0.0.1:8444", "windo": 4})", agency, true));
  EXPECT_EQ(e.field, "links.windo");
  EXPECT_EQ(e.message, "unknown setting");
  e = config_error(config_text(R"("links": {"listen": "tcp://127.0.0.1:8444", "window": 0})", agency, true));
  EXPECT_EQ(e.field, "links.window");
  // Without development certificates there is nothing to generate a key from.
  e = config_error(config_text(R"("links": {"listen": "tcp://127.0.0.1:8444"})", agency, false));
  EXPECT_EQ(e.field, "links.key");
  EXPECT_TRUE(parse_config(config_text(R"("links": {"listen": "tcp://127.0.0.1:*"})", agency, true), "/srv").ok());
}

TEST(LinksConfig, DevelopmentKeysAreGeneratedOnceAndAdmitted) {
  TempDir dir;
  auto c = parse_config(config_text(R"("links": {"listen": "tcp://127.0.0.1:*"})",
                                    R"({"id": "a", "kind": "police"}, {"id": "b", "kind": "fire"})", true),
                        dir.path().string());
  ASSERT_TRUE(c.ok()) << c.error().describe();
  Config first = *c;
  ASSERT_TRUE(ensure_dev_link_keys(first).ok());
  EXPECT_EQ(first.links.key_file, (dir.path() / "c" / "hub.curve.key").string());
  EXPECT_TRUE(fs::exists(dir.path() / "c" / "a.curve.key"));
  EXPECT_TRUE(fs::exists(dir.path() / "c" / "b.curve.pub"));
  ASSERT_EQ(first.agencies[0].link_keys.size(), 1u);
  auto a_pair = read_key_pair((dir.path() / "c" / "a.curve.key").string());
  ASSERT_TRUE(a_pair.ok());
  EXPECT_EQ(first.agencies[0].link_keys[0], a_pair->public_key);

  Config second = *c;  // a restart: the same keys again
  ASSERT_TRUE(ensure_dev_link_keys(second).ok());
  EXPECT_EQ(second.agencies[0].link_keys, first.agencies[0].link_keys);
  EXPECT_EQ(second.agencies[1].link_keys, first.agencies[1].link_keys);
  EXPECT_NE(first.agencies[0].link_keys, first.agencies[1].link_keys);
}

// ---- ZAP -------------------------------------------------------------------------------

class Zap : public ::testing::Test {
 protected:
  void SetUp() override {
    police = new_pair();
    fire = new_pair();
    ASSERT_TRUE(keys.admit(police.public_key, "herts-police"));
    ASSERT_TRUE(keys.admit(fire.public_key, "herts-fire"));
  }
  static std::vector<std::string> request(const std::string& mechanism, const std::vector<std::string>& credentials,
                                          const std::string& domain = std::string(kZapDomain)) {
    std::vector<std::string> r{"1.0", "42", domain, "192.0.2.7", "", mechanism};
    r.insert(r.end(), credentials.begin(), credentials.end());
    return r;
  }
  CurveKeyPair police, fire;
  KeyRing keys;
};

TEST_F(Zap, AdmitsAConfiguredKeyAsItsAgency) {
  const ZapDecision d = decide_zap(request("CURVE", {decode_z85_key(fire.public_key)}), keys);
  EXPECT_TRUE(d.admitted);
  EXPECT_EQ(d.agency, "herts-fire");
  EXPECT_EQ(d.peer, "192.0.2.7");
  ASSERT_EQ(d.reply.size(), 6u);
  EXPECT_EQ(d.reply[0], "1.0");
  EXPECT_EQ(d.reply[1], "42");  // the request id is echoed
  EXPECT_EQ(d.reply[2], "200");
  EXPECT_EQ(d.reply[4], "herts-fire");  // User-Id: what the listener reads from every message
}

TEST_F(Zap, RefusesAnUnknownKeyAndSaysWhichKey) {
  const CurveKeyPair stranger = new_pair();
  const ZapDecision d = decide_zap(request("CURVE", {decode_z85_key(stranger.public_key)}), keys);
  EXPECT_FALSE(d.admitted);
  EXPECT_EQ(d.reason, "unknown key");
  EXPECT_EQ(d.key, stranger.public_key);
  EXPECT_EQ(d.peer, "192.0.2.7");
  ASSERT_EQ(d.reply.size(), 6u);
  EXPECT_EQ(d.reply[2], "400");
  EXPECT_EQ(d.reply[4], "");  // no identity for a refused peer
}

TEST_F(Zap, RefusesEveryMechanismButCurve) {
  for (const char* mechanism : {"NULL", "PLAIN", "GSSAPI"}) {
    SCOPED_TRACE(mechanism);
    std::vector<std::string> credentials;
    if (std::string(mechanism) == "PLAIN") credentials = {"herts-police", "password"};
    const ZapDecision d = decide_zap(request(mechanism, credentials), keys);
    EXPECT_FALSE(d.admitted);
    EXPECT_EQ(d.reason, "wrong mechanism");
    EXPECT_EQ(d.mechanism, mechanism);
    EXPECT_EQ(d.reply[2], "400");
  }
}

TEST_F(Zap, RefusesOtherDomainsAndMalformedRequests) {
  ZapDecision d = decide_zap(request("CURVE", {decode_z85_key(police.public_key)}, "other-domain"), keys);
  EXPECT_FALSE(d.admitted);
  EXPECT_NE(d.reason.find("domain"), std::string::npos);

  d = decide_zap(request("CURVE", {"not 32 bytes"}), keys);
  EXPECT_FALSE(d.admitted);
  EXPECT_EQ(d.reason, "malformed CURVE credentials");

  d = decide_zap(request("CURVE", {}), keys);
  EXPECT_FALSE(d.admitted);
  EXPECT_EQ(d.reason, "malformed CURVE credentials");

  std::vector<std::string> wrong_version = request("CURVE", {decode_z85_key(police.public_key)});
  wrong_version[0] = "2.0";
  d = decide_zap(wrong_version, keys);
  EXPECT_FALSE(d.admitted);
  EXPECT_EQ(d.reply[2], "500");

  d = decide_zap({"1.0", "7"}, keys);
  EXPECT_FALSE(d.admitted);
  ASSERT_EQ(d.reply.size(), 6u);
  EXPECT_EQ(d.reply[1], "7");
  EXPECT_EQ(d.reply[2], "500");
  EXPECT_EQ(decide_zap({}, keys).reply[2], "500");
}

TEST_F(Zap, KeyRingKeepsOneAgencyPerKey) {
  EXPECT_FALSE(keys.admit(police.public_key, "herts-fire"));
  EXPECT_TRUE(keys.admit(police.public_key, "herts-police"));  // the same claim again is harmless
  EXPECT_FALSE(keys.admit("not a key", "x"));
  EXPECT_EQ(keys.size(), 2u);
  EXPECT_EQ(*keys.agency_of(decode_z85_key(police.public_key)), "herts-police");
  EXPECT_EQ(keys.agency_of(decode_z85_key(new_pair().public_key)), nullptr);
}

// ---- the codec -------------------------------------------------------------------------

template <typename T>
T round_trip(const Message& m) {
  const auto frames = encode(m);
  auto decoded = decode(frames);
  EXPECT_TRUE(decoded.ok()) << (decoded.ok() ? "" : decoded.error().describe());
  if (!decoded.ok()) return T{};
  EXPECT_TRUE(std::holds_alternative<T>(*decoded)) << command_of(*decoded);
  return std::holds_alternative<T>(*decoded) ? std::get<T>(*decoded) : T{};
}

TEST(LinkCodec, EveryMessageRoundTrips) {
  auto hello = round_trip<Hello>(Hello{LinkRole::deliver, 17});
  EXPECT_EQ(hello.role, LinkRole::deliver);
  EXPECT_EQ(hello.window, 17u);
  EXPECT_EQ(encode(Hello{LinkRole::receive, 3}), (std::vector<std::string>{"HELLO", "1", "receive", "3"}));

  auto welcome = round_trip<Welcome>(Welcome{"herts-fire", 64, 5000});
  EXPECT_EQ(welcome.agency, "herts-fire");
  EXPECT_EQ(welcome.window, 64u);
  EXPECT_EQ(welcome.heartbeat_ms, 5000u);

  using namespace std::string_literals;
  const std::string body = "<incidentMessage>\0binary-safe\xff</incidentMessage>"s;  // frames are bytes
  ASSERT_EQ(body[17], '\0');
  auto deliver = round_trip<Deliver>(Deliver{12345678901234ULL, "T-abc", "m-1 é", "incident", "application/xml", body});
  EXPECT_EQ(deliver.seq, 12345678901234ULL);
  EXPECT_EQ(deliver.transfer, "T-abc");
  EXPECT_EQ(deliver.message, "m-1 é");
  EXPECT_EQ(deliver.body, body);

  EXPECT_EQ(round_trip<Ack>(Ack{{3, 1, 2}}).seqs, (std::vector<std::uint64_t>{3, 1, 2}));

  Error problem = Error::make("schema", "value 'urgent' is not allowed", "incident/policeGrade");
  problem.line = 20;
  problem.column = 7;
  auto refuse = round_trip<Refuse>(Refuse{9, problem});
  EXPECT_EQ(refuse.seq, 9u);
  EXPECT_EQ(refuse.problem.rule, "schema");
  EXPECT_EQ(refuse.problem.field, "incident/policeGrade");
  EXPECT_EQ(refuse.problem.line, 20);
  EXPECT_EQ(refuse.problem.column, 7);

  auto submit = round_trip<Submit>(Submit{"r-1", "application/xml", "<x/>"});
  EXPECT_EQ(submit.request_id, "r-1");
  EXPECT_EQ(submit.body, "<x/>");

  auto decide = round_trip<Decide>(Decide{"r-2", "T-abc", false, "outside our area", "op 12"});
  EXPECT_FALSE(decide.accept);
  EXPECT_EQ(decide.reason, "outside our area");
  EXPECT_EQ(decide.operator_name, "op 12");

  auto reply = round_trip<Reply>(Reply{"r-1", "received", R"({"status":"received"})"});
  EXPECT_EQ(reply.status, "received");

  round_trip<Ping>(Ping{});
  round_trip<Pong>(Pong{});
  round_trip<Bye>(Bye{});
  auto failure = round_trip<Failure>(Failure{Error::make("session", "send HELLO", "frame[0]")});
  EXPECT_EQ(failure.problem.rule, "session");
  EXPECT_EQ(failure.problem.field, "frame[0]");
}

Error decode_error(const std::vector<std::string>& frames, const CodecLimits& limits = {}) {
  auto m = decode(frames, limits);
  if (m.ok()) {
    ADD_FAILURE() << "decoded " << command_of(*m);
    return {};
  }
  return m.error();
}

void expect_refused(const std::vector<std::string>& frames, const std::string& field, const std::string& words,
                    const CodecLimits& limits = {}) {
  std::string shown;
  for (const auto& f : frames) shown += "[" + f.substr(0, 20) + "]";
  SCOPED_TRACE(shown);
  const Error e = decode_error(frames, limits);
  EXPECT_EQ(e.rule, "frame");
  EXPECT_EQ(e.field, field) << e.message;
  EXPECT_NE(e.message.find(words), std::string::npos) << e.message;
}

TEST(LinkCodec, MalformedMessagesAreRefusedNamingTheFrame) {
  expect_refused({}, "frame[0]", "empty");
  expect_refused({"HELO"}, "frame[0]", "unknown command 'HELO'");
  expect_refused({std::string("\x01\x02", 2)}, "frame[0]", "\\x01\\x02");
  expect_refused({"HELLO", "1", "receive"}, "frame[3]", "has 3 frames; it must have 4");
  expect_refused({"HELLO", "1", "receive", "5", "extra"}, "frame[4]", "has 5 frames");
  expect_refused({"HELLO", "2", "receive", "5"}, "frame[1]", "version '2' is not supported");
  expect_refused({"HELLO", "1", "listen", "5"}, "frame[2]", "role 'listen'");
  expect_refused({"HELLO", "1", "receive", "0"}, "frame[3]", "from 1 to 100000");
  expect_refused({"HELLO", "1", "receive", "-5"}, "frame[3]", "decimal number");
  expect_refused({"HELLO", "1", "receive", "007"}, "frame[3]", "decimal number");
  expect_refused({"HELLO", "1", "receive", "99999999999999999999999"}, "frame[3]", "decimal number");
  expect_refused({"ACK"}, "frame[1]", "at least one");
  expect_refused({"ACK", "1", "x"}, "frame[2]", "decimal number");
  expect_refused({"ACK", "0"}, "frame[1]", "from 1");
  CodecLimits two_acks;
  two_acks.max_acks = 2;
  expect_refused({"ACK", "1", "2", "3"}, "frame[3]", "at most 2", two_acks);
  expect_refused({"DELIVER", "1", "T-1", "m", "parcel", "application/xml", "<x/>"}, "frame[4]", "kind 'parcel'");
  expect_refused({"DELIVER", "1", "T 1", "m", "incident", "application/xml", "<x/>"}, "frame[2]", "not allowed");
  expect_refused({"DELIVER", "1", "T-1", "m\n", "incident", "application/xml", "<x/>"}, "frame[3]", "control character");
  expect_refused({"DELIVER", "1", "T-1", "\xff\xfe", "incident", "application/xml", "<x/>"}, "frame[3]", "UTF-8");
  expect_refused({"DELIVER", "1", "T-1", "m", "incident", "application/xml", ""}, "frame[6]", "empty");
  CodecLimits small;
  small.max_body_bytes = 8;
  expect_refused({"DELIVER", "1", "T-1", "m", "incident", "application/xml", "<xxxxxxxx/>"}, "frame[6]", "larger than 8",
                 small);
  expect_refused({"SUBMIT", "has space", "application/xml", "<x/>"}, "frame[1]", "not allowed");
  expect_refused({"SUBMIT", "", "application/xml", "<x/>"}, "frame[1]", "1 to 64 bytes");
  expect_refused({"DECIDE", "r", "T-1", "maybe", "", ""}, "frame[3]", "decision 'maybe'");
  expect_refused({"RESULT", "r", "lost", "{}"}, "frame[2]", "status 'lost'");
  expect_refused({"RESULT", "r", "received", "[1]"}, "frame[3]", "JSON object");
  expect_refused({"REFUSE", "4", "not json"}, "frame[2]", "not JSON");
  expect_refused({"ERROR", R"({"rule":"x"})"}, "frame[1]/detail", "\"detail\"");
  expect_refused({"ERROR", R"({"rule":"x","detail":"y","line":-1})"}, "frame[1]/line", "non-negative");
  expect_refused({"PING", "extra"}, "frame[1]", "has 2 frames");
  expect_refused({"WELCOME", "1", "Herts_Fire", "1", "1"}, "frame[2]", "not allowed");
}

TEST(LinkCodec, AnOversizedSubmissionIsASizeRefusal) {
  CodecLimits small;
  small.max_body_bytes = 4;
  const Error e = decode_error({"SUBMIT", "r-1", "application/xml", "<abcdef/>"}, small);
  EXPECT_EQ(e.rule, "size");
  EXPECT_EQ(e.field, "frame[3]");
}

TEST(LinkCodec, ProblemJsonCarriesLineAndColumn) {
  Error e = Error::make("well-formed", "expected '>'", "incidentMessage");
  e.line = 3;
  e.column = 14;
  Error back;
  ASSERT_TRUE(parse_problem_json(problem_json(e), back).ok());
  EXPECT_EQ(back.rule, "well-formed");
  EXPECT_EQ(back.message, "expected '>'");
  EXPECT_EQ(back.field, "incidentMessage");
  EXPECT_EQ(back.line, 3);
  EXPECT_EQ(back.column, 14);
  EXPECT_EQ(problem_json(Error::make("x", "y")), R"({"rule":"x","detail":"y"})");
}

}  // namespace
}  // namespace deit::hub::links
