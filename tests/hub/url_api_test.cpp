// URL helpers and the JSON shapes of the HTTP API.
#include <gtest/gtest.h>

#include "hub/api_json.hpp"
#include "hub/url.hpp"

namespace deit::hub {
namespace {

namespace json = boost::json;

// ---- url_decode -----------------------------------------------------------------------

TEST(UrlDecode, PlainTextIsUnchanged) {
  EXPECT_EQ(url_decode(""), "");
  EXPECT_EQ(url_decode("hertfordshire-fire"), "hertfordshire-fire");
}

TEST(UrlDecode, PercentAndPlus) {
  EXPECT_EQ(url_decode("a%20b"), "a b");
  EXPECT_EQ(url_decode("a+b"), "a b");
  EXPECT_EQ(url_decode("%41%42%43"), "ABC");  // escape at the very end
  EXPECT_EQ(url_decode("%2f%2F"), "//");      // either case
  EXPECT_EQ(url_decode("HP%2D2026%2B1"), "HP-2026+1");
  EXPECT_EQ(url_decode("%C2%A3"), "\xC2\xA3");  // UTF-8 bytes pass through
}

TEST(UrlDecode, MalformedEscapesAreKept) {
  EXPECT_EQ(url_decode("100%"), "100%");
  EXPECT_EQ(url_decode("%4"), "%4");
  EXPECT_EQ(url_decode("%zz"), "%zz");
  EXPECT_EQ(url_decode("%%41"), "%A");
}

// ---- parse_https_url ------------------------------------------------------------------

TEST(ParseHttpsUrl, HostPortAndPath) {
  const auto u = parse_https_url("https://fire.example.org:9443/deit/inbox?x=1");
  EXPECT_EQ(u.host, "fire.example.org");
  EXPECT_EQ(u.port, "9443");
  EXPECT_EQ(u.target, "/deit/inbox?x=1");
}

TEST(ParseHttpsUrl, DefaultPortAndPath) {
  const auto u = parse_https_url("https://fire.example.org");
  EXPECT_EQ(u.host, "fire.example.org");
  EXPECT_EQ(u.port, "443");
  EXPECT_EQ(u.target, "/");
  const auto p = parse_https_url("https://fire.example.org/in");
  EXPECT_EQ(p.host, "fire.example.org");
  EXPECT_EQ(p.port, "443");
  EXPECT_EQ(p.target, "/in");
}

TEST(ParseHttpsUrl, Ipv6Literal) {
  const auto u = parse_https_url("https://[::1]:9443/push");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, "9443");
  EXPECT_EQ(u.target, "/push");
  const auto no_port = parse_https_url("https://[2001:db8::5]/");
  EXPECT_EQ(no_port.host, "2001:db8::5");
  EXPECT_EQ(no_port.port, "443");
  EXPECT_EQ(no_port.target, "/");
}

TEST(ParseHttpsUrl, Ipv4WithPort) {
  const auto u = parse_https_url("https://127.0.0.1:8443");
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, "8443");
  EXPECT_EQ(u.target, "/");
}

// ---- parse_ack ------------------------------------------------------------------------

TEST(ParseAck, AckAndDeliveriesForms) {
  auto a = parse_ack(R"({"ack": [1, 2, 30]})");
  ASSERT_TRUE(a.ok()) << a.error().describe();
  EXPECT_EQ(*a, (std::vector<std::uint64_t>{1, 2, 30}));
  auto d = parse_ack(R"({"deliveries": [7]})");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, std::vector<std::uint64_t>{7});
  auto empty = parse_ack(R"({"ack": []})");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  auto big = parse_ack(R"({"ack": [18446744073709551615]})");
  ASSERT_TRUE(big.ok());
  EXPECT_EQ((*big)[0], 18446744073709551615ull);
}

TEST(ParseAck, SyntaxErrorHasLineAndColumn) {
  auto a = parse_ack("{\n  \"ack\": [1,\n  2 x]\n}");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().rule, "bad-request");
  EXPECT_EQ(a.error().field, "body");
  EXPECT_EQ(a.error().line, 3);
  EXPECT_EQ(a.error().column, 5);
  EXPECT_NE(a.error().message.find("not JSON"), std::string::npos);
}

TEST(ParseAck, SyntaxErrorOnFirstLine) {
  auto a = parse_ack("{\"ack\": [1,,2]}");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().line, 1);
  EXPECT_EQ(a.error().column, 12);
}

TEST(ParseAck, WrongShape) {
  for (const char* body : {R"([1, 2])", R"({"ack": 1})", R"({"acks": [1]})", R"("ack")"}) {
    SCOPED_TRACE(body);
    auto a = parse_ack(body);
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.error().rule, "bad-request");
    EXPECT_EQ(a.error().field, "ack");
  }
}

TEST(ParseAck, ElementsMustBeDeliveryNumbers) {
  for (const char* body : {R"({"ack": [1, -2]})", R"({"ack": [1, "2"]})", R"({"ack": [1, 2.5]})"}) {
    SCOPED_TRACE(body);
    auto a = parse_ack(body);
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.error().field, "ack[1]");
    EXPECT_EQ(a.error().message, "must be a delivery number");
  }
}

// ---- transfer_json / delivery_json / history_json ----------------------------------------

TransferRecord sample_transfer() {
  TransferRecord t;
  t.id = "T-abc";
  t.sender = "hertfordshire-police";
  t.receiver = "hertfordshire-fire";
  t.sender_reference = "HP-1";
  t.reason = "assistance-request";
  t.state = "stored";
  t.grade = "emergency";
  t.emergency = true;
  t.life_risk = false;
  t.last_sequence = 3;
  t.received_at = 1'700'000'000'123;
  t.stored_at = 1'700'000'000'456;
  t.findings_json = R"([{"field":"incident/type","rule":"unmapped-code","message":"m"}])";
  return t;
}

TEST(TransferJson, Shape) {
  const auto o = transfer_json(sample_transfer());
  EXPECT_EQ(o.at("id").as_string(), "T-abc");
  EXPECT_EQ(o.at("sender").as_string(), "hertfordshire-police");
  EXPECT_EQ(o.at("receiver").as_string(), "hertfordshire-fire");
  EXPECT_EQ(o.at("senderReference").as_string(), "HP-1");
  EXPECT_EQ(o.at("reason").as_string(), "assistance-request");
  EXPECT_EQ(o.at("state").as_string(), "stored");
  EXPECT_EQ(o.at("grade").as_string(), "emergency");
  EXPECT_EQ(o.at("emergency").as_bool(), true);
  EXPECT_EQ(o.at("lifeRisk").as_bool(), false);
  EXPECT_EQ(o.at("lastSequence").to_number<std::uint64_t>(), 3u);
  const auto& times = o.at("times").as_object();
  EXPECT_EQ(times.at("received").as_string(), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(times.at("stored").as_string(), "2023-11-14T22:13:20.456Z");
  EXPECT_FALSE(times.contains("validated"));  // zero times are left out
  EXPECT_FALSE(times.contains("accepted"));
  EXPECT_FALSE(o.contains("sharedReference"));
  EXPECT_FALSE(o.contains("onBehalfOf"));
  EXPECT_FALSE(o.contains("decision"));
  ASSERT_TRUE(o.at("findings").is_array());
  ASSERT_EQ(o.at("findings").as_array().size(), 1u);
  EXPECT_EQ(o.at("findings").as_array()[0].at("rule").as_string(), "unmapped-code");
}

TEST(TransferJson, OptionalPartsAndDecision) {
  TransferRecord t = sample_transfer();
  t.shared_reference = "SHARED-9";
  t.on_behalf_of = "bedfordshire-police";
  t.rejected_at = 1'700'000'001'000;
  t.decision_reason = "not ours";
  t.decided_by = "op 12";
  t.findings_json = "not json";
  const auto o = transfer_json(t);
  EXPECT_EQ(o.at("sharedReference").as_string(), "SHARED-9");
  EXPECT_EQ(o.at("onBehalfOf").as_string(), "bedfordshire-police");
  EXPECT_EQ(o.at("decision").at("reason").as_string(), "not ours");
  EXPECT_EQ(o.at("decision").at("by").as_string(), "op 12");
  EXPECT_EQ(o.at("times").at("rejected").as_string(), "2023-11-14T22:13:21.000Z");
  // Unreadable findings become an empty array rather than failing the response.
  ASSERT_TRUE(o.at("findings").is_array());
  EXPECT_TRUE(o.at("findings").as_array().empty());
}

TEST(DeliveryJson, Shape) {
  Delivery d;
  d.seq = 42;
  d.agency = "hertfordshire-fire";
  d.transfer_id = "T-abc";
  d.message_id = "HP-1-1";
  d.kind = "incident";
  d.content_type = "application/xml";
  d.payload = std::make_shared<const std::string>("<x/>");
  d.queued_at = 1'700'000'000'000;
  d.attempts = 2;
  const auto o = delivery_json(d);
  EXPECT_EQ(o.at("delivery").to_number<std::uint64_t>(), 42u);
  EXPECT_EQ(o.at("agency").as_string(), "hertfordshire-fire");
  EXPECT_EQ(o.at("transfer").as_string(), "T-abc");
  EXPECT_EQ(o.at("message").as_string(), "HP-1-1");
  EXPECT_EQ(o.at("kind").as_string(), "incident");
  EXPECT_EQ(o.at("contentType").as_string(), "application/xml");
  EXPECT_EQ(o.at("queuedAt").as_string(), "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(o.at("attempts").to_number<int>(), 2);
  EXPECT_EQ(o.at("body").as_string(), "<x/>");
  EXPECT_EQ(o.size(), 9u);
}

TEST(DeliveryJson, NoPayloadGivesEmptyBody) {
  Delivery d;
  d.seq = 1;
  const auto o = delivery_json(d);
  EXPECT_EQ(o.at("body").as_string(), "");
  EXPECT_EQ(o.at("queuedAt").as_string(), "");  // zero time formats as empty
}

TEST(HistoryJson, Shape) {
  std::vector<EventRecord> events{{1'700'000'000'000, "received", "hertfordshire-police", "M-1", "create"},
                                  {1'700'000'000'001, "stored", "hub", "", ""}};
  const auto a = history_json(events);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].at("event").as_string(), "received");
  EXPECT_EQ(a[0].at("actor").as_string(), "hertfordshire-police");
  EXPECT_EQ(a[0].at("message").as_string(), "M-1");
  EXPECT_EQ(a[0].at("detail").as_string(), "create");
  EXPECT_EQ(a[0].at("at").as_string(), "2023-11-14T22:13:20.000Z");
  EXPECT_FALSE(a[1].as_object().contains("message"));
  EXPECT_FALSE(a[1].as_object().contains("detail"));
}

TEST(FormatTime, Rfc3339Utc) {
  EXPECT_EQ(format_time_ms(0), "");
  EXPECT_EQ(format_time_ms(-5), "");
  EXPECT_EQ(format_time_ms(1), "1970-01-01T00:00:00.001Z");
  EXPECT_EQ(format_time_ms(951'782'400'999), "2000-02-29T00:00:00.999Z");
}

}  // namespace
}  // namespace deit::hub
