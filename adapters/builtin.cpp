#include "adapters/adapter.hpp"
#include "adapters/ambulance/ambulance_adapter.hpp"
#include "adapters/builtin.hpp"
#include "adapters/cap/cap_adapter.hpp"
#include "adapters/deit/deit_adapter.hpp"
#include "adapters/fire/fire_adapter.hpp"
#include "adapters/mait/mait_adapter.hpp"
#include "adapters/police/police_adapter.hpp"

namespace deit::adapters {

Result<std::shared_ptr<const Registry>> builtin_registry(std::shared_ptr<MappingStore> mappings) {
  // The embedded tables must parse: a broken table is a build defect, reported here once.
  if (auto tables = MappingTables::load_embedded(); !tables) return tables.error();
  auto registry = std::make_shared<Registry>();
  using Factory = Result<std::shared_ptr<const Adapter>> (*)(std::shared_ptr<MappingStore>);
  // Adding a format means adding its factory here; nothing in the hub changes.
  const Factory factories[] = {
      [](std::shared_ptr<MappingStore>) { return make_deit_adapter(); },
      &make_police_adapter,
      &make_fire_adapter,
      &make_ambulance_adapter,
      &make_mait_adapter,
      &make_cap_adapter,
  };
  for (Factory make : factories) {
    auto adapter = make(mappings);
    if (!adapter && adapter.error().rule == "schema-missing") continue;  // that format is unavailable
    if (!adapter) return adapter.error();
    registry->add(std::move(adapter).value());
  }
  return std::shared_ptr<const Registry>(std::move(registry));
}

Result<std::shared_ptr<const Registry>> builtin_registry() { return builtin_registry(default_mapping_store()); }

}  // namespace deit::adapters
