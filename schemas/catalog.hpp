#pragma once
// Every schema file in schemas/ (*.xsd, *.schema.json) is compiled into the binaries, so
// the hub never reads a schema from disk or the network at run time.

#include <string_view>
#include <vector>

namespace deit::schemas {

// The text of an embedded schema by file name ("deit-incident-1.xsd"); empty if unknown.
std::string_view embedded(std::string_view file_name);

// All embedded file names.
std::vector<std::string_view> embedded_names();

}  // namespace deit::schemas
