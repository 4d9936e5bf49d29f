#include "common.h"

namespace fmb {

std::atomic<int64_t> g_live{0};
std::atomic<int64_t> g_live_bytes{0};
std::atomic<int64_t> g_collected{0};

static int64_t ownedBytes(const at::Tensor& t) {
  // Views share their base's storage: count storage once, on the handle that is not a view.
  if (!t.defined() || t.is_view() || !t.has_storage()) return 0;
  return static_cast<int64_t>(t.storage().nbytes());
}

void releaseBox(Napi::BasicEnv env, Box* b) {
  if (!b->t.defined()) return;
  if (b->reported) {
    Napi::MemoryManagement::AdjustExternalMemory(env, -b->reported);
    g_live_bytes -= b->reported;
  }
  b->reported = 0;
  b->t = at::Tensor();
  g_live--;
}

Napi::Value wrapTensor(Napi::Env env, at::Tensor t) {
  if (!t.defined()) return env.Null();
  Box* b = new Box{std::move(t), 0};
  b->reported = ownedBytes(b->t);
  if (b->reported) {
    Napi::MemoryManagement::AdjustExternalMemory(env, b->reported);
    g_live_bytes += b->reported;
  }
  g_live++;
  // A basic (pure) finalizer runs synchronously during GC; a regular one would wait for the event
  // loop, so a synchronous training loop would pile up dead handles until it yields.
  return Napi::External<Box>::New(env, b, [](Napi::BasicEnv env, Box* box) {
    if (box->t.defined()) g_collected++;  // never disposed: the GC reclaimed it
    releaseBox(env, box);
    delete box;
  });
}

Box* unwrapBox(const Napi::Value& v, const char* what) {
  if (!v.IsExternal()) throwUsage(v.Env(), std::string(what) + ": expected a tensor handle");
  return v.As<Napi::External<Box>>().Data();
}

at::Tensor& unwrapTensor(const Napi::Value& v, const char* what) {
  Box* b = unwrapBox(v, what);
  if (!b->t.defined()) throwUsage(v.Env(), std::string(what) + ": tensor was disposed");
  return b->t;
}

void throwTorch(Napi::Env env, const std::string& msg) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, "ETORCH"));
  throw e;
}

void throwUsage(Napi::Env env, const std::string& msg) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, "EFMBOOST"));
  throw e;
}

}  // namespace fmb
