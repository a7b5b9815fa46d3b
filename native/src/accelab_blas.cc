// accelab_blas: float32 GEMM and convolution kernels on a caller-provided byte view (the tfjs-wasm
// heap), computed by the system OpenBLAS.
//
// Every entry point takes the heap as a Uint8Array (fetched fresh by the caller on every call; the
// pointer is never cached here, since the wasm memory may be replaced when it grows) and operand
// byte offsets into it. Before any memory is touched, each operand's extent is checked against the
// view's length in 64-bit arithmetic with overflow detection, offsets must be 4-byte aligned, and the
// output must not overlap an input. Violations throw a RangeError with code
// ACCELAB_NATIVE_OPERAND; a detached view throws a TypeError with code ACCELAB_NATIVE_DETACHED.
//
// OpenBLAS runs single-threaded (openblas_set_num_threads(1) at load): the caller's worker threads
// supply the parallelism. Scratch memory (im2col blocks) is per thread.
#include <node_api.h>

#include <cblas.h>
#include <dlfcn.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <atomic>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

constexpr int kMaxArgs = 24;
constexpr int64_t kMaxDim = (int64_t(1) << 31) - 1;
// Target size of one im2col block, in floats (128 KiB, measured best among 64 KiB–16 MiB on
// ResNet-20 and cnn-small layers): it stays in L2 between im2col and the GEMM.
constexpr int64_t kBlockFloats = int64_t(1) << 15;
constexpr int64_t kMinBlockRows = 64;

struct Args {
  napi_env env;
  size_t argc = kMaxArgs;
  napi_value argv[kMaxArgs];
  bool failed = false;
};

void ThrowOperand(napi_env env, const std::string& msg) {
  napi_throw_range_error(env, "ACCELAB_NATIVE_OPERAND", msg.c_str());
}

bool GetArgs(napi_env env, napi_callback_info info, Args* a, size_t need) {
  a->env = env;
  if (napi_get_cb_info(env, info, &a->argc, a->argv, nullptr, nullptr) != napi_ok) return false;
  if (a->argc < need) {
    napi_throw_type_error(env, "ACCELAB_NATIVE_ARGS", ("expected " + std::to_string(need) + " arguments").c_str());
    return false;
  }
  return true;
}

// An integer argument in [lo, hi] (rejects non-numbers, fractions, NaN).
bool GetInt(Args* a, size_t i, int64_t lo, int64_t hi, const char* name, int64_t* out) {
  double d;
  if (napi_get_value_double(a->env, a->argv[i], &d) != napi_ok || !std::isfinite(d) || d != std::floor(d) || d < double(lo) ||
      d > double(hi)) {
    ThrowOperand(a->env, std::string("argument '") + name + "' must be an integer in [" + std::to_string(lo) + ", " +
                             std::to_string(hi) + "]");
    return false;
  }
  *out = int64_t(d);
  return true;
}

struct Heap {
  uint8_t* base = nullptr;
  int64_t length = 0;
};

bool GetHeap(Args* a, size_t i, Heap* h) {
  napi_env env = a->env;
  bool is_ta = false;
  if (napi_is_typedarray(env, a->argv[i], &is_ta) != napi_ok || !is_ta) {
    napi_throw_type_error(env, "ACCELAB_NATIVE_ARGS", "the heap must be a Uint8Array");
    return false;
  }
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value ab;
  size_t byte_offset = 0;
  if (napi_get_typedarray_info(env, a->argv[i], &type, &length, &data, &ab, &byte_offset) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, "ACCELAB_NATIVE_ARGS", "the heap must be a Uint8Array");
    return false;
  }
  bool detached = false;
  // Fails for SharedArrayBuffer-backed views (those cannot be detached): not an error.
  if (napi_is_detached_arraybuffer(env, ab, &detached) == napi_ok && detached) {
    napi_throw_type_error(env, "ACCELAB_NATIVE_DETACHED", "the heap view is detached (the wasm memory grew): take a fresh view");
    return false;
  }
  if (data == nullptr && length > 0) {
    napi_throw_type_error(env, "ACCELAB_NATIVE_DETACHED", "the heap view has no data");
    return false;
  }
  h->base = static_cast<uint8_t*>(data);
  h->length = int64_t(length);
  return true;
}

// Byte range [off, off + 4·count) of one operand.
struct Range {
  int64_t begin = 0;
  int64_t end = 0;
};

bool MulOk(int64_t x, int64_t y, int64_t* out) { return !__builtin_mul_overflow(x, y, out); }

bool CheckOperand(napi_env env, const Heap& h, const char* name, int64_t off, int64_t floats, Range* r) {
  int64_t bytes;
  int64_t end;
  if (off < 0 || floats < 0 || !MulOk(floats, 4, &bytes) || __builtin_add_overflow(off, bytes, &end) || end > h.length) {
    ThrowOperand(env, std::string("operand ") + name + " (byte offset " + std::to_string(off) + ", " + std::to_string(floats) +
                          " floats) lies outside the heap (" + std::to_string(h.length) + " bytes)");
    return false;
  }
  if (off % 4 != 0) {
    ThrowOperand(env, std::string("operand ") + name + " is not 4-byte aligned (byte offset " + std::to_string(off) + ")");
    return false;
  }
  r->begin = off;
  r->end = end;
  return true;
}

bool Disjoint(napi_env env, const Range& out, const Range& in, const char* outName, const char* inName) {
  if (out.begin < in.end && in.begin < out.end && out.end > out.begin && in.end > in.begin) {
    ThrowOperand(env, std::string("output ") + outName + " overlaps input " + inName);
    return false;
  }
  return true;
}

// Product of dims with overflow detection.
bool Product(std::initializer_list<int64_t> dims, int64_t* out) {
  int64_t p = 1;
  for (int64_t d : dims) {
    if (!MulOk(p, d, &p)) return false;
  }
  *out = p;
  return true;
}

float* F(const Heap& h, int64_t off) { return reinterpret_cast<float*>(h.base + off); }

// Per-thread scratch buffer (grown, never shrunk).
thread_local float* scratch = nullptr;
thread_local int64_t scratch_floats = 0;

float* Scratch(int64_t floats) {
  if (floats > scratch_floats) {
    float* p = static_cast<float*>(std::realloc(scratch, size_t(floats) * sizeof(float)));
    if (p == nullptr) return nullptr;
    scratch = p;
    scratch_floats = floats;
  }
  return scratch;
}

thread_local float* scratch2 = nullptr;
thread_local int64_t scratch2_floats = 0;

float* Scratch2(int64_t floats) {
  if (floats > scratch2_floats) {
    float* p = static_cast<float*>(std::realloc(scratch2, size_t(floats) * sizeof(float)));
    if (p == nullptr) return nullptr;
    scratch2 = p;
    scratch2_floats = floats;
  }
  return scratch2;
}

void Epilogue(float* c, int64_t rows, int64_t n, const float* bias, bool relu) {
  if (bias == nullptr && !relu) return;
  for (int64_t i = 0; i < rows; i++) {
    float* row = c + i * n;
    if (bias != nullptr && relu) {
      for (int64_t j = 0; j < n; j++) {
        float v = row[j] + bias[j];
        row[j] = v > 0.f ? v : 0.f;
      }
    } else if (bias != nullptr) {
      for (int64_t j = 0; j < n; j++) row[j] += bias[j];
    } else {
      for (int64_t j = 0; j < n; j++) row[j] = row[j] > 0.f ? row[j] : 0.f;
    }
  }
}

// gemm(heap, batch, transA, transB, M, N, K, aOff, aStride, bOff, bStride, cOff, biasOff, relu)
// Row-major C[b] = op(A[b])·op(B[b]) (+ bias[N]) (relu), b < batch. Strides in floats between
// consecutive batch matrices (0 broadcasts one matrix); C is contiguous [batch, M, N]. biasOff < 0: none.
napi_value Gemm(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a, 14)) return nullptr;
  Heap h;
  int64_t batch, ta, tb, M, N, K, aOff, aStride, bOff, bStride, cOff, biasOff, relu;
  if (!GetHeap(&a, 0, &h) || !GetInt(&a, 1, 1, kMaxDim, "batch", &batch) || !GetInt(&a, 2, 0, 1, "transA", &ta) ||
      !GetInt(&a, 3, 0, 1, "transB", &tb) || !GetInt(&a, 4, 1, kMaxDim, "M", &M) || !GetInt(&a, 5, 1, kMaxDim, "N", &N) ||
      !GetInt(&a, 6, 1, kMaxDim, "K", &K) || !GetInt(&a, 7, 0, INT64_MAX >> 2, "aOff", &aOff) ||
      !GetInt(&a, 8, 0, INT64_MAX >> 2, "aStride", &aStride) || !GetInt(&a, 9, 0, INT64_MAX >> 2, "bOff", &bOff) ||
      !GetInt(&a, 10, 0, INT64_MAX >> 2, "bStride", &bStride) || !GetInt(&a, 11, 0, INT64_MAX >> 2, "cOff", &cOff) ||
      !GetInt(&a, 12, -1, INT64_MAX >> 2, "biasOff", &biasOff) || !GetInt(&a, 13, 0, 1, "relu", &relu)) {
    return nullptr;
  }
  int64_t mk, kn, mn, aExt, bExt, cExt;
  if (!Product({M, K}, &mk) || !Product({K, N}, &kn) || !Product({M, N}, &mn) || !Product({batch - 1, aStride}, &aExt) ||
      !Product({batch - 1, bStride}, &bExt) || !Product({batch, mn}, &cExt) || __builtin_add_overflow(aExt, mk, &aExt) ||
      __builtin_add_overflow(bExt, kn, &bExt)) {
    ThrowOperand(env, "matrix sizes overflow 64 bits");
    return nullptr;
  }
  Range ra, rb, rc, rbias;
  if (!CheckOperand(env, h, "a", aOff, aExt, &ra) || !CheckOperand(env, h, "b", bOff, bExt, &rb) ||
      !CheckOperand(env, h, "c", cOff, cExt, &rc))
    return nullptr;
  if (biasOff >= 0 && !CheckOperand(env, h, "bias", biasOff, N, &rbias)) return nullptr;
  if (!Disjoint(env, rc, ra, "c", "a") || !Disjoint(env, rc, rb, "c", "b") || (biasOff >= 0 && !Disjoint(env, rc, rbias, "c", "bias")))
    return nullptr;
  const float* A = F(h, aOff);
  const float* B = F(h, bOff);
  float* C = F(h, cOff);
  const float* bias = biasOff >= 0 ? F(h, biasOff) : nullptr;
  const int lda = int(ta ? M : K);
  const int ldb = int(tb ? K : N);
  for (int64_t i = 0; i < batch; i++) {
    float* Ci = C + i * mn;
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(M), int(N), int(K), 1.f,
                A + i * aStride, lda, B + i * bStride, ldb, 0.f, Ci, int(N));
    Epilogue(Ci, M, N, bias, relu != 0);
  }
  return nullptr;
}

struct Geom {
  int64_t N, H, W, C, KH, KW, CO, sh, sw, pt, pl, OH, OW;
  int64_t K() const { return KH * KW * C; }
  int64_t P() const { return N * OH * OW; }
  bool Direct() const { return KH == 1 && KW == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 && OH == H && OW == W; }
};

// Rows [p0, p1) of the im2col matrix (row = output pixel (n, oh, ow), column = (kh, kw, c)).
void Im2col(const Geom& g, const float* x, int64_t p0, int64_t p1, float* col) {
  const int64_t K = g.K();
  const int64_t ohw = g.OH * g.OW;
  for (int64_t p = p0; p < p1; p++) {
    const int64_t n = p / ohw;
    const int64_t r = p - n * ohw;
    const int64_t oh = r / g.OW;
    const int64_t ow = r - oh * g.OW;
    float* dst = col + (p - p0) * K;
    const int64_t iw0 = ow * g.sw - g.pl;
    const int64_t kwLo = iw0 < 0 ? -iw0 : 0;
    const int64_t kwHi = g.W - iw0 < g.KW ? (g.W - iw0 > 0 ? g.W - iw0 : 0) : g.KW;
    for (int64_t kh = 0; kh < g.KH; kh++, dst += g.KW * g.C) {
      const int64_t ih = oh * g.sh - g.pt + kh;
      if (ih < 0 || ih >= g.H || kwLo >= kwHi) {
        std::memset(dst, 0, size_t(g.KW * g.C) * sizeof(float));
        continue;
      }
      if (kwLo > 0) std::memset(dst, 0, size_t(kwLo * g.C) * sizeof(float));
      std::memcpy(dst + kwLo * g.C, x + ((n * g.H + ih) * g.W + iw0 + kwLo) * g.C, size_t((kwHi - kwLo) * g.C) * sizeof(float));
      if (kwHi < g.KW) std::memset(dst + kwHi * g.C, 0, size_t((g.KW - kwHi) * g.C) * sizeof(float));
    }
  }
}

// dx += col2im(dcol) for rows [p0, p1).
void Col2imAdd(const Geom& g, const float* col, int64_t p0, int64_t p1, float* dx) {
  const int64_t K = g.K();
  const int64_t ohw = g.OH * g.OW;
  for (int64_t p = p0; p < p1; p++) {
    const int64_t n = p / ohw;
    const int64_t r = p - n * ohw;
    const int64_t oh = r / g.OW;
    const int64_t ow = r - oh * g.OW;
    const float* src = col + (p - p0) * K;
    const int64_t iw0 = ow * g.sw - g.pl;
    const int64_t kwLo = iw0 < 0 ? -iw0 : 0;
    const int64_t kwHi = g.W - iw0 < g.KW ? (g.W - iw0 > 0 ? g.W - iw0 : 0) : g.KW;
    for (int64_t kh = 0; kh < g.KH; kh++, src += g.KW * g.C) {
      const int64_t ih = oh * g.sh - g.pt + kh;
      if (ih < 0 || ih >= g.H || kwLo >= kwHi) continue;
      float* d = dx + ((n * g.H + ih) * g.W + iw0 + kwLo) * g.C;
      const float* s = src + kwLo * g.C;
      const int64_t len = (kwHi - kwLo) * g.C;
      for (int64_t i = 0; i < len; i++) d[i] += s[i];
    }
  }
}

int64_t BlockRows(const Geom& g) {
  int64_t rows = kBlockFloats / g.K();
  if (rows < kMinBlockRows) rows = kMinBlockRows;
  return rows < g.P() ? rows : g.P();
}

// ---------------------------------------------------------------------------------------------
// Direct kernels for convolutions with a short reduction, K = KH·KW·C ≤ the small-K limit (a first
// layer: 3×3×1 → K = 9, 3×3×3 → 27), CO a multiple of 8. There im2col + sgemm is bound by
// OpenBLAS packing the long operand on every block; these loops keep the whole reduction in AVX
// registers (AVX2 + FMA, checked at run time; the im2col + sgemm path is their reference twin and
// is used where the CPU lacks them or when the limit is set to 0 with setSmallConvK).
// ---------------------------------------------------------------------------------------------
std::atomic<int64_t> small_k_limit{32};
constexpr int64_t kSmallBlockRows = 1024;

bool HasAvx2Fma() {
#if defined(__x86_64__)
  static const bool v = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return v;
#else
  return false;
#endif
}

// The filter gradient's tiles re-read dy once per group of ≤ 12/OB filter rows: past K = 16 that
// costs more than im2col + sgemm (measured on 3×3×3).
constexpr int64_t kSmallFilterGradK = 16;

bool SmallConv(const Geom& g, bool filterGrad) {
  int64_t limit = small_k_limit.load(std::memory_order_relaxed);
  if (filterGrad && limit > kSmallFilterGradK) limit = kSmallFilterGradK;
  return g.K() <= limit && g.CO % 8 == 0 && HasAvx2Fma();
}

#if defined(__x86_64__)
// y[r, :] = col[r, :]·w (+ bias) (relu, NaN kept) for rows r < rows; w is [K, CO].
__attribute__((target("avx2,fma"))) void SmallForwardRows(const float* col, int64_t rows, int64_t K, int64_t CO, const float* w,
                                                          const float* bias, bool relu, float* y) {
  const __m256 zero = _mm256_setzero_ps();
  for (int64_t r = 0; r < rows; r++) {
    const float* c = col + r * K;
    float* out = y + r * CO;
    int64_t o = 0;
    for (; o + 32 <= CO; o += 32) {
      __m256 a0 = bias ? _mm256_loadu_ps(bias + o) : zero;
      __m256 a1 = bias ? _mm256_loadu_ps(bias + o + 8) : zero;
      __m256 a2 = bias ? _mm256_loadu_ps(bias + o + 16) : zero;
      __m256 a3 = bias ? _mm256_loadu_ps(bias + o + 24) : zero;
      const float* wr = w + o;
      for (int64_t k = 0; k < K; k++, wr += CO) {
        const __m256 b = _mm256_broadcast_ss(c + k);
        a0 = _mm256_fmadd_ps(b, _mm256_loadu_ps(wr), a0);
        a1 = _mm256_fmadd_ps(b, _mm256_loadu_ps(wr + 8), a1);
        a2 = _mm256_fmadd_ps(b, _mm256_loadu_ps(wr + 16), a2);
        a3 = _mm256_fmadd_ps(b, _mm256_loadu_ps(wr + 24), a3);
      }
      if (relu) {
        // max(0, a) returns a when a is NaN.
        a0 = _mm256_max_ps(zero, a0);
        a1 = _mm256_max_ps(zero, a1);
        a2 = _mm256_max_ps(zero, a2);
        a3 = _mm256_max_ps(zero, a3);
      }
      _mm256_storeu_ps(out + o, a0);
      _mm256_storeu_ps(out + o + 8, a1);
      _mm256_storeu_ps(out + o + 16, a2);
      _mm256_storeu_ps(out + o + 24, a3);
    }
    for (; o < CO; o += 8) {
      __m256 a = bias ? _mm256_loadu_ps(bias + o) : zero;
      const float* wr = w + o;
      for (int64_t k = 0; k < K; k++, wr += CO) a = _mm256_fmadd_ps(_mm256_broadcast_ss(c + k), _mm256_loadu_ps(wr), a);
      if (relu) a = _mm256_max_ps(zero, a);
      _mm256_storeu_ps(out + o, a);
    }
  }
}

// dW[k0 + j, o + 8·i .. +8) (+)= Σ_r col[r, k0 + j]·dy[r, o + 8·i .. +8) for j < KB, i < OB: KB·OB
// accumulators in registers (≤ 12 of the 16), OB loads and KB broadcasts per row.
template <int KB, int OB>
__attribute__((target("avx2,fma"))) void SmallFilterGradTile(const float* col, int64_t rows, int64_t K, int64_t k0, const float* dy,
                                                             int64_t CO, int64_t o, float* dW, bool first) {
  __m256 acc[KB][OB];
  for (int j = 0; j < KB; j++)
    for (int i = 0; i < OB; i++) acc[j][i] = _mm256_setzero_ps();
  const float* c = col + k0;
  const float* d = dy + o;
  for (int64_t r = 0; r < rows; r++, c += K, d += CO) {
    __m256 v[OB];
    for (int i = 0; i < OB; i++) v[i] = _mm256_loadu_ps(d + 8 * i);
    for (int j = 0; j < KB; j++) {
      const __m256 b = _mm256_broadcast_ss(c + j);
      for (int i = 0; i < OB; i++) acc[j][i] = _mm256_fmadd_ps(b, v[i], acc[j][i]);
    }
  }
  for (int j = 0; j < KB; j++) {
    for (int i = 0; i < OB; i++) {
      float* out = dW + (k0 + j) * CO + o + 8 * i;
      _mm256_storeu_ps(out, first ? acc[j][i] : _mm256_add_ps(_mm256_loadu_ps(out), acc[j][i]));
    }
  }
}

using FilterGradTileFn = void (*)(const float*, int64_t, int64_t, int64_t, const float*, int64_t, int64_t, float*, bool);
// Tiles by [OB − 1][KB − 1]: OB co-chunks of 8 and up to 12 / OB rows of the filter at once.
constexpr int kMaxKB[4] = {12, 6, 4, 3};
constexpr FilterGradTileFn kFilterGradTiles[4][12] = {
    {SmallFilterGradTile<1, 1>, SmallFilterGradTile<2, 1>, SmallFilterGradTile<3, 1>, SmallFilterGradTile<4, 1>,
     SmallFilterGradTile<5, 1>, SmallFilterGradTile<6, 1>, SmallFilterGradTile<7, 1>, SmallFilterGradTile<8, 1>,
     SmallFilterGradTile<9, 1>, SmallFilterGradTile<10, 1>, SmallFilterGradTile<11, 1>, SmallFilterGradTile<12, 1>},
    {SmallFilterGradTile<1, 2>, SmallFilterGradTile<2, 2>, SmallFilterGradTile<3, 2>, SmallFilterGradTile<4, 2>,
     SmallFilterGradTile<5, 2>, SmallFilterGradTile<6, 2>, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr},
    {SmallFilterGradTile<1, 3>, SmallFilterGradTile<2, 3>, SmallFilterGradTile<3, 3>, SmallFilterGradTile<4, 3>, nullptr, nullptr,
     nullptr, nullptr, nullptr, nullptr, nullptr, nullptr},
    {SmallFilterGradTile<1, 4>, SmallFilterGradTile<2, 4>, SmallFilterGradTile<3, 4>, nullptr, nullptr, nullptr, nullptr, nullptr,
     nullptr, nullptr, nullptr, nullptr}};

void SmallFilterGradRows(const float* col, int64_t rows, int64_t K, const float* dy, int64_t CO, float* dW, bool first) {
  for (int64_t o = 0; o < CO;) {
    const int64_t ob = (CO - o) / 8 < 4 ? (CO - o) / 8 : 4;
    const int64_t maxKb = kMaxKB[ob - 1];
    // Even split of K into groups of at most maxKb (no short, latency-bound remainder group).
    const int64_t groups = (K + maxKb - 1) / maxKb;
    for (int64_t gi = 0, k0 = 0; gi < groups; gi++) {
      const int64_t kb = (K - k0 + (groups - gi) - 1) / (groups - gi);
      kFilterGradTiles[ob - 1][kb - 1](col, rows, K, k0, dy, CO, o, dW, first);
      k0 += kb;
    }
    o += 8 * ob;
  }
}
#else
void SmallForwardRows(const float*, int64_t, int64_t, int64_t, const float*, const float*, bool, float*) {}
void SmallFilterGradRows(const float*, int64_t, int64_t, const float*, int64_t, float*, bool) {}
#endif

// Forward convolution by the direct small-K kernel (SmallConv(g, false) must hold).
bool SmallForwardConv(const Geom& g, const float* x, const float* w, const float* bias, bool relu, float* y) {
  const int64_t K = g.K();
  const int64_t P = g.P();
  const int64_t R = kSmallBlockRows < P ? kSmallBlockRows : P;
  float* col = Scratch(R * K);
  if (col == nullptr) return false;
  for (int64_t p0 = 0; p0 < P; p0 += R) {
    const int64_t p1 = p0 + R < P ? p0 + R : P;
    Im2col(g, x, p0, p1, col);
    SmallForwardRows(col, p1 - p0, K, g.CO, w, bias, relu, y + p0 * g.CO);
  }
  return true;
}

// Filter gradient by the direct small-K kernel (SmallConv(g, true) must hold).
bool SmallFilterGrad(const Geom& g, const float* x, const float* dy, float* dW) {
  const int64_t K = g.K();
  const int64_t P = g.P();
  const int64_t R = kSmallBlockRows < P ? kSmallBlockRows : P;
  float* col = Scratch(R * K);
  if (col == nullptr) return false;
  for (int64_t p0 = 0; p0 < P; p0 += R) {
    const int64_t p1 = p0 + R < P ? p0 + R : P;
    Im2col(g, x, p0, p1, col);
    SmallFilterGradRows(col, p1 - p0, K, dy + p0 * g.CO, g.CO, dW, p0 == 0);
  }
  return true;
}

// y = conv(x, w) (+ bias) (relu), NHWC; false when the im2col block cannot be allocated.
bool ForwardConv(const Geom& g, const float* x, const float* w, const float* bias, bool relu, float* y) {
  if (SmallConv(g, false)) return SmallForwardConv(g, x, w, bias, relu, y);
  const int64_t K = g.K();
  const int64_t P = g.P();
  const bool direct = g.Direct();
  const int64_t R = direct ? P : BlockRows(g);
  float* col = direct ? nullptr : Scratch(R * K);
  if (!direct && col == nullptr) return false;
  for (int64_t p0 = 0; p0 < P; p0 += R) {
    const int64_t p1 = p0 + R < P ? p0 + R : P;
    const float* src = x + p0 * K;
    if (!direct) {
      Im2col(g, x, p0, p1, col);
      src = col;
    }
    float* yb = y + p0 * g.CO;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(p1 - p0), int(g.CO), int(K), 1.f, src, int(K), w, int(g.CO), 0.f, yb,
                int(g.CO));
    Epilogue(yb, p1 - p0, g.CO, bias, relu);
  }
  return true;
}

// conv2d(heap, op, aOff, bOff, outOff, biasOff, N, H, W, C, KH, KW, CO, sh, sw, pt, pl, OH, OW, relu)
// NHWC, filter [KH, KW, C, CO], dilation 1.
//   op 0 forward:       a = x, b = filter, bias (biasOff ≥ 0) → out = y [N, OH, OW, CO] (relu)
//   op 1 filter grad:   a = x, b = dy → out = dW [KH, KW, C, CO]
//   op 2 input grad:    a = dy, b = filter → out = dx [N, H, W, C]
napi_value Conv2d(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a, 20)) return nullptr;
  Heap h;
  int64_t op, aOff, bOff, outOff, biasOff, relu;
  Geom g;
  if (!GetHeap(&a, 0, &h) || !GetInt(&a, 1, 0, 2, "op", &op) || !GetInt(&a, 2, 0, INT64_MAX >> 2, "aOff", &aOff) ||
      !GetInt(&a, 3, 0, INT64_MAX >> 2, "bOff", &bOff) || !GetInt(&a, 4, 0, INT64_MAX >> 2, "outOff", &outOff) ||
      !GetInt(&a, 5, -1, INT64_MAX >> 2, "biasOff", &biasOff) || !GetInt(&a, 6, 1, kMaxDim, "N", &g.N) ||
      !GetInt(&a, 7, 1, kMaxDim, "H", &g.H) || !GetInt(&a, 8, 1, kMaxDim, "W", &g.W) || !GetInt(&a, 9, 1, kMaxDim, "C", &g.C) ||
      !GetInt(&a, 10, 1, kMaxDim, "KH", &g.KH) || !GetInt(&a, 11, 1, kMaxDim, "KW", &g.KW) ||
      !GetInt(&a, 12, 1, kMaxDim, "CO", &g.CO) || !GetInt(&a, 13, 1, kMaxDim, "strideH", &g.sh) ||
      !GetInt(&a, 14, 1, kMaxDim, "strideW", &g.sw) || !GetInt(&a, 15, 0, kMaxDim, "padTop", &g.pt) ||
      !GetInt(&a, 16, 0, kMaxDim, "padLeft", &g.pl) || !GetInt(&a, 17, 1, kMaxDim, "OH", &g.OH) ||
      !GetInt(&a, 18, 1, kMaxDim, "OW", &g.OW) || !GetInt(&a, 19, 0, 1, "relu", &relu)) {
    return nullptr;
  }
  int64_t xN, wN, yN, K, P;
  if (!Product({g.N, g.H, g.W, g.C}, &xN) || !Product({g.KH, g.KW, g.C, g.CO}, &wN) || !Product({g.N, g.OH, g.OW, g.CO}, &yN) ||
      !Product({g.KH, g.KW, g.C}, &K) || !Product({g.N, g.OH, g.OW}, &P) || K >= kMaxDim || P >= kMaxDim) {
    ThrowOperand(env, "convolution sizes overflow");
    return nullptr;
  }
  const char* names[3][3] = {{"x", "filter", "y"}, {"x", "dy", "dW"}, {"dy", "filter", "dx"}};
  const int64_t ext[3][3] = {{xN, wN, yN}, {xN, yN, wN}, {yN, wN, xN}};
  Range ra, rb, ro, rbias;
  if (!CheckOperand(env, h, names[op][0], aOff, ext[op][0], &ra) || !CheckOperand(env, h, names[op][1], bOff, ext[op][1], &rb) ||
      !CheckOperand(env, h, names[op][2], outOff, ext[op][2], &ro))
    return nullptr;
  if (biasOff >= 0 && (op != 0 || !CheckOperand(env, h, "bias", biasOff, g.CO, &rbias))) {
    if (op != 0) ThrowOperand(env, "bias is only taken by the forward convolution");
    return nullptr;
  }
  if (!Disjoint(env, ro, ra, names[op][2], names[op][0]) || !Disjoint(env, ro, rb, names[op][2], names[op][1]) ||
      (biasOff >= 0 && !Disjoint(env, ro, rbias, names[op][2], "bias")))
    return nullptr;
  const float* A = F(h, aOff);
  const float* B = F(h, bOff);
  float* O = F(h, outOff);
  const float* bias = biasOff >= 0 ? F(h, biasOff) : nullptr;
  if (op == 2 && g.sh == 1 && g.sw == 1 && g.pt <= g.KH - 1 && g.pl <= g.KW - 1) {
    // Stride 1: dx is the forward convolution of dy (padded by KH−1−pt, KW−1−pl) with the filter
    // flipped in space and transposed in channels, wf[kh, kw, co, c] = w[KH−1−kh, KW−1−kw, c, co].
    // Its GEMMs have the long KH·KW·CO inner dimension instead of CO, and no scatter is needed.
    float* wf = Scratch2(wN);
    if (wf == nullptr) {
      napi_throw_error(env, "ACCELAB_NATIVE_MEMORY", "out of memory for the flipped filter");
      return nullptr;
    }
    for (int64_t kh = 0; kh < g.KH; kh++) {
      for (int64_t kw = 0; kw < g.KW; kw++) {
        const float* src = B + ((g.KH - 1 - kh) * g.KW + (g.KW - 1 - kw)) * g.C * g.CO;
        float* dst = wf + (kh * g.KW + kw) * g.CO * g.C;
        for (int64_t c = 0; c < g.C; c++) {
          for (int64_t o = 0; o < g.CO; o++) dst[o * g.C + c] = src[c * g.CO + o];
        }
      }
    }
    const Geom t{g.N, g.OH, g.OW, g.CO, g.KH, g.KW, g.C, 1, 1, g.KH - 1 - g.pt, g.KW - 1 - g.pl, g.H, g.W};
    if (!ForwardConv(t, A, wf, nullptr, false, O)) {
      napi_throw_error(env, "ACCELAB_NATIVE_MEMORY", "out of memory for the im2col block");
      return nullptr;
    }
    return nullptr;
  }
  if (op == 0) {
    if (!ForwardConv(g, A, B, bias, relu != 0, O)) {
      napi_throw_error(env, "ACCELAB_NATIVE_MEMORY", "out of memory for the im2col block");
    }
    return nullptr;
  }
  if (op == 1 && SmallConv(g, true)) {
    if (!SmallFilterGrad(g, A, B, O)) napi_throw_error(env, "ACCELAB_NATIVE_MEMORY", "out of memory for the im2col block");
    return nullptr;
  }
  const int CO = int(g.CO);
  const bool direct = g.Direct();
  const int64_t R = direct ? P : BlockRows(g);
  float* col = direct ? nullptr : Scratch(R * K);
  if (!direct && col == nullptr) {
    napi_throw_error(env, "ACCELAB_NATIVE_MEMORY", "out of memory for the im2col block");
    return nullptr;
  }
  if (op == 2) std::memset(O, 0, size_t(xN) * sizeof(float));
  for (int64_t p0 = 0; p0 < P; p0 += R) {
    const int64_t p1 = p0 + R < P ? p0 + R : P;
    const int rows = int(p1 - p0);
    if (op == 1) {
      const float* src = A + p0 * K;
      if (!direct) {
        Im2col(g, A, p0, p1, col);
        src = col;
      }
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(K), CO, rows, 1.f, src, int(K), B + p0 * g.CO, CO, p0 == 0 ? 0.f : 1.f, O,
                  CO);
    } else {
      const float* dy = A + p0 * g.CO;
      if (direct) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, int(K), CO, 1.f, dy, CO, B, CO, 0.f, O + p0 * K, int(K));
      } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, int(K), CO, 1.f, dy, CO, B, CO, 0.f, col, int(K));
        Col2imAdd(g, col, p0, p1, O);
      }
    }
  }
  return nullptr;
}

// One operand of a kernel: byte offset and extent in floats; outputs must not overlap anything.
struct Operand {
  const char* name;
  int64_t off;
  int64_t floats;
  bool output;
  Range r;
};

bool CheckAll(napi_env env, const Heap& h, Operand* ops, int n) {
  for (int i = 0; i < n; i++) {
    if (!CheckOperand(env, h, ops[i].name, ops[i].off, ops[i].floats, &ops[i].r)) return false;
  }
  for (int i = 0; i < n; i++) {
    if (!ops[i].output) continue;
    for (int j = 0; j < n; j++) {
      if (j != i && !Disjoint(env, ops[i].r, ops[j].r, ops[i].name, ops[j].name)) return false;
    }
  }
  return true;
}

// bnForward(heap, xOff, gammaOff, betaOff, yOff, meanOff, varOff, M, C, eps)
// x viewed as [M, C]: batch mean and biased variance per channel (float64 accumulation, one pass), and
// y = (x − mean)·gamma/√(var + eps) + beta.
napi_value BnForward(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a, 10)) return nullptr;
  Heap h;
  int64_t xo, go, bo, yo, mo, vo, M, C;
  double eps;
  if (!GetHeap(&a, 0, &h) || !GetInt(&a, 1, 0, INT64_MAX >> 2, "xOff", &xo) || !GetInt(&a, 2, 0, INT64_MAX >> 2, "gammaOff", &go) ||
      !GetInt(&a, 3, 0, INT64_MAX >> 2, "betaOff", &bo) || !GetInt(&a, 4, 0, INT64_MAX >> 2, "yOff", &yo) ||
      !GetInt(&a, 5, 0, INT64_MAX >> 2, "meanOff", &mo) || !GetInt(&a, 6, 0, INT64_MAX >> 2, "varianceOff", &vo) ||
      !GetInt(&a, 7, 1, kMaxDim, "M", &M) || !GetInt(&a, 8, 1, kMaxDim, "C", &C))
    return nullptr;
  if (napi_get_value_double(env, a.argv[9], &eps) != napi_ok || !std::isfinite(eps)) {
    ThrowOperand(env, "argument 'epsilon' must be a finite number");
    return nullptr;
  }
  int64_t MC;
  if (!Product({M, C}, &MC)) {
    ThrowOperand(env, "batch-norm sizes overflow");
    return nullptr;
  }
  Operand ops[] = {{"x", xo, MC, false, {}},    {"gamma", go, C, false, {}}, {"beta", bo, C, false, {}},
                   {"y", yo, MC, true, {}},     {"mean", mo, C, true, {}},   {"variance", vo, C, true, {}}};
  if (!CheckAll(env, h, ops, 6)) return nullptr;
  const float* x = F(h, xo);
  const float* gamma = F(h, go);
  const float* beta = F(h, bo);
  float* y = F(h, yo);
  double* s = static_cast<double*>(std::calloc(size_t(4 * C), sizeof(double)));
  if (s == nullptr) {
    napi_throw_error(env, "ACCELAB_NATIVE_MEMORY", "out of memory");
    return nullptr;
  }
  double* q = s + C;
  double* scale = q + C;
  double* shift = scale + C;
  // One pass: sums of d and d² with d = x − x[0, c] (a per-channel shift keeps the float64
  // difference of the two moments well conditioned).
  double* k = static_cast<double*>(std::calloc(size_t(C), sizeof(double)));
  if (k == nullptr) {
    std::free(s);
    napi_throw_error(env, "ACCELAB_NATIVE_MEMORY", "out of memory");
    return nullptr;
  }
  for (int64_t c = 0; c < C; c++) k[c] = x[c];
  for (int64_t i = 0; i < M; i++) {
    const float* row = x + i * C;
    for (int64_t c = 0; c < C; c++) {
      const double d = double(row[c]) - k[c];
      s[c] += d;
      q[c] += d * d;
    }
  }
  for (int64_t c = 0; c < C; c++) {
    const double m = s[c] / double(M);
    const double v = q[c] / double(M) - m * m;
    s[c] = k[c] + m;
    q[c] = v > 0 ? v : 0;
  }
  std::free(k);
  float* mean = F(h, mo);
  float* var = F(h, vo);
  for (int64_t c = 0; c < C; c++) {
    scale[c] = gamma[c] / std::sqrt(q[c] + eps);
    shift[c] = beta[c] - s[c] * scale[c];
    mean[c] = float(s[c]);
    var[c] = float(q[c]);
  }
  for (int64_t i = 0; i < M; i++) {
    const float* row = x + i * C;
    float* out = y + i * C;
    for (int64_t c = 0; c < C; c++) out[c] = float(row[c] * scale[c] + shift[c]);
  }
  std::free(s);
  return nullptr;
}

// bnGrad(heap, xOff, dyOff, meanOff, varOff, gammaOff, dxOff, dgammaOff, dbetaOff, M, C, eps)
// dβ = Σdy, dγ = Σdy·x̂, dx = γ·inv/M·(M·dy − dβ − x̂·dγ) with x̂ = (x − μ)·inv, inv = 1/√(σ² + ε).
napi_value BnGrad(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a, 12)) return nullptr;
  Heap h;
  int64_t xo, dyo, mo, vo, go, dxo, dgo, dbo, M, C;
  double eps;
  if (!GetHeap(&a, 0, &h) || !GetInt(&a, 1, 0, INT64_MAX >> 2, "xOff", &xo) || !GetInt(&a, 2, 0, INT64_MAX >> 2, "dyOff", &dyo) ||
      !GetInt(&a, 3, 0, INT64_MAX >> 2, "meanOff", &mo) || !GetInt(&a, 4, 0, INT64_MAX >> 2, "varianceOff", &vo) ||
      !GetInt(&a, 5, 0, INT64_MAX >> 2, "gammaOff", &go) || !GetInt(&a, 6, 0, INT64_MAX >> 2, "dxOff", &dxo) ||
      !GetInt(&a, 7, 0, INT64_MAX >> 2, "dgammaOff", &dgo) || !GetInt(&a, 8, 0, INT64_MAX >> 2, "dbetaOff", &dbo) ||
      !GetInt(&a, 9, 1, kMaxDim, "M", &M) || !GetInt(&a, 10, 1, kMaxDim, "C", &C))
    return nullptr;
  if (napi_get_value_double(env, a.argv[11], &eps) != napi_ok || !std::isfinite(eps)) {
    ThrowOperand(env, "argument 'epsilon' must be a finite number");
    return nullptr;
  }
  int64_t MC;
  if (!Product({M, C}, &MC)) {
    ThrowOperand(env, "batch-norm sizes overflow");
    return nullptr;
  }
  Operand ops[] = {{"x", xo, MC, false, {}},   {"dy", dyo, MC, false, {}},  {"mean", mo, C, false, {}},
                   {"variance", vo, C, false, {}}, {"gamma", go, C, false, {}}, {"dx", dxo, MC, true, {}},
                   {"dgamma", dgo, C, true, {}},   {"dbeta", dbo, C, true, {}}};
  if (!CheckAll(env, h, ops, 8)) return nullptr;
  const float* x = F(h, xo);
  const float* dy = F(h, dyo);
  const float* mean = F(h, mo);
  const float* var = F(h, vo);
  const float* gamma = F(h, go);
  float* dx = F(h, dxo);
  double* db = static_cast<double*>(std::calloc(size_t(5 * C), sizeof(double)));
  if (db == nullptr) {
    napi_throw_error(env, "ACCELAB_NATIVE_MEMORY", "out of memory");
    return nullptr;
  }
  double* dg = db + C;
  double* ca = dg + C;
  double* cb = ca + C;
  double* ce = cb + C;
  for (int64_t i = 0; i < M; i++) {
    const float* xr = x + i * C;
    const float* gr = dy + i * C;
    for (int64_t c = 0; c < C; c++) {
      db[c] += gr[c];
      dg[c] += gr[c] * (double(xr[c]) - mean[c]);
    }
  }
  float* dgOut = F(h, dgo);
  float* dbOut = F(h, dbo);
  for (int64_t c = 0; c < C; c++) {
    const double inv = 1 / std::sqrt(double(var[c]) + eps);
    dg[c] *= inv;
    const double k = gamma[c] * inv / double(M);
    ca[c] = k * double(M);
    cb[c] = k * db[c];
    ce[c] = k * dg[c] * inv;
    dgOut[c] = float(dg[c]);
    dbOut[c] = float(db[c]);
  }
  for (int64_t i = 0; i < M; i++) {
    const float* xr = x + i * C;
    const float* gr = dy + i * C;
    float* out = dx + i * C;
    for (int64_t c = 0; c < C; c++) out[c] = float(ca[c] * gr[c] - cb[c] - (double(xr[c]) - mean[c]) * ce[c]);
  }
  std::free(db);
  return nullptr;
}

// sumRows(heap, xOff, outOff, M, C): out[c] = Σ_m x[m, c] (float64 accumulation).
napi_value SumRows(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a, 5)) return nullptr;
  Heap h;
  int64_t xo, oo, M, C;
  if (!GetHeap(&a, 0, &h) || !GetInt(&a, 1, 0, INT64_MAX >> 2, "xOff", &xo) || !GetInt(&a, 2, 0, INT64_MAX >> 2, "outOff", &oo) ||
      !GetInt(&a, 3, 1, kMaxDim, "M", &M) || !GetInt(&a, 4, 1, kMaxDim, "C", &C))
    return nullptr;
  int64_t MC;
  if (!Product({M, C}, &MC)) {
    ThrowOperand(env, "sum sizes overflow");
    return nullptr;
  }
  Operand ops[] = {{"x", xo, MC, false, {}}, {"out", oo, C, true, {}}};
  if (!CheckAll(env, h, ops, 2)) return nullptr;
  const float* x = F(h, xo);
  double* acc = static_cast<double*>(std::calloc(size_t(C), sizeof(double)));
  if (acc == nullptr) {
    napi_throw_error(env, "ACCELAB_NATIVE_MEMORY", "out of memory");
    return nullptr;
  }
  for (int64_t i = 0; i < M; i++) {
    const float* row = x + i * C;
    for (int64_t c = 0; c < C; c++) acc[c] += row[c];
  }
  float* out = F(h, oo);
  for (int64_t c = 0; c < C; c++) out[c] = float(acc[c]);
  std::free(acc);
  return nullptr;
}

// reluGrad(heap, dyOff, xOff, dxOff, n): dx = dy·step(x), step(x) = 1 for x > 0, NaN for NaN, else 0
// (the tfjs gradient of Relu, dy·cast(step(x)), in one pass).
napi_value ReluGrad(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a, 5)) return nullptr;
  Heap h;
  int64_t dyo, xo, dxo, n;
  if (!GetHeap(&a, 0, &h) || !GetInt(&a, 1, 0, INT64_MAX >> 2, "dyOff", &dyo) || !GetInt(&a, 2, 0, INT64_MAX >> 2, "xOff", &xo) ||
      !GetInt(&a, 3, 0, INT64_MAX >> 2, "dxOff", &dxo) || !GetInt(&a, 4, 1, INT64_MAX >> 3, "n", &n))
    return nullptr;
  Operand ops[] = {{"dy", dyo, n, false, {}}, {"x", xo, n, false, {}}, {"dx", dxo, n, true, {}}};
  if (!CheckAll(env, h, ops, 3)) return nullptr;
  const float* dy = F(h, dyo);
  const float* x = F(h, xo);
  float* dx = F(h, dxo);
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i];
    const float step = v > 0.f ? 1.f : (v != v ? v : 0.f);
    dx[i] = dy[i] * step;
  }
  return nullptr;
}

// reluBiasGrad(heap, dyOff, yOff, dzOff, dbOff, M, C): the gradient through relu(z + bias) from the
// layer's output y = relu(z + bias), [M, C]: dz = dy·step(y) (y > 0 exactly where z + bias > 0; NaN
// stays NaN as in reluGrad) and the bias gradient db[c] = Σ_m dz[m, c] (float64 accumulation), in
// one pass.
napi_value ReluBiasGrad(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a, 7)) return nullptr;
  Heap h;
  int64_t dyo, yo, dzo, dbo, M, C;
  if (!GetHeap(&a, 0, &h) || !GetInt(&a, 1, 0, INT64_MAX >> 2, "dyOff", &dyo) || !GetInt(&a, 2, 0, INT64_MAX >> 2, "yOff", &yo) ||
      !GetInt(&a, 3, 0, INT64_MAX >> 2, "dzOff", &dzo) || !GetInt(&a, 4, 0, INT64_MAX >> 2, "dbOff", &dbo) ||
      !GetInt(&a, 5, 1, kMaxDim, "M", &M) || !GetInt(&a, 6, 1, kMaxDim, "C", &C))
    return nullptr;
  int64_t MC;
  if (!Product({M, C}, &MC)) {
    ThrowOperand(env, "relu-bias gradient sizes overflow");
    return nullptr;
  }
  Operand ops[] = {{"dy", dyo, MC, false, {}}, {"y", yo, MC, false, {}}, {"dz", dzo, MC, true, {}}, {"db", dbo, C, true, {}}};
  if (!CheckAll(env, h, ops, 4)) return nullptr;
  const float* dy = F(h, dyo);
  const float* y = F(h, yo);
  float* dz = F(h, dzo);
  double* acc = static_cast<double*>(std::calloc(size_t(C), sizeof(double)));
  if (acc == nullptr) {
    napi_throw_error(env, "ACCELAB_NATIVE_MEMORY", "out of memory");
    return nullptr;
  }
  for (int64_t i = 0; i < M; i++) {
    const float* gr = dy + i * C;
    const float* yr = y + i * C;
    float* out = dz + i * C;
    for (int64_t c = 0; c < C; c++) {
      const float v = yr[c];
      const float step = v > 0.f ? 1.f : (v != v ? v : 0.f);
      const float d = gr[c] * step;
      out[c] = d;
      acc[c] += d;
    }
  }
  float* db = F(h, dbo);
  for (int64_t c = 0; c < C; c++) db[c] = float(acc[c]);
  std::free(acc);
  return nullptr;
}

// setSmallConvK(k): the largest reduction KH·KW·C the direct small-K convolution kernels take (0:
// never; they need AVX2 + FMA and CO a multiple of 8). Process-wide; returns the previous value.
napi_value SetSmallConvK(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a, 1)) return nullptr;
  int64_t k;
  if (!GetInt(&a, 0, 0, 4096, "k", &k)) return nullptr;
  napi_value prev;
  napi_create_int64(env, small_k_limit.exchange(k), &prev);
  return prev;
}

// addRows(heap, aOff, bOff, outOff, M, C): out[m, c] = a[m, c] + b[c] (M = 1: same-shape add).
napi_value AddRows(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a, 6)) return nullptr;
  Heap h;
  int64_t ao, bo, oo, M, C;
  if (!GetHeap(&a, 0, &h) || !GetInt(&a, 1, 0, INT64_MAX >> 2, "aOff", &ao) || !GetInt(&a, 2, 0, INT64_MAX >> 2, "bOff", &bo) ||
      !GetInt(&a, 3, 0, INT64_MAX >> 2, "outOff", &oo) || !GetInt(&a, 4, 1, INT64_MAX >> 3, "M", &M) ||
      !GetInt(&a, 5, 1, INT64_MAX >> 3, "C", &C))
    return nullptr;
  int64_t MC;
  if (!Product({M, C}, &MC)) {
    ThrowOperand(env, "add sizes overflow");
    return nullptr;
  }
  Operand ops[] = {{"a", ao, MC, false, {}}, {"b", bo, C, false, {}}, {"out", oo, MC, true, {}}};
  if (!CheckAll(env, h, ops, 3)) return nullptr;
  const float* x = F(h, ao);
  const float* b = F(h, bo);
  float* out = F(h, oo);
  for (int64_t i = 0; i < M; i++) {
    const float* xr = x + i * C;
    float* o = out + i * C;
    for (int64_t c = 0; c < C; c++) o[c] = xr[c] + b[c];
  }
  return nullptr;
}

// relu(heap, xOff, yOff, n): y = max(x, 0), NaN kept (as tfjs).
napi_value Relu(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a, 4)) return nullptr;
  Heap h;
  int64_t xo, yo, n;
  if (!GetHeap(&a, 0, &h) || !GetInt(&a, 1, 0, INT64_MAX >> 2, "xOff", &xo) || !GetInt(&a, 2, 0, INT64_MAX >> 2, "yOff", &yo) ||
      !GetInt(&a, 3, 1, INT64_MAX >> 3, "n", &n))
    return nullptr;
  Operand ops[] = {{"x", xo, n, false, {}}, {"y", yo, n, true, {}}};
  if (!CheckAll(env, h, ops, 2)) return nullptr;
  const float* x = F(h, xo);
  float* y = F(h, yo);
  for (int64_t i = 0; i < n; i++) y[i] = x[i] < 0.f ? 0.f : x[i];
  return nullptr;
}

// One 2×2 window position mask step of MaxPoolGrad for 1 channel (scalar twin of the SSE2 path).
inline void MaxPool2x2Scalar(float a0, float a1, float a2, float a3, float g, float* d0, float* d1, float* d2, float* d3) {
  float m = -INFINITY;
  m = a0 > m ? a0 : m;
  m = a1 > m ? a1 : m;
  m = a2 > m ? a2 : m;
  m = a3 > m ? a3 : m;
  const bool ok = m > -INFINITY;
  const bool e0 = ok && a0 == m;
  const bool e1 = ok && !e0 && a1 == m;
  const bool e2 = ok && !e0 && !e1 && a2 == m;
  const bool e3 = ok && !e0 && !e1 && !e2 && a3 == m;
  *d0 = e0 ? g : 0.f;
  *d1 = e1 ? g : 0.f;
  *d2 = e2 ? g : 0.f;
  *d3 = e3 ? g : 0.f;
}

#if defined(__SSE2__)
// The SSE2 twin of MaxPool2x2Scalar's selection: e_k is all ones in the lanes where window position k
// is the first (row-major) to hold the maximum by a running strict '>' from −∞. _mm_max_ps(a, m) is
// (a > m ? a : m), so NaN never replaces the running maximum; a window of only −∞/NaN selects nothing.
inline void MaxPool2x2Select(__m128 a0, __m128 a1, __m128 a2, __m128 a3, __m128* e0, __m128* e1, __m128* e2, __m128* e3) {
  const __m128 ninf = _mm_set1_ps(-INFINITY);
  __m128 m = _mm_max_ps(a0, ninf);
  m = _mm_max_ps(a1, m);
  m = _mm_max_ps(a2, m);
  m = _mm_max_ps(a3, m);
  const __m128 ok = _mm_cmpgt_ps(m, ninf);
  *e0 = _mm_and_ps(_mm_cmpeq_ps(a0, m), ok);
  __m128 taken = *e0;
  *e1 = _mm_andnot_ps(taken, _mm_and_ps(_mm_cmpeq_ps(a1, m), ok));
  taken = _mm_or_ps(taken, *e1);
  *e2 = _mm_andnot_ps(taken, _mm_and_ps(_mm_cmpeq_ps(a2, m), ok));
  taken = _mm_or_ps(taken, *e2);
  *e3 = _mm_andnot_ps(taken, _mm_and_ps(_mm_cmpeq_ps(a3, m), ok));
}
#endif

// maxPoolGrad2x2(heap, xOff, dyOff, dxOff, N, H, W, C, OH, OW): MaxPoolGrad of 2×2 windows, stride 2,
// no padding (2·OH ≤ H, 2·OW ≤ W). The gradient goes to the first position (row-major) holding the
// window's maximum, the maximum taken by a running strict '>' from −∞ as on the tfjs cpu backend
// (NaN never wins; a window of only −∞/NaN passes nothing). Branch-free over the channels.
napi_value MaxPoolGrad2x2(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a, 10)) return nullptr;
  Heap h;
  int64_t xo, dyo, dxo, N, H, W, C, OH, OW;
  if (!GetHeap(&a, 0, &h) || !GetInt(&a, 1, 0, INT64_MAX >> 2, "xOff", &xo) || !GetInt(&a, 2, 0, INT64_MAX >> 2, "dyOff", &dyo) ||
      !GetInt(&a, 3, 0, INT64_MAX >> 2, "dxOff", &dxo) || !GetInt(&a, 4, 1, kMaxDim, "N", &N) || !GetInt(&a, 5, 2, kMaxDim, "H", &H) ||
      !GetInt(&a, 6, 2, kMaxDim, "W", &W) || !GetInt(&a, 7, 1, kMaxDim, "C", &C) || !GetInt(&a, 8, 1, H / 2, "OH", &OH) ||
      !GetInt(&a, 9, 1, W / 2, "OW", &OW))
    return nullptr;
  int64_t xN, yN;
  if (!Product({N, H, W, C}, &xN) || !Product({N, OH, OW, C}, &yN)) {
    ThrowOperand(env, "pooling sizes overflow");
    return nullptr;
  }
  Operand ops[] = {{"x", xo, xN, false, {}}, {"dy", dyo, yN, false, {}}, {"dx", dxo, xN, true, {}}};
  if (!CheckAll(env, h, ops, 3)) return nullptr;
  const float* x = F(h, xo);
  const float* dy = F(h, dyo);
  float* dx = F(h, dxo);
  // A trailing odd row/column lies in no window.
  if (2 * OH < H || 2 * OW < W) std::memset(dx, 0, size_t(xN) * sizeof(float));
  for (int64_t b = 0; b < N; b++) {
    for (int64_t oh = 0; oh < OH; oh++) {
      for (int64_t ow = 0; ow < OW; ow++) {
        const int64_t i00 = ((b * H + 2 * oh) * W + 2 * ow) * C;
        const int64_t i01 = i00 + C;
        const int64_t i10 = i00 + W * C;
        const int64_t i11 = i10 + C;
        const float* g = dy + ((b * OH + oh) * OW + ow) * C;
        int64_t c = 0;
#if defined(__SSE2__)
        for (; c + 4 <= C; c += 4) {
          const __m128 a0 = _mm_loadu_ps(x + i00 + c);
          const __m128 a1 = _mm_loadu_ps(x + i01 + c);
          const __m128 a2 = _mm_loadu_ps(x + i10 + c);
          const __m128 a3 = _mm_loadu_ps(x + i11 + c);
          __m128 e0, e1, e2, e3;
          MaxPool2x2Select(a0, a1, a2, a3, &e0, &e1, &e2, &e3);
          const __m128 gv = _mm_loadu_ps(g + c);
          _mm_storeu_ps(dx + i00 + c, _mm_and_ps(e0, gv));
          _mm_storeu_ps(dx + i01 + c, _mm_and_ps(e1, gv));
          _mm_storeu_ps(dx + i10 + c, _mm_and_ps(e2, gv));
          _mm_storeu_ps(dx + i11 + c, _mm_and_ps(e3, gv));
        }
#endif
        for (; c < C; c++) {
          MaxPool2x2Scalar(x[i00 + c], x[i01 + c], x[i10 + c], x[i11 + c], g[c], dx + i00 + c, dx + i01 + c, dx + i10 + c, dx + i11 + c);
        }
      }
    }
  }
  return nullptr;
}

// maxPool2x2(heap, xOff, yOff, N, H, W, C, OH, OW): 2×2 max pool, stride 2, no padding (2·OH ≤ H,
// 2·OW ≤ W): the maximum by a running strict '>' from −∞ as on the tfjs cpu backend (NaN never wins;
// a window of only NaN gives −∞).
napi_value MaxPool2x2(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a, 9)) return nullptr;
  Heap h;
  int64_t xo, yo, N, H, W, C, OH, OW;
  if (!GetHeap(&a, 0, &h) || !GetInt(&a, 1, 0, INT64_MAX >> 2, "xOff", &xo) || !GetInt(&a, 2, 0, INT64_MAX >> 2, "yOff", &yo) ||
      !GetInt(&a, 3, 1, kMaxDim, "N", &N) || !GetInt(&a, 4, 2, kMaxDim, "H", &H) || !GetInt(&a, 5, 2, kMaxDim, "W", &W) ||
      !GetInt(&a, 6, 1, kMaxDim, "C", &C) || !GetInt(&a, 7, 1, H / 2, "OH", &OH) || !GetInt(&a, 8, 1, W / 2, "OW", &OW))
    return nullptr;
  int64_t xN, yN;
  if (!Product({N, H, W, C}, &xN) || !Product({N, OH, OW, C}, &yN)) {
    ThrowOperand(env, "pooling sizes overflow");
    return nullptr;
  }
  Operand ops[] = {{"x", xo, xN, false, {}}, {"y", yo, yN, true, {}}};
  if (!CheckAll(env, h, ops, 2)) return nullptr;
  const float* x = F(h, xo);
  float* y = F(h, yo);
  for (int64_t b = 0; b < N; b++) {
    for (int64_t oh = 0; oh < OH; oh++) {
      for (int64_t ow = 0; ow < OW; ow++) {
        const float* p00 = x + ((b * H + 2 * oh) * W + 2 * ow) * C;
        const float* p01 = p00 + C;
        const float* p10 = p00 + W * C;
        const float* p11 = p10 + C;
        float* out = y + ((b * OH + oh) * OW + ow) * C;
        int64_t c = 0;
#if defined(__SSE2__)
        const __m128 ninf = _mm_set1_ps(-INFINITY);
        for (; c + 4 <= C; c += 4) {
          // _mm_max_ps(a, m) is (a > m ? a : m): NaN never replaces the running maximum.
          __m128 m = _mm_max_ps(_mm_loadu_ps(p00 + c), ninf);
          m = _mm_max_ps(_mm_loadu_ps(p01 + c), m);
          m = _mm_max_ps(_mm_loadu_ps(p10 + c), m);
          m = _mm_max_ps(_mm_loadu_ps(p11 + c), m);
          _mm_storeu_ps(out + c, m);
        }
#endif
        for (; c < C; c++) {
          float m = -INFINITY;
          for (const float v : {p00[c], p01[c], p10[c], p11[c]}) m = v > m ? v : m;
          out[c] = m;
        }
      }
    }
  }
  return nullptr;
}

// maxPoolReluBiasGrad2x2(heap, yOff, dyOff, dzOff, dbOff, N, H, W, C, OH, OW): the gradient through
// relu(z + bias) followed by a 2×2, stride-2, unpadded max pool, from the relu output y (the pool's
// input): dz = maxPoolGrad(dy, y)·step(y), exactly as MaxPoolGrad2x2 then reluBiasGrad compute it
// (the routing to the first maximum, then the product with step(y): 1 for y > 0, NaN for NaN, else
// 0), and db[c] = Σ dz[·, c] (float64), in one pass that never writes the pool gradient.
napi_value MaxPoolReluBiasGrad2x2(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a, 11)) return nullptr;
  Heap h;
  int64_t yo, dyo, dzo, dbo, N, H, W, C, OH, OW;
  if (!GetHeap(&a, 0, &h) || !GetInt(&a, 1, 0, INT64_MAX >> 2, "yOff", &yo) || !GetInt(&a, 2, 0, INT64_MAX >> 2, "dyOff", &dyo) ||
      !GetInt(&a, 3, 0, INT64_MAX >> 2, "dzOff", &dzo) || !GetInt(&a, 4, 0, INT64_MAX >> 2, "dbOff", &dbo) ||
      !GetInt(&a, 5, 1, kMaxDim, "N", &N) || !GetInt(&a, 6, 2, kMaxDim, "H", &H) || !GetInt(&a, 7, 2, kMaxDim, "W", &W) ||
      !GetInt(&a, 8, 1, kMaxDim, "C", &C) || !GetInt(&a, 9, 1, H / 2, "OH", &OH) || !GetInt(&a, 10, 1, W / 2, "OW", &OW))
    return nullptr;
  int64_t xN, yN;
  if (!Product({N, H, W, C}, &xN) || !Product({N, OH, OW, C}, &yN)) {
    ThrowOperand(env, "pooling sizes overflow");
    return nullptr;
  }
  Operand ops[] = {{"y", yo, xN, false, {}}, {"dy", dyo, yN, false, {}}, {"dz", dzo, xN, true, {}}, {"db", dbo, C, true, {}}};
  if (!CheckAll(env, h, ops, 4)) return nullptr;
  const float* x = F(h, yo);
  const float* dy = F(h, dyo);
  float* dz = F(h, dzo);
  double* acc = static_cast<double*>(std::calloc(size_t(C), sizeof(double)));
  if (acc == nullptr) {
    napi_throw_error(env, "ACCELAB_NATIVE_MEMORY", "out of memory");
    return nullptr;
  }
  auto step = [](float v) { return v > 0.f ? 1.f : (v != v ? v : 0.f); };
  for (int64_t b = 0; b < N; b++) {
    for (int64_t ih = 0; ih < H; ih++) {
      const int64_t oh = ih >> 1;
      const bool rowInWindow = oh < OH;
      // Rows are handled in pairs (the top row of a window does both); a trailing row on its own.
      if (rowInWindow && (ih & 1)) continue;
      if (!rowInWindow) {
        const float* xr = x + (b * H + ih) * W * C;
        float* dr = dz + (b * H + ih) * W * C;
        for (int64_t i = 0; i < W * C; i++) {
          dr[i] = 0.f * step(xr[i]);
          acc[i % C] += dr[i];
        }
        continue;
      }
      for (int64_t iw = 0; iw < W; iw++) {
        const int64_t ow = iw >> 1;
        if (ow < OW && (iw & 1)) continue;
        const int64_t i00 = ((b * H + ih) * W + iw) * C;
        if (ow >= OW) {
          // A trailing column: in no window.
          for (int64_t rr = 0; rr < 2; rr++) {
            const int64_t i = i00 + rr * W * C;
            for (int64_t c = 0; c < C; c++) {
              dz[i + c] = 0.f * step(x[i + c]);
              acc[c] += dz[i + c];
            }
          }
          continue;
        }
        const int64_t i01 = i00 + C;
        const int64_t i10 = i00 + W * C;
        const int64_t i11 = i10 + C;
        const float* g = dy + ((b * OH + oh) * OW + ow) * C;
        int64_t c = 0;
#if defined(__SSE2__)
        const __m128 zero = _mm_setzero_ps();
        const __m128 one = _mm_set1_ps(1.f);
        // step(v) = 1 for v > 0, v itself (NaN) for NaN, else 0.
        auto stepv = [&](__m128 v) {
          const __m128 pos = _mm_and_ps(_mm_cmpgt_ps(v, zero), one);
          const __m128 nan = _mm_and_ps(_mm_cmpunord_ps(v, v), v);
          return _mm_or_ps(pos, nan);
        };
        for (; c + 4 <= C; c += 4) {
          const __m128 a0 = _mm_loadu_ps(x + i00 + c);
          const __m128 a1 = _mm_loadu_ps(x + i01 + c);
          const __m128 a2 = _mm_loadu_ps(x + i10 + c);
          const __m128 a3 = _mm_loadu_ps(x + i11 + c);
          __m128 e0, e1, e2, e3;
          MaxPool2x2Select(a0, a1, a2, a3, &e0, &e1, &e2, &e3);
          const __m128 gv = _mm_loadu_ps(g + c);
          const __m128 d0 = _mm_mul_ps(_mm_and_ps(e0, gv), stepv(a0));
          const __m128 d1 = _mm_mul_ps(_mm_and_ps(e1, gv), stepv(a1));
          const __m128 d2 = _mm_mul_ps(_mm_and_ps(e2, gv), stepv(a2));
          const __m128 d3 = _mm_mul_ps(_mm_and_ps(e3, gv), stepv(a3));
          _mm_storeu_ps(dz + i00 + c, d0);
          _mm_storeu_ps(dz + i01 + c, d1);
          _mm_storeu_ps(dz + i10 + c, d2);
          _mm_storeu_ps(dz + i11 + c, d3);
          __m128d s0 = _mm_add_pd(_mm_cvtps_pd(d0), _mm_cvtps_pd(d1));
          __m128d s1 = _mm_add_pd(_mm_cvtps_pd(_mm_movehl_ps(d0, d0)), _mm_cvtps_pd(_mm_movehl_ps(d1, d1)));
          s0 = _mm_add_pd(s0, _mm_add_pd(_mm_cvtps_pd(d2), _mm_cvtps_pd(d3)));
          s1 = _mm_add_pd(s1, _mm_add_pd(_mm_cvtps_pd(_mm_movehl_ps(d2, d2)), _mm_cvtps_pd(_mm_movehl_ps(d3, d3))));
          _mm_storeu_pd(acc + c, _mm_add_pd(_mm_loadu_pd(acc + c), s0));
          _mm_storeu_pd(acc + c + 2, _mm_add_pd(_mm_loadu_pd(acc + c + 2), s1));
        }
#endif
        for (; c < C; c++) {
          float d0, d1, d2, d3;
          MaxPool2x2Scalar(x[i00 + c], x[i01 + c], x[i10 + c], x[i11 + c], g[c], &d0, &d1, &d2, &d3);
          d0 *= step(x[i00 + c]);
          d1 *= step(x[i01 + c]);
          d2 *= step(x[i10 + c]);
          d3 *= step(x[i11 + c]);
          dz[i00 + c] = d0;
          dz[i01 + c] = d1;
          dz[i10 + c] = d2;
          dz[i11 + c] = d3;
          acc[c] += (double(d0) + double(d1)) + (double(d2) + double(d3));
        }
      }
    }
  }
  float* db = F(h, dbo);
  for (int64_t c = 0; c < C; c++) db[c] = float(acc[c]);
  std::free(acc);
  return nullptr;
}

bool GetFloat(Args* a, size_t i, const char* name, float* out) {
  double d;
  if (napi_get_value_double(a->env, a->argv[i], &d) != napi_ok || !std::isfinite(d)) {
    ThrowOperand(a->env, std::string("argument '") + name + "' must be a finite number");
    return false;
  }
  *out = float(d);
  return true;
}

// sgdUpdate(heap, xOff, gOff, outOff, n, c): out = c·g + x in float32, the two roundings of tfjs's
// SGD update add(mul(c, g), x) with c = −learning rate (bit-identical to it).
napi_value SgdUpdate(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a, 6)) return nullptr;
  Heap h;
  int64_t xo, go, oo, n;
  float c;
  if (!GetHeap(&a, 0, &h) || !GetInt(&a, 1, 0, INT64_MAX >> 2, "xOff", &xo) || !GetInt(&a, 2, 0, INT64_MAX >> 2, "gOff", &go) ||
      !GetInt(&a, 3, 0, INT64_MAX >> 2, "outOff", &oo) || !GetInt(&a, 4, 1, INT64_MAX >> 3, "n", &n) || !GetFloat(&a, 5, "c", &c))
    return nullptr;
  Operand ops[] = {{"x", xo, n, false, {}}, {"g", go, n, false, {}}, {"out", oo, n, true, {}}};
  if (!CheckAll(env, h, ops, 3)) return nullptr;
  const float* x = F(h, xo);
  const float* g = F(h, go);
  float* out = F(h, oo);
  for (int64_t i = 0; i < n; i++) {
    const float t = c * g[i];
    out[i] = t + x[i];
  }
  return nullptr;
}

// adamUpdate(heap, xOff, gOff, mOff, vOff, s1Off, s2Off, xNewOff, mNewOff, vNewOff, n, beta1, c1, beta2, c2, eps, negLr)
// tfjs's Adam update in one pass, operation by operation in float32 (bit-identical to it):
//   m' = m·β1 + g·c1, v' = v·β2 + (g·g)·c2 (c1 = 1 − β1, c2 = 1 − β2 as float32),
//   x' = (((m' / s1) / (√(v' / s2) + ε))·(−lr)) + x, with s1 = 1 − β1ᵗ, s2 = 1 − β2ᵗ (float32 scalars on the heap).
napi_value AdamUpdate(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a, 17)) return nullptr;
  Heap h;
  int64_t xo, go, mo, vo, s1o, s2o, xno, mno, vno, n;
  float b1, c1, b2, c2, eps, negLr;
  if (!GetHeap(&a, 0, &h) || !GetInt(&a, 1, 0, INT64_MAX >> 2, "xOff", &xo) || !GetInt(&a, 2, 0, INT64_MAX >> 2, "gOff", &go) ||
      !GetInt(&a, 3, 0, INT64_MAX >> 2, "mOff", &mo) || !GetInt(&a, 4, 0, INT64_MAX >> 2, "vOff", &vo) ||
      !GetInt(&a, 5, 0, INT64_MAX >> 2, "s1Off", &s1o) || !GetInt(&a, 6, 0, INT64_MAX >> 2, "s2Off", &s2o) ||
      !GetInt(&a, 7, 0, INT64_MAX >> 2, "xNewOff", &xno) || !GetInt(&a, 8, 0, INT64_MAX >> 2, "mNewOff", &mno) ||
      !GetInt(&a, 9, 0, INT64_MAX >> 2, "vNewOff", &vno) || !GetInt(&a, 10, 1, INT64_MAX >> 3, "n", &n) || !GetFloat(&a, 11, "beta1", &b1) ||
      !GetFloat(&a, 12, "c1", &c1) || !GetFloat(&a, 13, "beta2", &b2) || !GetFloat(&a, 14, "c2", &c2) || !GetFloat(&a, 15, "epsilon", &eps) ||
      !GetFloat(&a, 16, "negLr", &negLr))
    return nullptr;
  Operand ops[] = {{"x", xo, n, false, {}},     {"g", go, n, false, {}},     {"m", mo, n, false, {}},
                   {"v", vo, n, false, {}},     {"s1", s1o, 1, false, {}},   {"s2", s2o, 1, false, {}},
                   {"xNew", xno, n, true, {}}, {"mNew", mno, n, true, {}}, {"vNew", vno, n, true, {}}};
  if (!CheckAll(env, h, ops, 9)) return nullptr;
  const float* x = F(h, xo);
  const float* g = F(h, go);
  const float* m = F(h, mo);
  const float* v = F(h, vo);
  const float s1 = *F(h, s1o);
  const float s2 = *F(h, s2o);
  float* xn = F(h, xno);
  float* mn = F(h, mno);
  float* vn = F(h, vno);
  for (int64_t i = 0; i < n; i++) {
    const float gi = g[i];
    const float mi = m[i] * b1 + gi * c1;
    const float gg = gi * gi;
    const float vi = v[i] * b2 + gg * c2;
    mn[i] = mi;
    vn[i] = vi;
    const float mh = mi / s1;
    const float vh = vi / s2;
    const float den = std::sqrt(vh) + eps;
    const float step = (mh / den) * negLr;
    xn[i] = step + x[i];
  }
  return nullptr;
}

void SetString(napi_env env, napi_value obj, const char* key, const char* value) {
  napi_value v;
  napi_create_string_utf8(env, value ? value : "", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, key, v);
}

// info() → { library, coreType, config, threads }
napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj;
  napi_create_object(env, &obj);
  Dl_info dl;
  const char* lib = nullptr;
  if (dladdr(reinterpret_cast<void*>(&cblas_sgemm), &dl) != 0) lib = dl.dli_fname;
  SetString(env, obj, "library", lib ? lib : "unknown");
  SetString(env, obj, "coreType", openblas_get_corename());
  SetString(env, obj, "config", openblas_get_config());
  napi_value threads;
  napi_create_int32(env, openblas_get_num_threads(), &threads);
  napi_set_named_property(env, obj, "threads", threads);
  napi_value simd;
  napi_get_boolean(env, HasAvx2Fma(), &simd);
  napi_set_named_property(env, obj, "avx2Fma", simd);
  return obj;
}

}  // namespace

NAPI_MODULE_INIT() {
  openblas_set_num_threads(1);
  const struct {
    const char* name;
    napi_callback fn;
  } fns[] = {{"gemm", Gemm},           {"conv2d", Conv2d},   {"bnForward", BnForward}, {"bnGrad", BnGrad},
             {"sumRows", SumRows}, {"reluGrad", ReluGrad},   {"addRows", AddRows}, {"relu", Relu}, {"maxPoolGrad2x2", MaxPoolGrad2x2},
             {"reluBiasGrad", ReluBiasGrad}, {"maxPoolReluBiasGrad2x2", MaxPoolReluBiasGrad2x2},
             {"maxPool2x2", MaxPool2x2}, {"setSmallConvK", SetSmallConvK},
             {"sgdUpdate", SgdUpdate}, {"adamUpdate", AdamUpdate},
             {"info", Info}};
  for (const auto& f : fns) {
    napi_value v;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &v);
    napi_set_named_property(env, exports, f.name, v);
  }
  return exports;
}
