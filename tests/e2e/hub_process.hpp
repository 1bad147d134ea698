#pragma once
// Runs a real deit-hub process for end-to-end tests: its own temp directory, generated
// configuration and development certificates, a port chosen by the kernel (read back
// from the hub's log), and start / SIGKILL / restart / stop.

#include <boost/json.hpp>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "hub/cli/client.hpp"

namespace deit::e2e {

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline boost::json::object parse_object(const std::string& text) { return boost::json::parse(text).as_object(); }
inline std::string str(const boost::json::object& o, const char* key) {
  return boost::json::value_to<std::string>(o.at(key));
}

inline std::string sample_message(const std::string& message_id, const std::string& reference,
                                  const std::string& type = "create", int sequence = 1,
                                  const std::string& sender = "hertfordshire-police",
                                  const std::string& receiver = "hertfordshire-fire") {
  std::string xml = read_text(std::string(DEIT_SOURCE_DIR) + "/samples/rtc-injury.xml");
  auto replace = [&](const std::string& from, const std::string& to) {
    auto pos = xml.find(from);
    if (pos != std::string::npos) xml.replace(pos, from.size(), to);
  };
  replace("<messageId>HP-2026-000123-1</messageId>", "<messageId>" + message_id + "</messageId>");
  replace("<senderReference>HP-20261123-0123</senderReference>", "<senderReference>" + reference + "</senderReference>");
  replace("<messageType>create</messageType>", "<messageType>" + type + "</messageType>");
  replace("<sequence>1</sequence>", "<sequence>" + std::to_string(sequence) + "</sequence>");
  replace("<sender>hertfordshire-police</sender>", "<sender>" + sender + "</sender>");
  replace("<receiver>hertfordshire-fire</receiver>", "<receiver>" + receiver + "</receiver>");
  return xml;
}

class HubProcess {
 public:
  // `extra_agency_json` is appended to the agency list; `settings` replaces the delivery block.
  // `extra_settings_json` adds top-level settings (e.g. a "gazetteer" block).
  // `agencies_json`, when given, replaces the "agencies" and "administrators" members.
  explicit HubProcess(std::string extra_agency_json = "", std::string delivery_json = "",
                      std::string extra_settings_json = "", std::string agencies_json = "") {
    static int counter = 0;
    dir_ = std::filesystem::temp_directory_path() /
           ("deit-e2e-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    if (delivery_json.empty()) delivery_json = R"({"retry_initial_ms": 50, "retry_max_ms": 500, "dead_letter_after_s": 600})";
    if (agencies_json.empty()) {
      agencies_json = R"(  "agencies": [
    {"id": "hertfordshire-police", "kind": "police"},
    {"id": "bedfordshire-police", "kind": "police"},
    {"id": "thames-valley-police", "kind": "police"},
    {"id": "hertfordshire-fire", "kind": "fire"},
    {"id": "east-of-england-ambulance", "kind": "ambulance"})" +
                      (extra_agency_json.empty() ? "" : ",\n    " + extra_agency_json) + R"(
  ],
  "administrators": [{"subject_cn": "hub-admin", "roles": ["administrator"]}])";
    }
    std::ofstream(dir_ / "hub.json") << R"({
  "listen": "127.0.0.1:0",
  "store": "hub.db",
  "log_file": "hub.log",
  "log_level": "info",
  "tls": {"ca": "certs/ca.pem", "cert": "certs/hub.pem", "key": "certs/hub.key", "generate_dev_certs": true},
  "delivery": )" + delivery_json + R"(,)" + (extra_settings_json.empty() ? "" : "\n  " + extra_settings_json + ",") +
                                            "\n" + agencies_json + "\n}";
    try {
      start();
    } catch (...) {
      // A constructor that throws runs no destructor: stop the hub and remove its files here.
      kill_hard();
      remove_files();
      throw;
    }
  }

  ~HubProcess() {
    stop();
    remove_files();
  }

  void start() {
    const std::string log = (dir_ / "hub.log").string();
    const std::size_t log_before = std::filesystem::exists(log) ? std::filesystem::file_size(log) : 0;
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string binary = std::string(DEIT_BINARY_DIR) + "/hub/deit-hub";
      const std::string config = (dir_ / "hub.json").string();
      // If the test process dies, its hub dies too: an orphan would hold the port, and the
      // test runner's output pipe open for ever.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::chdir(dir_.c_str()) != 0) _exit(126);
      std::freopen("stdout.txt", "a", stdout);
      ::dup2(::fileno(stdout), STDERR_FILENO);
      ::execl(binary.c_str(), binary.c_str(), "--config", config.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    // Wait for "event=listening ... port=N" in the part of the log this start wrote.
    static const std::regex listening(R"(event=listening address=\S+ port=(\d+))");
    // Up to 30 s: a restart reloads every pending delivery, and the machine may be busy.
    for (int i = 0; i < 600; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::string text = read_text(log);
      text = text.size() > log_before ? text.substr(log_before) : std::string();
      std::smatch m;
      if (std::regex_search(text, m, listening)) {
        port_ = m[1];
        return;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("deit-hub exited at start: " + read_text(dir_ / "stdout.txt"));
      }
    }
    throw std::runtime_error("deit-hub did not start listening");
  }

  void remove_files() {
    std::error_code ec;
    if (!std::getenv("DEIT_KEEP_E2E")) std::filesystem::remove_all(dir_, ec);
  }

  void kill_hard() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  // Graceful stop; returns the exit status.
  int stop() {
    if (pid_ <= 0) return 0;
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill_hard();
    return -1;
  }

  hub::ClientOptions options(const std::string& identity) const {
    return hub::options_for((dir_ / "certs").string(), identity, "127.0.0.1:" + port_);
  }

  std::unique_ptr<hub::Client> client(const std::string& identity) const {
    auto c = hub::Client::connect(options(identity));
    if (!c) throw std::runtime_error("connect as " + identity + ": " + c.error().describe());
    return std::move(c).value();
  }

  std::unique_ptr<hub::StreamClient> stream(const std::string& identity) const {
    auto c = hub::StreamClient::connect(options(identity));
    if (!c) throw std::runtime_error("stream as " + identity + ": " + c.error().describe());
    return std::move(c).value();
  }

  // The names of the hub's threads (/proc/PID/task/*/comm), one entry per thread.
  std::multiset<std::string> thread_names() const {
    std::multiset<std::string> names;
    std::error_code ec;
    for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid_) + "/task", ec)) {
      std::string name = read_text(task.path() / "comm");
      while (!name.empty() && name.back() == '\n') name.pop_back();
      names.insert(std::move(name));
    }
    return names;
  }

  // Sends `sig` (SIGHUP, say) to the running hub.
  void signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
  }

  std::string log() const { return read_text(dir_ / "hub.log"); }
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path certs() const { return dir_ / "certs"; }
  const std::string& port() const { return port_; }

 private:
  std::filesystem::path dir_;
  std::string port_;
  pid_t pid_ = -1;
};

// The hub logs asynchronously: wait (bounded) for a line to appear.
// GET /v1/health on a new connection as the certificate `name` in the hub's certificate
// directory: the HTTP status, or 0 when the TLS handshake (or the first request, under TLS
// 1.3) was refused.
inline int health_status(const HubProcess& hub, const std::string& name) {
  auto client = hub::Client::connect(hub.options(name));
  if (!client) return 0;
  auto reply = (*client)->request("GET", "/v1/health");
  return reply ? reply->status : 0;
}

inline bool log_shows(const HubProcess& hub, const std::string& text) {
  for (int i = 0; i < 100; ++i) {
    if (hub.log().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

}  // namespace deit::e2e
