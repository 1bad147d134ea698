#include "hub/pki.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <functional>

namespace deit::hub::pki {

namespace fs = std::filesystem;

namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_CRL* p) const { X509_CRL_free(p); }
  void operator()(FILE* p) const { std::fclose(p); }
  void operator()(X509_REVOKED* p) const { X509_REVOKED_free(p); }
  void operator()(ASN1_TIME* p) const { ASN1_TIME_free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Free>;
using Cert = std::unique_ptr<X509, Free>;
using File = std::unique_ptr<FILE, Free>;

Error ssl_error(const std::string& what) { return Error::make("pki", what); }

Key new_key() { return Key(EVP_EC_gen("P-256")); }

Status write_pem(const std::string& path, bool secret, const std::function<int(FILE*)>& write) {
  const std::string tmp = path + ".tmp";
  File f(std::fopen(tmp.c_str(), "wb"));
  if (!f) return Error::make("pki", "cannot write " + tmp);
  if (secret) ::chmod(tmp.c_str(), 0600);
  if (write(f.get()) != 1) return ssl_error("cannot encode " + path);
  f.reset();
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Error::make("pki", "cannot rename " + tmp + ": " + ec.message());
  return Status::success();
}

Result<Cert> read_cert(const std::string& path) {
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) return Error::make("pki", "cannot read " + path);
  Cert c(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
  if (!c) return ssl_error("not a PEM certificate: " + path);
  return c;
}

Result<Key> read_key(const std::string& path) {
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) return Error::make("pki", "cannot read " + path);
  Key k(PEM_read_PrivateKey(f.get(), nullptr, nullptr, nullptr));
  if (!k) return ssl_error("not a PEM private key: " + path);
  return k;
}

bool add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) return false;
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return true;
}

void set_serial(X509* cert) {
  unsigned char bytes[16];
  RAND_bytes(bytes, sizeof bytes);
  bytes[0] &= 0x7F;  // positive
  BIGNUM* bn = BN_bin2bn(bytes, sizeof bytes, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
  BN_free(bn);
}

Cert new_cert(EVP_PKEY* key, const std::string& cn, int days) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  set_serial(cert.get());
  if (days >= 0) {
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 86400);
  } else {
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), static_cast<long>(days - 1) * 86400);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 86400);
  }
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("DEIT Hub development"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return cert;
}

std::string cert_path(const std::string& dir, const std::string& name) { return (fs::path(dir) / (name + ".pem")).string(); }
std::string key_path(const std::string& dir, const std::string& name) { return (fs::path(dir) / (name + ".key")).string(); }

}  // namespace

Status create_ca(const std::string& dir, const std::string& common_name) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  Key key = new_key();
  if (!key) return ssl_error("cannot generate a key");
  Cert cert = new_cert(key.get(), common_name, 3650);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  add_ext(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_ext(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  if (!X509_sign(cert.get(), key.get(), EVP_sha256())) return ssl_error("cannot sign the CA certificate");
  if (auto s = write_pem(key_path(dir, "ca"), true,
                         [&](FILE* f) { return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr); });
      !s)
    return s;
  return write_pem(cert_path(dir, "ca"), false, [&](FILE* f) { return PEM_write_X509(f, cert.get()); });
}

Status issue_certificate(const std::string& dir, const std::string& name, bool server, int days,
                         const std::vector<std::string>& alt_names) {
  auto ca = read_cert(cert_path(dir, "ca"));
  if (!ca) return ca.error();
  auto ca_key = read_key(key_path(dir, "ca"));
  if (!ca_key) return ca_key.error();
  Key key = new_key();
  if (!key) return ssl_error("cannot generate a key");
  Cert cert = new_cert(key.get(), name, days);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca->get()));
  add_ext(cert.get(), ca->get(), NID_basic_constraints, "critical,CA:FALSE");
  add_ext(cert.get(), ca->get(), NID_key_usage, "critical,digitalSignature,keyAgreement");
  add_ext(cert.get(), ca->get(), NID_authority_key_identifier, "keyid:always");
  std::string san = server ? "DNS:localhost,IP:127.0.0.1,IP:0:0:0:0:0:0:0:1" : "";
  for (const auto& n : alt_names) {
    if (n.empty() || n.find(',') != std::string::npos) return Error::make("pki", "not a subject alternative name: '" + n + "'");
    san += (san.empty() ? "" : ",") + (n.find(':') == std::string::npos ? "DNS:" + n : n);
  }
  if (!san.empty() && !add_ext(cert.get(), ca->get(), NID_subject_alt_name, san.c_str()))
    return ssl_error("cannot encode the subject alternative names '" + san + "'");
  add_ext(cert.get(), ca->get(), NID_ext_key_usage, server ? "serverAuth,clientAuth" : "clientAuth");
  if (!X509_sign(cert.get(), ca_key->get(), EVP_sha256())) return ssl_error("cannot sign " + name);
  if (auto s = write_pem(key_path(dir, name), true,
                         [&](FILE* f) { return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr); });
      !s)
    return s;
  return write_pem(cert_path(dir, name), false, [&](FILE* f) { return PEM_write_X509(f, cert.get()); });
}

Status ensure_dev_pki(const std::string& dir, const std::vector<std::string>& names,
                      const std::vector<std::string>& server_names) {
  if (!fs::exists(cert_path(dir, "ca")) || !fs::exists(key_path(dir, "ca"))) {
    if (auto s = create_ca(dir, "DEIT Hub development CA"); !s) return s;
  }
  for (const auto& name : names) {
    if (fs::exists(cert_path(dir, name)) && fs::exists(key_path(dir, name))) continue;
    const bool server = name == "hub";
    if (auto s = issue_certificate(dir, name, server, 825, server ? server_names : std::vector<std::string>{}); !s)
      return s;
  }
  return Status::success();
}

Status write_crl(const std::string& dir, const std::vector<std::string>& revoked_names, int next_update_days) {
  auto ca = read_cert(cert_path(dir, "ca"));
  if (!ca) return ca.error();
  auto ca_key = read_key(key_path(dir, "ca"));
  if (!ca_key) return ca_key.error();
  std::unique_ptr<X509_CRL, Free> crl(X509_CRL_new());
  X509_CRL_set_version(crl.get(), 1);
  X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca->get()));
  std::unique_ptr<ASN1_TIME, Free> now(ASN1_TIME_adj(nullptr, time(nullptr), 0, -60));
  std::unique_ptr<ASN1_TIME, Free> next(ASN1_TIME_adj(nullptr, time(nullptr), next_update_days, 0));
  X509_CRL_set1_lastUpdate(crl.get(), now.get());
  X509_CRL_set1_nextUpdate(crl.get(), next.get());
  for (const auto& name : revoked_names) {
    auto cert = read_cert(cert_path(dir, name));
    if (!cert) return cert.error();
    X509_REVOKED* r = X509_REVOKED_new();
    X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(cert->get()));
    X509_REVOKED_set_revocationDate(r, now.get());
    X509_CRL_add0_revoked(crl.get(), r);
  }
  X509_CRL_sort(crl.get());
  if (!X509_CRL_sign(crl.get(), ca_key->get(), EVP_sha256())) return ssl_error("cannot sign the CRL");
  return write_pem((fs::path(dir) / "crl.pem").string(), false,
                   [&](FILE* f) { return PEM_write_X509_CRL(f, crl.get()); });
}

std::string sha256_fingerprint(const X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!cert || X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out;
}

Result<std::string> fingerprint_file(const std::string& pem_path) {
  auto cert = read_cert(pem_path);
  if (!cert) return cert.error();
  return sha256_fingerprint(cert->get());
}

}  // namespace deit::hub::pki
