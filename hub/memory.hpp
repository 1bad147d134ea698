#pragma once
// The hub's heap after a burst: the allocator keeps what the burst freed.

#include <cstddef>

namespace deit::hub {

// Hands back to the kernel the allocator's free pages beyond `keep` bytes, so that memory a
// burst needed does not stay resident for good. Only with tcmalloc (deit-hub links it);
// elsewhere it does nothing. Returns the bytes released.
std::size_t release_free_memory(std::size_t keep);

}  // namespace deit::hub
