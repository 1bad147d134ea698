// The development PKI: CA, server and client certificates, CRL, fingerprints.
#include "hub/pki.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>

namespace deit::hub::pki {
namespace {

namespace fs = std::filesystem;

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_CRL* p) const { X509_CRL_free(p); }
};

std::unique_ptr<X509, X509Free> load_cert(const fs::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return nullptr;
  std::unique_ptr<X509, X509Free> c(PEM_read_X509(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  return c;
}

std::unique_ptr<X509_CRL, X509Free> load_crl(const fs::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return nullptr;
  std::unique_ptr<X509_CRL, X509Free> c(PEM_read_X509_CRL(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  return c;
}

std::string common_name(X509* cert) {
  char buf[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
  return buf;
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 0777;
}

// Verifies `cert` against the CA in `dir` (and optionally its CRL); returns the X509 error code.
int verify(const fs::path& dir, X509* cert, bool with_crl) {
  X509_STORE* store = X509_STORE_new();
  auto ca = load_cert(dir / "ca.pem");
  X509_STORE_add_cert(store, ca.get());
  std::unique_ptr<X509_CRL, X509Free> crl;
  if (with_crl) {
    crl = load_crl(dir / "crl.pem");
    X509_STORE_add_crl(store, crl.get());
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  }
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, cert, nullptr);
  const int ok = X509_verify_cert(ctx);
  const int err = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return err;
}

class PkiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("deit-pki-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir() const { return dir_.string(); }
  fs::path dir_;
};

TEST_F(PkiTest, EnsureCreatesCaAndCertificatesWithPrivateKeys) {
  ASSERT_TRUE(ensure_dev_pki(dir(), {"hub", "hertfordshire-police"}, {"hub.example"}).ok());
  for (const char* name : {"ca", "hub", "hertfordshire-police"}) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(fs::exists(dir_ / (std::string(name) + ".pem")));
    EXPECT_TRUE(fs::exists(dir_ / (std::string(name) + ".key")));
    EXPECT_EQ(mode_of(dir_ / (std::string(name) + ".key")), 0600u);
    EXPECT_FALSE(fs::exists(dir_ / (std::string(name) + ".key.tmp")));
  }
  auto client = load_cert(dir_ / "hertfordshire-police.pem");
  ASSERT_TRUE(client);
  EXPECT_EQ(common_name(client.get()), "hertfordshire-police");
  EXPECT_EQ(verify(dir_, client.get(), false), X509_V_OK);
  EXPECT_EQ(X509_check_purpose(client.get(), X509_PURPOSE_SSL_CLIENT, 0), 1);
  EXPECT_NE(X509_check_purpose(client.get(), X509_PURPOSE_SSL_SERVER, 0), 1);

  auto server = load_cert(dir_ / "hub.pem");
  ASSERT_TRUE(server);
  EXPECT_EQ(verify(dir_, server.get(), false), X509_V_OK);
  EXPECT_EQ(X509_check_purpose(server.get(), X509_PURPOSE_SSL_SERVER, 0), 1);
  EXPECT_EQ(X509_check_host(server.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(server.get(), "hub.example", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(server.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(server.get(), "::1", 0), 1);
  EXPECT_NE(X509_check_host(server.get(), "evil.example", 0, 0, nullptr), 1);

  auto ca = load_cert(dir_ / "ca.pem");
  ASSERT_TRUE(ca);
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_EQ(X509_cmp_current_time(X509_get0_notAfter(client.get())), 1);  // not expired
  EXPECT_EQ(X509_cmp_current_time(X509_get0_notBefore(client.get())), -1);
}

TEST_F(PkiTest, EnsureIsIdempotent) {
  ASSERT_TRUE(ensure_dev_pki(dir(), {"hub", "a"}).ok());
  auto ca1 = fingerprint_file((dir_ / "ca.pem").string());
  auto hub1 = fingerprint_file((dir_ / "hub.pem").string());
  auto a1 = fingerprint_file((dir_ / "a.pem").string());
  ASSERT_TRUE(ca1.ok() && hub1.ok() && a1.ok());

  ASSERT_TRUE(ensure_dev_pki(dir(), {"hub", "a", "b"}).ok());
  EXPECT_EQ(*fingerprint_file((dir_ / "ca.pem").string()), *ca1);
  EXPECT_EQ(*fingerprint_file((dir_ / "hub.pem").string()), *hub1);
  EXPECT_EQ(*fingerprint_file((dir_ / "a.pem").string()), *a1);
  // The new name is issued by the same CA.
  auto b = load_cert(dir_ / "b.pem");
  ASSERT_TRUE(b);
  EXPECT_EQ(verify(dir_, b.get(), false), X509_V_OK);
}

TEST_F(PkiTest, MissingKeyIsReissued) {
  ASSERT_TRUE(ensure_dev_pki(dir(), {"a"}).ok());
  auto before = fingerprint_file((dir_ / "a.pem").string());
  ASSERT_TRUE(before.ok());
  fs::remove(dir_ / "a.key");
  ASSERT_TRUE(ensure_dev_pki(dir(), {"a"}).ok());
  auto after = fingerprint_file((dir_ / "a.pem").string());
  ASSERT_TRUE(after.ok());
  EXPECT_NE(*after, *before);
  EXPECT_TRUE(fs::exists(dir_ / "a.key"));
}

TEST_F(PkiTest, FingerprintIsLowerCaseHexSha256) {
  ASSERT_TRUE(ensure_dev_pki(dir(), {"a", "b"}).ok());
  auto fa = fingerprint_file((dir_ / "a.pem").string());
  auto fb = fingerprint_file((dir_ / "b.pem").string());
  ASSERT_TRUE(fa.ok());
  ASSERT_TRUE(fb.ok());
  ASSERT_EQ(fa->size(), 64u);
  for (char c : *fa) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << c;
  EXPECT_NE(*fa, *fb);
  // Matches OpenSSL's own digest of the DER certificate.
  auto cert = load_cert(dir_ / "a.pem");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  ASSERT_EQ(X509_digest(cert.get(), EVP_sha256(), md, &len), 1);
  char hex[3];
  std::snprintf(hex, sizeof hex, "%02x", md[0]);
  EXPECT_EQ(fa->substr(0, 2), hex);
}

TEST_F(PkiTest, FingerprintErrors) {
  fs::create_directories(dir_);
  auto missing = fingerprint_file((dir_ / "missing.pem").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().rule, "pki");
  std::FILE* f = std::fopen((dir_ / "junk.pem").c_str(), "wb");
  std::fputs("not a certificate\n", f);
  std::fclose(f);
  auto junk = fingerprint_file((dir_ / "junk.pem").string());
  ASSERT_FALSE(junk.ok());
  EXPECT_EQ(junk.error().rule, "pki");
}

TEST_F(PkiTest, NegativeDaysGiveAnExpiredCertificate) {
  ASSERT_TRUE(ensure_dev_pki(dir(), {}).ok());
  ASSERT_TRUE(issue_certificate(dir(), "old-client", false, -1).ok());
  auto cert = load_cert(dir_ / "old-client.pem");
  ASSERT_TRUE(cert);
  EXPECT_EQ(X509_cmp_current_time(X509_get0_notAfter(cert.get())), -1);  // in the past
  EXPECT_EQ(X509_cmp_current_time(X509_get0_notBefore(cert.get())), -1);
  EXPECT_EQ(ASN1_TIME_compare(X509_get0_notBefore(cert.get()), X509_get0_notAfter(cert.get())), -1);
  EXPECT_EQ(verify(dir_, cert.get(), false), X509_V_ERR_CERT_HAS_EXPIRED);
  EXPECT_EQ(mode_of(dir_ / "old-client.key"), 0600u);
}

TEST_F(PkiTest, IssueNeedsACa) {
  auto s = issue_certificate(dir(), "x", false, 10);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().rule, "pki");
}

TEST_F(PkiTest, SecondCaIsNotTrustedByTheFirst) {
  const fs::path other = dir_ / "other";
  ASSERT_TRUE(ensure_dev_pki(dir(), {}).ok());
  ASSERT_TRUE(create_ca(other.string(), "Unknown CA").ok());
  ASSERT_TRUE(issue_certificate(other.string(), "intruder", false, 30).ok());
  auto intruder = load_cert(other / "intruder.pem");
  ASSERT_TRUE(intruder);
  EXPECT_NE(verify(dir_, intruder.get(), false), X509_V_OK);
  EXPECT_EQ(verify(other, intruder.get(), false), X509_V_OK);
  auto ca = load_cert(other / "ca.pem");
  EXPECT_EQ(common_name(ca.get()), "Unknown CA");
}

TEST_F(PkiTest, CrlListsTheRevokedSerials) {
  ASSERT_TRUE(ensure_dev_pki(dir(), {"revoked", "good"}).ok());
  ASSERT_TRUE(write_crl(dir(), {"revoked"}).ok());
  auto crl = load_crl(dir_ / "crl.pem");
  ASSERT_TRUE(crl);
  auto revoked = load_cert(dir_ / "revoked.pem");
  auto good = load_cert(dir_ / "good.pem");
  ASSERT_TRUE(revoked && good);

  STACK_OF(X509_REVOKED)* list = X509_CRL_get_REVOKED(crl.get());
  ASSERT_EQ(sk_X509_REVOKED_num(list), 1);
  EXPECT_EQ(ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(list, 0)),
                             X509_get0_serialNumber(revoked.get())),
            0);
  X509_REVOKED* entry = nullptr;
  EXPECT_EQ(X509_CRL_get0_by_cert(crl.get(), &entry, revoked.get()), 1);
  EXPECT_EQ(X509_CRL_get0_by_cert(crl.get(), &entry, good.get()), 0);

  // Signed by the CA and current.
  auto ca = load_cert(dir_ / "ca.pem");
  EVP_PKEY* ca_key = X509_get0_pubkey(ca.get());
  EXPECT_EQ(X509_CRL_verify(crl.get(), ca_key), 1);
  EXPECT_EQ(X509_cmp_current_time(X509_CRL_get0_lastUpdate(crl.get())), -1);
  EXPECT_EQ(X509_cmp_current_time(X509_CRL_get0_nextUpdate(crl.get())), 1);

  EXPECT_EQ(verify(dir_, revoked.get(), true), X509_V_ERR_CERT_REVOKED);
  EXPECT_EQ(verify(dir_, good.get(), true), X509_V_OK);
}

TEST_F(PkiTest, EmptyCrlAndUnknownName) {
  ASSERT_TRUE(ensure_dev_pki(dir(), {"a"}).ok());
  ASSERT_TRUE(write_crl(dir(), {}).ok());
  auto crl = load_crl(dir_ / "crl.pem");
  ASSERT_TRUE(crl);
  EXPECT_LE(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl.get())), 0);  // -1: no list at all
  auto s = write_crl(dir(), {"nobody"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().rule, "pki");
}

}  // namespace
}  // namespace deit::hub::pki
