#pragma once
// Fire and rescue mobilising message (schemas/fire-mobilising-1.xsd). Not carried, and so
// reported as Findings on encode: qualifiers other than one fire property type, the
// location's source, the caller's role and consent, and sensitive (clinical) log entries,
// which are withheld from the fire service.

#include <memory>

#include "adapters/adapter.hpp"
#include "adapters/mapping_tables.hpp"

namespace deit::adapters {

inline constexpr std::string_view kFireNamespace = "urn:deit-hub:fire-mobilising:1";

Result<std::shared_ptr<const Adapter>> make_fire_adapter(
    std::shared_ptr<MappingStore> mappings = default_mapping_store());

}  // namespace deit::adapters
