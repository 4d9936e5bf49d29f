// Shared pieces of the fmboost addon: the tensor handle (Box), error translation, live counts.
#pragma once
#include <napi.h>
#include <torch/torch.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <atomic>
#include <string>

namespace fmb {

// A JS tensor handle owns one at::Tensor reference. dispose() drops it at once (deterministic
// release); the External finalizer frees the box itself when V8 collects the handle.
struct Box {
  at::Tensor t;
  int64_t reported = 0;  // bytes reported to V8 for this handle
};

// Every handle given to JS is an External type-tagged with its kind (napi_type_tag_object), so a handle
// of one kind passed where another is expected (a tensor as a Generator, …) is a usage error naming
// both, never a reinterpretation of memory.
enum class Kind { Tensor, Generator, ProcessGroup, Reducer };
const char* kindName(Kind k);
void tagHandle(const Napi::Value& handle, Kind k);
// The handle's payload when `v` is a handle of kind `k`; otherwise throws EFMBOOST "<what>: expected a
// <kind> handle, got <what v is>".
void* unwrapHandle(const Napi::Value& v, Kind k, const std::string& what);
template <typename T>
T* unwrapAs(const Napi::Value& v, Kind k, const std::string& what) {
  return static_cast<T*>(unwrapHandle(v, k, what));
}

extern std::atomic<int64_t> g_live;
extern std::atomic<int64_t> g_live_bytes;
extern std::atomic<int64_t> g_collected;  // handles freed by the GC without dispose()

Napi::Value wrapTensor(Napi::Env env, at::Tensor t);
Box* unwrapBox(const Napi::Value& v, const char* what);
at::Tensor& unwrapTensor(const Napi::Value& v, const char* what);
void releaseBox(Napi::BasicEnv env, Box* b);

// Throws a JS Error carrying code "ETORCH" (libtorch rejected the call) or "EFMBOOST" (bad use of the addon).
[[noreturn]] void throwTorch(Napi::Env env, const std::string& msg);
[[noreturn]] void throwUsage(Napi::Env env, const std::string& msg);

// Wraps a native entry point so no C++ exception escapes into node (which would abort the process).
template <typename F>
Napi::Value guard(const Napi::CallbackInfo& info, F&& f) {
  Napi::Env env = info.Env();
  try {
    return f();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throwTorch(env, e.what_without_backtrace());
  } catch (const std::exception& e) {
    throwTorch(env, e.what());
  }
}

// An entry point's signature and its guarded body (env in scope): FN(Name) { BODY(...; return value;) }
#define FN(name) Napi::Value name(const Napi::CallbackInfo& info)
#define BODY(...) return guard(info, [&]() -> Napi::Value { Napi::Env env = info.Env(); (void)env; __VA_ARGS__ });

void initDispatch(Napi::Env env, Napi::Object exports);
void initTensorApi(Napi::Env env, Napi::Object exports);
void initGenerator(Napi::Env env, Napi::Object exports);
void initProfiler(Napi::Env env, Napi::Object exports);
void initFused(Napi::Env env, Napi::Object exports);
void initDistributed(Napi::Env env, Napi::Object exports);
at::Generator& unwrapGenerator(const Napi::Value& v);

}  // namespace fmb
