// All 25 sender/receiver pairs of the five agency formats: the sender's adapter decodes a
// rich incident in its own format, the receiver's encodes it, and the result validates
// against the receiver's schema; what the receiver cannot carry is reported, never dropped.

#include <gtest/gtest.h>

#include "test_support.hpp"

using namespace deit;
using namespace deit::adapters;
using namespace deit::adapters::testing;

namespace {
const char* const kFormats[] = {"police", "fire", "ambulance", "mait", "cap"};
}

TEST(Pairs, EverySenderReachesEveryReceiver) {
  int pairs = 0;
  for (const char* from : kFormats) {
    auto native = adapter(from).encode(rich_incident());
    ASSERT_TRUE(native.ok());
    auto decoded = adapter(from).decode(native->bytes);
    ASSERT_TRUE(decoded.ok()) << from << ": " << decoded.error().describe();
    for (const char* to : kFormats) {
      auto encoded = adapter(to).encode(decoded->message);
      ASSERT_TRUE(encoded.ok()) << from << " → " << to;
      auto valid = adapter(to).validate(encoded->bytes);
      EXPECT_TRUE(valid.ok()) << from << " → " << to << ": " << valid.error().describe() << "\n" << encoded->bytes;
      auto back = adapter(to).decode(encoded->bytes);
      EXPECT_TRUE(back.ok()) << from << " → " << to;
      if (back.ok()) {
        EXPECT_EQ(back->message.message_id, rich_incident().message_id);
      }
      ++pairs;
    }
  }
  EXPECT_EQ(pairs, 25);
}

TEST(Pairs, PoliceRtcBecomesFireAndAmbulanceCodesAndComesBack) {
  auto police = adapter("police").encode(rich_incident());
  auto incident = adapter("police").decode(police->bytes)->message;
  const std::string fire = adapter("fire").encode(incident)->bytes;
  EXPECT_NE(fire.find("code=\"SS-RTC\""), std::string::npos) << fire;
  const std::string ambulance = adapter("ambulance").encode(incident)->bytes;
  EXPECT_NE(ambulance.find("\"code\":\"29-B-01\""), std::string::npos) << ambulance;
  // Police emergency with life risk asks the ambulance service for category 1 (advice, marked mapped).
  EXPECT_NE(ambulance.find("\"responseCategory\":1,\"categoryMapped\":true"), std::string::npos) << ambulance;
  // Through fire and back, the police classification is the incident's type again.
  auto via_fire = adapter("fire").decode(fire);
  ASSERT_TRUE(via_fire.ok());
  EXPECT_EQ(via_fire->message.incident.type, rich_incident().incident.type);
}

TEST(Pairs, FirePersonsTrappedReachesPoliceAsRtcInjury) {
  auto m = rich_incident();
  m.incident.type = {"frs", "SS-RTC-PT", "RTC persons trapped"};
  m.incident.priority = {};
  m.incident.priority.fire_priority = "P1";
  m.incident.priority.life_risk = true;
  const std::string police = adapter("police").encode(m)->bytes;
  EXPECT_NE(police.find("code=\"RTC-INJURY\" mapped=\"true\""), std::string::npos) << police;
  EXPECT_NE(police.find("<contactGrade mapped=\"true\">emergency</contactGrade>"), std::string::npos) << police;
  const std::string ambulance = adapter("ambulance").encode(m)->bytes;
  EXPECT_NE(ambulance.find("\"code\":\"29-D-05\""), std::string::npos) << ambulance;
}

TEST(Pairs, UnknownCodeIsCarriedAndReported) {
  auto m = rich_incident();
  m.incident.type = {"thames-valley-local", "TV99", "Force-local incident type"};
  for (const char* to : {"police", "fire", "ambulance"}) {
    auto e = adapter(to).encode(m);
    ASSERT_TRUE(e.ok());
    EXPECT_TRUE(has_finding(e->findings, "incident/type")) << to;
    EXPECT_NE(e->bytes.find("TV99"), std::string::npos) << to;
    auto back = adapter(to).decode(e->bytes);
    ASSERT_TRUE(back.ok()) << back.error().describe();
    EXPECT_EQ(back->message.incident.type, m.incident.type) << to;
  }
}

TEST(Pairs, ALongRegistrationIsTruncatedForThePoliceWithAFinding) {
  // Found by fuzzing (fuzz_adapter_fire, cross-format check): a registration longer than
  // the police schema's 32 characters made a police document that failed its own schema.
  auto m = rich_incident();
  m.incident.vehicles[0].registration = "AB12 CDE seen leaving at speed, partial plate é" + std::string(20, 'x');
  auto encoded = adapter("police").encode(m);
  ASSERT_TRUE(encoded.ok());
  auto valid = adapter("police").validate(encoded->bytes);
  EXPECT_TRUE(valid.ok()) << valid.error().describe();
  EXPECT_TRUE(has_finding(encoded->findings, "incident/vehicles/0/registration")) << describe(encoded->findings);
}
