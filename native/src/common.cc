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
  auto h = Napi::External<Box>::New(env, b, [](Napi::BasicEnv env, Box* box) {
    if (box->t.defined()) g_collected++;  // never disposed: the GC reclaimed it
    releaseBox(env, box);
    delete box;
  });
  tagHandle(h, Kind::Tensor);
  return h;
}

namespace {
// Random 128-bit tags, one per kind (only their distinctness matters).
const napi_type_tag kTags[] = {
    {0x6a1f3c2e9b7d4a51ULL, 0x8e2b7f01c4d93a6eULL},  // Tensor
    {0x2c9e5b7a13f04d86ULL, 0xb1d7e3496a0c5f28ULL},  // Generator
    {0x95d3a1c7e8b24f60ULL, 0x4f7a2e9c1b6d83e5ULL},  // ProcessGroup
    {0x3e8b6f2d5a9c1047ULL, 0xd2c4a7e1f9053b86ULL},  // Reducer
};
const Kind kKinds[] = {Kind::Tensor, Kind::Generator, Kind::ProcessGroup, Kind::Reducer};

std::string describeValue(const Napi::Value& v) {
  if (v.IsExternal()) {
    auto e = v.As<Napi::External<void>>();
    for (Kind k : kKinds) if (e.CheckTypeTag(&kTags[static_cast<int>(k)])) return std::string("a ") + kindName(k) + " handle";
    return "a foreign native handle";
  }
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsNumber()) return "a number";
  if (v.IsString()) return "a string";
  if (v.IsBoolean()) return "a boolean";
  if (v.IsArray()) return "an array";
  if (v.IsFunction()) return "a function";
  return "an object";
}
}  // namespace

const char* kindName(Kind k) {
  switch (k) {
    case Kind::Tensor: return "tensor";
    case Kind::Generator: return "Generator";
    case Kind::ProcessGroup: return "process-group";
    case Kind::Reducer: return "reducer";
  }
  return "?";
}

void tagHandle(const Napi::Value& handle, Kind k) {
  handle.As<Napi::External<void>>().TypeTag(&kTags[static_cast<int>(k)]);
}

void* unwrapHandle(const Napi::Value& v, Kind k, const std::string& what) {
  if (!v.IsExternal() || !v.As<Napi::External<void>>().CheckTypeTag(&kTags[static_cast<int>(k)])) {
    throwUsage(v.Env(), what + ": expected a " + kindName(k) + " handle, got " + describeValue(v));
  }
  return v.As<Napi::External<void>>().Data();
}

Box* unwrapBox(const Napi::Value& v, const char* what) {
  return unwrapAs<Box>(v, Kind::Tensor, what);
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
