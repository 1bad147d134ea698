// End-to-end: a real deit-hub records transfers, reads, refusals and an erasure in its
// audit log; `deitctl audit verify` (a real process, reading the SQLite file) passes, and
// after the file is tampered with it fails naming the entry.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <boost/json.hpp>

#include <cstdio>
#include <regex>
#include <thread>

#include "hub/pki.hpp"
#include "tests/e2e/hub_process.hpp"

using namespace deit;
using namespace deit::e2e;
namespace json = boost::json;

namespace {


struct CliRun {
  int status = -1;
  std::string output;  // stdout and stderr
};

// Runs deitctl with `args` and captures what it prints and its exit status.
CliRun deitctl(const std::string& args) {
  const std::string cmd = std::string(DEIT_BINARY_DIR) + "/hub/deitctl " + args + " 2>&1";
  CliRun run;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return run;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) run.output.append(buf, n);
  const int status = ::pclose(pipe);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

std::vector<json::object> export_entries(const HubProcess& hub, const std::string& extra = "") {
  const CliRun run = deitctl("audit export --store " + (hub.dir() / "hub.db").string() + " " + extra);
  EXPECT_EQ(run.status, 0) << run.output;
  std::vector<json::object> out;
  std::size_t start = 0;
  while (start < run.output.size()) {
    const std::size_t end = run.output.find('\n', start);
    const std::string line = run.output.substr(start, end - start);
    if (!line.empty()) out.push_back(parse_object(line));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

// The first entry with this action (and, if given, this actor); empty when none.
json::object find_entry(const std::vector<json::object>& entries, const std::string& action, const std::string& actor = "") {
  for (const auto& e : entries)
    if (str(e, "action") == action && (actor.empty() || str(e, "actor") == actor)) return e;
  return {};
}

// Audit entries written without waiting (acknowledgements, TLS refusals) land shortly after.
std::vector<json::object> wait_for_entry(const HubProcess& hub, const std::string& action, const std::string& actor = "") {
  std::vector<json::object> entries;
  for (int i = 0; i < 100; ++i) {
    entries = export_entries(hub);
    if (!find_entry(entries, action, actor).empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return entries;
}

void sql(const std::filesystem::path& db, const std::string& statements) {
  sqlite3* c = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &c), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(c, statements.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(c);
}

}  // namespace

TEST(AuditEndToEnd, TransfersReadsRefusalsAndErasureAreAuditedAndTamperingIsFound) {
  HubProcess hub;
  const std::string store = (hub.dir() / "hub.db").string();
  auto police = hub.client("hertfordshire-police");

  // Collection.
  auto sent = police->request("POST", "/v1/transfers", sample_message("a-1", "AUD-1"), "application/xml");
  ASSERT_TRUE(sent.ok());
  ASSERT_EQ(sent->status, 202) << sent->body;
  const std::string transfer = str(parse_object(sent->body).at("transfers").as_array()[0].as_object(), "id");

  // A refused submit: the rule and position are recorded.
  auto malformed = police->request(
      "POST", "/v1/transfers",
      "<incidentMessage xmlns=\"urn:deit-hub:incident:1\" schemaVersion=\"1.0\">\n  <messageId>x</messageID>",
      "application/xml");
  ASSERT_TRUE(malformed.ok());
  ASSERT_EQ(malformed->status, 400);

  // Disclosure: fire control receives it and acknowledges.
  auto fire_stream = hub.stream("hertfordshire-fire");
  auto frame = fire_stream->next(10000);
  ASSERT_TRUE(frame.ok()) << frame.error().describe();
  ASSERT_TRUE(fire_stream->ack({parse_object(*frame).at("delivery").to_number<std::uint64_t>()}).ok());

  // Consultations, and a nosy read refused as if the transfer did not exist.
  auto fire = hub.client("hertfordshire-fire");
  ASSERT_EQ(fire->request("GET", "/v1/transfers/" + transfer)->status, 200);
  ASSERT_EQ(fire->request("GET", "/v1/transfers?awaiting=decision")->status, 200);
  ASSERT_EQ(police->request("GET", "/v1/inbox")->status, 200);
  ASSERT_EQ(hub.client("bedfordshire-police")->request("GET", "/v1/transfers/" + transfer)->status, 404);

  // Lifecycle: accepted by a named operator, with a reason.
  auto accepted = fire->request("POST", "/v1/transfers/" + transfer + "/accept",
                                R"({"reason":"two appliances mobilised","operator":"op 7"})", "application/json");
  ASSERT_EQ(accepted->status, 200) << accepted->body;

  // A certificate the hub does not know, and one from another CA (refused in the handshake).
  ASSERT_TRUE(hub::pki::issue_certificate(hub.certs().string(), "rogue-control-room", false, 30).ok());
  auto rogue = hub::Client::connect(hub.options("rogue-control-room"));
  ASSERT_TRUE(rogue.ok());
  ASSERT_EQ((*rogue)->request("GET", "/v1/transfers")->status, 403);
  const std::string other_ca = (hub.dir() / "other-ca").string();
  ASSERT_TRUE(hub::pki::ensure_dev_pki(other_ca, {"hertfordshire-police"}).ok());
  auto foreign_options = hub.options("hertfordshire-police");
  foreign_options.cert_file = other_ca + "/hertfordshire-police.pem";
  foreign_options.key_file = other_ca + "/hertfordshire-police.key";
  if (auto foreign = hub::Client::connect(foreign_options); foreign.ok()) {
    EXPECT_FALSE((*foreign)->request("GET", "/v1/health").ok());
  }

  // Erasure: refused without a reason, done with one, through the console.
  const std::string as_admin = "--hub 127.0.0.1:" + hub.port() + " --certs " + hub.certs().string() + " --as hub-admin ";
  const CliRun no_reason = deitctl(as_admin + "erase " + transfer + " --reason ''");
  EXPECT_NE(no_reason.status, 0) << no_reason.output;
  auto admin = hub.client("hub-admin");
  auto unreasoned = admin->request("POST", "/v1/admin/transfers/" + transfer + "/erase", "{}", "application/json");
  ASSERT_EQ(unreasoned->status, 422) << unreasoned->body;
  EXPECT_EQ(str(parse_object(unreasoned->body), "field"), "reason");
  const CliRun erased = deitctl(as_admin + "erase " + transfer + " --reason 'sent in error: wrong caller (ticket 4411)'");
  ASSERT_EQ(erased.status, 0) << erased.output;
  const auto after_erase = parse_object(admin->request("GET", "/v1/transfers/" + transfer)->body);
  EXPECT_EQ(str(after_erase, "state"), "accepted");  // the skeleton stays
  EXPECT_EQ(str(after_erase.at("history").as_array().back().as_object(), "event"), "erased");

  // The hub's own check and the console's both pass.
  auto verified = admin->request("GET", "/v1/admin/audit/verify");
  ASSERT_EQ(verified->status, 200) << verified->body;
  EXPECT_TRUE(parse_object(verified->body).at("ok").as_bool()) << verified->body;
  const CliRun via_api = deitctl(as_admin + "audit verify");
  EXPECT_EQ(via_api.status, 0) << via_api.output;
  EXPECT_NE(via_api.output.find("chain intact"), std::string::npos) << via_api.output;

  const auto entries = wait_for_entry(hub, "tls-refused");
  const CliRun clean = deitctl("audit verify --store " + store);
  EXPECT_EQ(clean.status, 0) << clean.output;
  EXPECT_NE(clean.output.find("chain intact"), std::string::npos) << clean.output;

  // Who, when and why.
  for (const auto& e : entries) {
    EXPECT_FALSE(str(e, "actor").empty()) << json::serialize(e);
    EXPECT_EQ(str(e, "at").size(), 24u) << json::serialize(e);  // 2026-11-23T06:00:00.000Z
  }
  const auto collected = find_entry(entries, "submit-create");
  ASSERT_FALSE(collected.empty());
  EXPECT_EQ(str(collected, "category"), "collection");
  EXPECT_EQ(str(collected, "actor"), "hertfordshire-police");
  EXPECT_EQ(str(collected, "subject"), "message:hertfordshire-police/a-1");
  EXPECT_EQ(str(collected, "reason"), "assistance-request");
  EXPECT_EQ(json::value_to<std::string>(collected.at("detail").as_object().at("transfers").as_array()[0]), transfer);

  const auto refused = find_entry(entries, "refused POST /v1/transfers", "hertfordshire-police");
  ASSERT_FALSE(refused.empty());
  EXPECT_EQ(str(refused, "category"), "refusal");
  EXPECT_EQ(str(refused.at("detail").as_object(), "rule"), "well-formed");
  EXPECT_EQ(refused.at("detail").as_object().at("line").to_number<int>(), 2);
  EXPECT_FALSE(str(refused, "reason").empty());

  const auto disclosed = find_entry(entries, "delivered", "hertfordshire-fire");
  ASSERT_FALSE(disclosed.empty());
  EXPECT_EQ(str(disclosed, "category"), "disclosure");
  EXPECT_EQ(str(disclosed, "subject"), "transfer:" + transfer);

  const auto read = find_entry(entries, "read-transfer", "hertfordshire-fire");
  ASSERT_FALSE(read.empty());
  EXPECT_EQ(str(read, "category"), "consultation");
  EXPECT_EQ(str(read, "subject"), "transfer:" + transfer);
  EXPECT_EQ(str(read.at("detail").as_object(), "request"), "GET /v1/transfers/" + transfer);
  EXPECT_FALSE(find_entry(entries, "list-transfers", "hertfordshire-fire").empty());
  EXPECT_FALSE(find_entry(entries, "read-inbox", "hertfordshire-police").empty());

  const auto nosy = find_entry(entries, "refused GET /v1/transfers/" + transfer, "bedfordshire-police");
  ASSERT_FALSE(nosy.empty());
  EXPECT_EQ(str(nosy.at("detail").as_object(), "rule"), "not-found");

  const auto decision = find_entry(entries, "accepted");
  ASSERT_FALSE(decision.empty());
  EXPECT_EQ(str(decision, "actor"), "hertfordshire-fire/op 7");
  EXPECT_EQ(str(decision, "reason"), "two appliances mobilised");

  const auto unknown = find_entry(entries, "refused GET /v1/transfers", "cn:rogue-control-room");
  ASSERT_FALSE(unknown.empty());
  EXPECT_EQ(str(unknown.at("detail").as_object(), "sha256").size(), 64u);
  EXPECT_EQ(str(unknown, "subject"), "certificate:" + str(unknown.at("detail").as_object(), "sha256"));

  const auto tls = find_entry(entries, "tls-refused");
  ASSERT_FALSE(tls.empty());
  EXPECT_EQ(str(tls, "category"), "refusal");
  EXPECT_FALSE(str(tls, "reason").empty());

  const auto erasure = find_entry(entries, "erase");
  ASSERT_FALSE(erasure.empty());
  EXPECT_EQ(str(erasure, "category"), "erasure");
  EXPECT_EQ(str(erasure, "actor"), "hub-admin");
  EXPECT_EQ(str(erasure, "reason"), "sent in error: wrong caller (ticket 4411)");
  EXPECT_FALSE(find_entry(entries, "refused POST /v1/admin/transfers/" + transfer + "/erase", "hub-admin").empty());
  EXPECT_FALSE(find_entry(entries, "audit-verify", "hub-admin").empty());

  // Everything about the transfer, from collection to erasure.
  std::vector<std::string> about;
  for (const auto& e : export_entries(hub, "--subject " + transfer)) about.push_back(str(e, "action"));
  for (const std::string want : {"submit-create", "delivered", "read-transfer", "accepted", "erase"})
    EXPECT_NE(std::find(about.begin(), about.end(), want), about.end()) << want;

  // At shutdown the hub logs its head: the anchor against truncation.
  ASSERT_EQ(hub.stop(), 0);
  std::smatch m;
  const std::string log = hub.log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(event=audit-head seq=(\d+) hash=([0-9a-f]{64}) when=shutdown)")))
      << log;
  const std::string head = m[1].str() + ":" + m[2].str();
  const int head_seq = std::stoi(m[1].str());
  const CliRun anchored = deitctl("audit verify --store " + store + " --head " + head);
  EXPECT_EQ(anchored.status, 0) << anchored.output;

  // Tampering: someone edits the accepted entry's reason in the file.
  const int decision_seq = decision.at("seq").to_number<int>();
  sql(store, "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; UPDATE audit SET reason = 'no appliances' "
             "WHERE seq = " + std::to_string(decision_seq));
  const CliRun altered = deitctl("audit verify --store " + store);
  EXPECT_EQ(altered.status, 1) << altered.output;
  EXPECT_NE(altered.output.find("BROKEN at entry " + std::to_string(decision_seq) + " (altered)"), std::string::npos)
      << altered.output;

  // ... and removes the newest entries: only the head from the log shows it.
  sql(store, "UPDATE audit SET reason = 'two appliances mobilised' WHERE seq = " + std::to_string(decision_seq) +
                 "; DELETE FROM audit WHERE seq >= " + std::to_string(head_seq - 1));
  EXPECT_EQ(deitctl("audit verify --store " + store).status, 0);
  const CliRun truncated = deitctl("audit verify --store " + store + " --head " + head);
  EXPECT_EQ(truncated.status, 1) << truncated.output;
  EXPECT_NE(truncated.output.find("BROKEN at entry " + std::to_string(head_seq - 1) + " (removed)"), std::string::npos)
      << truncated.output;
}
