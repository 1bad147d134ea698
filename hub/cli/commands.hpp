#pragma once
// deitctl subcommands implemented by other components' command-line front ends.

#include <iosfwd>
#include <string>
#include <vector>

namespace deit::hub {

int run_translate(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int run_validate(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int run_gazetteer(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
// deitctl audit verify|list|export|head --store PATH (audit_command.cpp).
int run_audit(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace deit::hub
