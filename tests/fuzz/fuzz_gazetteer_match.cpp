// libFuzzer harness: address query parsing and matching (gazetteer/matcher.hpp through
// Gazetteer::match and verify) against a small snapshot built once at start.
// The input is a free-text query; split at '|' it is also a structured address
// (sao|pao|street|locality|town|postcode).
// Checks: at most the asked number of candidates, distinct UPRNs, confidences in [0, 1]
// and best first, every candidate found again by its UPRN; verify() never fails and only
// calls a confident best match verified.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <vector>

#include "gazetteer/builder.hpp"
#include "gazetteer/gazetteer.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace deit;
using namespace deit::fuzz;

namespace {

// A few streets in three towns: flats with a parent, suffixes, ranges, named houses, a
// Saint, an organisation, and street names one edit apart.
constexpr const char* kAddresses =
    "uprn,parent_uprn,sao,pao,organisation,street,locality,town,postcode,easting,northing,custodian,classification\n"
    "100,,,12,,HIGH STREET,,ST ALBANS,AL1 3EX,514800,207300,1930,PP\n"
    "101,100,FLAT 1,12,,HIGH STREET,,ST ALBANS,AL1 3EX,514800,207300,1930,RD06\n"
    "102,100,FLAT 2,12,,HIGH STREET,,ST ALBANS,AL1 3EX,514800,207300,1930,RD06\n"
    "103,,,12A,,HIGH STREET,,ST ALBANS,AL1 3EX,514810,207310,1930,RD04\n"
    "104,,,14-16,,HIGH STREET,,ST ALBANS,AL1 3EY,514820,207320,1930,CR07\n"
    "106,,,3,,ST PETERS STREET,,ST ALBANS,AL1 3HE,514900,207500,1930,RD04\n"
    "108,,,ROSE COTTAGE,,CHURCH LANE,COLNEY HEATH,ST ALBANS,AL4 0NQ,520000,206000,1930,RD02\n"
    "109,,,THE COTTAGE,,CHURCH LANE,COLNEY HEATH,ST ALBANS,AL4 0NQ,520010,206010,1930,RD02\n"
    "110,,,12,,HIGH STREET,,WATFORD,WD17 2BS,511000,196500,1945,RD04\n"
    "111,,,7,,ACACIA AVENUE,,WATFORD,WD18 0AA,510500,196000,1945,RD03\n"
    "112,,,9,,ACACIA AVENUE,,WATFORD,WD18 0AA,510510,196010,1945,RD03\n"
    "113,,UNIT 3,1,LUTON ENGINEERING LTD,LUTON ROAD,,LUTON,LU1 1AA,509200,221400,230,CI03\n"
    "114,,,2,,LUTON ROAD,,LUTON,LU1 1AB,509210,221410,230,RD04\n"
    "115,,,5,,MILL LANE,,LUTON,LU1 1AD,509300,221500,230,RD04\n"
    "116,,,6,,HILL LANE,,LUTON,LU1 1AE,509310,221510,230,RD04\n";

class SampleGazetteer {
 public:
  SampleGazetteer() {
    char pattern[] = "/tmp/deit-fuzz-gaz-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) broken("cannot make a temporary directory", pattern);
    dir_ = pattern;
    const std::string csv = (dir_ / "addresses.csv").string();
    std::ofstream(csv) << kAddresses;
    gazetteer::BuildOptions options;
    options.sources.push_back({csv, gazetteer::SourceFormat::simple_csv});
    const std::string snapshot = (dir_ / "sample.gaz").string();
    if (auto built = gazetteer::build_snapshot(options, snapshot); !built)
      broken("cannot build the sample snapshot", built.error().describe());
    auto opened = gazetteer::Gazetteer::open(snapshot);
    if (!opened) broken("cannot open the sample snapshot", opened.error().describe());
    gazetteer_.emplace(std::move(opened).value());
  }
  ~SampleGazetteer() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  const gazetteer::Gazetteer& get() const { return *gazetteer_; }

 private:
  std::filesystem::path dir_;
  std::optional<gazetteer::Gazetteer> gazetteer_;
};

void require_well_ranked(const gazetteer::Gazetteer& g, const std::vector<gazetteer::Candidate>& candidates,
                         std::size_t max, std::string_view query) {
  const std::string q(query);
  require(candidates.size() <= max, "more candidates than asked for", q);
  std::set<std::uint64_t> uprns;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const auto& c = candidates[i];
    require(c.confidence >= 0 && c.confidence <= 1, "a confidence outside [0, 1]", q);
    if (i > 0) require(candidates[i - 1].confidence >= c.confidence, "candidates not best first", q);
    require(uprns.insert(c.address.uprn).second, "the same UPRN twice", q);
    require(g.lookup(c.address.uprn).has_value(), "a candidate that lookup() does not know", q);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const SampleGazetteer sample;
  const gazetteer::Gazetteer& g = sample.get();
  const std::string_view query = as_text(data, size);

  require_well_ranked(g, g.match(query, 5), 5, query);
  require_well_ranked(g, g.match(query, 1), 1, query);

  gazetteer::StructuredAddress s;
  std::string* parts[] = {&s.sao, &s.pao, &s.street, &s.locality, &s.town, &s.postcode};
  std::size_t part = 0;
  for (char c : query) {
    if (c == '|') {
      if (++part == std::size(parts)) break;
    } else {
      parts[part]->push_back(c);
    }
  }
  require_well_ranked(g, g.match(s, 5), 5, query);

  gazetteer::LocationInput in;
  in.text = std::string(query);
  const gazetteer::Verification v = g.verify(in);
  if (v.verified) require(v.best.has_value() && v.best->confidence >= 0.8, "verified without a confident match", in.text);
  if (!v.verified) require(!v.flags.empty(), "not verified and no flag saying why", in.text);
  return 0;
}
