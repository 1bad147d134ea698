// libFuzzer harness: the AddressBase Premium GML loader (see loader_harness.hpp).

#include "tests/fuzz/loader_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return deit::fuzz::fuzz_loader(&deit::gazetteer::load_abp_gml_data, false, deit::fuzz::as_text(data, size));
}
