#pragma once
// Ambulance CAD message in JSON (schemas/ambulance-cad-1.schema.json), validated by the
// project's JSON Schema subset validator with JSON-pointer, line and column errors.
//
// Persons with a patient role ("patient", "casualty", "injured") become patients; the
// patient's sex, conscious and breathing state, which the canonical model has no fields for,
// travel in the canonical person's description as a leading "[sex=...; conscious=...;
// breathing=...]" so that no other adapter loses them. Not carried (Findings on encode):
// qualifiers, vehicles and warning markers on patients.

#include <memory>

#include "adapters/adapter.hpp"
#include "adapters/mapping_tables.hpp"

namespace deit::adapters {

inline constexpr std::string_view kAmbulanceFormatId = "deit-ambulance-cad/1";

Result<std::shared_ptr<const Adapter>> make_ambulance_adapter(
    std::shared_ptr<MappingStore> mappings = default_mapping_store());

}  // namespace deit::adapters
