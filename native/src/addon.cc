#include "common.h"

#if TORCH_VERSION_MAJOR < 1 || (TORCH_VERSION_MAJOR == 1 && TORCH_VERSION_MINOR < 13)
#error "fmboost needs libtorch >= 1.13"
#endif

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  fmb::initDispatch(env, exports);
  fmb::initTensorApi(env, exports);
  fmb::initGenerator(env, exports);
  return exports;
}

NODE_API_MODULE(fmboost_native, Init)
