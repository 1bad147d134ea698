// libFuzzer harness: the deit adapter's decoder (see adapter_harness.hpp for what is checked).

#include "tests/fuzz/adapter_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return deit::fuzz::fuzz_adapter("deit", deit::fuzz::as_text(data, size));
}
