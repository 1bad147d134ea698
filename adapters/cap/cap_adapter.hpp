#pragma once
// OASIS CAP 1.2 alerts (schemas/cap-1.2.xsd is the official schema, unchanged), for warning
// and situational-awareness feeds. Encode always produces an alert that validates; decode
// accepts any CAP 1.2 alert (the specification's four examples included), mapping the first
// <info> and its first <area> and reporting the rest as Findings.
//
// A feed is no place for personal data: the caller, persons, vehicles and log are withheld
// (Findings with rule "withheld"). Priority, status, hazards and outcome travel as
// <parameter>s named "deit:..."; the protective marking and close/cancel as <code>s.

#include <memory>

#include "adapters/adapter.hpp"
#include "adapters/mapping_tables.hpp"

namespace deit::adapters {

inline constexpr std::string_view kCapNamespace = "urn:oasis:names:tc:emergency:cap:1.2";

Result<std::shared_ptr<const Adapter>> make_cap_adapter(
    std::shared_ptr<MappingStore> mappings = default_mapping_store());

}  // namespace deit::adapters
