// The MAIT adapter's deit-hub extensions: canonical fields without a MAIT element travel
// in two <Extension>s ("message" and "incident") of key=value fields, with '\' and ';'
// escaped; fields MAIT elements already carry, and defaults, are not written; and the
// one-extension-per-field form of earlier hub versions still decodes.

#include <gtest/gtest.h>

#include "test_support.hpp"

using namespace deit;
using namespace deit::adapters;
using namespace deit::adapters::testing;

namespace {

std::size_t count(std::string_view text, std::string_view what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Appends the separators the extension encoding must escape (and '=', which it need not).
void add_separators(std::string& s, int k) {
  static const char* const tails[] = {";", "\\", "\\;", ";\\", "a=b;c=d", "\\\\;;", "=;", "trailing\\"};
  s += tails[k % 8];
}

}  // namespace

TEST(Mait, WritesTwoExtensionsAndNoDefaults) {
  auto e = adapter("mait").encode(rich_incident());
  ASSERT_TRUE(e.ok());
  const std::string& doc = e->bytes;
  EXPECT_EQ(count(doc, "<Extension "), 2u) << doc;
  EXPECT_NE(doc.find("<Extension owner=\"deit-hub\" name=\"message\">"), std::string::npos) << doc;
  EXPECT_NE(doc.find("<Extension owner=\"deit-hub\" name=\"incident\">"), std::string::npos) << doc;
  // Defaults (assistance request, OFFICIAL-SENSITIVE) and what elements say are left out:
  // the casualty's role is role="Casualty"; the first person's description is CasualtyStatus.
  EXPECT_EQ(doc.find("reason="), std::string::npos) << doc;
  EXPECT_EQ(doc.find("marking="), std::string::npos) << doc;
  EXPECT_EQ(doc.find("persons/0/role"), std::string::npos) << doc;
  EXPECT_EQ(doc.find("persons/0/description"), std::string::npos) << doc;
  // The suspect is a MAIT Subject: the exact role travels.
  EXPECT_NE(doc.find("persons/1/role=suspect;"), std::string::npos) << doc;
  EXPECT_NE(doc.find("vehicles/1/registration=XY69 ZZZ;"), std::string::npos) << doc;
  auto d = adapter("mait").decode(doc);
  ASSERT_TRUE(d.ok()) << d.error().describe();
  EXPECT_EQ(d->message, project("mait", rich_incident()));
}

TEST(Mait, GazetteerLocationIsVerifiedWithoutAnExtension) {
  auto m = rich_incident();
  m.incident.location.source = model::LocationSource::gazetteer;
  const std::string doc = adapter("mait").encode(m)->bytes;
  EXPECT_NE(doc.find("<Verified>true</Verified>"), std::string::npos);
  EXPECT_EQ(doc.find("location/source="), std::string::npos) << doc;
  auto d = adapter("mait").decode(doc);
  ASSERT_TRUE(d.ok()) << d.error().describe();
  EXPECT_EQ(d->message.incident.location.source, model::LocationSource::gazetteer);
}

TEST(Mait, SeparatorsInValuesAreEscaped) {
  const Adapter& a = adapter("mait");
  std::mt19937_64 rng(20261124);
  for (int n = 0; n < 300; ++n) {
    model::IncidentMessage m = random_incident(rng);
    int k = n;
    auto& i = m.incident;
    add_separators(m.shared_reference, k++);
    add_separators(i.status, k++);
    add_separators(i.cancel_reason, k++);
    add_separators(i.location.address.administrative_area, k++);
    for (auto& q : i.qualifiers) add_separators(q.text, k++);
    for (auto& p : i.persons) {
      add_separators(p.role, k++);
      add_separators(p.description, k++);
      for (auto& w : p.warning_markers) add_separators(w, k++);
    }
    for (auto& v : i.vehicles) {
      add_separators(v.registration, k++);
      add_separators(v.make, k++);
      add_separators(v.description, k++);
    }
    for (auto& r : i.resources_requested) {
      add_separators(r.kind, k++);
      add_separators(r.note, k++);
    }
    if (i.outcome) add_separators(i.outcome->code, k++);
    auto e = a.encode(m);
    ASSERT_TRUE(e.ok());
    ASSERT_TRUE(a.validate(e->bytes).ok()) << e->bytes;
    auto d = a.decode(e->bytes);
    ASSERT_TRUE(d.ok()) << "case " << n << ": " << d.error().describe() << "\n" << e->bytes;
    ASSERT_EQ(d->message, project("mait", m)) << "case " << n << "\n" << e->bytes;
  }
}

TEST(Mait, UnknownExtensionFieldsAreIgnored) {
  std::string doc = read_file(source_path("tests/adapters/golden/rtc-injury.mait.xml"));
  const auto at = doc.find("name=\"incident\">");
  ASSERT_NE(at, std::string::npos);
  doc.insert(at + 16, "future/field=1;persons/x/age=3;persons/0/shoe_size=9;");
  auto d = adapter("mait").decode(doc);
  ASSERT_TRUE(d.ok()) << d.error().describe();
  auto plain = adapter("mait").decode(read_file(source_path("tests/adapters/golden/rtc-injury.mait.xml")));
  EXPECT_EQ(d->message, plain->message);
}

TEST(Mait, PerFieldAndTwoExtensionFormsMix) {
  // A later field wins, in whichever form it came.
  std::string doc = read_file(source_path("tests/adapters/golden/rtc-injury.mait.xml"));
  const auto end = doc.find("</Extensions>");
  ASSERT_NE(end, std::string::npos);
  doc.insert(end, "<Extension owner=\"deit-hub\" name=\"incident/vehicles/0/make\">Vauxhall</Extension>");
  auto d = adapter("mait").decode(doc);
  ASSERT_TRUE(d.ok()) << d.error().describe();
  ASSERT_EQ(d->message.incident.vehicles.size(), 1u);
  EXPECT_EQ(d->message.incident.vehicles[0].make, "Vauxhall");
  EXPECT_EQ(d->message.incident.vehicles[0].model, "Focus");
}
