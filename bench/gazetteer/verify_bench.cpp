// Gazetteer::verify micro-benchmark: the hub's per-transfer location check in a loop.
// Opens a snapshot (the hub's sample, build/gazetteer/sample/sample.gaz), verifies the
// location of samples/rtc-injury.xml (as hub.cpp check_location builds it) repeatedly and
// prints one JSON line: calls/s, µs per call, and what the best match was (so a speed-up
// that changed the answer shows).
//
//   verify_bench --snapshot FILE [--seconds S]          # cpu_us_per_call: CPU time, steadier when shared
//   verify_bench --snapshot FILE --dump QUERIES.tsv   # every query's top 5 and verify result,
//                                                     # one line each, to diff two builds

#include <time.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "gazetteer/gazetteer.hpp"

namespace {

using deit::gazetteer::Gazetteer;
using deit::gazetteer::LocationInput;

// Exact enough to tell any change of score apart.
std::string describe(const deit::gazetteer::Candidate& c) {
  char confidence[32];
  std::snprintf(confidence, sizeof confidence, "%.17g", c.confidence);
  return std::to_string(c.address.uprn) + " " + confidence + " [" + c.explanation + "]";
}

std::string describe(const deit::gazetteer::Verification& v) {
  std::string out = v.verified ? "verified" : "unverified";
  if (v.best) out += " best " + describe(*v.best);
  for (const auto& a : v.alternatives) out += " | alt " + describe(a);
  for (const auto& f : v.flags) out += " | flag " + f;
  for (const auto& p : v.coverage.police) out += " | police " + p.agency_id;
  return out;
}

// CPU time of this process: on a shared machine, steadier than the wall clock.
double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

int dump(const Gazetteer& gaz, const std::string& queries_path) {
  std::ifstream in(queries_path);
  if (!in) {
    std::cerr << "cannot open " << queries_path << "\n";
    return 1;
  }
  std::string line;
  while (std::getline(in, line)) {
    auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    const std::string text = line.substr(tab + 1);
    std::cout << "Q " << text << "\n";
    for (const auto& c : gaz.match(text, 5)) std::cout << "  " << describe(c) << "\n";
    LocationInput input;
    input.text = text;
    std::cout << "  V " << describe(gaz.verify(input)) << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string snapshot, dump_path;
  double seconds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--snapshot") snapshot = v;
    else if (k == "--seconds") seconds = std::stod(v);
    else if (k == "--dump") dump_path = v;
  }
  if (snapshot.empty()) {
    std::cerr << "usage: verify_bench --snapshot FILE [--seconds S] [--dump QUERIES.tsv]\n";
    return 2;
  }
  auto gaz = Gazetteer::open(snapshot);
  if (!gaz) {
    std::cerr << gaz.error().describe() << "\n";
    return 1;
  }
  if (!dump_path.empty()) return dump(*gaz, dump_path);

  // samples/rtc-injury.xml: free text wins over the structured address in check_location.
  LocationInput input;
  input.text = "A414 eastbound near the Colney Heath turn, St Albans";
  input.wgs84 = deit::gazetteer::LatLon{51.7398, -0.2567};
  const std::string expected = describe(gaz->verify(input));

  using Clock = std::chrono::steady_clock;
  const double cpu_start = cpu_seconds();
  const auto start = Clock::now();
  const auto stop = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::size_t calls = 0;
  bool same = true;
  for (auto now = start; now < stop; now = Clock::now()) {
    for (int i = 0; i < 64; ++i, ++calls) {
      auto v = gaz->verify(input);
      if (i == 0 && !(v.best.has_value() && describe(v) == expected)) same = false;
    }
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu = cpu_seconds() - cpu_start;
  std::string escaped;
  for (char c : expected) {
    if (c == '"' || c == '\\') escaped.push_back('\\');
    escaped.push_back(c);
  }
  std::printf(
      "{\"calls\":%zu,\"calls_per_second\":%.0f,\"us_per_call\":%.2f,\"cpu_us_per_call\":%.2f,\"stable\":%s,"
      "\"result\":\"%s\"}\n",
      calls, static_cast<double>(calls) / elapsed, elapsed * 1e6 / static_cast<double>(calls),
      cpu * 1e6 / static_cast<double>(calls), same ? "true" : "false", escaped.c_str());
  return 0;
}
