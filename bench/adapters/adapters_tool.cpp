#include <iostream>

#include "adapters/cli.hpp"

int main(int argc, char** argv) {
  return deit::adapters::adapters_command(std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr);
}
