// Fused GroupNorm + SiLU for inference: y = silu(group_norm(x)·(1 + scale) + shift), in one read for the
// statistics and one read + write for the output. libtorch has no such op; composed from ATen ops under CPU
// autocast the chain is a bf16→fp32 copy, group_norm in fp32, silu in fp32 and an fp32→bf16 copy for the next
// conv: five passes over the activation at four bytes where this makes three at two. Statistics and the
// affine are computed in fp32 (double for the sums across chunks), as torch's group_norm does; only the
// stored output is rounded to the input's dtype. No autograd: the JS side calls it only when no gradient
// is needed (functional.ts groupNormSilu). Threads: at::parallel_for, which is OpenMP inline code, hence
// -fopenmp in binding.gyp (without it the loops run on one thread).
#include "common.h"
#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <cmath>
#include <algorithm>
#include <cstring>
#include <vector>

namespace fmb {

namespace {

// The kernels are compiled for AVX-512 and AVX2 as well as the baseline; the loader picks per CPU.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FMB_CLONES __attribute__((target_clones("avx512f", "avx2", "default"), optimize("O3", "no-trapping-math")))
#define FMB_INLINE inline __attribute__((always_inline))  // else the O3 clones would not inline them (attribute mismatch)
#else
#define FMB_CLONES
#define FMB_INLINE inline
#endif

FMB_INLINE float bf16ToFloat(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// round to nearest even, as c10::BFloat16's conversion (NaN stays NaN: its top bits are kept)
FMB_INLINE uint16_t floatToBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  uint32_t nan = (u >> 16) | 0x40u;
  return static_cast<uint16_t>((u & 0x7fffffffu) > 0x7f800000u ? nan : rounded);  // a select, so loops vectorise
}

// exp(x) for the sigmoid: 2^n · p(r), n = round(x·log2 e), r = x − n·ln 2, degree-6 polynomial; ~2 ulp, and
// loops of it vectorise (no calls, no branches). Inputs are clamped to where float exp is finite and normal.
FMB_INLINE float fastExp(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  // round to nearest by the 1.5·2^23 trick (vectorises on every x86 level, unlike nearbyint without SSE4.1)
  float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693145751953125f;
  r = r - n * 1.428606765330187045e-06f;
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t e = (static_cast<int32_t>(n) + 127) << 23;
  float s;
  std::memcpy(&s, &e, 4);
  return p * s;
}

FMB_INLINE float siluf(float v) { return v / (1.0f + fastExp(-v)); }

template <typename T> FMB_INLINE float load(const T* p, int64_t i);
template <> FMB_INLINE float load<float>(const float* p, int64_t i) { return p[i]; }
template <> FMB_INLINE float load<uint16_t>(const uint16_t* p, int64_t i) { return bf16ToFloat(p[i]); }
template <typename T> FMB_INLINE void store(T* p, int64_t i, float v);
template <> FMB_INLINE void store<float>(float* p, int64_t i, float v) { p[i] = v; }
template <> FMB_INLINE void store<uint16_t>(uint16_t* p, int64_t i, float v) { p[i] = floatToBf16(v); }

// Sums of x and x² over `n` contiguous values (float lanes; the caller keeps chunks short and adds in double).
template <typename T>
FMB_CLONES void sumsContiguous(const T* x, int64_t n, float* s1, float* s2) {
  // 16 independent lanes: a single float accumulator would not vectorise (no reassociation without -ffast-math)
  float a[16] = {0}, b[16] = {0};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int j = 0; j < 16; j++) {
      float v = load(x, i + j);
      a[j] += v;
      b[j] += v * v;
    }
  }
  float ta = 0, tb = 0;
  for (; i < n; i++) {
    float v = load(x, i);
    ta += v;
    tb += v * v;
  }
  for (int j = 0; j < 16; j++) { ta += a[j]; tb += b[j]; }
  *s1 = ta;
  *s2 = tb;
}

// Per-channel sums over `pixels` rows of C contiguous values (channels_last), into acc1/acc2 [C].
template <typename T>
FMB_CLONES void sumsRows(const T* x, int64_t pixels, int64_t C, float* acc1, float* acc2) {
  for (int64_t p = 0; p < pixels; p++) {
    const T* row = x + p * C;
    for (int64_t c = 0; c < C; c++) {
      float v = load(row, c);
      acc1[c] += v;
      acc2[c] += v * v;
    }
  }
}

template <typename T>
FMB_CLONES void applyContiguous(const T* x, T* y, int64_t n, float a, float b) {
  for (int64_t i = 0; i < n; i++) store(y, i, siluf(load(x, i) * a + b));
}

template <typename T>
FMB_CLONES void applyRows(const T* x, T* y, int64_t pixels, int64_t C, const float* a, const float* b) {
  for (int64_t p = 0; p < pixels; p++) {
    const T* xr = x + p * C;
    T* yr = y + p * C;
    for (int64_t c = 0; c < C; c++) store(yr, c, siluf(load(xr, c) * a[c] + b[c]));
  }
}

constexpr int64_t kChunk = 1024;  // values (NCHW) or pixels (channels_last) per float partial sum

template <typename T>
at::Tensor run(const at::Tensor& x, int64_t G, const at::Tensor& w, const at::Tensor& bias, const at::Tensor& scale,
               const at::Tensor& shift, double eps, bool cl) {
  const int64_t N = x.size(0), C = x.size(1), HW = x.numel() / (N * C), cg = C / G;
  const T* xp = reinterpret_cast<const T*>(x.data_ptr());
  at::Tensor y = at::empty_like(x, cl ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous);
  T* yp = reinterpret_cast<T*>(y.data_ptr());
  std::vector<double> s1(N * G, 0.0), s2(N * G, 0.0);
  if (!cl) {
    // NCHW: group (n, g) is one contiguous block of cg·HW values
    const int64_t block = cg * HW, chunks = (block + kChunk - 1) / kChunk;
    std::vector<float> p1(N * G * chunks), p2(N * G * chunks);
    at::parallel_for(0, N * G * chunks, 1, [&](int64_t b, int64_t e) {
      for (int64_t k = b; k < e; k++) {
        int64_t ng = k / chunks, ch = k % chunks, off = ch * kChunk;
        sumsContiguous(xp + ng * block + off, std::min(kChunk, block - off), &p1[k], &p2[k]);
      }
    });
    for (int64_t k = 0; k < N * G * chunks; k++) { s1[k / chunks] += p1[k]; s2[k / chunks] += p2[k]; }
  } else {
    // NHWC: each task sums a run of pixels for every channel; channel sums become group sums after
    const int64_t chunks = (HW + kChunk - 1) / kChunk;
    std::vector<float> p1(N * chunks * C, 0.f), p2(N * chunks * C, 0.f);
    at::parallel_for(0, N * chunks, 1, [&](int64_t b, int64_t e) {
      for (int64_t k = b; k < e; k++) {
        int64_t n = k / chunks, ch = k % chunks, off = ch * kChunk;
        sumsRows(xp + (n * HW + off) * C, std::min(kChunk, HW - off), C, &p1[k * C], &p2[k * C]);
      }
    });
    for (int64_t k = 0; k < N * chunks; k++) {
      int64_t n = k / chunks;
      for (int64_t c = 0; c < C; c++) { s1[n * G + c / cg] += p1[k * C + c]; s2[n * G + c / cg] += p2[k * C + c]; }
    }
  }
  // per (n, c): y = x·a + b with a = rstd·w·(1 + scale), b = (bias − mean·rstd·w)·(1 + scale) + shift
  std::vector<float> A(N * C), B(N * C);
  const double cnt = static_cast<double>(cg * HW);
  auto wf = w.defined() ? w.to(at::kFloat).contiguous() : at::Tensor();
  auto bf = bias.defined() ? bias.to(at::kFloat).contiguous() : at::Tensor();
  auto sc = scale.defined() ? scale.to(at::kFloat).contiguous() : at::Tensor();
  auto sh = shift.defined() ? shift.to(at::kFloat).contiguous() : at::Tensor();
  for (int64_t n = 0; n < N; n++) {
    for (int64_t c = 0; c < C; c++) {
      int64_t ng = n * G + c / cg;
      double mean = s1[ng] / cnt, var = std::max(0.0, s2[ng] / cnt - mean * mean);
      double rstd = 1.0 / std::sqrt(var + eps);
      double wc = wf.defined() ? wf.data_ptr<float>()[c] : 1.0, bc = bf.defined() ? bf.data_ptr<float>()[c] : 0.0;
      double a = rstd * wc, b = bc - mean * a;
      if (sc.defined()) { double s = 1.0 + sc.data_ptr<float>()[n * C + c]; a *= s; b *= s; }
      if (sh.defined()) b += sh.data_ptr<float>()[n * C + c];
      A[n * C + c] = static_cast<float>(a);
      B[n * C + c] = static_cast<float>(b);
    }
  }
  if (!cl) {
    at::parallel_for(0, N * C, 1, [&](int64_t b, int64_t e) {
      for (int64_t k = b; k < e; k++) applyContiguous(xp + k * HW, yp + k * HW, HW, A[k], B[k]);
    });
  } else {
    const int64_t rows = 64;
    const int64_t tasks = (HW + rows - 1) / rows;
    at::parallel_for(0, N * tasks, 1, [&](int64_t b, int64_t e) {
      for (int64_t k = b; k < e; k++) {
        int64_t n = k / tasks, off = (k % tasks) * rows;
        applyRows(xp + (n * HW + off) * C, yp + (n * HW + off) * C, std::min(rows, HW - off), C, &A[n * C], &B[n * C]);
      }
    });
  }
  return y;
}

at::Tensor optTensor(const Napi::Value& v, const char* what) {
  if (v.IsNull() || v.IsUndefined()) return at::Tensor();
  return unwrapTensor(v, what);
}

// groupNormSilu(x, groups, weight|null, bias|null, scale|null, shift|null, eps) → y (x's dtype and layout).
// x: float32 or bfloat16 [N, C, ...], contiguous or channels_last; scale/shift: [N, C] (FiLM of the ADM ResBlock).
FN(GroupNormSilu) {
  BODY(
    auto& x = unwrapTensor(info[0], "groupNormSilu");
    int64_t G = info[1].As<Napi::Number>().Int64Value();
    at::Tensor w = optTensor(info[2], "groupNormSilu weight"), b = optTensor(info[3], "groupNormSilu bias");
    at::Tensor sc = optTensor(info[4], "groupNormSilu scale"), sh = optTensor(info[5], "groupNormSilu shift");
    double eps = info[6].As<Napi::Number>().DoubleValue();
    TORCH_CHECK(x.device().is_cpu(), "groupNormSilu: CPU tensors only");
    TORCH_CHECK(x.dim() >= 3, "groupNormSilu: x must be [N, C, ...], got ", x.dim(), " dims");
    TORCH_CHECK(x.scalar_type() == at::kFloat || x.scalar_type() == at::kBFloat16, "groupNormSilu: x must be float32 or bfloat16, got ", x.scalar_type());
    const int64_t N = x.size(0), C = x.size(1);
    TORCH_CHECK(G > 0 && C % G == 0, "groupNormSilu: ", C, " channels are not divisible by ", G, " groups");
    TORCH_CHECK(x.numel() > 0, "groupNormSilu: empty input");
    for (auto* t : {&w, &b}) TORCH_CHECK(!t->defined() || (t->numel() == C && t->device().is_cpu()), "groupNormSilu: weight and bias must have ", C, " values");
    for (auto* t : {&sc, &sh}) TORCH_CHECK(!t->defined() || (t->numel() == N * C && t->device().is_cpu()), "groupNormSilu: scale and shift must be [", N, ", ", C, "]");
    bool cl = x.dim() == 4 && !x.is_contiguous() && x.is_contiguous(at::MemoryFormat::ChannelsLast);
    at::Tensor xc = cl ? x : x.contiguous();
    at::Tensor y;
    {
      RECORD_FUNCTION("fmboost::group_norm_silu", std::vector<c10::IValue>());  // visible to the op profiler
      // outside autograd: the caller has checked that no gradient flows through here
      at::NoGradGuard ng;
      if (x.scalar_type() == at::kFloat) y = run<float>(xc, G, w, b, sc, sh, eps, cl);
      else y = run<uint16_t>(xc, G, w, b, sc, sh, eps, cl);
    }
    return wrapTensor(env, y);)
}

}  // namespace

void initFused(Napi::Env env, Napi::Object e) {
  e.Set("groupNormSilu", Napi::Function::New(env, GroupNormSilu));
}

}  // namespace fmb
