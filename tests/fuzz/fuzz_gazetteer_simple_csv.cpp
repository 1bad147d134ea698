// libFuzzer harness: the simple CSV loader (see loader_harness.hpp). A missing header row
// or one without a uprn column is the one refusal allowed.

#include "tests/fuzz/loader_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return deit::fuzz::fuzz_loader(&deit::gazetteer::load_simple_csv_data, true, deit::fuzz::as_text(data, size));
}
