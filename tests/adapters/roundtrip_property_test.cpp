// canonical → native → canonical over many random incidents (fixed seed): every field the
// format carries comes back unchanged, every field it cannot carry is reported as a Finding
// on encode, and every encoded message validates against the format's own schema.

#include <gtest/gtest.h>

#include "test_support.hpp"

using namespace deit;
using namespace deit::adapters;
using namespace deit::adapters::testing;

namespace {

// Fields the format cannot carry, for this message: each must be named by a Finding.
std::vector<std::string> must_be_reported(std::string_view format, const model::IncidentMessage& m) {
  std::vector<std::string> fields;
  const auto& i = m.incident;
  if (format == "fire") {
    bool property_seen = false;
    for (std::size_t k = 0; k < i.qualifiers.size(); ++k) {
      if (!property_seen && i.qualifiers[k].scheme == "frs-property") {
        property_seen = true;
        continue;
      }
      fields.push_back("incident/qualifiers/" + std::to_string(k));
    }
    if (i.location.source) fields.push_back("incident/location/source");
    if (i.caller && i.caller->role) fields.push_back("incident/caller/role");
    if (i.caller && i.caller->consent_to_update) fields.push_back("incident/caller/consent_to_update");
    for (std::size_t k = 0; k < i.log.size(); ++k)
      if (i.log[k].sensitive) fields.push_back("incident/log/" + std::to_string(k));
  } else if (format == "ambulance") {
    for (std::size_t k = 0; k < i.qualifiers.size(); ++k) fields.push_back("incident/qualifiers/" + std::to_string(k));
    for (std::size_t k = 0; k < i.vehicles.size(); ++k) fields.push_back("incident/vehicles/" + std::to_string(k));
    for (std::size_t k = 0; k < i.persons.size(); ++k) {
      const auto& p = i.persons[k];
      const bool patient = p.role == "patient" || p.role == "casualty" || p.role == "injured";
      if (patient && !p.warning_markers.empty()) fields.push_back("incident/persons/" + std::to_string(k) + "/warning_markers");
    }
  } else if (format == "cap") {
    if (!m.transfer_id.empty()) fields.push_back("transfer_id");
    if (m.sequence) fields.push_back("sequence");
    if (!m.on_behalf_of.empty()) fields.push_back("on_behalf_of");
    if (!m.shared_reference.empty()) fields.push_back("shared_reference");
    if (m.reason != model::TransferReason::assistance_request) fields.push_back("reason");
    if (!m.call_received.empty()) fields.push_back("call_received");
    if (!m.created.empty()) fields.push_back("created");
    for (std::size_t k = 0; k < i.qualifiers.size(); ++k)
      if (!i.qualifiers[k].text.empty()) fields.push_back("incident/qualifiers/" + std::to_string(k) + "/text");
    const auto& a = i.location.address;
    if (!(a.sao.empty() && a.pao.empty() && a.street.empty() && a.locality.empty() && a.town.empty() &&
          a.administrative_area.empty()))
      fields.push_back("incident/location/address");
    if (i.location.source) fields.push_back("incident/location/source");
    if (i.caller) fields.push_back("incident/caller");
    if (!i.persons.empty()) fields.push_back("incident/persons");
    if (!i.vehicles.empty()) fields.push_back("incident/vehicles");
    if (!i.log.empty()) fields.push_back("incident/log");
    if (!i.resources_requested.empty()) fields.push_back("incident/resources_requested");
    if (!i.cancel_reason.empty() && m.type != model::MessageType::cancel) fields.push_back("incident/cancel_reason");
  }
  return fields;
}

void check_round_trip(std::string_view format, int count) {
  const Adapter& a = adapter(format);
  std::mt19937_64 rng(20261123);
  for (int n = 0; n < count; ++n) {
    const model::IncidentMessage m = random_incident(rng);
    auto encoded = a.encode(m);
    ASSERT_TRUE(encoded.ok()) << encoded.error().describe();
    auto valid = a.validate(encoded->bytes);
    ASSERT_TRUE(valid.ok()) << "case " << n << ": " << valid.error().describe() << "\n" << encoded->bytes;
    auto decoded = a.decode(encoded->bytes);
    ASSERT_TRUE(decoded.ok()) << "case " << n << ": " << decoded.error().describe() << "\n" << encoded->bytes;
    model::IncidentMessage expected = project(format, m);
    // A format that must have a send time and got none stamps one: compare what it chose.
    if (m.sent.empty() && format == "cap") expected.sent = decoded->message.sent;
    ASSERT_EQ(decoded->message, expected) << "case " << n << "\n" << encoded->bytes;
    for (const auto& field : must_be_reported(format, m)) {
      ASSERT_TRUE(has_finding(encoded->findings, field))
          << "case " << n << ": no finding for " << field << "\n" << describe(encoded->findings);
    }
    // A code with no equivalent in the receiving service is reported, never dropped.
    for (const auto& f : encoded->findings) {
      if (f.rule == "unmapped-code") {
        ASSERT_EQ(f.field, "incident/type");
      }
    }
  }
}

}  // namespace

TEST(RoundTripProperty, Deit) { check_round_trip("deit", 500); }
TEST(RoundTripProperty, Police) { check_round_trip("police", 500); }
TEST(RoundTripProperty, Fire) { check_round_trip("fire", 500); }
TEST(RoundTripProperty, Ambulance) { check_round_trip("ambulance", 500); }
TEST(RoundTripProperty, Mait) { check_round_trip("mait", 500); }
TEST(RoundTripProperty, Cap) { check_round_trip("cap", 500); }
