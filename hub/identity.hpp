#pragma once
// Who is calling: a client certificate (already verified by TLS against the CA and CRL)
// mapped to exactly one agency or administrator of the configuration.
//
// A certificate rule (`certificates[]` of an agency, or an `administrators[]` entry)
// names one or more of: subject CN, subject alternative name, SHA-256 fingerprint. A rule
// matches a certificate when every criterion it names matches. A certificate that matches
// no rule is unknown; one that matches rules of two different identities (or of one
// identity with different roles) is ambiguous. Both are refused, with the reason.

#include <string>
#include <string_view>
#include <vector>

#include "buddy/buddy.hpp"
#include "hub/config.hpp"
#include "hub/model/result.hpp"

struct x509_st;  // OpenSSL's X509

namespace deit::hub {

// What the hub reads from a verified client certificate.
struct PeerCertificate {
  std::string subject_cn;
  std::string sha256;             // lower-case hex without colons
  std::vector<std::string> sans;  // DNS, e-mail and URI names, normalised like CertificateMatch::san
};

// The subject CN, fingerprint and alternative names of `cert` (nullptr gives an empty one).
PeerCertificate read_peer_certificate(const x509_st* cert);

// Normalises a configured or certificate SAN: the type prefix ("DNS:", "email:", "URI:",
// case-insensitive) is written canonically; DNS names and e-mail domains are lower-cased
// (they compare case-insensitively); URIs are kept as written. Errors name `field`.
Result<std::string> normalise_san(std::string_view text, const std::string& field);

// Whether every criterion `rule` names matches `cert`.
bool certificate_matches(const CertificateMatch& rule, const PeerCertificate& cert);

// Who is calling, decided from the client certificate.
struct Identity {
  std::string agency;  // empty for administrators without an agency
  std::string subject_cn;
  std::string fingerprint;
  std::vector<Role> roles;

  bool operator==(const Identity&) const = default;
  bool has_role(Role r) const;
  // The name written into audit and history entries.
  const std::string& name() const { return agency.empty() ? subject_cn : agency; }
  // What the buddy rules need to know of the caller (defined in hub.cpp).
  buddy::Caller as_buddy_caller() const;
  // The agency and, when it differs, the certificate used: "hertfordshire-police/herts-bc".
  std::string who() const {
    return agency.empty() || subject_cn.empty() || subject_cn == agency ? name() : agency + "/" + subject_cn;
  }
};

// One rule as configured, with the identity it grants and where it was written.
struct CertificateClaim {
  std::string path;    // e.g. "agencies[2].certificates[0]", for error messages
  std::string agency;  // empty for an administrator
  std::string owner;   // distinguishes identities: "agency:<id>" or "administrators[<i>]"
  CertificateMatch rule;
};

// Every certificate rule of the configuration, agencies first, in configuration order.
std::vector<CertificateClaim> certificate_claims(const std::vector<Agency>& agencies,
                                                 const std::vector<CertificateMatch>& administrators);

// Config-time check that no certificate can be claimed twice: two rules that name the
// same subject CN, the same SAN or the same fingerprint are an error naming both paths,
// unless they pin different fingerprints or different CNs (no certificate has two of
// either). Rules that share no value (a CN rule and a SAN rule) are left to identify(),
// which refuses a certificate matching both as ambiguous.
Status check_certificate_claims(const std::vector<CertificateClaim>& claims);

// Maps a certificate to exactly one identity. Errors: rule "unknown-certificate" (no rule
// matches) or "ambiguous-certificate" (message names the rules), field "certificate".
Result<Identity> identify_certificate(const std::vector<CertificateClaim>& claims, const PeerCertificate& cert);

}  // namespace deit::hub
