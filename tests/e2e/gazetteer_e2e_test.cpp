// End-to-end: a hub with the sample gazetteer verifies each incident's location, records
// the result on the transfer, fills in what the sender left empty, flags what it cannot
// match without refusing it, and answers address look-ups.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/e2e/hub_process.hpp"

using namespace deit;
using namespace deit::e2e;
namespace json = boost::json;

namespace {

// The sample incident with its location replaced by free text only.
std::string with_location(std::string xml, const std::string& text) {
  const auto from = xml.find("<location>"), to = xml.find("</location>") + std::string("</location>").size();
  xml.replace(from, to - from, "<location><text>" + text + "</text></location>");
  return xml;
}

}  // namespace

TEST(GazetteerEndToEnd, LocationsAreVerifiedEnrichedOrFlaggedNeverRefused) {
  HubProcess hub("", "", R"("gazetteer": {"snapshot": "gazetteer/sample.gaz", "generate_sample": true})");
  auto police = hub.client("hertfordshire-police");

  // A call handler's typing, with typos: matched, and the UPRN and coordinates filled in.
  auto typed = police->request(
      "POST", "/v1/transfers", with_location(sample_message("g-1", "GAZ-1"), "flat 2 12 hihg st st albnas"),
      "application/xml");
  ASSERT_TRUE(typed.ok());
  ASSERT_EQ(typed->status, 202) << typed->body;
  const auto reply = json::parse(typed->body).as_object();
  const std::string transfer = json::value_to<std::string>(reply.at("transfers").as_array()[0].at("id"));
  auto shown = json::parse(police->request("GET", "/v1/transfers/" + transfer)->body).as_object();
  const auto& location = shown.at("location").as_object();
  EXPECT_TRUE(location.at("verified").as_bool()) << json::serialize(location);
  EXPECT_EQ(location.at("uprn").to_number<std::uint64_t>(), 10000025u);
  EXPECT_EQ(json::value_to<std::string>(location.at("coverage").at("police").as_array()[0]), "hertfordshire-police");
  bool enriched = false;
  for (const auto& f : shown.at("findings").as_array()) enriched |= f.at("rule").as_string() == "location-enriched";
  EXPECT_TRUE(enriched) << json::serialize(shown.at("findings"));

  // The receiver gets the UPRN the sender did not give.
  auto fire = hub.stream("hertfordshire-fire");
  auto frame = fire->next(5000);
  ASSERT_TRUE(frame.ok());
  EXPECT_NE(json::value_to<std::string>(json::parse(*frame).at("body")).find("<uprn>10000025</uprn>"), std::string::npos);

  // A place the gazetteer does not know: delivered all the same, flagged for the operator.
  auto unknown = police->request(
      "POST", "/v1/transfers",
      with_location(sample_message("g-2", "GAZ-2"), "layby near the old windmill, nowhere in particular"),
      "application/xml");
  ASSERT_EQ(unknown->status, 202) << unknown->body;
  const std::string t2 = json::value_to<std::string>(json::parse(unknown->body).at("transfers").as_array()[0].at("id"));
  auto shown2 = json::parse(police->request("GET", "/v1/transfers/" + t2)->body).as_object();
  EXPECT_FALSE(shown2.at("location").at("verified").as_bool());
  bool flagged_event = false;
  for (const auto& e : shown2.at("history").as_array()) flagged_event |= e.at("event").as_string() == "location-unverified";
  EXPECT_TRUE(flagged_event);

  // Look-ups for consoles.
  auto match = json::parse(police->request("GET", "/v1/gazetteer/match?q=flat+2+12+high+st+st+albans")->body).as_object();
  ASSERT_FALSE(match.at("candidates").as_array().empty());
  EXPECT_EQ(match.at("candidates").as_array()[0].at("uprn").to_number<std::uint64_t>(), 10000025u);
  auto uprn = police->request("GET", "/v1/gazetteer/uprn/10000025");
  EXPECT_EQ(uprn->status, 200);
  EXPECT_EQ(police->request("GET", "/v1/gazetteer/uprn/1")->status, 404);
  auto covers = json::parse(police->request("GET", "/v1/gazetteer/who-covers?uprn=10000025")->body).as_object();
  EXPECT_EQ(json::value_to<std::string>(covers.at("fire").as_array()[0].at("agency")), "hertfordshire-fire");
  const double lat = location.at("latitude").to_number<double>(), lon = location.at("longitude").to_number<double>();
  auto near = police->request("GET", "/v1/gazetteer/nearest?lat=" + std::to_string(lat) + "&lon=" + std::to_string(lon));
  ASSERT_EQ(near->status, 200) << near->body;
  EXPECT_FALSE(json::parse(near->body).at("nearest").as_array().empty());
}

// A new AddressBase update reaches the running hub: `deit-gazetteer update` (here through
// deitctl) writes the snapshot's delta, an administrator reloads, and the next incident at
// the new address is verified. A snapshot that does not open is refused and changes nothing.
TEST(GazetteerEndToEnd, AnUpdateAppliedOfflineIsInUseAfterAReloadWithoutARestart) {
  HubProcess hub("", "", R"("gazetteer": {"snapshot": "gazetteer/sample.gaz", "generate_sample": true})");
  auto police = hub.client("hertfordshire-police");
  const std::string deitctl = std::string(DEIT_BINARY_DIR) + "/hub/deitctl --certs " + hub.certs().string() +
                              " --hub 127.0.0.1:" + hub.port() + " ";
  const std::string out = (hub.dir() / "out.txt").string();
  auto location_of = [&](const std::string& id) {
    auto r = police->request("POST", "/v1/transfers",
                             with_location(sample_message(id, "REF-" + id), "1 New Build Way, Watford, WD17 9ZZ"),
                             "application/xml");
    EXPECT_TRUE(r.ok() && r->status == 202) << (r.ok() ? r->body : r.error().describe());
    const std::string transfer = json::value_to<std::string>(json::parse(r->body).at("transfers").as_array()[0].at("id"));
    return json::parse(police->request("GET", "/v1/transfers/" + transfer)->body).at("location").as_object();
  };
  EXPECT_FALSE(location_of("u-1").at("verified").as_bool());

  const std::string cou = (hub.dir() / "cou.csv").string();
  std::ofstream(cou)
      << "10,\"TEST\",1945,2026-11-01,2,2026-11-01,00:00:00,1.0,C\n"
         "15,\"I\",1,30000001,\"NEW BUILD WAY\",\"\",\"WATFORD\",\"WATFORD\",\"ENG\",2026-11-01,,2026-11-01,2026-11-01\n"
         "21,\"I\",2,99000001,1,2,2026-11-01,,511200.00,196600.00,0,0,1,1945,\"E\",2026-11-01,,2026-11-01,2026-11-01,"
         "\"D\",\"WD17 9ZZ\",0\n"
         "24,\"I\",3,99000001,\"1945L1\",\"ENG\",1,2026-11-01,,2026-11-01,2026-11-01,,,,,\"\",1,,,,\"\",30000001,\"1\","
         "\"\",\"\",\"Y\"\n"
         "99,0,4,2026-11-01,00:00:00\n";
  const std::string snapshot = (hub.dir() / "gazetteer" / "sample.gaz").string();
  ASSERT_EQ(std::system((deitctl + "gazetteer update --snapshot " + snapshot + " " + cou + " > " + out + " 2>&1").c_str()), 0)
      << read_text(out);
  EXPECT_FALSE(location_of("u-2").at("verified").as_bool());  // not in use until reloaded

  EXPECT_NE(std::system((deitctl + "--as hertfordshire-police reload gazetteer > " + out + " 2>&1").c_str()), 0);
  ASSERT_EQ(std::system((deitctl + "--as hub-admin --json reload gazetteer > " + out + " 2>&1").c_str()), 0) << read_text(out);
  const auto answer = parse_object(read_text(out));
  EXPECT_EQ(str(answer, "status"), "reloaded") << read_text(out);
  EXPECT_EQ(answer.at("gazetteer").at("delta_upserts").to_number<int>(), 1) << read_text(out);
  const auto verified = location_of("u-3");
  EXPECT_TRUE(verified.at("verified").as_bool()) << json::serialize(verified);
  EXPECT_EQ(verified.at("uprn").to_number<std::uint64_t>(), 99000001u);
  const auto health = parse_object(police->request("GET", "/v1/health")->body);
  EXPECT_EQ(health.at("gazetteer").at("delta_upserts").to_number<int>(), 1);

  // SIGHUP with nothing new swaps nothing; a snapshot replaced by junk is refused.
  hub.signal(SIGHUP);
  EXPECT_TRUE(log_shows(hub, "event=gazetteer-reloaded changed=false"));
  std::ofstream(snapshot + ".new") << "not a snapshot";
  std::filesystem::rename(snapshot + ".new", snapshot);
  hub.signal(SIGHUP);
  EXPECT_TRUE(log_shows(hub, "event=gazetteer-reload-failed"));
  EXPECT_TRUE(location_of("u-4").at("verified").as_bool());

  auto admin = hub.client("hub-admin");
  auto audit = admin->request("GET", "/v1/admin/audit?subject=gazetteer");
  ASSERT_TRUE(audit.ok());
  EXPECT_NE(audit->body.find("\"action\":\"reload-gazetteer\""), std::string::npos) << audit->body;
  EXPECT_NE(audit->body.find("\"action\":\"reload-gazetteer-failed\""), std::string::npos) << audit->body;
  EXPECT_NE(audit->body.find("\"actor\":\"SIGHUP\""), std::string::npos) << audit->body;
}
