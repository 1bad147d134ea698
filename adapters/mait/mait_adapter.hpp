#pragma once
// MAIT (Multi Agency Incident Transfer) as reconstructed in schemas/mait-r-1.xsd: the real
// 1.0.0 XSD is not public, so this is the layout of research/mait.md section 6 under the
// namespace urn:deit-hub:mait-r:1, never presented as the real thing.
//
// Canonical fields with no MAIT element travel in <Extensions> (owner "deit-hub", name = the
// canonical path, e.g. "incident/vehicles/0/registration"), MAIT's own defined extension
// mechanism, so canonical → MAIT → canonical is lossless. On decode, what the canonical model
// cannot hold (Exercise/Test mode, control room and operator, deployed resources,
// attachments, other owners' extensions) is reported as Findings. Response messages
// (Receipt, BeingConsidered, Accepted, Rejected, Error) are refused by decode with rule
// "not-an-incident": they belong to the hub's acknowledgement path.

#include <memory>

#include "adapters/adapter.hpp"
#include "adapters/mapping_tables.hpp"

namespace deit::adapters {

inline constexpr std::string_view kMaitNamespace = "urn:deit-hub:mait-r:1";
inline constexpr std::string_view kMaitSchemaVersion = "1.0.0-r1";

Result<std::shared_ptr<const Adapter>> make_mait_adapter(
    std::shared_ptr<MappingStore> mappings = default_mapping_store());

}  // namespace deit::adapters
