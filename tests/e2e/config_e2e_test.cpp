// End-to-end: the configuration file reloads while the hub runs (SIGHUP, or an
// administrator's POST /v1/admin/reload-config). Agencies come, go and change; open
// connections and streams follow at once; a pusher starts for an agency now delivered by
// push; a file with a mistake changes nothing.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <csignal>
#include <fstream>
#include <thread>

#include "tests/e2e/hub_process.hpp"

using namespace deit;
using namespace deit::e2e;
namespace json = boost::json;

namespace {

std::vector<std::string> strings(const json::object& o, const char* key) {
  std::vector<std::string> out;
  for (const auto& v : o.at(key).as_array()) out.push_back(json::value_to<std::string>(v));
  return out;
}

void replace_in(std::string& text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
}

std::int64_t config_generation(hub::Client& client) {
  auto health = client.request("GET", "/v1/health");
  if (!health || health->status != 200) return -1;
  return parse_object(health->body).at("config").as_object().at("generation").to_number<std::int64_t>();
}

}  // namespace

TEST(ConfigReloadEndToEnd, AgenciesComeGoAndChangeWithoutARestart) {
  HubProcess hub;
  const int port = 20000 + ((::getpid() + 4099) % 20000);
  auto hertfordshire = hub.client("hertfordshire-police");
  auto bedfordshire = hub.client("bedfordshire-police");
  auto admin = hub.client("hub-admin");
  ASSERT_EQ(bedfordshire->request("GET", "/v1/health")->status, 200);
  auto thames_stream = hub.stream("thames-valley-police");
  auto sent = hertfordshire->request("POST", "/v1/transfers",
                                     sample_message("cfg-1", "CFG-1", "create", 1, "hertfordshire-police",
                                                    "thames-valley-police"),
                                     "application/xml");
  ASSERT_EQ(sent->status, 202) << sent->body;
  auto frame = thames_stream->next(10000);
  ASSERT_TRUE(frame.ok()) << frame.error().describe();
  EXPECT_EQ(health_status(hub, "essex-police"), 0);  // no such certificate yet

  // The new file: Essex Police joins; Bedfordshire leaves; Thames Valley's control room
  // moves to a new certificate; the ambulance service is now delivered by push; and the
  // listen address changes, which waits for a restart.
  const auto config_path = hub.dir() / "hub.json";
  const std::string original = read_text(config_path);
  std::string next = original;
  replace_in(next, R"({"id": "bedfordshire-police", "kind": "police"},)", R"({"id": "essex-police", "kind": "police"},)");
  replace_in(next, R"({"id": "thames-valley-police", "kind": "police"},)",
             R"({"id": "thames-valley-police", "kind": "police", "certificates": [{"subject_cn": "tvp-cad-2"}]},)");
  replace_in(next, R"({"id": "east-of-england-ambulance", "kind": "ambulance"})",
             R"({"id": "east-of-england-ambulance", "kind": "ambulance", "delivery": {"mode": "push", )"
             R"("endpoint": "https://127.0.0.1:)" + std::to_string(port) + R"(/incidents"}})");
  replace_in(next, R"("listen": "127.0.0.1:0")", R"("listen": "127.0.0.1:1")");
  std::ofstream(config_path) << next;

  // Only an administrator may ask.
  auto not_admin = hertfordshire->request("POST", "/v1/admin/reload-config");
  ASSERT_TRUE(not_admin.ok());
  EXPECT_EQ(not_admin->status, 403) << not_admin->body;
  EXPECT_EQ(config_generation(*hertfordshire), 0);

  const auto received_log = hub.dir() / "receive.txt";
  // `timeout`: a pusher that never comes fails the test rather than hanging it.
  const std::string receive = "timeout 30 " + std::string(DEIT_BINARY_DIR) + "/hub/deitctl --certs " + hub.certs().string() +
                              " receive --name hub --listen 127.0.0.1:" + std::to_string(port) + " --out " +
                              (hub.dir() / "received").string() + " --count 1 > " + received_log.string() + " 2>&1";
  std::thread endpoint([&] { EXPECT_EQ(std::system(receive.c_str()), 0); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  auto reload = admin->request("POST", "/v1/admin/reload-config");
  ASSERT_TRUE(reload.ok()) << reload.error().describe();
  ASSERT_EQ(reload->status, 200) << reload->body;
  const auto answer = parse_object(reload->body);
  EXPECT_EQ(str(answer, "status"), "reloaded");
  EXPECT_EQ(answer.at("generation").to_number<std::int64_t>(), 1);
  EXPECT_EQ(strings(answer, "added"), std::vector<std::string>{"essex-police"});
  EXPECT_EQ(strings(answer, "removed"), std::vector<std::string>{"bedfordshire-police"});
  EXPECT_EQ(strings(answer, "changed"), (std::vector<std::string>{"thames-valley-police", "east-of-england-ambulance"}));
  EXPECT_EQ(strings(answer, "restart_required"), std::vector<std::string>{"listen"});

  // Bedfordshire's open connection is refused at its next request, and so is a new one.
  auto gone = bedfordshire->request("GET", "/v1/health");
  ASSERT_TRUE(gone.ok()) << gone.error().describe();
  EXPECT_EQ(gone->status, 403) << gone->body;
  EXPECT_EQ(health_status(hub, "bedfordshire-police"), 403);
  EXPECT_TRUE(log_shows(hub, "event=identity-changed subject_cn=\"bedfordshire-police\""));
  // Thames Valley's stream is closed at once: its certificate names no agency any more.
  const auto before_close = std::chrono::steady_clock::now();
  auto after = thames_stream->next(10000);
  EXPECT_FALSE(after.ok()) << "the stream received " << *after;
  EXPECT_LT(std::chrono::steady_clock::now() - before_close, std::chrono::seconds(5));
  EXPECT_TRUE(log_shows(hub, "event=stream-closed agency=thames-valley-police unacknowledged=1 "
                             "reason=\"certificate no longer identifies thames-valley-police"));
  // Its new certificate (made by the hub, as development certificates are) gets in.
  auto tvp = hub.client("tvp-cad-2");
  auto tvp_health = tvp->request("GET", "/v1/health");
  ASSERT_TRUE(tvp_health.ok());
  EXPECT_EQ(tvp_health->status, 200) << tvp_health->body;
  EXPECT_EQ(str(parse_object(tvp_health->body), "agency"), "thames-valley-police");

  // Essex Police sends; a transfer to Bedfordshire is refused as to any unknown agency.
  auto essex = hub.client("essex-police");
  auto from_essex = essex->request("POST", "/v1/transfers",
                                   sample_message("ex-1", "EX-1", "create", 1, "essex-police", "hertfordshire-fire"),
                                   "application/xml");
  ASSERT_TRUE(from_essex.ok()) << from_essex.error().describe();
  EXPECT_EQ(from_essex->status, 202) << from_essex->body;
  auto to_beds = hertfordshire->request("POST", "/v1/transfers",
                                        sample_message("cfg-2", "CFG-2", "create", 1, "hertfordshire-police",
                                                       "bedfordshire-police"),
                                        "application/xml");
  ASSERT_TRUE(to_beds.ok());
  EXPECT_EQ(to_beds->status / 100, 4) << to_beds->body;

  // The ambulance service's deliveries now go to its endpoint.
  auto to_ambulance = hertfordshire->request("POST", "/v1/transfers",
                                             sample_message("cfg-3", "CFG-3", "create", 1, "hertfordshire-police",
                                                            "east-of-england-ambulance"),
                                             "application/xml");
  ASSERT_EQ(to_ambulance->status, 202) << to_ambulance->body;
  endpoint.join();
  EXPECT_NE(read_text(received_log).find("received 1, duplicates suppressed 0"), std::string::npos)
      << read_text(received_log);
  EXPECT_TRUE(log_shows(hub, "agency=east-of-england-ambulance delivery="));
  EXPECT_TRUE(log_shows(hub, "via=push"));

  // A mistake in the file (here via SIGHUP) changes nothing, and the log says where.
  std::ofstream(config_path) << next.substr(0, next.size() - 3);
  hub.signal(SIGHUP);
  EXPECT_TRUE(log_shows(hub, "event=config-reload-failed reason=\"" + config_path.string() + ": incomplete JSON (line"));
  EXPECT_EQ(config_generation(*essex), 1);
  EXPECT_EQ(health_status(hub, "bedfordshire-police"), 403);
  // The original file again: Bedfordshire is back, on a new connection.
  std::ofstream(config_path) << original;
  hub.signal(SIGHUP);
  EXPECT_TRUE(log_shows(hub, "event=config-reloaded generation=2 added=bedfordshire-police removed=essex-police"));
  EXPECT_EQ(health_status(hub, "bedfordshire-police"), 200);
  // The ambulance service pulls again, so its pusher ends.
  EXPECT_TRUE(log_shows(hub, "event=pusher-stopped agency=east-of-england-ambulance reason=\"no longer delivered by push\""));

  // deitctl asks as the administrator does; the same file again changes nothing.
  const std::string reload_command = std::string(DEIT_BINARY_DIR) + "/hub/deitctl --certs " + hub.certs().string() +
                                     " --hub 127.0.0.1:" + hub.port() + " --as hub-admin --json reload config > " +
                                     (hub.dir() / "reload.txt").string() + " 2>&1";
  ASSERT_EQ(std::system(reload_command.c_str()), 0) << read_text(hub.dir() / "reload.txt");
  EXPECT_NE(read_text(hub.dir() / "reload.txt").find("\"status\":\"unchanged\",\"generation\":2"), std::string::npos)
      << read_text(hub.dir() / "reload.txt");

  // Each reload, and the failed one, is in the audit log with who asked.
  auto audit = admin->request("GET", "/v1/admin/audit?subject=config");
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->status, 200) << audit->body;
  EXPECT_NE(audit->body.find("\"action\":\"reload-config\",\"category\":\"administration\""), std::string::npos)
      << audit->body;
  EXPECT_NE(audit->body.find("reload-config-failed"), std::string::npos) << audit->body;
  EXPECT_NE(audit->body.find("\"actor\":\"SIGHUP\""), std::string::npos) << audit->body;
}
