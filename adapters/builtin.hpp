#pragma once
// builtin_registry() with an explicit mapping store, for tests and for a hub that keeps its
// own store. The adapters read the store's current tables on every call, so
// mappings->reload(dir) changes every later translation at once.

#include <memory>

#include "adapters/adapter.hpp"
#include "adapters/mapping_tables.hpp"

namespace deit::adapters {

Result<std::shared_ptr<const Registry>> builtin_registry(std::shared_ptr<MappingStore> mappings);

}  // namespace deit::adapters
