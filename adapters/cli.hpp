#pragma once
// The offline commands behind `deitctl translate` and `deitctl validate`, as a plain function
// so the hub's deitctl can dispatch to it and tests can call it directly.
//
//   translate --from F --to G [--mappings DIR] FILE   decode FILE as F, encode as G; prints
//                                                     the result on `out`, the findings on `err`
//   validate --format F FILE                          prints "OK" or the error with its line
//                                                     and column
//   formats                                           lists the format names
// FILE "-" reads standard input. Exit codes: 0 ok, 1 invalid input (or translation failed),
// 2 usage error (unknown command, option or format, unreadable file).

#include <ostream>
#include <string>
#include <vector>

namespace deit::adapters {

// `args` excludes the program name: {"translate", "--from", "police", ...}.
int adapters_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace deit::adapters
