// deit-gazetteer: the gazetteer subcommands without the rest of deitctl.
#include <iostream>
#include <string>
#include <vector>

#include "gazetteer/cli.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return deit::gazetteer::gazetteer_command(args, std::cout, std::cerr);
}
