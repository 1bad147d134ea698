#pragma once
// The hub's own canonical format (schemas/deit-incident-1.xsd): lossless, so it carries
// every field of the model and never reports findings.

#include <memory>

#include "adapters/adapter.hpp"

namespace deit::adapters {

inline constexpr std::string_view kCanonicalNamespace = "urn:deit-hub:incident:1";

Result<std::shared_ptr<const Adapter>> make_deit_adapter();

// Direct codec functions for the hub's hot path and for other adapters' tests.
std::string encode_canonical(const model::IncidentMessage& message);

}  // namespace deit::adapters
