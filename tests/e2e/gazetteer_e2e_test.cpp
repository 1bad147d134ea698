// End-to-end: a hub with the sample gazetteer verifies each incident's location, records
// the result on the transfer, fills in what the sender left empty, flags what it cannot
// match without refusing it, and answers address look-ups.

#include <gtest/gtest.h>

#include <boost/json.hpp>

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
