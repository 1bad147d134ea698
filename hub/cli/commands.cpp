#include "hub/cli/commands.hpp"

#include "adapters/cli.hpp"
#include "gazetteer/cli.hpp"

namespace deit::hub {

int run_translate(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::vector<std::string> full{"translate"};
  full.insert(full.end(), args.begin(), args.end());
  return adapters::adapters_command(full, out, err);
}

int run_validate(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::vector<std::string> full{"validate"};
  full.insert(full.end(), args.begin(), args.end());
  return adapters::adapters_command(full, out, err);
}

int run_gazetteer(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  return gazetteer::gazetteer_command(args, out, err);
}

}  // namespace deit::hub
