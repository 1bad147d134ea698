// Messages per second on one core for decode (parse + schema validation + mapping to
// canonical) followed by encode, per format, on a ~2 KB rich incident.
// Prints one JSON object per format:
//   {"bench":"adapters","format":"police","bytes":2210,"iterations":40000,"seconds":1.6,"messages_per_second":25000}
// Usage: adapters_bench [seconds-per-format (default 2)] [format ...]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "adapters/builtin.hpp"

using namespace deit;
using namespace deit::adapters;

namespace {

model::IncidentMessage sample_incident() {
  model::IncidentMessage m;
  m.message_id = "HP-2026-000123-1";
  m.type = model::MessageType::create;
  m.sequence = 1;
  m.sender_agency = "hertfordshire-police";
  m.receiving_agencies = {"hertfordshire-fire", "east-of-england-ambulance"};
  m.sender_reference = "HP-20261123-0123";
  m.reason = model::TransferReason::assistance_request;
  m.call_received = "2026-11-23T08:14:05Z";
  m.created = "2026-11-23T08:14:40Z";
  m.sent = "2026-11-23T08:15:02Z";
  m.marking = model::ProtectiveMarking::official_sensitive;
  auto& i = m.incident;
  i.type_summary = "RTC two cars, one person trapped, fuel leaking";
  i.type = {"nsir", "RTC-INJURY", "Road traffic collision - injury"};
  i.qualifiers = {{"frs-property", "ROAD-VEHICLE", "Road vehicle"}};
  i.priority = {model::PoliceGrade::emergency, std::nullopt, "", true, true};
  i.status = "officers en route";
  i.location.text = "A414 eastbound near the Colney Heath turn, St Albans";
  i.location.address = {"", "", "A414", "Colney Heath", "St Albans", "Hertfordshire", "AL4 0PB"};
  i.location.uprn = 100081234567ULL;
  i.location.latitude = 51.7398;
  i.location.longitude = -0.2567;
  i.location.uncertainty_m = 50;
  i.caller = model::Caller{"Sam Taylor", "07700900123", std::nullopt, false};
  i.persons = {{"casualty", "Alex Morgan", 34, "driver of the blue Focus, trapped, conscious", {}},
               {"subject", "Jo Bloggs", 41, "driver of the white van, left the scene on foot", {"violent"}}};
  i.vehicles = {{"AB12 CDE", "Ford", "Focus", "blue", "front end damage"}};
  i.hazards = {{"fuel", "fuel leaking onto the carriageway"}, {"cylinders", "acetylene cylinders in the van"}};
  i.log = {{"2026-11-23T08:14:40Z", "op 4471", "Caller reports two-car collision, one driver trapped.", false},
           {"2026-11-23T08:15:30Z", "op 4471", "Second caller confirms fuel on the road, traffic stopping.", false}};
  i.resources_requested = {{"fire-appliance", 2, "extrication"}, {"ambulance", 1, "one casualty"}};
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
  std::vector<std::string> formats;
  for (int k = 2; k < argc; ++k) formats.emplace_back(argv[k]);
  auto registry = builtin_registry(default_mapping_store());
  if (!registry) {
    std::fprintf(stderr, "%s\n", registry.error().describe().c_str());
    return 1;
  }
  if (formats.empty())
    for (auto n : registry.value()->names()) formats.emplace_back(n);

  const model::IncidentMessage incident = sample_incident();
  for (const auto& name : formats) {
    const Adapter* a = registry.value()->find(name);
    if (!a) {
      std::fprintf(stderr, "unknown format %s\n", name.c_str());
      return 2;
    }
    auto native = a->encode(incident);
    if (!native || !a->decode(native->bytes)) {
      std::fprintf(stderr, "%s: sample does not round-trip\n", name.c_str());
      return 1;
    }
    const std::string bytes = native->bytes;
    std::size_t sink = 0;
    auto one = [&] {
      auto d = a->decode(bytes);
      auto e = a->encode(d->message);
      sink += e->bytes.size();
    };
    for (int k = 0; k < 200; ++k) one();  // warm the parser caches
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    std::size_t iterations = 0;
    double elapsed = 0;
    while (elapsed < seconds) {
      for (int k = 0; k < 100; ++k) one();
      iterations += 100;
      elapsed = std::chrono::duration<double>(clock::now() - start).count();
    }
    std::printf(
        "{\"bench\":\"adapters\",\"format\":\"%s\",\"bytes\":%zu,\"iterations\":%zu,\"seconds\":%.3f,"
        "\"messages_per_second\":%.0f,\"checksum\":%zu}\n",
        name.c_str(), bytes.size(), iterations, elapsed, iterations / elapsed, sink % 1000);
    std::fflush(stdout);
  }
  return 0;
}
