// Tensor attributes, data in/out, autograd entry points, grad modes, threads and file I/O.
#include "common.h"
#include <torch/csrc/autograd/autograd.h>
#include <ATen/autocast_mode.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <fcntl.h>
#include <unistd.h>
#include <sstream>
#include <memory>
#include <vector>

namespace fmb {

namespace {

std::vector<int64_t> toShape(const Napi::Value& v) {
  auto a = v.As<Napi::Array>();
  std::vector<int64_t> s(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) s[i] = a.Get(i).As<Napi::Number>().Int64Value();
  return s;
}

Napi::Array fromShape(Napi::Env env, at::IntArrayRef s) {
  auto a = Napi::Array::New(env, s.size());
  for (size_t i = 0; i < s.size(); i++) a.Set(i, Napi::Number::New(env, static_cast<double>(s[i])));
  return a;
}

FN(Dispose) { BODY(releaseBox(env, unwrapBox(info[0], "dispose")); return env.Undefined();) }
FN(IsAlive) { BODY(return Napi::Boolean::New(env, unwrapBox(info[0], "isAlive")->t.defined());) }
FN(LiveCount) { BODY(return Napi::Number::New(env, static_cast<double>(g_live.load()));) }
FN(CollectedCount) { BODY(return Napi::Number::New(env, static_cast<double>(g_collected.load()));) }
FN(LiveBytes) { BODY(return Napi::Number::New(env, static_cast<double>(g_live_bytes.load()));) }

// meta(h) -> [shape, dtype, device, requiresGrad] in one crossing.
FN(Meta) {
  BODY(
    auto& t = unwrapTensor(info[0], "meta");
    auto a = Napi::Array::New(env, 4);
    a.Set(0u, fromShape(env, t.sizes()));
    a.Set(1u, Napi::Number::New(env, static_cast<int>(t.scalar_type())));
    a.Set(2u, Napi::String::New(env, t.device().str()));
    a.Set(3u, Napi::Boolean::New(env, t.requires_grad()));
    return a;)
}
FN(Shape) { BODY(return fromShape(env, unwrapTensor(info[0], "shape").sizes());) }
FN(Strides) { BODY(return fromShape(env, unwrapTensor(info[0], "strides").strides());) }
FN(Dtype) { BODY(return Napi::Number::New(env, static_cast<int>(unwrapTensor(info[0], "dtype").scalar_type()));) }
FN(Device) { BODY(return Napi::String::New(env, unwrapTensor(info[0], "device").device().str());) }
FN(IsContiguous) { BODY(return Napi::Boolean::New(env, unwrapTensor(info[0], "isContiguous").is_contiguous());) }
FN(DataPtr) { BODY(return Napi::Number::New(env, static_cast<double>(reinterpret_cast<uintptr_t>(unwrapTensor(info[0], "dataPtr").data_ptr())));) }
FN(SameTensor) { BODY(return Napi::Boolean::New(env, unwrapTensor(info[0], "same").is_same(unwrapTensor(info[1], "same")));) }

FN(Item) {
  BODY(
    auto& t = unwrapTensor(info[0], "item");
    if (t.numel() != 1) throwUsage(env, "item: tensor has " + std::to_string(t.numel()) + " elements, expected 1");
    auto s = t.item();
    if (s.isBoolean()) return Napi::Boolean::New(env, s.toBool());
    return Napi::Number::New(env, s.toDouble());)
}

// fromBuffer(typedArrayOrBuffer, dtype, shape, device?) -> handle. Copies the bytes.
FN(FromBuffer) {
  BODY(
    auto st = static_cast<at::ScalarType>(info[1].As<Napi::Number>().Int32Value());
    auto shape = toShape(info[2]);
    uint8_t* data;
    size_t len;
    if (info[0].IsTypedArray()) {
      auto ta = info[0].As<Napi::TypedArray>();
      auto ab = ta.ArrayBuffer();
      data = static_cast<uint8_t*>(ab.Data()) + ta.ByteOffset();
      len = ta.ByteLength();
    } else if (info[0].IsArrayBuffer()) {
      auto ab = info[0].As<Napi::ArrayBuffer>();
      data = static_cast<uint8_t*>(ab.Data());
      len = ab.ByteLength();
    } else {
      throwUsage(env, "fromBuffer: expected a TypedArray or ArrayBuffer");
    }
    auto t = at::empty(shape, at::TensorOptions().dtype(st));
    size_t need = t.numel() * t.element_size();
    if (need != len) throwUsage(env, "fromBuffer: shape [" + c10::Join(",", shape) + "] of " + std::string(c10::toString(st)) + " needs " + std::to_string(need) + " bytes, got " + std::to_string(len));
    if (len) std::memcpy(t.data_ptr(), data, len);
    if (info.Length() > 3 && info[3].IsString()) {
      std::string dev = info[3].As<Napi::String>();
      if (dev != "cpu") t = t.to(c10::Device(dev));
    }
    return wrapTensor(env, t);)
}

// toBuffer(h) -> ArrayBuffer with the contiguous CPU bytes.
FN(ToBuffer) {
  BODY(
    auto t = unwrapTensor(info[0], "toBuffer").detach().to(at::kCPU).contiguous();
    size_t len = t.numel() * t.element_size();
    auto ab = Napi::ArrayBuffer::New(env, len);
    if (len) std::memcpy(ab.Data(), t.data_ptr(), len);
    return ab;)
}

// readFile(fd, offset, dtype, shape) -> handle: reads straight into the tensor's memory (no second copy).
FN(ReadFile) {
  BODY(
    int fd = info[0].As<Napi::Number>().Int32Value();
    int64_t off = info[1].As<Napi::Number>().Int64Value();
    auto st = static_cast<at::ScalarType>(info[2].As<Napi::Number>().Int32Value());
    auto t = at::empty(toShape(info[3]), at::TensorOptions().dtype(st));
    size_t len = t.numel() * t.element_size();
    auto* p = static_cast<char*>(t.data_ptr());
    size_t done = 0;
    while (done < len) {
      ssize_t r = pread(fd, p + done, len - done, off + done);
      if (r < 0) throwUsage(env, std::string("readFile: ") + strerror(errno));
      if (r == 0) throwUsage(env, "readFile: file ends " + std::to_string(len - done) + " bytes before this tensor's data does (truncated file?)");
      done += r;
    }
    return wrapTensor(env, t);)
}

// writeFile(fd, h) -> bytes written at the fd's current position.
FN(WriteFile) {
  BODY(
    int fd = info[0].As<Napi::Number>().Int32Value();
    auto t = unwrapTensor(info[1], "writeFile").detach().to(at::kCPU).contiguous();
    size_t len = t.numel() * t.element_size();
    auto* p = static_cast<const char*>(t.data_ptr());
    size_t done = 0;
    while (done < len) {
      ssize_t w = write(fd, p + done, len - done);
      if (w < 0) throwUsage(env, std::string("writeFile: ") + strerror(errno));
      done += w;
    }
    return Napi::Number::New(env, static_cast<double>(len));)
}

FN(ToString) {
  BODY(
    std::ostringstream ss;
    ss << unwrapTensor(info[0], "toString");
    return Napi::String::New(env, ss.str());)
}

// ---- autograd
FN(SetRequiresGrad) { BODY(unwrapTensor(info[0], "requiresGrad_").set_requires_grad(info[1].ToBoolean()); return env.Undefined();) }
FN(Grad) { BODY(return wrapTensor(env, unwrapTensor(info[0], "grad").grad());) }
FN(SetGrad) {
  BODY(
    auto& t = unwrapTensor(info[0], "setGrad");
    if (info[1].IsNull() || info[1].IsUndefined()) t.mutable_grad() = at::Tensor();
    else t.mutable_grad() = unwrapTensor(info[1], "setGrad");
    return env.Undefined();)
}
FN(IsLeaf) { BODY(return Napi::Boolean::New(env, unwrapTensor(info[0], "isLeaf").is_leaf());) }
FN(HasGradFn) { BODY(return Napi::Boolean::New(env, unwrapTensor(info[0], "gradFn").grad_fn() != nullptr);) }
// backward(outputs[], grads[]|null, retainGraph, createGraph)
FN(Backward) {
  BODY(
    auto outs = info[0].As<Napi::Array>();
    std::vector<at::Tensor> ts, gs;
    for (uint32_t i = 0; i < outs.Length(); i++) ts.push_back(unwrapTensor(outs.Get(i), "backward"));
    if (info[1].IsArray()) {
      auto g = info[1].As<Napi::Array>();
      for (uint32_t i = 0; i < g.Length(); i++) gs.push_back(unwrapTensor(g.Get(i), "backward"));
    }
    bool retain = info[2].ToBoolean(), create = info[3].ToBoolean();
    torch::autograd::backward(ts, gs, retain, create);
    return env.Undefined();)
}
// autogradGrad(outputs[], inputs[], gradOutputs[]|null, retain, create) -> grads[] (torch.autograd.grad)
FN(AutogradGrad) {
  BODY(
    auto cvt = [&](const Napi::Value& v) {
      std::vector<at::Tensor> r;
      if (!v.IsArray()) return r;
      auto a = v.As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); i++) r.push_back(unwrapTensor(a.Get(i), "grad"));
      return r;
    };
    auto res = torch::autograd::grad(cvt(info[0]), cvt(info[1]), cvt(info[2]), info[3].ToBoolean(), info[4].ToBoolean(), true);
    auto out = Napi::Array::New(env, res.size());
    for (size_t i = 0; i < res.size(); i++) out.Set(i, wrapTensor(env, res[i]));
    return out;)
}

FN(SetGradEnabled) { BODY(bool prev = at::GradMode::is_enabled(); at::GradMode::set_enabled(info[0].ToBoolean()); return Napi::Boolean::New(env, prev);) }
FN(IsGradEnabled) { BODY(return Napi::Boolean::New(env, at::GradMode::is_enabled());) }

// Inference mode is an RAII guard in libtorch; JS scopes nest strictly, so a stack of guards is exact.
// InferenceMode guards are thread-local state in c10, so their stack is per JS thread too (see g_ops).
thread_local std::vector<std::unique_ptr<c10::InferenceMode>> g_inference;
FN(EnterInference) { BODY(g_inference.push_back(std::make_unique<c10::InferenceMode>(true)); return env.Undefined();) }
FN(ExitInference) { BODY(if (!g_inference.empty()) g_inference.pop_back(); return env.Undefined();) }
FN(IsInference) { BODY(return Napi::Boolean::New(env, c10::InferenceMode::is_enabled());) }
FN(IsInferenceTensor) { BODY(return Napi::Boolean::New(env, unwrapTensor(info[0], "isInference").is_inference());) }

// setAutocast(enabled, dtype) for CPU autocast (bf16 mixed precision); returns the previous state.
FN(SetAutocastCpu) {
  BODY(
    bool prev = at::autocast::is_cpu_enabled();
    bool on = info[0].ToBoolean();
    if (info.Length() > 1 && info[1].IsNumber()) at::autocast::set_autocast_cpu_dtype(static_cast<at::ScalarType>(info[1].As<Napi::Number>().Int32Value()));
    if (on) at::autocast::increment_nesting(); else if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_cpu_enabled(on);
    return Napi::Boolean::New(env, prev);)
}

FN(SetNumThreads) { BODY(at::set_num_threads(info[0].As<Napi::Number>().Int32Value()); return env.Undefined();) }
FN(GetNumThreads) { BODY(return Napi::Number::New(env, at::get_num_threads());) }
FN(ManualSeed) { BODY(torch::manual_seed(static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value())); return env.Undefined();) }

FN(Info) {
  BODY(
    auto o = Napi::Object::New(env);
    o.Set("torch", Napi::String::New(env, TORCH_VERSION));
    o.Set("cuda", Napi::Boolean::New(env, torch::cuda::is_available()));
    o.Set("cudaDevices", Napi::Number::New(env, static_cast<double>(torch::cuda::device_count())));
    o.Set("mkldnn", Napi::Boolean::New(env, at::hasMKLDNN()));
    o.Set("threads", Napi::Number::New(env, at::get_num_threads()));
    o.Set("parallel", Napi::String::New(env, at::get_parallel_info()));
    o.Set("config", Napi::String::New(env, at::show_config()));
    return o;)
}

}  // namespace

void initTensorApi(Napi::Env env, Napi::Object e) {
#define REG(js, fn) e.Set(js, Napi::Function::New(env, fn))
  REG("dispose", Dispose); REG("isAlive", IsAlive); REG("liveCount", LiveCount); REG("liveBytes", LiveBytes); REG("collectedCount", CollectedCount);
  REG("meta", Meta); REG("shape", Shape); REG("strides", Strides); REG("dtype", Dtype); REG("device", Device);
  REG("isContiguous", IsContiguous); REG("dataPtr", DataPtr); REG("sameTensor", SameTensor); REG("item", Item);
  REG("fromBuffer", FromBuffer); REG("toBuffer", ToBuffer); REG("readFile", ReadFile); REG("writeFile", WriteFile);
  REG("toString", ToString);
  REG("setRequiresGrad", SetRequiresGrad); REG("grad", Grad); REG("setGrad", SetGrad); REG("isLeaf", IsLeaf);
  REG("hasGradFn", HasGradFn); REG("backward", Backward); REG("autogradGrad", AutogradGrad);
  REG("setGradEnabled", SetGradEnabled); REG("isGradEnabled", IsGradEnabled);
  REG("enterInference", EnterInference); REG("exitInference", ExitInference); REG("isInference", IsInference);
  REG("isInferenceTensor", IsInferenceTensor); REG("setAutocastCpu", SetAutocastCpu);
  REG("setNumThreads", SetNumThreads); REG("getNumThreads", GetNumThreads); REG("manualSeed", ManualSeed);
  REG("info", Info);
#undef REG
}

}  // namespace fmb
