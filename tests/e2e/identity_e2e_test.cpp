// End-to-end: who may connect and what each identity may see or do, against a real
// deit-hub over mutual TLS. Complements TransferEndToEnd.OnlyKnownCertificatesGetIn
// (unknown name, other CA, expired, no certificate) with: identity by subject alternative
// name, an ambiguous certificate, a certificate revoked by the CRL, other agencies'
// transfers (read, decide, acknowledge) and the administrative endpoints by role.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <ctime>
#include <fstream>
#include <thread>

#include "hub/pki.hpp"
#include "tests/e2e/hub_process.hpp"

using namespace deit;
using namespace deit::e2e;
namespace json = boost::json;

namespace {


constexpr const char* kExtraAgencies =
    R"({"id": "san-police", "kind": "police", "certificates": [{"san": "DNS:CAD.San.Police.UK"}]},
    {"id": "x-police", "kind": "police", "certificates": [{"subject_cn": "x-cad"}]},
    {"id": "y-police", "kind": "police", "certificates": [{"san": "email:cad@y.police.uk"}]},
    {"id": "bc-police", "kind": "police", "certificates": [{"subject_cn": "bc-desk", "roles": ["business-continuity"]}]})";

}  // namespace

TEST(IdentityEndToEnd, SubjectAlternativeNameIdentifiesTheAgency) {
  HubProcess hub(kExtraAgencies);
  const std::string certs = hub.certs().string();
  // Any CN: the SAN is what the configuration names (case-insensitively for DNS).
  ASSERT_TRUE(hub::pki::issue_certificate(certs, "control-room-7", false, 30, {"DNS:cad.san.police.uk"}).ok());
  auto client = hub.client("control-room-7");
  auto health = client->request("GET", "/v1/health");
  ASSERT_TRUE(health.ok()) << health.error().describe();
  ASSERT_EQ(health->status, 200) << health->body;
  EXPECT_EQ(str(parse_object(health->body), "agency"), "san-police");
  auto sent = client->request("POST", "/v1/transfers",
                              sample_message("san-1", "SAN-1", "create", 1, "san-police", "hertfordshire-fire"),
                              "application/xml");
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->status, 202) << sent->body;
  // Health also shows the store's commits and the ops they carried: the submit was one.
  health = client->request("GET", "/v1/health");
  ASSERT_TRUE(health.ok()) << health.error().describe();
  const auto store = parse_object(health->body).at("store").as_object();
  EXPECT_GE(store.at("commits").to_number<std::int64_t>(), 1);
  EXPECT_GE(store.at("ops").to_number<std::int64_t>(), store.at("commits").to_number<std::int64_t>());

  // The development certificate with CN "san-police" is not enough: the rule names a SAN.
  EXPECT_EQ(health_status(hub, "san-police"), 403);
  // Neither is a longer name that merely starts with the registered one.
  ASSERT_TRUE(
      hub::pki::issue_certificate(certs, "lookalike", false, 30, {"DNS:cad.san.police.uk.attacker.example"}).ok());
  EXPECT_EQ(health_status(hub, "lookalike"), 403);
  EXPECT_TRUE(log_shows(hub, "event=unknown-certificate"));
  EXPECT_TRUE(log_shows(hub, "san=\"DNS:cad.san.police.uk.attacker.example\""));

  // x-police's CN with y-police's e-mail SAN: two agencies, so neither; refused and logged.
  ASSERT_TRUE(hub::pki::issue_certificate(certs, "x-cad", false, 30, {"email:cad@y.police.uk"}).ok());
  auto ambiguous = hub::Client::connect(hub.options("x-cad"));
  ASSERT_TRUE(ambiguous.ok());
  auto refused = (*ambiguous)->request("GET", "/v1/health");
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 403);
  EXPECT_NE(str(parse_object(refused->body), "detail").find("matches both"), std::string::npos) << refused->body;
  EXPECT_TRUE(log_shows(hub, "event=ambiguous-certificate"));
}

// Writes a CRL revoking `revoked`, names it in the hub's configuration and restarts the hub.
static void restart_with_crl(HubProcess& hub, const std::vector<std::string>& revoked, int next_update_days = 7) {
  ASSERT_TRUE(hub::pki::write_crl(hub.certs().string(), revoked, next_update_days).ok());
  hub.stop();
  const auto config_path = hub.dir() / "hub.json";
  std::string config = read_text(config_path);
  const std::string tls_end = R"("generate_dev_certs": true})";
  ASSERT_NE(config.find(tls_end), std::string::npos);
  config.replace(config.find(tls_end), tls_end.size(), R"("generate_dev_certs": true, "crl": "certs/crl.pem"})");
  std::ofstream(config_path) << config;
  hub.start();
}

TEST(IdentityEndToEnd, ACertificateRevokedByTheCrlIsRefusedAtTheHandshake) {
  HubProcess hub;
  EXPECT_EQ(health_status(hub, "bedfordshire-police"), 200);
  restart_with_crl(hub, {"bedfordshire-police"});

  EXPECT_EQ(health_status(hub, "bedfordshire-police"), 0);
  EXPECT_TRUE(log_shows(hub, "reason=\"certificate revoked\""));
  // Everyone else still gets in.
  EXPECT_EQ(health_status(hub, "hertfordshire-police"), 200);
  EXPECT_EQ(health_status(hub, "hub-admin"), 200);
}

// A revocation, or a renewed certificate, must not wait for a restart: a reload (the
// administrator's POST /v1/admin/reload-tls, or SIGHUP) reads the TLS files again, and a
// connection made before it is checked again before it does anything more.
TEST(IdentityEndToEnd, AReloadedCrlTakesEffectOnOpenConnectionsStreamsAndNewOnes) {
  HubProcess hub;
  restart_with_crl(hub, {});
  auto bedfordshire = hub.client("bedfordshire-police");
  auto hertfordshire = hub.client("hertfordshire-police");
  auto admin = hub.client("hub-admin");
  for (auto* client : {bedfordshire.get(), hertfordshire.get()}) {
    auto health = client->request("GET", "/v1/health");
    ASSERT_TRUE(health.ok()) << health.error().describe();
    ASSERT_EQ(health->status, 200) << health->body;
  }
  auto fire_stream = hub.stream("hertfordshire-fire");
  // The stream is open: a transfer to fire arrives on it.
  auto sent = hertfordshire->request("POST", "/v1/transfers", sample_message("crl-1", "CRL-1"), "application/xml");
  ASSERT_EQ(sent->status, 202) << sent->body;
  auto frame = fire_stream->next(10000);
  ASSERT_TRUE(frame.ok()) << frame.error().describe();

  // Only an administrator may reload.
  auto not_admin = hertfordshire->request("POST", "/v1/admin/reload-tls");
  ASSERT_TRUE(not_admin.ok());
  EXPECT_EQ(not_admin->status, 403) << not_admin->body;

  ASSERT_TRUE(hub::pki::write_crl(hub.certs().string(), {"bedfordshire-police", "hertfordshire-fire"}).ok());
  auto reload = admin->request("POST", "/v1/admin/reload-tls");
  ASSERT_TRUE(reload.ok()) << reload.error().describe();
  ASSERT_EQ(reload->status, 200) << reload->body;
  EXPECT_EQ(parse_object(reload->body).at("generation").to_number<std::int64_t>(), 1);

  // The revoked agency's open connection is refused at its next request, and closed.
  auto refused = bedfordshire->request("GET", "/v1/health");
  ASSERT_TRUE(refused.ok()) << refused.error().describe();
  EXPECT_EQ(refused->status, 403);
  EXPECT_NE(str(parse_object(refused->body), "detail").find("no longer trusted: certificate revoked"), std::string::npos)
      << refused->body;
  // A new connection does not get past the handshake.
  EXPECT_EQ(health_status(hub, "bedfordshire-police"), 0);
  // The revoked agency's stream is closed at once, not at its next delivery.
  const auto before_close = std::chrono::steady_clock::now();
  auto after_revocation = fire_stream->next(10000);
  EXPECT_FALSE(after_revocation.ok()) << "a revoked stream received " << *after_revocation;
  EXPECT_LT(std::chrono::steady_clock::now() - before_close, std::chrono::seconds(5));
  EXPECT_TRUE(log_shows(hub, "event=stream-closed agency=hertfordshire-fire unacknowledged=1 reason=\"certificate no "
                             "longer trusted: certificate revoked\""));
  // Everyone else carries on, on the connections they had and on new ones.
  auto still = hertfordshire->request("GET", "/v1/health");
  ASSERT_TRUE(still.ok()) << still.error().describe();
  EXPECT_EQ(still->status, 200) << still->body;
  EXPECT_EQ(health_status(hub, "thames-valley-police"), 200);
  EXPECT_TRUE(log_shows(hub, "event=tls-reloaded generation=1"));
  EXPECT_TRUE(log_shows(hub, "event=certificate-no-longer-trusted identity=\"bedfordshire-police\" generation=1 "
                             "reason=\"certificate revoked\""));

  // A file that does not load changes nothing, and says why.
  std::ofstream(hub.certs() / "crl.pem") << "not a CRL\n";
  auto broken = admin->request("POST", "/v1/admin/reload-tls");
  ASSERT_TRUE(broken.ok()) << broken.error().describe();
  EXPECT_EQ(broken->status, 422) << broken->body;
  EXPECT_EQ(str(parse_object(broken->body), "field"), "tls.crl") << broken->body;
  EXPECT_TRUE(log_shows(hub, "event=tls-reload-failed"));
  EXPECT_EQ(health_status(hub, "bedfordshire-police"), 0);
  EXPECT_EQ(health_status(hub, "thames-valley-police"), 200);

  // SIGHUP does the same: a CRL without bedfordshire-police lets it in again.
  ASSERT_TRUE(hub::pki::write_crl(hub.certs().string(), {"hertfordshire-fire"}).ok());
  hub.signal(SIGHUP);
  ASSERT_TRUE(log_shows(hub, "event=tls-reloaded generation=2"));
  EXPECT_EQ(health_status(hub, "bedfordshire-police"), 200);
  EXPECT_EQ(health_status(hub, "hertfordshire-fire"), 0);

  // Health says which material is loaded and when it stops working: the CRL in 7 days.
  auto health = parse_object(admin->request("GET", "/v1/health")->body).at("tls").as_object();
  EXPECT_EQ(health.at("generation").to_number<std::int64_t>(), 2);
  EXPECT_FALSE(health.at("certificate_expires").is_null());
  EXPECT_FALSE(health.at("ca_expires").is_null());
  const std::string crl_next_update = str(health, "crl_next_update");
  const std::time_t in_a_week = std::time(nullptr) + 7 * 86400;
  char expected_day[16];
  std::strftime(expected_day, sizeof expected_day, "%Y-%m-%d", std::gmtime(&in_a_week));
  EXPECT_EQ(crl_next_update.substr(0, 10), expected_day) << crl_next_update;

  // Each reload, and the failed one, is in the audit log with who asked.
  auto audit = admin->request("GET", "/v1/admin/audit?limit=1000");
  ASSERT_TRUE(audit.ok()) << audit.error().describe();
  ASSERT_EQ(audit->status, 200) << audit->body;
  EXPECT_NE(audit->body.find("\"action\":\"reload-tls\""), std::string::npos);
  EXPECT_NE(audit->body.find("\"action\":\"reload-tls-failed\""), std::string::npos);
  EXPECT_NE(audit->body.find("\"actor\":\"SIGHUP\""), std::string::npos);
}

// Expiring TLS material is an alert well before it bites, and a renewed certificate is
// taken up by a reload. An expired CRL bites hardest: every client is refused.
TEST(IdentityEndToEnd, ExpiringCertificatesAndCrlsRaiseAlertsAndARenewalNeedsNoRestart) {
  HubProcess hub;
  restart_with_crl(hub, {}, 2);
  EXPECT_TRUE(log_shows(hub, "event=alert kind=tls-expiring what=crl file=" + (hub.certs() / "crl.pem").string()));
  EXPECT_TRUE(log_shows(hub, "days_left=1"));
  EXPECT_EQ(hub.log().find("what=certificate"), std::string::npos) << "the development certificates last longer";
  EXPECT_EQ(health_status(hub, "hertfordshire-police"), 200);

  // The hub's certificate renewed with only 10 days left, taken up by SIGHUP.
  ASSERT_TRUE(hub::pki::issue_certificate(hub.certs().string(), "hub", true, 10).ok());
  hub.signal(SIGHUP);
  ASSERT_TRUE(log_shows(hub, "event=tls-reloaded generation=1"));
  EXPECT_TRUE(log_shows(hub, "event=alert kind=tls-expiring what=certificate"));
  EXPECT_TRUE(log_shows(hub, "days_left=9"));
  auto admin = hub.client("hub-admin");
  auto health = parse_object(admin->request("GET", "/v1/health")->body).at("tls").as_object();
  const std::time_t in_ten_days = std::time(nullptr) + 10 * 86400;
  char expected_day[16];
  std::strftime(expected_day, sizeof expected_day, "%Y-%m-%d", std::gmtime(&in_ten_days));
  EXPECT_EQ(str(health, "certificate_expires").substr(0, 10), expected_day) << str(health, "certificate_expires");

  // A CRL past its nextUpdate: OpenSSL refuses every client, and the log says why.
  ASSERT_TRUE(hub::pki::write_crl(hub.certs().string(), {}, -1).ok());
  hub.signal(SIGHUP);
  ASSERT_TRUE(log_shows(hub, "event=tls-reloaded generation=2"));
  EXPECT_TRUE(log_shows(hub, "event=alert kind=tls-expired what=crl"));
  EXPECT_TRUE(log_shows(hub, "every client certificate is refused until a new CRL is loaded"));
  EXPECT_EQ(health_status(hub, "hertfordshire-police"), 0);
  EXPECT_TRUE(log_shows(hub, "reason=\"CRL has expired\""));
  // A fresh CRL and a reload recover without a restart.
  ASSERT_TRUE(hub::pki::write_crl(hub.certs().string(), {}).ok());
  hub.signal(SIGHUP);
  ASSERT_TRUE(log_shows(hub, "event=tls-reloaded generation=3"));
  EXPECT_EQ(health_status(hub, "hertfordshire-police"), 200);
}

TEST(IdentityEndToEnd, AnAgencyCannotReadDecideOrAcknowledgeAnotherAgencysTransfer) {
  HubProcess hub;
  auto police = hub.client("hertfordshire-police");
  auto sent = police->request("POST", "/v1/transfers", sample_message("own-1", "OWN-1"), "application/xml");
  ASSERT_EQ(sent->status, 202) << sent->body;
  const std::string transfer = str(parse_object(sent->body).at("transfers").as_array()[0].as_object(), "id");

  auto thames = hub.client("thames-valley-police");
  auto missing = thames->request("GET", "/v1/transfers/T-does-not-exist");
  ASSERT_EQ(missing->status, 404);
  auto nosy = thames->request("GET", "/v1/transfers/" + transfer);
  ASSERT_EQ(nosy->status, 404);
  // Indistinguishable from a transfer that does not exist (apart from the id quoted).
  auto without_id = [](std::string text, const std::string& id) {
    for (auto at = text.find(id); at != std::string::npos; at = text.find(id)) text.replace(at, id.size(), "ID");
    return text;
  };
  EXPECT_EQ(without_id(nosy->body, transfer), without_id(missing->body, "T-does-not-exist"));

  for (const char* decision : {"accept", "reject"}) {
    auto r = thames->request("POST", "/v1/transfers/" + transfer + "/" + decision, R"({"reason":"not ours"})",
                             "application/json");
    EXPECT_EQ(r->status, 404) << decision << ": " << r->body;
    // The sender cannot decide for its receiver either.
    auto own = police->request("POST", "/v1/transfers/" + transfer + "/" + decision, R"({"reason":"x"})",
                               "application/json");
    EXPECT_EQ(own->status, 404) << decision << ": " << own->body;
  }
  auto listed = parse_object(thames->request("GET", "/v1/transfers")->body).at("transfers").as_array();
  EXPECT_TRUE(listed.empty());

  // Thames Valley acknowledging the fire service's delivery changes nothing.
  auto fire = hub.client("hertfordshire-fire");
  auto inbox = parse_object(fire->request("GET", "/v1/inbox?wait=10")->body).at("deliveries").as_array();
  ASSERT_EQ(inbox.size(), 1u);
  const auto seq = inbox[0].as_object().at("delivery").to_number<std::uint64_t>();
  auto stolen = thames->request("POST", "/v1/inbox/ack", "{\"ack\":[" + std::to_string(seq) + "]}", "application/json");
  ASSERT_EQ(stolen->status, 200);
  EXPECT_TRUE(parse_object(stolen->body).at("acknowledged").as_array().empty());
  EXPECT_EQ(parse_object(fire->request("GET", "/v1/inbox")->body).at("deliveries").as_array().size(), 1u);
  auto state = parse_object(police->request("GET", "/v1/transfers/" + transfer)->body);
  EXPECT_EQ(str(state, "state"), "stored");

  // The receiver itself can decide.
  auto accepted = fire->request("POST", "/v1/transfers/" + transfer + "/accept", "", "application/json");
  EXPECT_EQ(accepted->status, 200) << accepted->body;
}

TEST(IdentityEndToEnd, RolesGateTheAdministrativeAndBusinessContinuityEndpoints) {
  HubProcess hub(kExtraAgencies, "", R"("buddy": [{"home": "bc-police", "primary": "x-police"}])");
  ASSERT_TRUE(hub::pki::issue_certificate(hub.certs().string(), "bc-desk", false, 30).ok());
  auto operator_client = hub.client("hertfordshire-police");
  auto bc = hub.client("bc-desk");
  auto admin = hub.client("hub-admin");
  ASSERT_EQ(str(parse_object(bc->request("GET", "/v1/health")->body), "agency"), "bc-police");

  for (auto* who : {operator_client.get(), bc.get()}) {
    auto reload = who->request("POST", "/v1/admin/reload-mappings");
    EXPECT_EQ(reload->status, 403) << reload->body;
    EXPECT_EQ(str(parse_object(reload->body), "field"), "certificate");
    auto retry = who->request("POST", "/v1/dead-letters/1/retry");
    EXPECT_EQ(retry->status, 403) << retry->body;
  }
  // The administrator passes the role check (and meets the next one: no mappings_dir).
  auto reload = admin->request("POST", "/v1/admin/reload-mappings");
  EXPECT_NE(reload->status, 403) << reload->body;
  EXPECT_EQ(str(parse_object(reload->body), "field"), "mappings_dir");
  auto retry = admin->request("POST", "/v1/dead-letters/999/retry");
  EXPECT_NE(retry->status, 403) << retry->body;

  // Invoking a buddy arrangement needs the business-continuity role: an operator is
  // refused, business continuity staff of the home agency may.
  const std::string invocation =
      R"({"home": "bc-police", "trigger": "building-evacuation", "authorisedBy": "Insp. Jones"})";
  auto by_operator = operator_client->request("POST", "/v1/buddy/invocations", invocation, "application/json");
  EXPECT_EQ(by_operator->status, 403) << by_operator->body;
  auto by_bc = bc->request("POST", "/v1/buddy/invocations", invocation, "application/json");
  EXPECT_EQ(by_bc->status, 201) << by_bc->body;
}
