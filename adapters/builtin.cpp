#include "adapters/adapter.hpp"
#include "adapters/deit/deit_adapter.hpp"

namespace deit::adapters {

Result<std::shared_ptr<const Registry>> builtin_registry() {
  auto registry = std::make_shared<Registry>();
  using Factory = Result<std::shared_ptr<const Adapter>> (*)();
  // Adding a format means adding its factory here; nothing in the hub changes.
  for (Factory make : {&make_deit_adapter}) {
    auto adapter = make();
    if (!adapter) return adapter.error();
    registry->add(std::move(adapter).value());
  }
  return std::shared_ptr<const Registry>(std::move(registry));
}

}  // namespace deit::adapters
