#pragma once
// One structured line per lifecycle event: "2026-11-23T08:15:02.123Z info event=stored transfer=T-...".

#include <string>

#include "hub/model/result.hpp"

namespace deit::hub {

// Sets the default spdlog logger: synchronous, to stdout and (if given) a file, both
// buffered and flushed at once for warnings and errors, otherwise every second, when what
// a log file holds is also handed to the disk (see logging.cpp).
Status setup_logging(const std::string& level, const std::string& file);

}  // namespace deit::hub
