#include "hub/cli/commands.hpp"

#include <ostream>

namespace deit::hub {

// Wired to adapters/cli.hpp and gazetteer/cli.hpp as those components land.
int run_translate(const std::vector<std::string>&, std::ostream&, std::ostream& err) {
  err << "deitctl: translate is not available in this build yet\n";
  return 2;
}

int run_gazetteer(const std::vector<std::string>&, std::ostream&, std::ostream& err) {
  err << "deitctl: gazetteer is not available in this build yet\n";
  return 2;
}

}  // namespace deit::hub
