// Free-text matching benchmark: opens a snapshot (timed), runs every query of a
// queries.tsv (uprn TAB text) on one thread and prints one JSON object:
// load time, queries/s, top-1 accuracy, p50/p99 latency, resident memory.
//
//   gazetteer_bench --snapshot FILE --queries FILE [--limit N] [--misses N]

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "gazetteer/gazetteer.hpp"

namespace {

long status_kib(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return std::stol(line.substr(std::string(key).size()));
  return -1;
}

// CPU time of this process: on a shared machine, steadier than the wall clock.
double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  std::string snapshot, queries_path;
  std::size_t limit = SIZE_MAX, show_misses = 0, show_slowest = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--snapshot") snapshot = v;
    else if (k == "--queries") queries_path = v;
    else if (k == "--limit") limit = std::stoul(v);
    else if (k == "--misses") show_misses = std::stoul(v);
    else if (k == "--slowest") show_slowest = std::stoul(v);
  }
  if (snapshot.empty() || queries_path.empty()) {
    std::cerr << "usage: gazetteer_bench --snapshot FILE --queries FILE [--limit N] [--misses N]\n";
    return 2;
  }
  std::vector<std::pair<std::uint64_t, std::string>> queries;
  {
    std::ifstream in(queries_path);
    std::string line;
    while (queries.size() < limit && std::getline(in, line)) {
      auto tab = line.find('\t');
      if (tab == std::string::npos) continue;
      queries.emplace_back(std::stoull(line.substr(0, tab)), line.substr(tab + 1));
    }
  }
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  auto gaz = deit::gazetteer::Gazetteer::open(snapshot);
  double load_s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!gaz) {
    std::cerr << gaz.error().describe() << "\n";
    return 1;
  }
  long rss_after_open = status_kib("VmRSS:");
  // Pass 1 touches the mapped pages for the first time (cold); pass 2 is the steady state.
  double cold_s = 0;
  {
    auto c0 = Clock::now();
    for (const auto& [uprn, text] : queries) (void)gaz->match(text, 5);
    cold_s = std::chrono::duration<double>(Clock::now() - c0).count();
  }
  std::vector<double> latency_us;
  latency_us.reserve(queries.size());
  std::size_t top1 = 0, top5 = 0, shown = 0;
  double confidence_sum = 0;
  const double cpu_start = cpu_seconds();
  auto start = Clock::now();
  for (const auto& [uprn, text] : queries) {
    auto q0 = Clock::now();
    auto hits = gaz->match(text, 5);
    latency_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - q0).count());
    bool first = !hits.empty() && hits[0].address.uprn == uprn;
    top1 += first;
    if (!hits.empty()) confidence_sum += hits[0].confidence;
    top5 += std::any_of(hits.begin(), hits.end(), [&](const auto& c) { return c.address.uprn == uprn; });
    if (!first && shown < show_misses) {
      ++shown;
      std::cerr << "MISS " << uprn << " '" << text << "' -> "
                << (hits.empty() ? std::string("nothing")
                                 : std::to_string(hits[0].address.uprn) + " " + hits[0].address.single_line() + " (" +
                                       std::to_string(hits[0].confidence) + ") " + hits[0].explanation)
                << "\n";
      if (auto truth = gaz->lookup(uprn)) std::cerr << "     truth: " << truth->single_line() << "\n";
    }
  }
  double total_s = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu_s = cpu_seconds() - cpu_start;
  if (show_slowest > 0) {
    std::vector<std::size_t> order(latency_us.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return latency_us[a] > latency_us[b]; });
    for (std::size_t i = 0; i < std::min(show_slowest, order.size()); ++i)
      std::cerr << "SLOW " << latency_us[order[i]] << " us '" << queries[order[i]].second << "'\n";
  }
  std::sort(latency_us.begin(), latency_us.end());
  auto pct = [&](double p) {
    return latency_us.empty() ? 0.0 : latency_us[std::min(latency_us.size() - 1, static_cast<std::size_t>(p * static_cast<double>(latency_us.size())))];
  };
  auto info = gaz->info();
  const double n = static_cast<double>(std::max<std::size_t>(1, queries.size()));
  std::printf(
      "{\"engine\":\"deit-gazetteer\",\"uprns\":%llu,\"queries\":%zu,\"load_seconds\":%.4f,\"cold_queries_per_second\":%.0f,\"queries_per_second\":%.0f,"
      "\"cpu_us_per_query\":%.2f,\"top1_accuracy\":%.4f,\"top5_accuracy\":%.4f,\"mean_top1_confidence\":%.3f,\"p50_ms\":%.4f,\"p99_ms\":%.4f,"
      "\"rss_after_open_mib\":%.1f,\"rss_mib\":%.1f,\"peak_rss_mib\":%.1f}\n",
      static_cast<unsigned long long>(info.uprns), queries.size(), load_s, n / cold_s, n / total_s, cpu_s * 1e6 / n, top1 / n, top5 / n,
      confidence_sum / n, pct(0.5) / 1000, pct(0.99) / 1000, rss_after_open / 1024.0, status_kib("VmRSS:") / 1024.0,
      status_kib("VmHWM:") / 1024.0);
  return 0;
}
