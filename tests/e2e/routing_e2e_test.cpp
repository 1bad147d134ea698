// End-to-end routing with real processes: three neighbouring police forces, a fire and
// rescue service and an ambulance service on one hub with the sample gazetteer. A misrouted
// 999 call, a police incident fanned out to fire and ambulance, and a buddy arrangement
// invoked during a burst and stood down with every incident returned and accepted.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cstdio>
#include <map>
#include <set>
#include <thread>

#include "tests/e2e/hub_process.hpp"

using namespace deit;
using namespace deit::e2e;
namespace json = boost::json;

namespace {

constexpr const char* kAgencies = R"(  "agencies": [
    {"id": "hertfordshire-police", "kind": "police",
     "certificates": [{"subject_cn": "hertfordshire-police"},
                      {"subject_cn": "herts-bc", "roles": ["operator", "business-continuity"]}]},
    {"id": "bedfordshire-police", "kind": "police",
     "certificates": [{"subject_cn": "bedfordshire-police"},
                      {"subject_cn": "beds-bc", "roles": ["operator", "business-continuity"]}]},
    {"id": "thames-valley-police", "kind": "police"},
    {"id": "hertfordshire-fire", "kind": "fire", "format": "fire"},
    {"id": "east-of-england-ambulance", "kind": "ambulance"}
  ],
  "administrators": [{"subject_cn": "hub-admin", "roles": ["administrator"]}])";

constexpr const char* kSettings = R"("gazetteer": {"snapshot": "gazetteer/sample.gaz", "generate_sample": true},
  "acceptance": {"emergency": 60, "default": 600},
  "buddy": [{"home": "hertfordshire-police", "primary": "bedfordshire-police", "secondary": "thames-valley-police",
             "calls": "all-calls", "mode": "dispatch-on-behalf"}])";

std::string replaced(std::string xml, const std::string& from_tag, const std::string& to_tag, const std::string& with) {
  const auto from = xml.find(from_tag);
  const auto to = xml.find(to_tag, from) + to_tag.size();
  xml.replace(from, to - from, with);
  return xml;
}

// The sample incident with only a grid reference (as an AML fix would give) and no receivers:
// the hub decides who covers the place.
std::string call_at(const std::string& id, const std::string& ref, int easting, int northing,
                    const std::string& sender = "hertfordshire-police") {
  std::string xml = sample_message(id, ref, "create", 1, sender);
  xml = replaced(xml, "<receivers>", "</receivers>", "");
  return replaced(xml, "<location>", "</location>",
                  "<location><bng easting=\"" + std::to_string(easting) + "\" northing=\"" + std::to_string(northing) +
                      "\"/></location>");
}

std::string with_receivers(std::string xml, const std::vector<std::string>& receivers) {
  std::string block = "<receivers>";
  for (const auto& r : receivers) block += "<receiver>" + r + "</receiver>";
  return replaced(std::move(xml), "<receivers>", "</receivers>", block + "</receivers>");
}

json::object parse(const std::string& s) { return json::parse(s).as_object(); }
std::string str(const json::value& v) { return std::string(v.as_string()); }

// Runs deitctl against the hub; returns (exit status, stdout+stderr).
std::pair<int, std::string> deitctl(const HubProcess& hub, const std::string& as, const std::string& args) {
  const std::string cmd = std::string(DEIT_BINARY_DIR) + "/hub/deitctl --hub 127.0.0.1:" + hub.port() + " --certs " +
                          hub.certs().string() + " --as " + as + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// Reads frames until `want` deliveries of `kind` arrived (acknowledging every frame), or
// the time runs out. Keyed by transfer id, so a repeat would show as a count above one.
std::map<std::string, std::vector<json::object>> collect(hub::StreamClient& stream, const std::string& kind,
                                                         std::size_t want, int timeout_ms = 30000) {
  std::map<std::string, std::vector<json::object>> got;
  std::size_t n = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (n < want && std::chrono::steady_clock::now() < deadline) {
    auto frame = stream.next(2000);
    if (!frame) continue;
    auto d = parse(*frame);
    EXPECT_TRUE(stream.ack({d.at("delivery").to_number<std::uint64_t>()}).ok());
    if (str(d.at("kind")) != kind) continue;
    got[str(d.at("transfer"))].push_back(d);
    ++n;
  }
  return got;
}

}  // namespace

TEST(RoutingEndToEnd, AMisroutedCallReachesTheForceCoveringItWithGradeAndRiskIntact) {
  HubProcess hub("", "", kSettings, kAgencies);
  auto herts = hub.client("hertfordshire-police");
  auto beds_stream = hub.stream("bedfordshire-police");
  auto herts_stream = hub.stream("hertfordshire-police");

  // A mobile 999 call answered in Hertfordshire; the caller is in Bedfordshire.
  auto sent = herts->request("POST", "/v1/transfers", call_at("mis-1", "HP-MIS-1", 505000, 260000), "application/xml");
  ASSERT_TRUE(sent.ok());
  ASSERT_EQ(sent->status, 202) << sent->body;
  const auto transfer = parse(sent->body).at("transfers").as_array().at(0).as_object();
  EXPECT_EQ(str(transfer.at("receiver")), "bedfordshire-police");
  EXPECT_EQ(str(transfer.at("reason")), "misrouted");
  const std::string id = str(transfer.at("id"));

  // Bedfordshire gets it as a misrouted transfer, the threat and the grade as sent.
  auto got = collect(*beds_stream, "incident", 1);
  ASSERT_EQ(got.size(), 1u);
  const std::string body = str(got.begin()->second[0].at("body"));
  EXPECT_NE(body.find("<reason>misrouted</reason>"), std::string::npos);
  EXPECT_NE(body.find("<policeGrade>emergency</policeGrade>"), std::string::npos);
  EXPECT_NE(body.find("lifeRisk=\"true\""), std::string::npos);
  EXPECT_NE(body.find("fuel leaking"), std::string::npos);

  // Hertfordshire owns it until Bedfordshire accepts.
  EXPECT_EQ(str(parse(herts->request("GET", "/v1/transfers/" + id)->body).at("owner")), "hertfordshire-police");
  // Bedfordshire re-grades on acceptance: refused without a rationale, told to the sender with one.
  auto [no_rationale, refusal] = deitctl(hub, "bedfordshire-police", "accept " + id + " --grade priority");
  EXPECT_NE(no_rationale, 0);
  EXPECT_NE(refusal.find("rationale"), std::string::npos) << refusal;
  auto [accepted, out] = deitctl(hub, "bedfordshire-police",
                                 "accept " + id + " --grade priority --rationale \"suspect left, caller safe with neighbour\"");
  EXPECT_EQ(accepted, 0) << out;
  auto statuses = collect(*herts_stream, "status", 1);
  ASSERT_EQ(statuses.size(), 1u);
  const auto status = parse(str(statuses.begin()->second[0].at("body")));
  EXPECT_EQ(str(status.at("state")), "accepted");
  EXPECT_EQ(str(status.at("senderGrade")), "emergency");
  EXPECT_EQ(str(status.at("grade")), "priority");
  EXPECT_EQ(str(status.at("rationale")), "suspect left, caller safe with neighbour");
  EXPECT_EQ(str(parse(herts->request("GET", "/v1/transfers/" + id)->body).at("owner")), "bedfordshire-police");

  // A call inside Hertfordshire's own area has nobody to go to: refused, naming the rule.
  auto own = herts->request("POST", "/v1/transfers", call_at("mis-2", "HP-MIS-2", 515000, 207000), "application/xml");
  ASSERT_EQ(own->status, 422) << own->body;
  EXPECT_EQ(str(parse(own->body).at("rule")), "routing");
}

TEST(RoutingEndToEnd, APoliceIncidentFansOutToTheFireAndAmbulanceServicesForThePlace) {
  HubProcess hub("", "", kSettings, kAgencies);
  auto herts = hub.client("hertfordshire-police");
  auto fire = hub.stream("hertfordshire-fire");
  auto ambulance = hub.stream("east-of-england-ambulance");
  auto herts_stream = hub.stream("hertfordshire-police");

  auto sent = herts->request(
      "POST", "/v1/transfers",
      with_receivers(sample_message("fan-1", "HP-FAN-1"), {"responsible-fire", "responsible-ambulance"}), "application/xml");
  ASSERT_EQ(sent->status, 202) << sent->body;
  std::map<std::string, std::string> by_receiver;
  const auto reply = parse(sent->body);
  for (const auto& t : reply.at("transfers").as_array())
    by_receiver[str(t.at("receiver"))] = str(t.at("id"));
  ASSERT_EQ(by_receiver.size(), 2u);
  ASSERT_TRUE(by_receiver.count("hertfordshire-fire"));
  ASSERT_TRUE(by_receiver.count("east-of-england-ambulance"));

  // Each in its own format, each knowing who else was told.
  auto to_fire = collect(*fire, "incident", 1);
  auto to_ambulance = collect(*ambulance, "incident", 1);
  ASSERT_EQ(to_fire.size(), 1u);
  ASSERT_EQ(to_ambulance.size(), 1u);
  EXPECT_EQ(to_fire.begin()->first, by_receiver["hertfordshire-fire"]);
  EXPECT_EQ(to_ambulance.begin()->first, by_receiver["east-of-england-ambulance"]);
  EXPECT_NE(str(to_ambulance.begin()->second[0].at("body")).find("<receiver>hertfordshire-fire</receiver>"),
            std::string::npos);

  // Separate decisions, separately reported to the sender.
  auto fire_client = hub.client("hertfordshire-fire");
  auto ambulance_client = hub.client("east-of-england-ambulance");
  EXPECT_EQ(fire_client->request("POST", "/v1/transfers/" + by_receiver["hertfordshire-fire"] + "/accept", "{}",
                                 "application/json")->status, 200);
  EXPECT_EQ(ambulance_client
                ->request("POST", "/v1/transfers/" + by_receiver["east-of-england-ambulance"] + "/reject",
                          R"({"reason": "no patient: no injuries reported by crew on scene"})", "application/json")
                ->status,
            200);
  auto statuses = collect(*herts_stream, "status", 2);
  ASSERT_EQ(statuses.size(), 2u);
  EXPECT_EQ(str(parse(str(statuses[by_receiver["hertfordshire-fire"]][0].at("body"))).at("state")), "accepted");
  EXPECT_EQ(str(parse(str(statuses[by_receiver["east-of-england-ambulance"]][0].at("body"))).at("state")), "rejected");
  // Fire cannot see the ambulance's transfer.
  EXPECT_EQ(fire_client->request("GET", "/v1/transfers/" + by_receiver["east-of-england-ambulance"])->status, 404);
}

TEST(RoutingEndToEnd, ABuddyInvokedInABurstThenStoodDownReturnsEveryIncidentOnce) {
  HubProcess hub("", "", kSettings, kAgencies);

  // An operator certificate may not invoke; the refusal is logged.
  auto [refused, why] = deitctl(hub, "hertfordshire-police",
                                "buddy invoke --home hertfordshire-police --trigger influx-of-calls --authorised-by me");
  EXPECT_NE(refused, 0);
  EXPECT_NE(why.find("business continuity"), std::string::npos) << why;
  EXPECT_TRUE(log_shows(hub, "event=buddy-invoke-refused"));

  auto [invoked, out] = deitctl(hub, "herts-bc",
                                "--json buddy invoke --home hertfordshire-police --trigger building-evacuation "
                                "--authorised-by \"Ch Insp Patel\" --cha-ref BT-77123");
  ASSERT_EQ(invoked, 0) << out;
  const auto invocation = parse(out);
  const std::string inv = str(invocation.at("id"));
  EXPECT_EQ(str(invocation.at("buddy")), "bedfordshire-police");

  auto beds_stream = hub.stream("bedfordshire-police");
  auto beds = hub.client("bedfordshire-police");

  // A burst: three senders at Thames Valley, ten incidents each, all for Hertfordshire.
  constexpr int kSenders = 3, kEach = 10, kCreated = 5;
  std::vector<std::thread> senders;
  std::set<std::string> references;
  std::mutex references_mutex;
  for (int s = 0; s < kSenders; ++s) {
    senders.emplace_back([&, s] {
      auto tvp = hub.client("thames-valley-police");
      for (int i = 0; i < kEach; ++i) {
        const std::string ref = "TVP-" + std::to_string(s) + "-" + std::to_string(i);
        auto r = tvp->request("POST", "/v1/transfers",
                              sample_message("m-" + ref, ref, "create", 1, "thames-valley-police", "hertfordshire-police"),
                              "application/xml");
        ASSERT_TRUE(r.ok());
        ASSERT_EQ(r->status, 202) << r->body;
        const auto t = parse(r->body).at("transfers").as_array().at(0).as_object();
        EXPECT_EQ(str(t.at("receiver")), "bedfordshire-police");
        EXPECT_EQ(str(t.at("onBehalfOf")), "hertfordshire-police");
        std::lock_guard lock(references_mutex);
        references.insert(ref);
      }
    });
  }
  for (auto& t : senders) t.join();
  ASSERT_EQ(references.size(), static_cast<std::size_t>(kSenders * kEach));

  // Bedfordshire takes each once and accepts it, and logs incidents of its own for Herts.
  auto received = collect(*beds_stream, "incident", kSenders * kEach);
  ASSERT_EQ(received.size(), static_cast<std::size_t>(kSenders * kEach));
  for (const auto& [id, frames] : received) {
    EXPECT_EQ(frames.size(), 1u) << id;
    EXPECT_EQ(beds->request("POST", "/v1/transfers/" + id + "/accept", "{}", "application/json")->status, 200);
  }
  for (int i = 0; i < kCreated; ++i) {
    std::string xml = sample_message("beds-own-" + std::to_string(i), "BEDS-OWN-" + std::to_string(i), "create", 1,
                                     "bedfordshire-police", "hertfordshire-police");
    xml.replace(xml.find("<senderReference>"), 0, "<onBehalfOf>hertfordshire-police</onBehalfOf>");
    auto r = beds->request("POST", "/v1/transfers", xml, "application/xml");
    ASSERT_EQ(r->status, 202) << r->body;
  }
  // Hertfordshire can see everything partners are running for it.
  auto herts = hub.client("hertfordshire-police");
  auto partners = parse(herts->request("GET", "/v1/transfers?on_behalf_of=me&limit=1000")->body);
  EXPECT_EQ(partners.at("transfers").as_array().size(), static_cast<std::size_t>(kSenders * kEach + kCreated));

  // Stand-down: all of it goes home, each exactly once, and is accepted there.
  auto herts_stream = hub.stream("hertfordshire-police");
  auto [stood, stood_out] = deitctl(hub, "herts-bc", "--json buddy stand-down " + inv + " --reason \"control room re-occupied\"");
  ASSERT_EQ(stood, 0) << stood_out;
  EXPECT_EQ(parse(stood_out).at("returned").as_array().size(), static_cast<std::size_t>(kSenders * kEach + kCreated));
  auto returned = collect(*herts_stream, "incident", kSenders * kEach + kCreated);
  ASSERT_EQ(returned.size(), static_cast<std::size_t>(kSenders * kEach + kCreated));
  std::set<std::string> seen_references;
  for (const auto& [id, frames] : returned) {
    EXPECT_EQ(frames.size(), 1u) << id;
    const std::string body = str(frames[0].at("body"));
    for (const auto& ref : references)
      if (body.find("<senderReference>") != std::string::npos && body.find(">" + ref + "<") != std::string::npos)
        seen_references.insert(ref);
    EXPECT_EQ(herts->request("POST", "/v1/transfers/" + id + "/accept", "{}", "application/json")->status, 200);
  }
  EXPECT_EQ(seen_references, references) << "every transfer-back names the incident it returns";

  auto [reported, report_out] = deitctl(hub, "herts-bc", "--json buddy status " + inv);
  ASSERT_EQ(reported, 0) << report_out;
  const auto report = parse(report_out);
  const auto& counts = report.at("counts").as_object();
  EXPECT_EQ(counts.at("received").to_number<int>(), kSenders * kEach);
  EXPECT_EQ(counts.at("created").to_number<int>(), kCreated);
  EXPECT_EQ(counts.at("returned").to_number<int>(), kSenders * kEach + kCreated);
  EXPECT_EQ(counts.at("accepted").to_number<int>(), kSenders * kEach + kCreated);
  EXPECT_EQ(counts.at("outstanding").to_number<int>(), 0);
  EXPECT_TRUE(report.at("complete").as_bool());
  EXPECT_EQ(str(report.at("invocation").at("stoodDownBy")), "hertfordshire-police/herts-bc");
  EXPECT_EQ(str(report.at("invocation").at("chaReference")), "BT-77123");
}
