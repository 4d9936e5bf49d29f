#include "common.h"
#include <cstdlib>
#include <malloc.h>

#if TORCH_VERSION_MAJOR < 1 || (TORCH_VERSION_MAJOR == 1 && TORCH_VERSION_MINOR < 13)
#error "fmboost needs libtorch >= 1.13"
#endif

// libtorch's CPU tensors come from malloc. A training or sampling step frees and re-allocates the
// same activation sizes every step; with glibc's defaults the freed top of the heap is given back to
// the OS at the end of a step (and blocks over the dynamic mmap threshold are mmapped), so the next
// step page-faults all of it in again. Keep freed memory for reuse instead (as a caching allocator
// would). Skipped when the user tunes malloc through the environment.
static void tuneMalloc() {
  if (std::getenv("FMBOOST_MALLOC_DEFAULTS") || std::getenv("MALLOC_TRIM_THRESHOLD_") ||
      std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("MALLOC_TOP_PAD_") || std::getenv("GLIBC_TUNABLES")) return;
  mallopt(M_MMAP_THRESHOLD, 256 << 20);  // blocks under 256 MB (e.g. attention maps) come from the heap and are reused
  mallopt(M_TRIM_THRESHOLD, 1 << 30);    // keep up to 1 GB of free heap top instead of returning it
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  tuneMalloc();
  fmb::initDispatch(env, exports);
  fmb::initTensorApi(env, exports);
  fmb::initGenerator(env, exports);
  fmb::initProfiler(env, exports);
  fmb::initFused(env, exports);
  fmb::initDistributed(env, exports);
  return exports;
}

NODE_API_MODULE(fmboost_native, Init)
