// Seeded random-number generators as JS handles, with state get/set for checkpoints.
#include "common.h"
#include <ATen/CPUGeneratorImpl.h>

namespace fmb {

namespace {
struct GenBox { at::Generator g; };

GenBox* unwrapGen(const Napi::Value& v) {
  return unwrapAs<GenBox>(v, Kind::Generator, "Generator");
}

Napi::Value New(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    std::string dev = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "cpu";
    at::Generator g;
    if (dev == "cpu") g = at::make_generator<at::CPUGeneratorImpl>();
    else throwUsage(info.Env(), "Generator: device " + dev + " is not supported by this build");
    g.set_current_seed(static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value()));
    auto h = Napi::External<GenBox>::New(info.Env(), new GenBox{g}, [](Napi::BasicEnv, GenBox* b) { delete b; });
    tagHandle(h, Kind::Generator);
    return h;
  });
}

Napi::Value Seed(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    auto* b = unwrapGen(info[0]);
    std::lock_guard<std::mutex> lock(b->g.mutex());
    b->g.set_current_seed(static_cast<uint64_t>(info[1].As<Napi::Number>().Int64Value()));
    return info.Env().Undefined();
  });
}

Napi::Value GetState(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    auto* b = unwrapGen(info[0]);
    std::lock_guard<std::mutex> lock(b->g.mutex());
    return wrapTensor(info.Env(), at::Tensor(b->g.get_state()));
  });
}

Napi::Value SetState(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    auto* b = unwrapGen(info[0]);
    auto& s = unwrapTensor(info[1], "Generator.setState");
    std::lock_guard<std::mutex> lock(b->g.mutex());
    b->g.set_state(s);
    return info.Env().Undefined();
  });
}
}  // namespace

at::Generator& unwrapGenerator(const Napi::Value& v) { return unwrapGen(v)->g; }

void initGenerator(Napi::Env env, Napi::Object e) {
  e.Set("generatorNew", Napi::Function::New(env, New));
  e.Set("generatorSeed", Napi::Function::New(env, Seed));
  e.Set("generatorGetState", Napi::Function::New(env, GetState));
  e.Set("generatorSetState", Napi::Function::New(env, SetState));
}

}  // namespace fmb
