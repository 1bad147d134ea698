// release_free_memory: with tcmalloc linked (this test links it, as deit-hub does), the free
// pages a burst leaves behind go back to the kernel, down to what the caller keeps.
#include "hub/memory.hpp"

#include <gperftools/malloc_extension_c.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

namespace deit::hub {
namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;

std::size_t property(const char* name) {
  std::size_t value = 0;
  EXPECT_NE(MallocExtension_GetNumericProperty(name, &value), 0) << name;
  return value;
}

std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

// A burst's worth of memory, written to so that it is resident, then freed.
void allocate_and_free(std::size_t total) {
  std::vector<std::unique_ptr<char[]>> blocks;
  for (std::size_t done = 0; done < total; done += kMiB) {
    blocks.emplace_back(new char[kMiB]);
    std::memset(blocks.back().get(), 0x5a, kMiB);
  }
}

TEST(ReleaseFreeMemory, ReturnsWhatABurstFreedBeyondWhatIsKept) {
  release_free_memory(0);
  allocate_and_free(96 * kMiB);
  const std::size_t free_before = property("tcmalloc.pageheap_free_bytes");
  ASSERT_GE(free_before, 64 * kMiB) << "the freed blocks should sit in tcmalloc's page heap";
  const std::size_t resident_before = resident_bytes();

  const std::size_t released = release_free_memory(16 * kMiB);

  EXPECT_EQ(released, free_before - 16 * kMiB);
  EXPECT_LE(property("tcmalloc.pageheap_free_bytes"), 16 * kMiB);
  EXPECT_GE(property("tcmalloc.pageheap_unmapped_bytes"), released);
  EXPECT_LE(resident_bytes() + 48 * kMiB, resident_before) << "the released pages should no longer be resident";
}

TEST(ReleaseFreeMemory, KeepsEverythingWhenLessIsFreeThanKept) {
  release_free_memory(0);
  allocate_and_free(8 * kMiB);
  const std::size_t free_before = property("tcmalloc.pageheap_free_bytes");
  ASSERT_LT(free_before, 32 * kMiB);
  EXPECT_EQ(release_free_memory(32 * kMiB), 0u);
  EXPECT_EQ(property("tcmalloc.pageheap_free_bytes"), free_before);
}

}  // namespace
}  // namespace deit::hub
