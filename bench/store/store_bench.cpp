// deit-store-bench: the store's own cost per transfer, without TLS, HTTP, XML or the
// gazetteer. It submits N transfers shaped like the transfer benchmark's (the sample
// incident's canonical encoding as the body and its encoding for the ambulance service as
// the payload, the gazetteer check and the findings the hub records for it, as JSON),
// keeping K submits in flight so that they commit in groups as the hub's do, then
// acknowledges every delivery in frames of 32, as a stream reader does. Prints one JSON
// line: rates, and the CPU time of the store's threads (the writer and the checkpointer:
// the process's CPU less this thread's) per transfer. That CPU figure is steadier than
// any end-to-end one on a noisy machine.
//
// --ids time-ordered measures a design the hub does not have: transfer ids that ascend with
// time (milliseconds, then a counter) instead of the hub's hash of sender, reference and
// receiver, which puts each new id at a random place in the id index.
//
// Usage: deit-store-bench [--transfers N] [--in-flight K] [--dir DIR] [--ids hash|time-ordered]

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "adapters/adapter.hpp"
#include "adapters/deit/deit_adapter.hpp"
#include "hub/store.hpp"

using namespace deit;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

std::string arg(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (argv[i] == name) return argv[i + 1];
  return fallback;
}

double process_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double thread_cpu_s() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// Bytes this process has handed to write(2) and pwrite(2): the WAL frames, the
// checkpoints' copies into the database file and the log.
long long bytes_written() {
  std::ifstream io("/proc/self/io");
  std::string key;
  long long value = 0;
  while (io >> key >> value)
    if (key == "wchar:") return value;
  return 0;
}

// At most `limit` operations in flight; `wait_all` waits for the rest.
class Window {
 public:
  explicit Window(int limit) : limit_(limit) {}
  void acquire() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return in_flight_ < limit_; });
    ++in_flight_;
  }
  void release(bool ok) {
    std::lock_guard lock(mutex_);
    --in_flight_;
    failures_ += ok ? 0 : 1;
    changed_.notify_all();
  }
  int wait_all() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return in_flight_ == 0; });
    return failures_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int limit_, in_flight_ = 0, failures_ = 0;
};

// Phase timing: wall seconds and the store threads' CPU seconds.
struct Phase {
  Clock::time_point wall = Clock::now();
  double process = process_cpu_s(), own = thread_cpu_s();
  std::pair<double, double> end() const {
    return {std::chrono::duration<double>(Clock::now() - wall).count(),
            (process_cpu_s() - process) - (thread_cpu_s() - own)};
  }
};

}  // namespace

int main(int argc, char** argv) {
  const long n = std::stol(arg(argc, argv, "--transfers", "20000"));
  const int k = std::stoi(arg(argc, argv, "--in-flight", "64"));
  const bool time_ordered_ids = arg(argc, argv, "--ids", "hash") == "time-ordered";
  const fs::path dir = arg(argc, argv, "--dir", (fs::temp_directory_path() / ("deit-store-bench-" + std::to_string(::getpid()))).string());
  spdlog::set_default_logger(spdlog::stderr_logger_mt("store-bench"));
  spdlog::set_level(spdlog::level::warn);

  std::ifstream in(std::string(DEIT_SOURCE_DIR) + "/samples/rtc-injury.xml");
  std::stringstream sample;
  sample << in.rdbuf();
  // What the hub stores for the sample sent to the ambulance service (format "deit"): the
  // canonical encoding as the body, and the receiver's encoding, which names the transfer,
  // as the payload. Their sizes decide how many rows share a page, so the sample file
  // itself (a few hundred bytes longer) would overstate the store's work.
  auto adapters = adapters::builtin_registry();
  const adapters::Adapter* deit = adapters ? adapters.value()->find("deit") : nullptr;
  auto decoded = deit ? deit->decode(sample.str()) : Result<adapters::Decoded>(Error::make("bench", "no deit adapter"));
  if (!decoded) {
    std::cerr << "deit-store-bench: the sample: " << decoded.error().describe() << "\n";
    return 1;
  }
  decoded->message.transfer_id.clear();
  const std::string body = adapters::encode_canonical(decoded->message);
  decoded->message.transfer_id = hub::make_transfer_id("hertfordshire-police", "HP-20261123-0123", "east-of-england-ambulance");
  auto encoded = deit->encode(decoded->message);
  if (!encoded) {
    std::cerr << "deit-store-bench: the sample: " << encoded.error().describe() << "\n";
    return 1;
  }
  const std::string payload = encoded->bytes;
  // What check_location and the translation record for the sample, as the hub wrote them.
  const std::string location =
      R"({"verified":false,"flags":["low confidence 0.28: words ST ALBANS; not found A414 EASTBOUND COLNEY HEATH TURN; )"
      R"(ambiguous: equally good candidates","reported position is 5.3 km from the matched address"],"uprn":10000001,)"
      R"("usrn":20000000,"single_line":"1 HIGH STREET, ST ALBANS, AL1 0AB","pao":{"start_number":1},"street":"HIGH STREET",)"
      R"("town":"ST ALBANS","administrative_area":"ST ALBANS","postcode":"AL1 0AB","easting":5.155312E5,"northing":2.079157E5,)"
      R"("latitude":5.17580216E1,"longitude":-3.275177E-1,"classification":"RD04","logical_status":1,"local_custodian_code":1930,)"
      R"("confidence":2.84E-1,"explanation":"words ST ALBANS; not found A414 EASTBOUND COLNEY HEATH TURN; ambiguous: equally )"
      R"(good candidates","coverage":{"police":["hertfordshire-police"],"fire":["hertfordshire-fire"],)"
      R"("ambulance":["east-of-england-ambulance"]}})";
  const std::string findings =
      R"json([{"field":"incident/location","rule":"location-unverified","message":"location not verified against the gazetteer: )json"
      R"json(low confidence 0.28: words ST ALBANS; not found A414 EASTBOUND COLNEY HEATH TURN; ambiguous: equally good )json"
      R"json(candidates; reported position is 5.3 km from the matched address"}])json";

  fs::remove_all(dir);
  fs::create_directories(dir);
  auto opened = hub::Store::open((dir / "hub.db").string());
  if (!opened) {
    std::cerr << "deit-store-bench: " << opened.error().describe() << "\n";
    return 1;
  }
  auto& store = *opened.value();

  std::mutex deliveries_mutex;
  std::vector<std::uint64_t> deliveries;
  deliveries.reserve(static_cast<std::size_t>(n));
  Window window(k);
  const std::string run = std::to_string(::getpid());
  const long long written_before = bytes_written();
  Phase submitting;
  for (long i = 0; i < n; ++i) {
    hub::SubmitRequest r;
    auto& m = r.message;
    m.message_id = "B" + run + "-" + std::to_string(i);
    m.type = model::MessageType::create;
    m.sender_agency = "hertfordshire-police";
    m.sender_reference = m.message_id;
    m.receiving_agencies = {"east-of-england-ambulance"};
    m.reason = model::TransferReason::assistance_request;
    m.incident.priority.police_grade = model::PoliceGrade::emergency;
    m.incident.priority.emergency = true;
    m.incident.priority.life_risk = true;
    r.canonical_xml = body;
    r.received_at = hub::now_ms();
    r.validated_at = r.received_at;
    r.location_json = location;
    r.location_verified = true;
    std::string transfer_id = hub::make_transfer_id(m.sender_agency, m.sender_reference, "east-of-england-ambulance");
    if (time_ordered_ids) {
      char id[48];
      std::snprintf(id, sizeof id, "T-%013lld-%08ld", static_cast<long long>(r.received_at), i);
      transfer_id = id;
    }
    r.targets.push_back(hub::SubmitRequest::Target{std::move(transfer_id), "east-of-england-ambulance",
                                                   "application/xml", payload, findings});
    window.acquire();
    store.submit(std::move(r), [&](Result<hub::SubmitOutcome> out) {
      if (out) {
        std::lock_guard lock(deliveries_mutex);
        for (const auto& d : out->deliveries) deliveries.push_back(d.seq);
      }
      window.release(out.ok());
    });
  }
  int failures = window.wait_all();
  const auto [submit_s, submit_cpu_s] = submitting.end();

  constexpr std::size_t kAckFrame = 32;
  Phase acknowledging;
  for (std::size_t i = 0; i < deliveries.size(); i += kAckFrame) {
    std::vector<std::uint64_t> frame(deliveries.begin() + static_cast<long>(i),
                                     deliveries.begin() + static_cast<long>(std::min(deliveries.size(), i + kAckFrame)));
    window.acquire();
    store.acknowledge("east-of-england-ambulance", std::move(frame),
                      [&](Result<hub::AckOutcome> out) { window.release(out.ok()); });
  }
  failures += window.wait_all();
  const auto [ack_s, ack_cpu_s] = acknowledging.end();
  store.close();
  const long long written = bytes_written() - written_before;

  std::uintmax_t bytes = 0;
  for (const auto& f : fs::directory_iterator(dir)) bytes += f.is_regular_file() ? f.file_size() : 0;
  if (arg(argc, argv, "--dir", "").empty()) fs::remove_all(dir);

  const double transfers = static_cast<double>(n);
  std::cout << R"({"bench":"store","transfers":)" << n << R"(,"ids":")" << (time_ordered_ids ? "time-ordered" : "hash")
            << R"(","in_flight":)" << k << R"(,"failures":)" << failures
            << R"(,"submit_per_s":)" << static_cast<long>(transfers / submit_s) << R"(,"submit_store_cpu_us":)"
            << static_cast<long>(submit_cpu_s / transfers * 1e6) << R"(,"ack_per_s":)"
            << static_cast<long>(transfers / ack_s) << R"(,"ack_store_cpu_us":)"
            << static_cast<long>(ack_cpu_s / transfers * 1e6) << R"(,"database_bytes_per_transfer":)"
            << static_cast<long>(static_cast<double>(bytes) / transfers) << R"(,"written_bytes_per_transfer":)"
            << static_cast<long>(static_cast<double>(written) / transfers) << "}" << std::endl;
  return failures == 0 && deliveries.size() == static_cast<std::size_t>(n) ? 0 : 1;
}
