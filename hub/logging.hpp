#pragma once
// One structured line per lifecycle event: "2026-11-23T08:15:02.123Z info event=stored transfer=T-...".

#include <string>

#include "hub/model/result.hpp"

namespace deit::hub {

// Sets the default spdlog logger: synchronous, to stdout and (if given) a file, both
// buffered and flushed at once for warnings and errors, otherwise every second; every
// second the log files are also handed to the disk (see logging.cpp). On an error the
// previous logger stays in place.
Status setup_logging(const std::string& level, const std::string& file);

}  // namespace deit::hub
