#pragma once
// The body of every gazetteer loader harness: load bytes in memory and check what must hold
// whatever the bytes are.
//  - Every record handed to the sink has its key (UPRN or USRN), and its text views are
//    readable for the whole call (the sink copies them, so AddressSanitizer sees a view
//    into freed or out-of-range memory).
//  - The load never fails for bad content: malformed lines are problems in LoadStats, each
//    with a rule and a message, at most kMaxProblems of them, and counted in `skipped`.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "gazetteer/loaders.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace deit::fuzz {

class CheckingSink final : public gazetteer::RecordSink {
 public:
  void street(const gazetteer::StreetRecord& r) override { require(r.usrn != 0, "a street without a USRN"); }
  void street_descriptor(const gazetteer::StreetDescriptorRecord& r) override {
    require(r.usrn != 0, "a street descriptor without a USRN");
    touch(r.description, r.locality, r.town, r.administrative_area, r.language);
  }
  void blpu(const gazetteer::BlpuRecord& r) override {
    require(r.uprn != 0, "a BLPU without a UPRN");
    touch(r.postcode_locator);
  }
  void lpi(const gazetteer::LpiRecord& r) override {
    require(r.uprn != 0, "an LPI without a UPRN");
    touch(r.lpi_key, r.language, r.sao_text, r.pao_text, r.area_name, r.level);
  }
  void delivery_point(const gazetteer::DeliveryPointRecord& r) override {
    require(r.uprn != 0, "a delivery point without a UPRN");
    touch(r.organisation_name, r.sub_building_name, r.building_name, r.thoroughfare, r.dependent_locality,
          r.post_town, r.postcode);
  }
  void classification(const gazetteer::ClassificationRecord& r) override {
    require(r.uprn != 0, "a classification without a UPRN");
    touch(r.code, r.scheme);
  }
  void organisation(const gazetteer::OrganisationRecord& r) override {
    require(r.uprn != 0, "an organisation without a UPRN");
    touch(r.organisation);
  }
  void coordinates(const gazetteer::CoordinateRecord& r) override {
    require(r.uprn != 0, "coordinates without a UPRN");
  }

  std::size_t bytes_seen = 0;

 private:
  template <typename... Views>
  void touch(Views... views) {
    for (std::string_view v : {std::string_view(views)...}) {
      copy_.assign(v.begin(), v.end());
      bytes_seen += copy_.size();
    }
  }
  std::string copy_;
};

using LoadFunction = Status (*)(std::string_view, const std::string&, gazetteer::RecordSink&, gazetteer::LoadStats&);

inline int fuzz_loader(LoadFunction load, bool header_may_be_refused, std::string_view bytes) {
  CheckingSink sink;
  gazetteer::LoadStats stats;
  Status status = load(bytes, "fuzz-input", sink, stats);
  if (!status) {
    require_explained(status.error(), "load");
    require(header_may_be_refused && status.error().rule == "format",
            "a load failed for its content instead of skipping the bad part", status.error().describe());
  }
  require(stats.problems.size() <= gazetteer::LoadStats::kMaxProblems, "more problems kept than the limit");
  require(stats.problems.size() <= stats.skipped, "a problem that was not counted as skipped");
  require(stats.problems.size() == std::min(stats.skipped, gazetteer::LoadStats::kMaxProblems),
          "a skipped line whose problem was not kept");
  for (const Error& e : stats.problems) require_explained(e, "load problem");
  return 0;
}

}  // namespace deit::fuzz
