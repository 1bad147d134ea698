#include "hub/audit_api.hpp"

#include <vector>

namespace deit::hub {

namespace {

std::vector<std::string_view> segments(std::string_view target) {
  target = target.substr(0, target.find('?'));
  std::vector<std::string_view> out;
  while (!target.empty()) {
    const auto slash = target.find('/');
    if (slash != 0) out.push_back(target.substr(0, slash));
    if (slash == std::string_view::npos) break;
    target.remove_prefix(slash + 1);
  }
  return out;
}

// What a request was about, from its path: the transfer or delivery it names, else the caller.
std::string subject_of(std::string_view target, const Identity* who, std::string_view sha256) {
  const auto parts = segments(target);
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    if (parts[i] == "transfers") return "transfer:" + std::string(parts[i + 1]);
    if (parts[i] == "dead-letters") return "delivery:" + std::string(parts[i + 1]);
  }
  if (!who) return "certificate:" + std::string(sha256);
  if (!who->agency.empty()) return "agency:" + who->agency;
  return "identity:" + who->subject_cn;
}

// The caller, precisely: several certificates may belong to one agency.
void add_certificate(boost::json::object& detail, const Identity& who) {
  if (who.subject_cn != who.name()) detail["certificate"] = who.subject_cn;
}

}  // namespace

void RequestAudit::add_transfer(const std::string& id) {
  for (const auto& v : transfers)
    if (v.as_string() == id) return;
  transfers.emplace_back(id);
}

AuditEntry request_entry(const Identity& who, std::string_view method, std::string_view target, RequestAudit note) {
  boost::json::object detail = std::move(note.detail);
  detail["request"] = std::string(method) + " " + std::string(target);
  add_certificate(detail, who);
  if (!note.transfers.empty()) detail["transfers"] = std::move(note.transfers);
  std::string subject = note.subject.empty() ? subject_of(target, &who, who.fingerprint) : std::move(note.subject);
  return AuditEntry{who.name(), std::move(note.action), note.category, std::move(subject),
                    boost::json::serialize(detail), std::move(note.reason)};
}

AuditEntry refusal_entry(const Identity* who, std::string_view subject_cn, std::string_view sha256,
                         std::string_view peer, std::string_view method, std::string_view target, int status,
                         std::string_view problem_json) {
  boost::json::object detail{{"request", std::string(method) + " " + std::string(target)}, {"status", status}};
  std::string reason;
  boost::system::error_code ec;
  const boost::json::value problem = boost::json::parse(problem_json, ec);
  if (!ec && problem.is_object()) {
    const auto& p = problem.as_object();
    for (const char* key : {"rule", "field", "line", "column"})
      if (const auto* v = p.if_contains(key)) detail[key] = *v;
    if (const auto* d = p.if_contains("detail"); d && d->is_string()) reason = std::string(d->as_string());
  }
  std::string actor;
  if (who) {
    actor = who->name();
    add_certificate(detail, *who);
  } else {
    // Not registered: all there is to name the caller is its certificate and address.
    actor = subject_cn.empty() ? std::string("unregistered certificate") : "cn:" + std::string(subject_cn);
    detail["subjectCn"] = std::string(subject_cn);
    detail["sha256"] = std::string(sha256);
  }
  if (!peer.empty()) detail["peer"] = std::string(peer);
  const auto parts = segments(target);
  for (std::size_t i = 0; i + 1 < parts.size(); ++i)
    if (parts[i] == "transfers") detail["transfers"] = boost::json::array{boost::json::string(parts[i + 1])};
  std::string action = "refused " + std::string(method) + " " + std::string(target.substr(0, target.find('?')));
  return AuditEntry{std::move(actor), std::move(action), AuditCategory::refusal, subject_of(target, who, sha256),
                    boost::json::serialize(detail), std::move(reason)};
}

AuditEntry tls_refusal_entry(const TlsRefusal& refusal, std::string_view peer, std::string_view handshake_error) {
  boost::json::object detail{{"peer", std::string(peer)}, {"handshakeError", std::string(handshake_error)}};
  std::string subject = "connection:" + std::string(peer);
  std::string actor = "unidentified client";
  std::string reason = std::string(handshake_error);
  if (refusal.certificate_refused) {
    detail["certificateSubject"] = refusal.subject;
    detail["sha256"] = refusal.sha256;
    detail["depth"] = refusal.depth;
    subject = "certificate:" + refusal.sha256;
    actor = refusal.subject.empty() ? actor : refusal.subject;
    reason = refusal.reason;
  }
  return AuditEntry{std::move(actor), "tls-refused", AuditCategory::refusal, std::move(subject),
                    boost::json::serialize(detail), std::move(reason)};
}

}  // namespace deit::hub
