#pragma once
// Audit entries for what happens at the API: consultations (every read through the API or
// a console, which reads through the API) and refusals (every problem answer, and TLS or
// certificate refusals before there is any identity). Plain functions of their inputs, so
// the server stays a thin caller and tests can check the entries directly.

#include <boost/json.hpp>

#include <string>
#include <string_view>

#include "hub/audit.hpp"
#include "hub/hub.hpp"

namespace deit::hub {

// What one request did that the store does not record itself; filled by the route that
// served it. An empty action means nothing to record unless the request is refused.
struct RequestAudit {
  std::string action;  // "read-transfer", "list-transfers", "read-inbox", "gazetteer-match", ...
  AuditCategory category = AuditCategory::consultation;
  std::string subject;
  boost::json::object detail;
  boost::json::array transfers;  // every transfer the answer showed
  std::string reason;

  void record(std::string what, std::string about) {
    action = std::move(what);
    subject = std::move(about);
  }
  void add_transfer(const std::string& id);
};

// The entry for a request that succeeded and had something to record.
AuditEntry request_entry(const Identity& who, std::string_view method, std::string_view target, RequestAudit note);

// The entry for a refused request: `problem_json` is the application/problem+json body
// (its rule, field, line, column and detail are copied). `who` is null when the
// certificate is not registered; then the certificate names the actor.
AuditEntry refusal_entry(const Identity* who, std::string_view subject_cn, std::string_view sha256,
                         std::string_view peer, std::string_view method, std::string_view target, int status,
                         std::string_view problem_json);

// Why a TLS handshake was refused, as seen while verifying the client certificate.
struct TlsRefusal {
  bool certificate_refused = false;
  std::string subject;  // one-line subject of the client's certificate
  std::string sha256;   // its fingerprint
  std::string reason;   // OpenSSL's verification error, e.g. "certificate has expired"
  int depth = 0;        // where in the chain verification failed (0: the client's own)
};
AuditEntry tls_refusal_entry(const TlsRefusal& refusal, std::string_view peer, std::string_view handshake_error);

}  // namespace deit::hub
