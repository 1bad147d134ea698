// libFuzzer harness: the OS Open UPRN CSV loader (see loader_harness.hpp). A missing or
// incomplete header row is the one refusal allowed.

#include "tests/fuzz/loader_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return deit::fuzz::fuzz_loader(&deit::gazetteer::load_open_uprn_csv_data, true, deit::fuzz::as_text(data, size));
}
