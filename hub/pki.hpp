#pragma once
// Development PKI: a local certificate authority, the hub's server certificate and one
// client certificate per agency (subject CN = agency id), written as PEM files. Real
// deployments use certificates from their own PKI; this exists so the embedded defaults,
// the tests and the benchmarks run real mutual TLS out of the box.

#include <string>
#include <vector>

#include "hub/model/result.hpp"

typedef struct x509_st X509;  // OpenSSL's certificate

namespace deit::hub::pki {

// SHA-256 fingerprint of a certificate (its DER form), lower-case hex without colons; the
// form agency configuration uses. Empty on failure.
std::string sha256_fingerprint(const X509* cert);

struct Paths {
  std::string ca_cert, ca_key;
};

// Creates `dir`/ca.pem + ca.key if missing, then for each name without a certificate
// `dir`/<name>.pem + <name>.key. The name "hub" gets a server certificate for localhost,
// 127.0.0.1 and ::1 (plus `server_names`); every other name a client certificate.
// Existing files are left alone. Keys are written with mode 0600.
Status ensure_dev_pki(const std::string& dir, const std::vector<std::string>& names,
                      const std::vector<std::string>& server_names = {});

// Issues one certificate signed by an existing CA in `dir`; `days` may be negative to
// produce an already expired certificate (for tests). `alt_names` are subject alternative
// names in OpenSSL's form ("DNS:control.herts.police.uk", "email:cad@herts.police.uk",
// "URI:urn:..."; a bare name is a DNS name): a server certificate gets them after
// localhost and the loopback addresses, a client certificate gets exactly these.
Status issue_certificate(const std::string& dir, const std::string& name, bool server, int days,
                         const std::vector<std::string>& alt_names = {});

// Creates `dir`/ca.pem + ca.key (overwriting) — a second CA for "unknown issuer" tests.
Status create_ca(const std::string& dir, const std::string& common_name);

// Writes `dir`/crl.pem signed by the CA in `dir`, revoking the certificates named. Its
// nextUpdate is `next_update_days` ahead (negative: an expired CRL, for tests).
Status write_crl(const std::string& dir, const std::vector<std::string>& revoked_names, int next_update_days = 7);

// SHA-256 fingerprint of a PEM certificate file, lower-case hex without colons.
Result<std::string> fingerprint_file(const std::string& pem_path);

}  // namespace deit::hub::pki
