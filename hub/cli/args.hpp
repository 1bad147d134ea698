#pragma once
// Command-line option helpers shared by deitctl's command files.

#include <string>
#include <vector>

namespace deit::hub {

// Removes `name VALUE` from `args` and returns VALUE (or `fallback`).
inline std::string option(std::vector<std::string>& args, const std::string& name, const std::string& fallback = {}) {
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == name) {
      std::string v = args[i + 1];
      args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
      return v;
    }
  }
  return fallback;
}

// Removes `name` from `args`; true when it was there.
inline bool flag(std::vector<std::string>& args, const std::string& name) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == name) {
      args.erase(args.begin() + static_cast<long>(i));
      return true;
    }
  }
  return false;
}

}  // namespace deit::hub
