#pragma once
// Shared by the adapter tests: files, a rich incident, random incidents, and for each format
// the projection of the canonical fields it carries.

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/adapter.hpp"
#include "hub/model/incident.hpp"

namespace deit::adapters::testing {

std::string read_file(const std::string& path);
std::string source_path(const std::string& relative);  // DEIT_SOURCE_DIR + "/" + relative

const Registry& registry();
const Adapter& adapter(std::string_view name);

// A police-originated RTC with every canonical field filled.
model::IncidentMessage rich_incident();
// Random incidents whose values every format's schema accepts (fixed seed in the caller).
model::IncidentMessage random_incident(std::mt19937_64& rng);

// What survives canonical → `format` → canonical: the fields the format carries.
model::IncidentMessage project(std::string_view format, const model::IncidentMessage& m);

// True when some finding names `field` or a path below it.
bool has_finding(const std::vector<Finding>& findings, std::string_view field);

std::string describe(const std::vector<Finding>& findings);

}  // namespace deit::adapters::testing
