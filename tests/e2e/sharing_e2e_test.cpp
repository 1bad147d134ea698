// End-to-end: information sharing rules in a real deit-hub. What a rule withholds never
// reaches that receiver (checked on the delivered payload), other receivers get it, and
// the transfer's record (seen by sender and receiver) says what was withheld under which
// rule, without quoting it.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <map>

#include "tests/e2e/hub_process.hpp"

using namespace deit;
using namespace deit::e2e;
namespace json = boost::json;

namespace {


constexpr const char* kMarker = "firearms-intel-7731";
constexpr const char* kClinical = "clinical-note-GCS-13";

constexpr const char* kRules = R"("sharing_rules": [
    {"name": "intelligence-markers-to-police-only", "from": "*", "to": ["fire", "ambulance"],
     "withhold": ["persons.warning_markers"]},
    {"name": "clinical-notes-to-ambulance-only", "from": "*", "to": ["police", "fire"], "withhold": ["log.sensitive"]}
  ])";

// The sample incident for three receivers, with an intelligence warning marker on the
// person and a sensitive (clinical) log entry.
std::string message_with_marker_and_clinical_note() {
  std::string xml = sample_message("share-1", "SHARE-1");
  auto replace = [&](const std::string& from, const std::string& to) {
    const auto at = xml.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) xml.replace(at, from.size(), to);
  };
  replace("<receiver>hertfordshire-fire</receiver>",
          "<receiver>hertfordshire-fire</receiver><receiver>east-of-england-ambulance</receiver>"
          "<receiver>thames-valley-police</receiver>");
  replace("</description>", std::string("</description><warningMarker>") + kMarker + "</warningMarker>");
  replace("</logEntry>", std::string("</logEntry><logEntry time=\"2026-11-23T08:16:00Z\" author=\"paramedic 9\" "
                                     "sensitive=\"true\">") + kClinical + "</logEntry>");
  return xml;
}

// The "withheld" findings of a transfer record, as "field|message".
std::vector<std::string> withheld(const json::object& transfer) {
  std::vector<std::string> out;
  for (const auto& f : transfer.at("findings").as_array())
    if (str(f.as_object(), "rule") == "withheld") out.push_back(str(f.as_object(), "field") + "|" + str(f.as_object(), "message"));
  return out;
}

}  // namespace

TEST(SharingEndToEnd, WithheldFieldsNeverReachTheReceiverAndTheRecordSaysSo) {
  HubProcess hub("", "", kRules);
  auto police = hub.client("hertfordshire-police");
  auto sent = police->request("POST", "/v1/transfers", message_with_marker_and_clinical_note(), "application/xml");
  ASSERT_TRUE(sent.ok()) << sent.error().describe();
  ASSERT_EQ(sent->status, 202) << sent->body;
  std::map<std::string, std::string> transfer_of;  // receiver -> transfer id
  const json::object reply = parse_object(sent->body);
  for (const auto& t : reply.at("transfers").as_array())
    transfer_of[str(t.as_object(), "receiver")] = str(t.as_object(), "id");
  ASSERT_EQ(transfer_of.size(), 3u);
  // The sender is told in its own acknowledgement, too.
  EXPECT_NE(sent->body.find("intelligence-markers-to-police-only"), std::string::npos);

  const std::string marker_finding =
      "incident/persons/warning_markers|sharing rule 'intelligence-markers-to-police-only' withheld 1 warning marker "
      "(persons.warning_markers)";
  const std::string clinical_finding =
      "incident/log|sharing rule 'clinical-notes-to-ambulance-only' withheld 1 sensitive log entry (log.sensitive)";
  struct Expect {
    std::string receiver;
    bool gets_marker, gets_clinical;
  };
  for (const Expect& e : {Expect{"hertfordshire-fire", false, false}, Expect{"east-of-england-ambulance", false, true},
                          Expect{"thames-valley-police", true, false}}) {
    SCOPED_TRACE(e.receiver);
    // What the receiver's application is handed.
    auto inbox = hub.client(e.receiver)->request("GET", "/v1/inbox?wait=10");
    ASSERT_TRUE(inbox.ok());
    auto deliveries = parse_object(inbox->body).at("deliveries").as_array();
    ASSERT_EQ(deliveries.size(), 1u) << inbox->body;
    const std::string payload = str(deliveries[0].as_object(), "body");
    EXPECT_NE(payload.find("A414"), std::string::npos) << "the rest of the incident arrives";
    EXPECT_EQ(payload.find(kMarker) != std::string::npos, e.gets_marker);
    EXPECT_EQ(payload.find(kClinical) != std::string::npos, e.gets_clinical);

    // What the sender's stored record says, and the receiver sees the same.
    std::vector<std::string> expected;
    if (!e.gets_marker) expected.push_back(marker_finding);
    if (!e.gets_clinical) expected.push_back(clinical_finding);
    const std::string id = transfer_of.at(e.receiver);
    for (const std::string& who : {std::string("hertfordshire-police"), e.receiver}) {
      auto shown = hub.client(who)->request("GET", "/v1/transfers/" + id);
      ASSERT_EQ(shown->status, 200) << shown->body;
      const auto record = parse_object(shown->body);
      EXPECT_EQ(withheld(record), expected) << who;
      // The record never quotes what was withheld.
      EXPECT_EQ(shown->body.find(kMarker), std::string::npos);
      EXPECT_EQ(shown->body.find(kClinical), std::string::npos);
      // And the history entry of the translation carries it as well.
      bool in_history = expected.empty();
      for (const auto& h : record.at("history").as_array())
        if (str(h.as_object(), "event") == "translated" && h.as_object().contains("detail"))
          in_history = in_history || str(h.as_object(), "detail").find("\"withheld\"") != std::string::npos;
      EXPECT_TRUE(in_history) << shown->body;
    }
  }
}

TEST(SharingEndToEnd, WithoutRulesEverythingIsShared) {
  HubProcess hub;
  auto sent = hub.client("hertfordshire-police")
                  ->request("POST", "/v1/transfers", message_with_marker_and_clinical_note(), "application/xml");
  ASSERT_EQ(sent->status, 202) << sent->body;
  auto inbox = hub.client("hertfordshire-fire")->request("GET", "/v1/inbox?wait=10");
  auto deliveries = parse_object(inbox->body).at("deliveries").as_array();
  ASSERT_EQ(deliveries.size(), 1u);
  EXPECT_NE(str(deliveries[0].as_object(), "body").find(kMarker), std::string::npos);
  EXPECT_EQ(sent->body.find("\"withheld\""), std::string::npos);
}
