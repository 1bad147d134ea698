// deit-link-load: submits N incidents over ZeroMQ CURVE links (K connectors, each waiting
// for its RESULT, i.e. for the commit) while one connector receives and acknowledges them,
// and prints one JSON line: throughput and submit-to-delivery latency (p50/p99/max).

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "hub/links/connector.hpp"

using namespace deit;
using namespace deit::hub::links;
using Clock = std::chrono::steady_clock;

namespace {

std::string arg(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (argv[i] == name) return argv[i + 1];
  return fallback;
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const std::size_t k = std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  const std::string endpoint = arg(argc, argv, "--link", "tcp://127.0.0.1:8444");
  const std::string certs = arg(argc, argv, "--certs", "var/certs");
  const long n = std::stol(arg(argc, argv, "--messages", "2000"));
  const int k = std::stoi(arg(argc, argv, "--connections", "8"));
  const std::string run_id = arg(argc, argv, "--run", std::to_string(std::chrono::system_clock::now().time_since_epoch().count()));
  std::ifstream in(std::string(DEIT_SOURCE_DIR) + "/samples/rtc-injury.xml");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string base = ss.str();

  auto server = read_public_key(certs + "/hub.curve.pub");
  auto police = read_key_pair(dev_key_path(certs, "hertfordshire-police"));
  auto receiver_key = read_key_pair(dev_key_path(certs, "east-of-england-ambulance"));
  if (!server || !police || !receiver_key) {
    std::cerr << "deit-link-load: development link keys missing in " << certs << "\n";
    return 1;
  }
  auto options = [&](const CurveKeyPair& key, LinkRole role) {
    ConnectorOptions o;
    o.endpoint = endpoint;
    o.server_key = *server;
    o.key = key;
    o.role = role;
    o.window = 1024;
    return o;
  };
  auto receiving = Connector::open(options(*receiver_key, LinkRole::receive));
  if (!receiving) {
    std::cerr << "deit-link-load: " << receiving.error().describe() << "\n";
    return 1;
  }

  const std::string prefix = "Z" + run_id + "-";
  std::vector<Clock::time_point> sent_at(static_cast<std::size_t>(n));
  std::vector<std::atomic<bool>> seen(static_cast<std::size_t>(n));
  std::vector<double> latencies_ms;
  std::atomic<long> received{0}, duplicates{0}, errors{0};
  std::mutex mutex;

  std::thread receiver([&] {
    while (received < n) {
      auto d = (*receiving)->next(std::chrono::seconds(20));
      if (!d) break;
      const auto now = Clock::now();
      static_cast<void>((*receiving)->ack({d->seq}));
      if (d->message.rfind(prefix, 0) != 0) continue;
      const long i = std::stol(d->message.substr(prefix.size()));
      if (i < 0 || i >= n || seen[static_cast<std::size_t>(i)].exchange(true)) {
        ++duplicates;
        continue;
      }
      std::lock_guard lock(mutex);
      latencies_ms.push_back(std::chrono::duration<double, std::milli>(now - sent_at[static_cast<std::size_t>(i)]).count());
      ++received;
    }
  });

  const auto start = Clock::now();
  std::vector<std::thread> senders;
  for (int t = 0; t < k; ++t) {
    senders.emplace_back([&, t] {
      auto link = Connector::open(options(*police, LinkRole::submit));
      if (!link) {
        errors += n / k;
        return;
      }
      for (long i = t; i < n; i += k) {
        std::string xml = base;
        const std::string id = prefix + std::to_string(i);
        for (const auto& [from, to] : {std::pair<std::string, std::string>{"<messageId>HP-2026-000123-1</messageId>", "<messageId>" + id + "</messageId>"},
                                       {"<senderReference>HP-20261123-0123</senderReference>", "<senderReference>" + id + "</senderReference>"},
                                       {"<receiver>hertfordshire-fire</receiver>", "<receiver>east-of-england-ambulance</receiver>"}})
          if (auto pos = xml.find(from); pos != std::string::npos) xml.replace(pos, from.size(), to);
        sent_at[static_cast<std::size_t>(i)] = Clock::now();
        auto r = (*link)->submit("application/xml", xml, std::chrono::seconds(30));
        if (!r || r->status != "received") ++errors;
      }
    });
  }
  for (auto& s : senders) s.join();
  const double submit_s = std::chrono::duration<double>(Clock::now() - start).count();
  receiver.join();
  const double total_s = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> l = latencies_ms;
  boost::json::object out{{"bench", "link-transfer"},
                          {"run", run_id},
                          {"messages", n},
                          {"connections", k},
                          {"received", received.load()},
                          {"duplicates", duplicates.load()},
                          {"errors", errors.load()},
                          {"submit_per_s", static_cast<double>(n) / submit_s},
                          {"throughput_per_s", static_cast<double>(received.load()) / total_s},
                          {"latency_ms", {{"p50", percentile(l, 0.5)}, {"p99", percentile(l, 0.99)},
                                          {"max", l.empty() ? 0.0 : *std::max_element(l.begin(), l.end())}}}};
  std::cout << boost::json::serialize(out) << "\n";
  return received == n && errors == 0 ? 0 : 1;
}
