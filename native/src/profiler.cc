// An op profiler on libtorch's RecordFunction hooks: while on, every ATen op and every autograd backward
// node is timed, and its self time (total minus the ops it called) is summed by name. Forward ops called
// from JS and the backward pass run inside libtorch both show up, which timing native calls in JS
// could not give. Off (the default) there are no callbacks and no cost.
#include "common.h"
#include <ATen/record_function.h>
#include <chrono>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace fmb {

namespace {

struct Stat {
  int64_t calls = 0;
  double selfUs = 0;
  double totalUs = 0;  // outermost calls of this name only (a name nested in itself counts once)
};

struct Frame {
  const char* name;
  double start;
  double child;
  bool backward;
};

std::mutex g_mu;
std::unordered_map<std::string, Stat> g_stats;
std::atomic<bool> g_on{false};
at::CallbackHandle g_handle = 0;
thread_local std::vector<Frame> t_stack;

double nowUs() {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::unique_ptr<at::ObserverContext> onStart(const at::RecordFunction& fn) {
  if (!g_on.load(std::memory_order_relaxed)) return nullptr;
  t_stack.push_back({fn.name(), nowUs(), 0.0, fn.scope() == at::RecordScope::BACKWARD_FUNCTION});
  return nullptr;
}

void onEnd(const at::RecordFunction& fn, at::ObserverContext*) {
  if (t_stack.empty()) return;  // started before the profiler was on
  Frame f = t_stack.back();
  t_stack.pop_back();
  double total = nowUs() - f.start;
  if (!t_stack.empty()) t_stack.back().child += total;
  bool nested = false;
  for (const auto& p : t_stack) if (p.name == f.name) { nested = true; break; }
  // backward nodes are named like forward ops' classes (ConvolutionBackward0): keep them apart from forward ops
  std::string key = f.backward ? std::string("backward: ") + f.name : std::string(f.name);
  std::lock_guard<std::mutex> lock(g_mu);
  Stat& s = g_stats[key];
  s.calls++;
  s.selfUs += total - f.child;
  if (!nested) s.totalUs += total;
}

// profilerStart(): clears the table and starts recording (an error if it is already on).
FN(ProfilerStart) {
  BODY(
    if (g_on.load()) throwUsage(env, "profilerStart: the op profiler is already running");
    {
      std::lock_guard<std::mutex> lock(g_mu);
      g_stats.clear();
    }
    t_stack.clear();
    g_handle = at::addGlobalCallback(at::RecordFunctionCallback(onStart, onEnd)
                                         .needsInputs(false)
                                         .scopes({at::RecordScope::FUNCTION, at::RecordScope::BACKWARD_FUNCTION}));
    g_on.store(true);
    return env.Undefined();)
}

// profilerStop() -> [[name, calls, selfUs, totalUs], ...]; stops recording.
FN(ProfilerStop) {
  BODY(
    if (!g_on.load()) throwUsage(env, "profilerStop: the op profiler is not running");
    g_on.store(false);
    at::removeCallback(g_handle);
    g_handle = 0;
    t_stack.clear();
    std::lock_guard<std::mutex> lock(g_mu);
    auto a = Napi::Array::New(env, g_stats.size());
    uint32_t i = 0;
    for (const auto& [name, s] : g_stats) {
      auto row = Napi::Array::New(env, 4);
      row.Set(0u, Napi::String::New(env, name));
      row.Set(1u, Napi::Number::New(env, static_cast<double>(s.calls)));
      row.Set(2u, Napi::Number::New(env, s.selfUs));
      row.Set(3u, Napi::Number::New(env, s.totalUs));
      a.Set(i++, row);
    }
    g_stats.clear();
    return a;)
}

FN(ProfilerActive) { BODY(return Napi::Boolean::New(env, g_on.load());) }

}  // namespace

void initProfiler(Napi::Env env, Napi::Object e) {
  e.Set("profilerStart", Napi::Function::New(env, ProfilerStart));
  e.Set("profilerStop", Napi::Function::New(env, ProfilerStop));
  e.Set("profilerActive", Napi::Function::New(env, ProfilerActive));
}

}  // namespace fmb
