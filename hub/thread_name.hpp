#pragma once
// Names the calling thread, so that `top -H`, `ps -L` and `perf` tell the hub's threads
// apart (I/O, store writer, checkpointer, ...). Linux keeps at most 15 characters.

#include <pthread.h>

namespace deit::hub {

inline void name_this_thread(const char* name) { pthread_setname_np(pthread_self(), name); }

}  // namespace deit::hub
