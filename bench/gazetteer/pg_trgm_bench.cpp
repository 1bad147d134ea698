// The same noisy queries against PostgreSQL pg_trgm. Two ways of asking:
//   --mode knn         five nearest by trigram distance (GiST: ORDER BY addr <-> query)
//   --mode similarity  addr % query (GIN, similarity threshold 0.3), best five by similarity
// Prints the same JSON fields as gazetteer_bench.
//
//   pg_trgm_bench --conninfo "host=127.0.0.1 port=54329 dbname=gaz" --queries FILE [--limit N] [--mode M]

#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  std::string conninfo, queries_path, mode = "knn";
  std::size_t limit = SIZE_MAX;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--conninfo") conninfo = v;
    else if (k == "--queries") queries_path = v;
    else if (k == "--limit") limit = std::stoul(v);
    else if (k == "--mode") mode = v;
  }
  std::vector<std::pair<std::uint64_t, std::string>> queries;
  std::ifstream in(queries_path);
  std::string line;
  while (queries.size() < limit && std::getline(in, line)) {
    auto tab = line.find('\t');
    if (tab != std::string::npos) queries.emplace_back(std::stoull(line.substr(0, tab)), line.substr(tab + 1));
  }
  PGconn* c = PQconnectdb(conninfo.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::cerr << "connect: " << PQerrorMessage(c);
    return 1;
  }
  const char* sql = mode == "knn"
                        ? "SELECT uprn FROM addresses ORDER BY addr <-> upper($1) LIMIT 5"
                        : "SELECT uprn FROM addresses WHERE addr % upper($1) ORDER BY similarity(addr, upper($1)) DESC LIMIT 5";
  PGresult* prep = PQprepare(c, "q", sql, 1, nullptr);
  if (PQresultStatus(prep) != PGRES_COMMAND_OK) {
    std::cerr << "prepare: " << PQerrorMessage(c);
    return 1;
  }
  PQclear(prep);
  using Clock = std::chrono::steady_clock;
  std::vector<double> latency_us;
  std::size_t top1 = 0, top5 = 0;
  auto start = Clock::now();
  for (const auto& [uprn, text] : queries) {
    const char* params[1] = {text.c_str()};
    auto q0 = Clock::now();
    PGresult* r = PQexecPrepared(c, "q", 1, params, nullptr, nullptr, 0);
    latency_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - q0).count());
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      std::cerr << "query: " << PQerrorMessage(c);
      PQclear(r);
      return 1;
    }
    for (int row = 0; row < PQntuples(r); ++row) {
      std::uint64_t got = std::strtoull(PQgetvalue(r, row, 0), nullptr, 10);
      if (got == uprn) {
        top5 += 1;
        top1 += row == 0;
        break;
      }
    }
    PQclear(r);
  }
  double total_s = std::chrono::duration<double>(Clock::now() - start).count();
  PQfinish(c);
  std::sort(latency_us.begin(), latency_us.end());
  auto pct = [&](double p) {
    return latency_us.empty() ? 0.0 : latency_us[std::min(latency_us.size() - 1, static_cast<std::size_t>(p * static_cast<double>(latency_us.size())))];
  };
  const double n = static_cast<double>(std::max<std::size_t>(1, queries.size()));
  std::printf("{\"engine\":\"postgresql-pg_trgm-%s\",\"queries\":%zu,\"queries_per_second\":%.1f,\"top1_accuracy\":%.4f,"
              "\"top5_accuracy\":%.4f,\"p50_ms\":%.3f,\"p99_ms\":%.3f}\n",
              mode.c_str(), queries.size(), n / total_s, top1 / n, top5 / n, pct(0.5) / 1000, pct(0.99) / 1000);
  return 0;
}
