#include "hub/memory.hpp"

// tcmalloc's C interface, declared weak: present when the program links tcmalloc (deit-hub
// does), null otherwise (the tests, sanitizer builds), so this library does not depend on it.
extern "C" {
int MallocExtension_GetNumericProperty(const char* property, std::size_t* value) __attribute__((weak));
void MallocExtension_ReleaseToSystem(std::size_t num_bytes) __attribute__((weak));
}

namespace deit::hub {

std::size_t release_free_memory(std::size_t keep) {
  if (MallocExtension_GetNumericProperty == nullptr || MallocExtension_ReleaseToSystem == nullptr) return 0;
  std::size_t free_bytes = 0;
  if (MallocExtension_GetNumericProperty("tcmalloc.pageheap_free_bytes", &free_bytes) == 0 || free_bytes <= keep)
    return 0;
  MallocExtension_ReleaseToSystem(free_bytes - keep);
  return free_bytes - keep;
}

}  // namespace deit::hub
