#include "hub/identity.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <optional>

namespace deit::hub {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// The text of an ASN.1 string, or nullopt when it hides a NUL (a classic way to make
// "victim.example\0.attacker.example" compare equal to "victim.example").
std::optional<std::string> asn1_text(const ASN1_STRING* s) {
  if (!s) return std::nullopt;
  const auto* data = reinterpret_cast<const char*>(ASN1_STRING_get0_data(s));
  const int length = ASN1_STRING_length(s);
  if (!data || length < 0 || std::memchr(data, 0, static_cast<std::size_t>(length))) return std::nullopt;
  return std::string(data, static_cast<std::size_t>(length));
}

std::string subject_common_name(const X509* cert) {
  const X509_NAME* name = X509_get_subject_name(cert);
  const int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return {};
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index)));
  if (length < 0) return {};
  std::string cn(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
  OPENSSL_free(utf8);
  if (cn.find('\0') != std::string::npos) return {};
  return cn;
}

std::string fingerprint(const X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out;
}

// What a claim names, for messages: "cn:x", "san:DNS:x", "sha256:...".
std::string shared_value(const CertificateMatch& a, const CertificateMatch& b) {
  if (!a.sha256.empty() && a.sha256 == b.sha256) return "sha256:" + a.sha256;
  if (!a.subject_cn.empty() && a.subject_cn == b.subject_cn) return "cn:" + a.subject_cn;
  if (!a.san.empty() && a.san == b.san) return "san:" + a.san;
  return {};
}

}  // namespace

bool Identity::has_role(Role r) const { return std::find(roles.begin(), roles.end(), r) != roles.end(); }

PeerCertificate read_peer_certificate(const x509_st* cert) {
  PeerCertificate out;
  if (!cert) return out;
  out.subject_cn = subject_common_name(cert);
  out.sha256 = fingerprint(cert);
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    const char* prefix = nullptr;
    const ASN1_STRING* value = nullptr;
    if (n->type == GEN_DNS) {
      prefix = "DNS:";
      value = n->d.dNSName;
    } else if (n->type == GEN_EMAIL) {
      prefix = "email:";
      value = n->d.rfc822Name;
    } else if (n->type == GEN_URI) {
      prefix = "URI:";
      value = n->d.uniformResourceIdentifier;
    } else {
      continue;  // IP addresses, directory names, ...: not used for identity
    }
    auto text = asn1_text(value);
    if (!text) continue;
    auto normalised = normalise_san(prefix + *text, "certificate");
    if (normalised) out.sans.push_back(std::move(normalised).value());
  }
  GENERAL_NAMES_free(names);
  return out;
}

Result<std::string> normalise_san(std::string_view text, const std::string& field) {
  const auto colon = text.find(':');
  const std::string type = colon == std::string_view::npos ? std::string() : lower(text.substr(0, colon));
  const std::string_view value = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
  if (type != "dns" && type != "email" && type != "uri")
    return Error::make("config", "'" + std::string(text) + "' must start with DNS:, email: or URI:", field);
  if (value.empty()) return Error::make("config", "'" + std::string(text) + "' has nothing after the type", field);
  if (std::any_of(value.begin(), value.end(), [](unsigned char c) { return c <= ' ' || c == 0x7f; }))
    return Error::make("config", "'" + std::string(text) + "' must not contain spaces or control characters", field);
  if (type == "dns") return "DNS:" + lower(value);
  if (type == "email") {
    const auto at = value.rfind('@');
    if (at == std::string_view::npos || at == 0 || at + 1 == value.size())
      return Error::make("config", "'" + std::string(text) + "' is not an e-mail address (local@domain)", field);
    // The local part may be case-sensitive (RFC 5321); the domain is not.
    return "email:" + std::string(value.substr(0, at + 1)) + lower(value.substr(at + 1));
  }
  return "URI:" + std::string(value);
}

bool certificate_matches(const CertificateMatch& rule, const PeerCertificate& cert) {
  if (rule.subject_cn.empty() && rule.sha256.empty() && rule.san.empty()) return false;
  if (!rule.sha256.empty() && rule.sha256 != cert.sha256) return false;
  if (!rule.subject_cn.empty() && rule.subject_cn != cert.subject_cn) return false;
  if (!rule.san.empty() && std::find(cert.sans.begin(), cert.sans.end(), rule.san) == cert.sans.end()) return false;
  return true;
}

std::vector<CertificateClaim> certificate_claims(const std::vector<Agency>& agencies,
                                                 const std::vector<CertificateMatch>& administrators) {
  std::vector<CertificateClaim> claims;
  for (std::size_t i = 0; i < agencies.size(); ++i) {
    const std::string base = "agencies[" + std::to_string(i) + "]";
    for (std::size_t j = 0; j < agencies[i].certificates.size(); ++j) {
      const CertificateMatch& m = agencies[i].certificates[j];
      claims.push_back({m.implicit ? base + ".id" : base + ".certificates[" + std::to_string(j) + "]",
                        agencies[i].id, "agency:" + agencies[i].id, m});
    }
  }
  for (std::size_t i = 0; i < administrators.size(); ++i) {
    const std::string path = "administrators[" + std::to_string(i) + "]";
    claims.push_back({path, "", path, administrators[i]});
  }
  return claims;
}

Status check_certificate_claims(const std::vector<CertificateClaim>& claims) {
  for (std::size_t j = 1; j < claims.size(); ++j) {
    const CertificateMatch& b = claims[j].rule;
    for (std::size_t i = 0; i < j; ++i) {
      const CertificateMatch& a = claims[i].rule;
      // A certificate has one fingerprint and one CN: rules pinning different ones
      // never meet (for example the old and new certificate of a key rotation).
      if (!a.sha256.empty() && !b.sha256.empty() && a.sha256 != b.sha256) continue;
      if (!a.subject_cn.empty() && !b.subject_cn.empty() && a.subject_cn != b.subject_cn) continue;
      const std::string value = shared_value(a, b);
      if (value.empty()) continue;
      return Error::make("config",
                         "claims the same certificate as " + claims[i].path + " (both name " + value +
                             "); a certificate must map to exactly one agency or administrator",
                         claims[j].path);
    }
  }
  return Status::success();
}

Result<Identity> identify_certificate(const std::vector<CertificateClaim>& claims, const PeerCertificate& cert) {
  std::vector<const CertificateClaim*> matched;
  for (const auto& c : claims)
    if (certificate_matches(c.rule, cert)) matched.push_back(&c);
  const std::string described = "certificate '" + cert.subject_cn + "' (sha256 " + cert.sha256 + ")";
  if (matched.empty())
    return Error::make("unknown-certificate", described + " is not registered to any agency", "certificate");
  for (const CertificateClaim* other : matched) {
    if (other->owner != matched.front()->owner || other->rule.roles != matched.front()->rule.roles)
      return Error::make("ambiguous-certificate",
                         described + " matches both " + matched.front()->path + " and " + other->path +
                             "; a certificate must map to exactly one agency or administrator",
                         "certificate");
  }
  const CertificateClaim& c = *matched.front();
  return Identity{c.agency, cert.subject_cn, cert.sha256, c.rule.roles};
}

}  // namespace deit::hub
