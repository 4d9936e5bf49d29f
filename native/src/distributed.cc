// Data-parallel training on libtorch's own c10d engine: a TCPStore rendezvous, a process group
// (Gloo on CPU; NCCL where the libtorch has CUDA and the NCCL headers), collectives whose waits run
// on libuv's pool so JS awaits them off the event loop, and c10d's DDP Reducer, which all-reduces
// gradients in buckets from autograd hooks while backward is still running.
//
// Every failure reaches JS as an Error with code "EDIST" and the failing `op` and `rank`.
#include "common.h"
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/comm.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>
#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>

namespace fmb {

namespace {

using Ms = std::chrono::milliseconds;

struct GroupBox {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
  int rank = 0;
  int size = 1;
  std::string backend;
  Ms timeout{0};
};

struct ReducerBox {
  std::shared_ptr<c10d::Reducer> reducer;
  int rank = 0;
};

Napi::Error distError(Napi::Env env, const std::string& op, int rank, const std::string& msg) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, "EDIST"));
  e.Set("op", Napi::String::New(env, op));
  e.Set("rank", Napi::Number::New(env, rank));
  return e;
}

GroupBox* unwrapGroup(const Napi::Value& v) {
  auto* g = unwrapAs<GroupBox>(v, Kind::ProcessGroup, "distributed");
  if (!g->pg) throwUsage(v.Env(), "the process group was closed");
  return g;
}

ReducerBox* unwrapReducer(const Napi::Value& v) {
  auto* r = unwrapAs<ReducerBox>(v, Kind::Reducer, "distributed");
  if (!r->reducer) throwUsage(v.Env(), "the reducer was disposed");
  return r;
}

// Runs `work` on a libuv pool thread; resolves with `done()` on the JS thread (or rejects with EDIST).
class DistWorker : public Napi::AsyncWorker {
 public:
  DistWorker(Napi::Env env, std::string op, int rank, std::function<void()> work, std::function<Napi::Value(Napi::Env)> done)
      : Napi::AsyncWorker(env, "fmboost.distributed"), deferred_(Napi::Promise::Deferred::New(env)), op_(std::move(op)), rank_(rank),
        work_(std::move(work)), done_(std::move(done)) {}
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      work_();
    } catch (const c10::Error& e) {
      SetError(e.what_without_backtrace());
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    Napi::HandleScope scope(Env());
    try {
      deferred_.Resolve(done_ ? done_(Env()) : Env().Undefined());
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error& e) override {
    Napi::HandleScope scope(Env());
    deferred_.Reject(distError(Env(), op_, rank_, e.Message()).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::string op_;
  int rank_;
  std::function<void()> work_;
  std::function<Napi::Value(Napi::Env)> done_;
};

Napi::Value queue(Napi::Env env, const std::string& op, int rank, std::function<void()> work, std::function<Napi::Value(Napi::Env)> done = nullptr) {
  auto* w = new DistWorker(env, op, rank, std::move(work), std::move(done));
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

void waitWork(const c10::intrusive_ptr<c10d::Work>& work, Ms timeout) {
  work->wait(timeout);
}

std::vector<at::Tensor> tensorList(const Napi::Value& v, const char* what) {
  if (!v.IsArray()) throwUsage(v.Env(), std::string(what) + ": expected an array of tensor handles");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<at::Tensor> ts;
  for (uint32_t i = 0; i < a.Length(); i++) ts.push_back(unwrapTensor(a.Get(i), what));
  return ts;
}

std::string str(const Napi::Object& o, const char* k, const std::string& dflt) {
  return o.Has(k) && o.Get(k).IsString() ? o.Get(k).As<Napi::String>().Utf8Value() : dflt;
}
int64_t num(const Napi::Object& o, const char* k, int64_t dflt) {
  return o.Has(k) && o.Get(k).IsNumber() ? o.Get(k).As<Napi::Number>().Int64Value() : dflt;
}

bool isLoopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

// Which backends this build of the addon can create.
FN(DistBackends) {
  BODY(
    Napi::Array a = Napi::Array::New(env);
    uint32_t i = 0;
#ifdef USE_C10D_GLOO
    a.Set(i++, Napi::String::New(env, "gloo"));
#endif
#ifdef USE_C10D_NCCL
    a.Set(i++, Napi::String::New(env, "nccl"));
#endif
    (void)i;
    return a;
  )
}

// distInit({backend, rank, worldSize, host, port, timeoutMs, prefix}) -> Promise<group>
// Rank 0 serves the TCPStore; all ranks connect to it, then the backend connects every pair.
FN(DistInit) {
  BODY(
    if (info.Length() < 1 || !info[0].IsObject()) throwUsage(env, "distInit: expected an options object");
    Napi::Object o = info[0].As<Napi::Object>();
    auto box = std::make_shared<GroupBox>();
    box->backend = str(o, "backend", "gloo");
    box->rank = static_cast<int>(num(o, "rank", 0));
    box->size = static_cast<int>(num(o, "worldSize", 1));
    box->timeout = Ms(num(o, "timeoutMs", 600000));
    std::string host = str(o, "host", "127.0.0.1");
    std::string prefix = str(o, "prefix", "fmboost");
    auto port = static_cast<uint16_t>(num(o, "port", c10d::TCPStoreOptions::kDefaultPort));
    if (box->size < 1 || box->rank < 0 || box->rank >= box->size) throwUsage(env, "distInit: rank must be in [0, worldSize)");
#ifndef USE_C10D_GLOO
    if (box->backend == "gloo") throwUsage(env, "distInit: this build of the fmboost addon has no Gloo (the libtorch headers lack gloo/; on Debian: apt-get install libgloo-dev, then npm run build:native)");
#endif
#ifndef USE_C10D_NCCL
    if (box->backend == "nccl") throwUsage(env, "distInit: this build of the fmboost addon has no NCCL (it needs a CUDA libtorch and nccl.h at build time)");
#endif
    if (box->backend != "gloo" && box->backend != "nccl") throwUsage(env, "distInit: backend must be gloo or nccl, got " + box->backend);
    return queue(env, "init", box->rank, [box, host, port, prefix]() {
      c10d::TCPStoreOptions so;
      so.port = port;
      so.isServer = box->rank == 0;
      so.numWorkers = static_cast<size_t>(box->size);
      so.waitWorkers = true;
      so.timeout = box->timeout;
      auto tcp = c10::make_intrusive<c10d::TCPStore>(host, so);
      box->store = c10::make_intrusive<c10d::PrefixStore>(prefix, tcp);
#ifdef USE_C10D_GLOO
      if (box->backend == "gloo") {
        auto opts = c10d::ProcessGroupGloo::Options::create(box->timeout);
        const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
        if (ifname && *ifname) opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
        else if (isLoopback(host)) opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
        else opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
        opts->threads = 2;
        box->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(box->store, box->rank, box->size, opts);
      }
#endif
#ifdef USE_C10D_NCCL
      if (box->backend == "nccl") {
        auto opts = c10d::ProcessGroupNCCL::Options::create();
        opts->timeout = box->timeout;
        box->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(box->store, box->rank, box->size, opts);
      }
#endif
    }, [box](Napi::Env env) -> Napi::Value {
      auto* g = new GroupBox(*box);
      auto h = Napi::External<GroupBox>::New(env, g, [](Napi::BasicEnv, GroupBox* b) { delete b; });
      tagHandle(h, Kind::ProcessGroup);
      return h;
    });
  )
}

c10d::ReduceOp reduceOp(Napi::Env env, const std::string& op) {
  if (op == "sum") return c10d::ReduceOp::SUM;
  if (op == "max") return c10d::ReduceOp::MAX;
  if (op == "min") return c10d::ReduceOp::MIN;
  if (op == "product") return c10d::ReduceOp::PRODUCT;
  throwUsage(env, "allReduce: op must be sum, max, min or product, got " + op);
}

// distAllReduce(group, tensor, op) -> Promise<void>; in place on the tensor.
FN(DistAllReduce) {
  BODY(
    auto* g = unwrapGroup(info[0]);
    at::Tensor t = unwrapTensor(info[1], "allReduce");
    c10d::AllreduceOptions opts;
    opts.reduceOp = reduceOp(env, info[2].As<Napi::String>().Utf8Value());
    opts.timeout = g->timeout;
    auto pg = g->pg;
    Ms timeout = g->timeout;
    return queue(env, "allReduce", g->rank, [pg, t, opts, timeout]() mutable {
      std::vector<at::Tensor> ts{t};
      waitWork(pg->allreduce(ts, opts), timeout);
    });
  )
}

// distBroadcast(group, tensors[], root) -> Promise<void>; in place, coalesced into ≤ 64 MB buffers.
FN(DistBroadcast) {
  BODY(
    auto* g = unwrapGroup(info[0]);
    std::vector<at::Tensor> ts = tensorList(info[1], "broadcast");
    int root = info[2].As<Napi::Number>().Int32Value();
    if (root < 0 || root >= g->size) throwUsage(env, "broadcast: root must be in [0, worldSize)");
    auto pg = g->pg;
    return queue(env, "broadcast", g->rank, [pg, ts, root]() {
      at::NoGradGuard no_grad;  // the tensors are often parameters (leaves that require grad)
      c10d::broadcast_coalesced(pg, ts, size_t(64) << 20, root);
    });
  )
}

FN(DistBarrier) {
  BODY(
    auto* g = unwrapGroup(info[0]);
    auto pg = g->pg;
    Ms timeout = g->timeout;
    return queue(env, "barrier", g->rank, [pg, timeout]() {
      c10d::BarrierOptions opts;
      opts.timeout = timeout;
      waitWork(pg->barrier(opts), timeout);
    });
  )
}

// Drops this process's group (its connections close; peers see it as gone).
FN(DistClose) {
  BODY(
    auto* g = unwrapAs<GroupBox>(info[0], Kind::ProcessGroup, "distClose");
    g->pg.reset();
    g->store.reset();
    return env.Undefined();
  )
}

// distReducerNew(group, params[], bucketBytes, firstBucketBytes) -> reducer
// As torch's DistributedDataParallel: buckets by size in reverse parameter order (backward order).
FN(DistReducerNew) {
  BODY(
    auto* g = unwrapGroup(info[0]);
    std::vector<at::Tensor> params = tensorList(info[1], "reducer");
    if (params.empty()) throwUsage(env, "reducer: no parameters");
    auto cap = static_cast<size_t>(info[2].As<Napi::Number>().Int64Value());
    auto first = static_cast<size_t>(info[3].As<Napi::Number>().Int64Value());
    std::vector<bool> sparse(params.size(), false);
    auto assignment = c10d::compute_bucket_assignment_by_size(params, {first, cap}, sparse);
    auto buckets = std::get<0>(assignment);
    auto limits = std::get<1>(assignment);
    std::reverse(buckets.begin(), buckets.end());
    std::reverse(limits.begin(), limits.end());
    auto box = new ReducerBox();
    box->rank = g->rank;
    try {
      box->reducer = std::make_shared<c10d::Reducer>(params, buckets, limits, g->pg, sparse, static_cast<int64_t>(cap), false, false,
                                                     std::unordered_map<size_t, std::string>(), static_cast<int64_t>(first));
    } catch (...) {
      delete box;
      throw;
    }
    Napi::Object r = Napi::Object::New(env);
    auto h = Napi::External<ReducerBox>::New(env, box, [](Napi::BasicEnv, ReducerBox* b) {
      try { b->reducer.reset(); } catch (...) {}
      delete b;
    });
    tagHandle(h, Kind::Reducer);
    r.Set("handle", h);
    r.Set("buckets", Napi::Number::New(env, static_cast<double>(buckets.size())));
    return r;
  )
}

// Before a backward whose gradients are to be averaged across ranks (DDP's forward does the same).
// A backward without it accumulates locally (no_sync).
FN(DistReducerPrepare) {
  BODY(
    auto* r = unwrapReducer(info[0]);
    try {
      r->reducer->prepare_for_forward();
      r->reducer->rebuild_buckets();  // after the first iteration: buckets in the order grads arrived
      r->reducer->prepare_for_backward({});
    } catch (const c10::Error& e) {
      throw distError(env, "reducer", r->rank, e.what_without_backtrace());
    } catch (const std::exception& e) {
      throw distError(env, "reducer", r->rank, e.what());
    }
    return env.Undefined();
  )
}

FN(DistReducerDispose) {
  BODY(
    auto* r = unwrapAs<ReducerBox>(info[0], Kind::Reducer, "distReducerDispose");
    try { r->reducer.reset(); } catch (...) {}
    return env.Undefined();
  )
}

}  // namespace

void initDistributed(Napi::Env env, Napi::Object e) {
  e.Set("distBackends", Napi::Function::New(env, DistBackends));
  e.Set("distInit", Napi::Function::New(env, DistInit));
  e.Set("distAllReduce", Napi::Function::New(env, DistAllReduce));
  e.Set("distBroadcast", Napi::Function::New(env, DistBroadcast));
  e.Set("distBarrier", Napi::Function::New(env, DistBarrier));
  e.Set("distClose", Napi::Function::New(env, DistClose));
  e.Set("distReducerNew", Napi::Function::New(env, DistReducerNew));
  e.Set("distReducerPrepare", Napi::Function::New(env, DistReducerPrepare));
  e.Set("distReducerDispose", Napi::Function::New(env, DistReducerDispose));
}

}  // namespace fmb
