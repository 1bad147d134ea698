#pragma once
// Police command and control incident export (schemas/police-cad-1.xsd). Carries every
// canonical field: codes and grades the hub mapped from another service are marked
// mapped="true" and the sender's own classification travels beside them.

#include <memory>

#include "adapters/adapter.hpp"
#include "adapters/mapping_tables.hpp"

namespace deit::adapters {

inline constexpr std::string_view kPoliceNamespace = "urn:deit-hub:police-cad:1";

// `mappings` supplies the code tables at each call, so a reload takes effect at once.
Result<std::shared_ptr<const Adapter>> make_police_adapter(
    std::shared_ptr<MappingStore> mappings = default_mapping_store());

}  // namespace deit::adapters
