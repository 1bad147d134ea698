// Identity: certificates (CN, subject alternative names, fingerprint) mapped to exactly
// one agency or administrator; conflicting rules are configuration errors naming both
// paths; a certificate matching two identities at run time is refused as ambiguous.
#include "hub/identity.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "hub/pki.hpp"

namespace deit::hub {
namespace {

namespace fs = std::filesystem;

std::string normalised(std::string_view text) {
  auto r = normalise_san(text, "f");
  EXPECT_TRUE(r.ok()) << text << ": " << r.error().describe();
  return r.ok() ? *r : std::string();
}

CertificateMatch cn(std::string name, std::vector<Role> roles = {Role::operator_role}) {
  CertificateMatch m;
  m.subject_cn = std::move(name);
  m.roles = std::move(roles);
  return m;
}
CertificateMatch san(std::string name) {
  CertificateMatch m;
  m.san = std::move(name);
  return m;
}
CertificateMatch pin(std::string fingerprint, std::string name = "") {
  CertificateMatch m;
  m.sha256 = std::move(fingerprint);
  m.subject_cn = std::move(name);
  return m;
}

Agency agency(std::string id, std::vector<CertificateMatch> certificates) {
  Agency a;
  a.id = std::move(id);
  a.certificates = std::move(certificates);
  return a;
}

// ---- SAN text -------------------------------------------------------------------------

TEST(NormaliseSan, TypesAndCase) {
  EXPECT_EQ(normalised("DNS:Control.Herts.Police.UK"), "DNS:control.herts.police.uk");
  EXPECT_EQ(normalised("dns:cad.example"), "DNS:cad.example");
  EXPECT_EQ(normalised("email:Duty.Officer@Herts.Police.UK"), "email:Duty.Officer@herts.police.uk");
  EXPECT_EQ(normalised("EMAIL:a@b"), "email:a@b");
  EXPECT_EQ(normalised("URI:urn:uk:police:Herts"), "URI:urn:uk:police:Herts");
  EXPECT_EQ(normalised("uri:https://cad.example/x"), "URI:https://cad.example/x");
}

TEST(NormaliseSan, MistakesNameTheField) {
  for (const char* bad : {"control.herts.police.uk", "IP:127.0.0.1", "DNS:", "email:nobody", "email:@x", "DNS:a b",
                          "DNS:a\tb", ""}) {
    auto r = normalise_san(bad, "agencies[0].certificates[1].san");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().rule, "config");
    EXPECT_EQ(r.error().field, "agencies[0].certificates[1].san");
  }
}

// ---- matching -------------------------------------------------------------------------

TEST(CertificateMatches, EveryNamedCriterionMustMatch) {
  const PeerCertificate cert{"herts-cad", std::string(64, 'a'), {"DNS:cad.herts.police.uk", "email:cad@herts.police.uk"}};
  EXPECT_TRUE(certificate_matches(cn("herts-cad"), cert));
  EXPECT_FALSE(certificate_matches(cn("herts"), cert));
  EXPECT_TRUE(certificate_matches(san("DNS:cad.herts.police.uk"), cert));
  EXPECT_TRUE(certificate_matches(san("email:cad@herts.police.uk"), cert));
  EXPECT_FALSE(certificate_matches(san("DNS:herts.police.uk"), cert));  // no suffix or wildcard matching
  EXPECT_TRUE(certificate_matches(pin(std::string(64, 'a')), cert));
  EXPECT_FALSE(certificate_matches(pin(std::string(64, 'b')), cert));
  // Pinned and named: both must hold.
  EXPECT_TRUE(certificate_matches(pin(std::string(64, 'a'), "herts-cad"), cert));
  EXPECT_FALSE(certificate_matches(pin(std::string(64, 'a'), "other"), cert));
  CertificateMatch cn_and_san = cn("herts-cad");
  cn_and_san.san = "DNS:other.example";
  EXPECT_FALSE(certificate_matches(cn_and_san, cert));
  // An empty rule matches nothing, not everything.
  EXPECT_FALSE(certificate_matches(CertificateMatch{}, cert));
  EXPECT_FALSE(certificate_matches(cn(""), PeerCertificate{}));
}

// ---- config-time uniqueness -----------------------------------------------------------

Status check(const std::vector<Agency>& agencies, const std::vector<CertificateMatch>& admins = {}) {
  return check_certificate_claims(certificate_claims(agencies, admins));
}

TEST(CertificateClaims, PathsNameWhereEachRuleWasWritten) {
  CertificateMatch implicit = cn("a");
  implicit.implicit = true;
  auto claims = certificate_claims({agency("a", {implicit}), agency("b", {cn("b1"), san("DNS:b.example")})},
                                   {cn("hub-admin", {Role::administrator})});
  ASSERT_EQ(claims.size(), 4u);
  EXPECT_EQ(claims[0].path, "agencies[0].id");
  EXPECT_EQ(claims[1].path, "agencies[1].certificates[0]");
  EXPECT_EQ(claims[2].path, "agencies[1].certificates[1]");
  EXPECT_EQ(claims[2].agency, "b");
  EXPECT_EQ(claims[3].path, "administrators[0]");
  EXPECT_TRUE(claims[3].agency.empty());
}

TEST(CertificateClaims, SameSanForTwoAgenciesNamesBothPaths) {
  Status s = check({agency("a", {cn("a")}), agency("b", {cn("b"), san("DNS:shared.example")}),
                    agency("c", {san("DNS:shared.example")})});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().rule, "config");
  EXPECT_EQ(s.error().field, "agencies[2].certificates[0]");
  EXPECT_NE(s.error().message.find("agencies[1].certificates[1]"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("san:DNS:shared.example"), std::string::npos) << s.error().message;
}

TEST(CertificateClaims, SameCnOrFingerprint) {
  Status s = check({agency("a", {cn("desk")})}, {cn("desk", {Role::administrator})});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().field, "administrators[0]");
  EXPECT_NE(s.error().message.find("agencies[0].certificates[0] (both name cn:desk)"), std::string::npos)
      << s.error().message;
  const std::string fp(64, 'c');
  s = check({agency("a", {pin(fp)}), agency("b", {pin(fp)})});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().field, "agencies[1].certificates[0]");
  EXPECT_NE(s.error().message.find("sha256:" + fp), std::string::npos);
  // A name rule overlaps a pinned rule of the same name: the pinned certificate matches both.
  s = check({agency("a", {cn("desk")}), agency("b", {pin(fp, "desk")})});
  EXPECT_FALSE(s.ok());
}

TEST(CertificateClaims, TheSameAgencyCannotListOneCertificateTwiceWithOtherRoles) {
  Status s = check({agency("a", {cn("desk", {Role::operator_role}), cn("desk", {Role::business_continuity})})});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().field, "agencies[0].certificates[1]");
}

TEST(CertificateClaims, DifferentPinsOrDifferentNamesNeverMeet) {
  // Key rotation: the old and the new certificate share a CN and a SAN but not a fingerprint.
  CertificateMatch old_cert = pin(std::string(64, 'a'), "herts-cad");
  old_cert.san = "DNS:cad.herts.police.uk";
  CertificateMatch new_cert = pin(std::string(64, 'b'), "herts-cad");
  new_cert.san = "DNS:cad.herts.police.uk";
  EXPECT_TRUE(check({agency("a", {old_cert, new_cert})}).ok());
  // Two CNs that differ, both with the same SAN: no certificate has both CNs.
  CertificateMatch x = cn("x");
  x.san = "DNS:same.example";
  CertificateMatch y = cn("y");
  y.san = "DNS:same.example";
  EXPECT_TRUE(check({agency("a", {x}), agency("b", {y})}).ok());
  // Nothing shared: left to the run-time check.
  EXPECT_TRUE(check({agency("a", {cn("a")}), agency("b", {san("DNS:b.example")})}, {cn("hub-admin")}).ok());
}

TEST(CertificateClaims, InTheConfigurationFile) {
  auto c = parse_config(R"({"tls": {"ca": "a", "cert": "b", "key": "c"}, "agencies": [
      {"id": "herts", "kind": "police", "certificates": [{"san": "DNS:CAD.Herts.Police.UK", "roles": ["operator"]}]},
      {"id": "beds", "kind": "police", "certificates": [{"san": "email:cad@beds.police.uk"}]}]})",
                        "/srv");
  ASSERT_TRUE(c.ok()) << c.error().describe();
  EXPECT_EQ(c->agencies[0].certificates[0].san, "DNS:cad.herts.police.uk");
  EXPECT_FALSE(c->agencies[0].certificates[0].implicit);

  auto clash = parse_config(R"({"tls": {"ca": "a", "cert": "b", "key": "c"}, "agencies": [
      {"id": "herts", "kind": "police", "certificates": [{"san": "DNS:cad.herts.police.uk"}]},
      {"id": "beds", "kind": "police", "certificates": [{"san": "dns:CAD.herts.police.uk"}]}]})",
                            "/srv");
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().field, "agencies[1].certificates[0]");
  EXPECT_NE(clash.error().message.find("agencies[0].certificates[0]"), std::string::npos);

  auto bad = parse_config(R"({"tls": {"ca": "a", "cert": "b", "key": "c"}, "agencies": [
      {"id": "herts", "kind": "police", "certificates": [{"san": "cad.herts.police.uk"}]}]})",
                          "/srv");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().field, "agencies[0].certificates[0].san");
  EXPECT_NE(bad.error().message.find("DNS:, email: or URI:"), std::string::npos);
}

// ---- run time -------------------------------------------------------------------------

TEST(IdentifyCertificate, ExactlyOneIdentityOrARefusalWithTheReason) {
  const auto claims = certificate_claims(
      {agency("herts", {cn("herts-cad")}), agency("beds", {san("DNS:cad.beds.police.uk")})},
      {cn("hub-admin", {Role::administrator})});

  auto herts = identify_certificate(claims, PeerCertificate{"herts-cad", "f1", {}});
  ASSERT_TRUE(herts.ok());
  EXPECT_EQ(herts->agency, "herts");
  EXPECT_EQ(herts->fingerprint, "f1");

  auto beds = identify_certificate(claims, PeerCertificate{"anything", "f2", {"DNS:cad.beds.police.uk"}});
  ASSERT_TRUE(beds.ok());
  EXPECT_EQ(beds->agency, "beds");
  EXPECT_EQ(beds->subject_cn, "anything");

  auto admin = identify_certificate(claims, PeerCertificate{"hub-admin", "f3", {}});
  ASSERT_TRUE(admin.ok());
  EXPECT_TRUE(admin->agency.empty());
  EXPECT_TRUE(admin->has_role(Role::administrator));

  auto unknown = identify_certificate(claims, PeerCertificate{"rogue", "f4", {"DNS:rogue.example"}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().rule, "unknown-certificate");
  EXPECT_EQ(unknown.error().field, "certificate");
  EXPECT_NE(unknown.error().message.find("'rogue'"), std::string::npos);

  // Herts' name and Beds' SAN on one certificate: not guessed, refused.
  auto both = identify_certificate(claims, PeerCertificate{"herts-cad", "f5", {"DNS:cad.beds.police.uk"}});
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.error().rule, "ambiguous-certificate");
  EXPECT_NE(both.error().message.find("agencies[0].certificates[0] and agencies[1].certificates[0]"), std::string::npos)
      << both.error().message;
}

TEST(IdentifyCertificate, TwoRulesOfOneAgencyWithTheSameRolesAreNotAmbiguous) {
  const auto same = certificate_claims({agency("herts", {cn("herts-cad"), san("DNS:cad.herts.police.uk")})}, {});
  auto ok = identify_certificate(same, PeerCertificate{"herts-cad", "f", {"DNS:cad.herts.police.uk"}});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->agency, "herts");
  CertificateMatch bc = san("DNS:cad.herts.police.uk");
  bc.roles = {Role::business_continuity};
  const auto differ = certificate_claims({agency("herts", {cn("herts-cad"), bc})}, {});
  auto refused = identify_certificate(differ, PeerCertificate{"herts-cad", "f", {"DNS:cad.herts.police.uk"}});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().rule, "ambiguous-certificate");
}

// ---- reading a real certificate -------------------------------------------------------

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};

TEST(ReadPeerCertificate, CnFingerprintAndAlternativeNames) {
  const fs::path dir = fs::temp_directory_path() / ("deit-identity-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  ASSERT_TRUE(pki::ensure_dev_pki(dir.string(), {}).ok());
  ASSERT_TRUE(pki::issue_certificate(dir.string(), "herts-cad", false, 30,
                                     {"DNS:CAD.Herts.Police.UK", "email:duty@herts.police.uk", "URI:urn:uk:police:herts",
                                      "IP:10.0.0.1", "bare.example"})
                  .ok());
  std::FILE* f = std::fopen((dir / "herts-cad.pem").c_str(), "rb");
  ASSERT_NE(f, nullptr);
  std::unique_ptr<X509, X509Free> cert(PEM_read_X509(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  ASSERT_NE(cert, nullptr);

  const PeerCertificate peer = read_peer_certificate(cert.get());
  EXPECT_EQ(peer.subject_cn, "herts-cad");
  auto fp = pki::fingerprint_file((dir / "herts-cad.pem").string());
  ASSERT_TRUE(fp.ok());
  EXPECT_EQ(peer.sha256, *fp);
  // IP addresses are not identities; a bare name was issued as a DNS name.
  EXPECT_EQ(peer.sans, (std::vector<std::string>{"DNS:cad.herts.police.uk", "email:duty@herts.police.uk",
                                                 "URI:urn:uk:police:herts", "DNS:bare.example"}));
  EXPECT_TRUE(read_peer_certificate(nullptr).subject_cn.empty());

  // A plain development certificate has no alternative names.
  ASSERT_TRUE(pki::ensure_dev_pki(dir.string(), {"plain"}).ok());
  f = std::fopen((dir / "plain.pem").c_str(), "rb");
  ASSERT_NE(f, nullptr);
  std::unique_ptr<X509, X509Free> plain(PEM_read_X509(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  EXPECT_TRUE(read_peer_certificate(plain.get()).sans.empty());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace deit::hub
