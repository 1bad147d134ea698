#pragma once
// deitctl's ZeroMQ link commands: connect (a connector that holds the link), link
// (send / accept / reject over a link) and keys (CURVE key pairs).

#include <string>
#include <vector>

namespace deit::hub {

struct LinkCliContext {
  std::string as;     // the agency; its key is CERTS/<as>.curve.key unless --key is given
  std::string certs;  // directory with the development keys, including hub.curve.pub
  bool json_output = false;
};

extern const char* kLinkHelp;

int run_connect(const LinkCliContext& context, std::vector<std::string> args);
int run_link(const LinkCliContext& context, std::vector<std::string> args);
int run_keys(std::vector<std::string> args, const std::string& default_dir);

}  // namespace deit::hub
