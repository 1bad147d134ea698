// Malformed and schema-invalid input in every format gives one precise error: the rule, the
// field (element path or JSON pointer) and the line and column.

#include <gtest/gtest.h>

#include "test_support.hpp"

using namespace deit;
using namespace deit::adapters;
using namespace deit::adapters::testing;

namespace {

std::string golden(const std::string& file) { return read_file(source_path("tests/adapters/golden/" + file)); }

// Replaces the first `from` with `to`; returns the 1-based line where it was.
int replace_first(std::string& doc, const std::string& from, const std::string& to) {
  const auto at = doc.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  doc.replace(at, from.size(), to);
  return 1 + static_cast<int>(std::count(doc.begin(), doc.begin() + static_cast<long>(at), '\n'));
}

void expect_error(const Result<Decoded>& d, std::string_view rule, std::string_view field_part, int line) {
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().rule, rule) << d.error().describe();
  EXPECT_NE(d.error().field.find(field_part), std::string::npos) << d.error().describe();
  EXPECT_EQ(d.error().line, line) << d.error().describe();
  EXPECT_GT(d.error().column, 0) << d.error().describe();
}

}  // namespace

TEST(Malformed, PoliceSchemaViolation) {
  std::string doc = golden("rtc-injury.police.xml");
  const int line = replace_first(doc, "<contactGrade>emergency", "<contactGrade>urgent");
  expect_error(adapter("police").decode(doc), "schema", "/policeIncident/incident/grade/contactGrade", line);
}

TEST(Malformed, PoliceNotWellFormed) {
  std::string doc = golden("rtc-injury.police.xml");
  const int line = replace_first(doc, "</exportId>", "</exportID>");
  auto d = adapter("police").decode(doc);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().rule, "well-formed");
  EXPECT_EQ(d.error().line, line);
}

TEST(Malformed, FireMissingRequiredElement) {
  std::string doc = golden("rtc-injury.fire.xml");
  replace_first(doc, "<originatorReference>HP-20261123-0123</originatorReference>", "");
  auto d = adapter("fire").decode(doc);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().rule, "schema");
  EXPECT_NE(d.error().field.find("/mobilisingMessage/header"), std::string::npos) << d.error().describe();
  EXPECT_GT(d.error().line, 1);
}

TEST(Malformed, FireWrongNamespaceIsRefused) {
  std::string doc = golden("rtc-injury.fire.xml");
  replace_first(doc, "urn:deit-hub:fire-mobilising:1", "urn:deit-hub:police-cad:1");
  auto d = adapter("fire").decode(doc);
  ASSERT_FALSE(d.ok());
  EXPECT_TRUE(d.error().rule == "schema" || d.error().rule == "namespace") << d.error().describe();
}

TEST(Malformed, AmbulanceOutOfRangeCategoryNamesThePointer) {
  std::string doc = golden("rtc-injury.ambulance.json");
  const int line = replace_first(doc, "\"responseCategory\": 1", "\"responseCategory\": 7");
  auto d = adapter("ambulance").decode(doc);
  expect_error(d, "schema", "/incident/responseCategory", line);
  EXPECT_EQ(d.error().field, "/incident/responseCategory");
  EXPECT_EQ(d.error().column, 25) << d.error().describe();  // the value, not the member name
  EXPECT_NE(d.error().message.find("maximum"), std::string::npos);
}

TEST(Malformed, AmbulanceUnknownMemberIsPointedAt) {
  std::string doc = golden("rtc-injury.ambulance.json");
  const int line = replace_first(doc, "\"age\": 34", "\"age\": 34, \"bloodGroup\": \"O+\"");
  auto d = adapter("ambulance").decode(doc);
  expect_error(d, "schema", "/incident/patients/0/bloodGroup", line);
  EXPECT_NE(d.error().message.find("additionalProperties"), std::string::npos);
}

TEST(Malformed, AmbulanceSyntaxError) {
  std::string doc = golden("rtc-injury.ambulance.json");
  const int line = replace_first(doc, "\"sequence\": 1,", "\"sequence\": 1,,");
  auto d = adapter("ambulance").decode(doc);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().rule, "well-formed");
  EXPECT_EQ(d.error().line, line);
}

TEST(Malformed, AmbulanceTrailingTextAndDepth) {
  auto d = adapter("ambulance").decode("{} {}");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().rule, "well-formed");
  EXPECT_EQ(d.error().column, 4);
  d = adapter("ambulance").decode(std::string(100, '[') + std::string(100, ']'));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().rule, "depth");
}

TEST(Malformed, MaitSchemaViolation) {
  std::string doc = golden("rtc-injury.mait.xml");
  const int line = replace_first(doc, "<Mode>Live</Mode>", "<Mode>Pretend</Mode>");
  expect_error(adapter("mait").decode(doc), "schema", "/MAITMessage/Header/Mode", line);
}

TEST(Malformed, MaitResponseIsNotAnIncident) {
  std::string doc = golden("rtc-injury.mait.xml");
  const int line = replace_first(doc, "<MessageType>IncidentCreate</MessageType>", "<MessageType>Receipt</MessageType>");
  expect_error(adapter("mait").decode(doc), "not-an-incident", "MessageType", line);
}

TEST(Malformed, MaitBadExtensionValueIsLocated) {
  std::string doc = golden("rtc-injury.mait.xml");
  const int line = replace_first(doc, ";location/source=caller;", ";location/source=psychic;");
  auto d = adapter("mait").decode(doc);
  expect_error(d, "extension", "Extension[@name='incident']", line);
  EXPECT_NE(d.error().message.find("incident/location/source"), std::string::npos) << d.error().describe();
}

TEST(Malformed, MaitPerFieldBadExtensionValueIsLocated) {
  std::string doc = golden("rtc-injury.mait-per-field.xml");
  const int line = replace_first(doc, "name=\"message/reason\">assistance-request<", "name=\"message/reason\">because<");
  expect_error(adapter("mait").decode(doc), "extension", "message/reason", line);
}

TEST(Malformed, MaitExtensionFieldsAreKeyValue) {
  std::string doc = golden("rtc-injury.mait.xml");
  const int line = replace_first(doc, ";persons/0/age=34;", ";persons/0/age;");
  expect_error(adapter("mait").decode(doc), "extension", "Extension[@name='incident']", line);
  std::string lone = golden("rtc-injury.mait.xml");
  replace_first(lone, "=extrication</Extension>", "=extrication\\</Extension>");
  expect_error(adapter("mait").decode(lone), "extension", "Extension[@name='incident']", line);
}

TEST(Malformed, CapSchemaViolation) {
  std::string doc = golden("rtc-injury.cap.xml");
  const int line = replace_first(doc, "<urgency>Immediate</urgency>", "<urgency>Now</urgency>");
  expect_error(adapter("cap").decode(doc), "schema", "/alert/info/urgency", line);
}

TEST(Malformed, CapSentWithoutOffsetIsRefusedByTheOfficialSchema) {
  std::string doc = golden("rtc-injury.cap.xml");
  const int line = replace_first(doc, "<sent>2026-11-23T08:15:02+00:00</sent>", "<sent>2026-11-23T08:15:02Z</sent>");
  expect_error(adapter("cap").decode(doc), "schema", "/alert/sent", line);
}

// ---- found by fuzzing (tests/fuzz); the inputs are also in tests/fuzz/corpus ----

TEST(Malformed, UndecodableFirstLineIsLocatedAtTheStart) {
  // A declaration Xerces cannot decode was refused without any line (and the code used
  // XMLException::getSrcLine, a line of Xerces' own source, for the document's).
  const std::string doc = "<?xml version=b1\x9e.0\" enco<lm?x version=\"1.0\" eding=\"?";
  for (const char* format : {"deit", "police", "fire", "mait"}) {
    auto d = adapter(format).decode(doc);
    ASSERT_FALSE(d.ok()) << format;
    EXPECT_EQ(d.error().rule, "well-formed") << d.error().describe();
    EXPECT_EQ(d.error().line, 1) << d.error().describe();
    EXPECT_GT(d.error().column, 0) << d.error().describe();
  }
}

TEST(Malformed, AmbulanceImpossibleDateIsRefusedNotTranslated) {
  std::string doc = golden("rtc-injury.ambulance.json");
  const int line = replace_first(doc, "\"callReceived\": \"2026-11-23", "\"callReceived\": \"2026-11-46");
  auto d = adapter("ambulance").decode(doc);
  expect_error(d, "schema", "/callReceived", line);
  EXPECT_NE(d.error().message.find("format"), std::string::npos) << d.error().describe();
}

TEST(Malformed, AmbulanceHugeTimestampDoesNotOverflowTheStack) {
  std::string doc = golden("rtc-injury.ambulance.json");
  const int line = replace_first(doc, "\"callReceived\": \"2026-11-23T08:14:05Z\"",
                                 "\"callReceived\": \"2026-11-23T08:14:05." + std::string(100000, '1') + "Z\"");
  auto d = adapter("ambulance").decode(doc);
  expect_error(d, "schema", "/callReceived", line);
}

TEST(Malformed, CapAddressMustBeAnAgencyId) {
  std::string doc = golden("rtc-injury.cap.xml");
  const int line = replace_first(doc, "<addresses>hertfordshire-fire", "<addresses>he+tfordshire-fire");
  auto d = adapter("cap").decode(doc);
  expect_error(d, "type", "alert/addresses", line);
  EXPECT_NE(d.error().message.find("he+tfordshire-fire"), std::string::npos);
}

TEST(Malformed, MaitExtensionTimeMustBeATimestamp) {
  std::string doc = golden("rtc-injury.mait.xml");
  const int line = replace_first(doc, "call_received=2026-11-23T08:14:05Z", "call_received=2026-11-23T081:4:05Z");
  auto d = adapter("mait").decode(doc);
  expect_error(d, "extension", "Extension[@name='message']", line);
  EXPECT_NE(d.error().message.find("message/call_received"), std::string::npos) << d.error().describe();
}

TEST(Malformed, MaitPerFieldExtensionTimeMustBeATimestamp) {
  std::string doc = golden("rtc-injury.mait-per-field.xml");
  const auto at = doc.find("name=\"message/call_received\">");
  ASSERT_NE(at, std::string::npos);
  const auto value = doc.find('>', at) + 1;
  doc.replace(value, doc.find('<', value) - value, "2026-11-23T081:4:05Z");
  const int line = 1 + static_cast<int>(std::count(doc.begin(), doc.begin() + static_cast<long>(at), '\n'));
  expect_error(adapter("mait").decode(doc), "extension", "message/call_received", line);
}

TEST(Malformed, InvalidUtf8IsLocatedAtTheByte) {
  // Found by the hostile-input end-to-end test: Xerces decodes ahead of the parser and put
  // a bad byte on line 1, wherever it was.
  std::string doc = golden("rtc-injury.police.xml");
  const int line = replace_first(doc, "<contactGrade>", "<contactGrade>\xC3\x28");
  auto d = adapter("police").decode(doc);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().rule, "well-formed") << d.error().describe();
  EXPECT_EQ(d.error().line, line) << d.error().describe();
  EXPECT_GT(d.error().column, 14) << d.error().describe();
  // Another declared encoding is left to Xerces to decode.
  std::string latin1 = doc;
  replace_first(latin1, "encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"");
  auto l = adapter("police").decode(latin1);
  ASSERT_FALSE(l.ok());  // decodes, then the schema refuses the grade
  EXPECT_EQ(l.error().rule, "schema") << l.error().describe();
}

TEST(Malformed, AmbulancePatientRoleMustBeAPatientRole) {
  // Found by fuzzing: a "patients" entry with another role became an "otherPersons" entry
  // on the way back, so the message changed on every round trip.
  std::string doc = golden("rtc-injury.ambulance.json");
  const auto at = doc.find("\"patients\"");
  ASSERT_NE(at, std::string::npos);
  const auto role = doc.find("\"role\": \"", at);
  ASSERT_NE(role, std::string::npos);
  doc.replace(role, doc.find('"', role + 9) + 1 - role, "\"role\": \"bystander\"");
  auto d = adapter("ambulance").decode(doc);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().rule, "schema") << d.error().describe();
  EXPECT_EQ(d.error().field, "/incident/patients/0/role") << d.error().describe();
}

TEST(Malformed, CapCircleRadiusIsBounded) {
  std::string doc = golden("rtc-injury.cap.xml");
  const auto at = doc.find("<circle>");
  ASSERT_NE(at, std::string::npos);
  const auto space = doc.find(' ', at);
  doc.replace(space + 1, doc.find("</circle>", at) - space - 1, "76520.05");
  const int line = 1 + static_cast<int>(std::count(doc.begin(), doc.begin() + static_cast<long>(at), '\n'));
  expect_error(adapter("cap").decode(doc), "format", "alert/info/area/circle", line);
}

TEST(Malformed, MaitCapitalAgencyIdsAreConverted) {
  std::string doc = golden("rtc-injury.mait.xml");
  replace_first(doc, "<AgencyID>hertfordshire-fire</AgencyID>", "<AgencyID>Hertfordshire-Fire</AgencyID>");
  auto d = adapter("mait").decode(doc);
  ASSERT_TRUE(d.ok()) << d.error().describe();
  EXPECT_EQ(d->message.receiving_agencies, std::vector<std::string>{"hertfordshire-fire"});
  EXPECT_TRUE(has_finding(d->findings, "MAITMessage/Header/Recipients/Recipient/AgencyID"));
}
