// Generic op call: any ATen operator, looked up once by schema name, called boxed through the
// dispatcher (so autograd, autocast and every backend apply). Arguments are converted from JS by
// the schema's declared types; this is the only op entry point, so every op shares one calling shape.
#include "common.h"
#include <vector>

namespace fmb {

namespace {

struct OpEntry {
  c10::OperatorHandle handle;
  std::string name;
  std::vector<std::string> argCtx;  // "aten::x argument 'y'" per argument, built once (error messages only)
};
// One table per JS thread: the main thread and each worker_threads Worker load their own addon instance and
// define their ops on their own thread. A process-wide vector was shared by them: a Worker's push_back could
// reallocate it while the main thread held a reference into it (a rare SIGABRT in the serve worker tests).
thread_local std::vector<OpEntry> g_ops;

int64_t toInt(const Napi::Value& v, const std::string& ctx) {
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (d != static_cast<double>(static_cast<int64_t>(d))) throwUsage(v.Env(), ctx + ": expected an integer, got " + std::to_string(d));
    return static_cast<int64_t>(d);
  }
  if (v.IsBigInt()) {
    bool lossless;
    return v.As<Napi::BigInt>().Int64Value(&lossless);
  }
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? 1 : 0;
  throwUsage(v.Env(), ctx + ": expected an integer");
}

double toDouble(const Napi::Value& v, const std::string& ctx) {
  if (v.IsNumber()) return v.As<Napi::Number>().DoubleValue();
  if (v.IsBigInt()) { bool l; return static_cast<double>(v.As<Napi::BigInt>().Int64Value(&l)); }
  throwUsage(v.Env(), ctx + ": expected a number");
}

c10::Scalar toScalar(const Napi::Value& v, const std::string& ctx) {
  if (v.IsBoolean()) return c10::Scalar(v.As<Napi::Boolean>().Value());
  if (v.IsBigInt()) return c10::Scalar(toInt(v, ctx));
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    // Integral JS numbers become int scalars, as Python's 2 vs 2.0: int tensors stay int.
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9007199254740992.0) return c10::Scalar(static_cast<int64_t>(d));
    return c10::Scalar(d);
  }
  if (v.IsObject() && v.As<Napi::Object>().Has("float")) {  // {float: 2} forces a floating scalar
    return c10::Scalar(toDouble(v.As<Napi::Object>().Get("float"), ctx));
  }
  throwUsage(v.Env(), ctx + ": expected a number or boolean");
}

c10::IValue toIValue(const Napi::Value& v, const c10::TypePtr& type, const c10::Argument& arg, const std::string& ctx);

c10::IValue toList(const Napi::Value& v, const c10::ListTypePtr& lt, const c10::Argument& arg, const std::string& ctx) {
  const auto& elem = lt->getElementType();
  std::vector<Napi::Value> items;
  if (v.IsArray()) {
    auto a = v.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) items.push_back(a.Get(i));
  } else if (v.IsNumber() || v.IsBoolean()) {
    // int[2] stride=1 accepts one number, as in Python.
    int64_t n = arg.N() ? *arg.N() : 1;
    for (int64_t i = 0; i < n; i++) items.push_back(v);
  } else {
    throwUsage(v.Env(), ctx + ": expected an array");
  }
  switch (elem->kind()) {
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType: {
      std::vector<int64_t> out;
      out.reserve(items.size());
      for (auto& x : items) out.push_back(toInt(x, ctx));
      return c10::IValue(out);
    }
    case c10::TypeKind::FloatType: {
      std::vector<double> out;
      for (auto& x : items) out.push_back(toDouble(x, ctx));
      return c10::IValue(out);
    }
    case c10::TypeKind::BoolType: {
      c10::List<bool> out;
      for (auto& x : items) out.push_back(x.ToBoolean().Value());
      return c10::IValue(out);
    }
    case c10::TypeKind::TensorType: {
      c10::List<at::Tensor> out;
      out.reserve(items.size());
      for (auto& x : items) out.push_back(unwrapTensor(x, ctx.c_str()));
      return c10::IValue(out);
    }
    case c10::TypeKind::OptionalType: {
      c10::List<c10::optional<at::Tensor>> out;
      for (auto& x : items) {
        if (x.IsNull() || x.IsUndefined()) out.push_back(c10::nullopt);
        else out.push_back(unwrapTensor(x, ctx.c_str()));
      }
      return c10::IValue(out);
    }
    default:
      throwUsage(v.Env(), ctx + ": unsupported list element type " + elem->str());
  }
}

c10::IValue toIValue(const Napi::Value& v, const c10::TypePtr& type, const c10::Argument& arg, const std::string& ctx) {
  switch (type->kind()) {
    case c10::TypeKind::OptionalType:
      if (v.IsNull() || v.IsUndefined()) return c10::IValue();
      return toIValue(v, type->expectRef<c10::OptionalType>().getElementType(), arg, ctx);
    case c10::TypeKind::TensorType:
      return c10::IValue(unwrapTensor(v, ctx.c_str()));
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType:
    case c10::TypeKind::ScalarTypeType:
    case c10::TypeKind::LayoutType:
    case c10::TypeKind::MemoryFormatType:
      return c10::IValue(toInt(v, ctx));
    case c10::TypeKind::FloatType:
      return c10::IValue(toDouble(v, ctx));
    case c10::TypeKind::BoolType:
      return c10::IValue(v.ToBoolean().Value());
    case c10::TypeKind::NumberType:
      return c10::IValue(toScalar(v, ctx));
    case c10::TypeKind::StringType:
      if (!v.IsString()) throwUsage(v.Env(), ctx + ": expected a string");
      return c10::IValue(v.As<Napi::String>().Utf8Value());
    case c10::TypeKind::DeviceObjType:
      if (!v.IsString()) throwUsage(v.Env(), ctx + ": expected a device string");
      return c10::IValue(c10::Device(v.As<Napi::String>().Utf8Value()));
    case c10::TypeKind::GeneratorType:
      return c10::IValue(unwrapGenerator(v));
    case c10::TypeKind::ListType:
      return toList(v, type->expect<c10::ListType>(), arg, ctx);
    default:
      throwUsage(v.Env(), ctx + ": unsupported argument type " + type->str());
  }
}

Napi::Value fromIValue(Napi::Env env, c10::IValue&& iv) {
  if (iv.isTensor()) return wrapTensor(env, std::move(iv).toTensor());
  if (iv.isNone()) return env.Null();
  if (iv.isDouble()) return Napi::Number::New(env, iv.toDouble());
  if (iv.isInt()) return Napi::Number::New(env, static_cast<double>(iv.toInt()));
  if (iv.isBool()) return Napi::Boolean::New(env, iv.toBool());
  if (iv.isScalar()) {
    auto s = iv.toScalar();
    return s.isBoolean() ? Napi::Value(Napi::Boolean::New(env, s.toBool())) : Napi::Value(Napi::Number::New(env, s.toDouble()));
  }
  if (iv.isTensorList()) {
    auto l = iv.toTensorVector();
    auto a = Napi::Array::New(env, l.size());
    for (size_t i = 0; i < l.size(); i++) a.Set(i, wrapTensor(env, l[i]));
    return a;
  }
  if (iv.isTuple()) {
    auto elems = iv.toTupleRef().elements();
    auto a = Napi::Array::New(env, elems.size());
    for (size_t i = 0; i < elems.size(); i++) a.Set(i, fromIValue(env, c10::IValue(elems[i])));
    return a;
  }
  if (iv.isIntList()) {
    auto l = iv.toIntVector();
    auto a = Napi::Array::New(env, l.size());
    for (size_t i = 0; i < l.size(); i++) a.Set(i, Napi::Number::New(env, static_cast<double>(l[i])));
    return a;
  }
  if (iv.isString()) return Napi::String::New(env, iv.toStringRef());
  throwUsage(env, "unsupported return type " + iv.tagKind());
}

// op(name, overload) -> id. Resolve once, call many times.
Napi::Value Op(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    std::string name = info[0].As<Napi::String>();
    std::string overload = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
    auto h = c10::Dispatcher::singleton().findSchema({name, overload});
    if (!h) throwUsage(info.Env(), "unknown operator " + name + (overload.empty() ? "" : "." + overload) + " in this libtorch");
    std::string full = name + (overload.empty() ? "" : "." + overload);
    std::vector<std::string> ctx;
    for (const auto& arg : h->schema().arguments()) ctx.push_back(full + " argument '" + arg.name() + "'");
    g_ops.push_back({*h, full, std::move(ctx)});
    return Napi::Number::New(info.Env(), static_cast<double>(g_ops.size() - 1));
  });
}

Napi::Value Schema(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    size_t id = info[0].As<Napi::Number>().Uint32Value();
    if (id >= g_ops.size()) throwUsage(info.Env(), "bad op id");
    std::ostringstream ss;
    ss << g_ops[id].handle.schema();
    return Napi::String::New(info.Env(), ss.str());
  });
}

// call(id, args[]) -> result. Missing trailing args take the schema's defaults; undefined means default too.
Napi::Value Call(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    size_t id = info[0].As<Napi::Number>().Uint32Value();
    if (id >= g_ops.size()) throwUsage(env, "bad op id");
    const OpEntry& op = g_ops[id];
    const auto& schema = op.handle.schema();
    const auto& args = schema.arguments();
    auto a = info[1].As<Napi::Array>();
    uint32_t n = a.Length();
    if (n > args.size()) throwUsage(env, op.name + ": takes " + std::to_string(args.size()) + " arguments, got " + std::to_string(n));
    torch::jit::Stack stack;
    stack.reserve(args.size());
    for (size_t i = 0; i < args.size(); i++) {
      const auto& arg = args[i];
      Napi::Value v = i < n ? a.Get(i) : env.Undefined();
      if (v.IsUndefined()) {
        if (arg.default_value()) { stack.push_back(*arg.default_value()); continue; }
        if (arg.type()->kind() == c10::TypeKind::OptionalType) { stack.emplace_back(); continue; }
        throwUsage(env, op.name + ": argument '" + arg.name() + "' is required");
      }
      stack.push_back(toIValue(v, arg.type(), arg, op.argCtx[i]));
    }
    op.handle.callBoxed(&stack);
    if (stack.empty()) return env.Undefined();
    if (stack.size() == 1) return fromIValue(env, std::move(stack[0]));
    auto out = Napi::Array::New(env, stack.size());
    for (size_t i = 0; i < stack.size(); i++) out.Set(i, fromIValue(env, std::move(stack[i])));
    return out;
  });
}

}  // namespace

void initDispatch(Napi::Env env, Napi::Object exports) {
  exports.Set("op", Napi::Function::New(env, Op));
  exports.Set("schema", Napi::Function::New(env, Schema));
  exports.Set("call", Napi::Function::New(env, Call));
}

}  // namespace fmb
