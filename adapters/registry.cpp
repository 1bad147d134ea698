#include "adapters/adapter.hpp"

namespace deit::adapters {

Status Adapter::validate(std::string_view bytes) const {
  auto decoded = decode(bytes);
  if (!decoded) return decoded.error();
  return Status::success();
}

void Registry::add(std::shared_ptr<const Adapter> adapter) { adapters_.push_back(std::move(adapter)); }

const Adapter* Registry::find(std::string_view name) const {
  for (const auto& a : adapters_)
    if (a->name() == name) return a.get();
  return nullptr;
}

std::vector<std::string_view> Registry::names() const {
  std::vector<std::string_view> out;
  for (const auto& a : adapters_) out.push_back(a->name());
  return out;
}

}  // namespace deit::adapters
