// libFuzzer harness: the mait adapter's decoder (see adapter_harness.hpp for what is checked).

#include "tests/fuzz/adapter_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return deit::fuzz::fuzz_adapter("mait", deit::fuzz::as_text(data, size));
}
