// The GEMM dispatch of ops/blas.hpp. <cblas.h> and <dnnl.hpp> are included here only.
#include "ops/blas.hpp"

#include <cblas.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <unordered_map>

#include "autograd/threads.hpp"

#ifdef UNROLL_HAVE_ONEDNN
#include <omp.h>

#include <dnnl.hpp>
#endif

namespace unroll::ops::blas {

namespace {

thread_local const char* t_last = "openblas";

// What the product adds: nothing, a bias row [N] broadcast over the rows (oneDNN's bias
// argument), or a full [M, N] tensor (a binary-add post-op).
enum Addend : std::uint8_t { kNone = 0, kRow = 1, kFull = 2 };

void openblas_gemm(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, float alpha,
                   const float* A, std::size_t lda, const float* B, std::size_t ldb, float beta,
                   float* C, std::size_t ldc) {
  t_last = "openblas";
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(M), static_cast<blasint>(N), static_cast<blasint>(K), alpha, A,
              static_cast<blasint>(lda), B, static_cast<blasint>(ldb), beta, C,
              static_cast<blasint>(ldc));
}

#ifdef UNROLL_HAVE_ONEDNN
// Where oneDNN's matmul (brgemm kernels, no per-call packing of a whole operand) beat
// OpenBLAS: products of at least 2^20 multiply-adds, except, on AMD CPUs, tall untransposed
// ones with a short inner dimension (a linear over a whole sequence, 2048 x 1024 x 64: OpenBLAS
// won on an AMD EPYC, oneDNN 1.33x faster on an Intel Xeon, tall_products_on_openblas()).
// The choice never depends on the thread count, so results are the same bit for bit on any
// number of threads (tests/reliability). Per-time-step recurrent products (32 x 1024 x 256)
// run about 1.2x faster, their weight gradients (transposed A, K = batch) about 1.08x.
constexpr std::size_t kOneDnnMinWork = std::size_t{1} << 20;

bool onednn_fits(bool ta, std::size_t M, std::size_t N, std::size_t K, float alpha, float beta) {
  if (alpha != 1.0f || (beta != 0.0f && beta != 1.0f)) return false;
  // With OpenBLAS on a fallback kernel, oneDNN (which knows the CPU) measured faster on every
  // shape of the benchmark workload: 3x at H = 64, 1.3x at H = 512 (benchmarks/README.md).
  if (openblas_kernel_outdated()) return true;
  return M * N * K >= kOneDnnMinWork &&
         (K >= 128 || M <= 256 || ta || !tall_products_on_openblas());
}

struct Key {
  bool ta, tb, accumulate, packed_b;  // packed_b: B in the layout oneDNN picks
  std::uint8_t addend;                // an Addend

  std::size_t M, N, K, lda, ldb, ldc;
  bool operator==(const Key&) const = default;
};
struct KeyHash {
  std::size_t operator()(const Key& k) const {
    std::size_t h = k.ta | k.tb << 1 | k.accumulate << 2 | k.packed_b << 3 | k.addend << 4;
    for (std::size_t v : {k.M, k.N, k.K, k.lda, k.ldb, k.ldc}) h = h * 1000003u ^ v;
    return h;
  }
};

struct Primitive {
  dnnl::matmul matmul;
  dnnl::memory::desc a, b, c, addend;
  // Memory objects and the argument map, made with the primitive and pointed at each call's
  // buffers: making them per call cost a malloc and free per object (plus the map's
  // nodes) on every GEMM of every time step.
  dnnl::memory am, bm, cm, dm;
  std::unordered_map<int, dnnl::memory> args;
};

// A fixed B reordered into a primitive's weights layout, valid while its stamp holds.
struct PackedOperand {
  std::uint64_t epoch = 0, generation = 0;
  const float* source = nullptr;
  dnnl::memory memory;
};
struct PackedKey {
  const void* owner;
  bool tb;
  std::size_t K, N, ldb;
  bool operator==(const PackedKey&) const = default;
};
struct PackedKeyHash {
  std::size_t operator()(const PackedKey& k) const {
    std::size_t h = std::hash<const void*>()(k.owner) ^ k.tb;
    for (std::size_t v : {k.K, k.N, k.ldb}) h = h * 1000003u ^ v;
    return h;
  }
};

struct OneDnn {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  // Primitives are created (and JIT-compiled) once per shape; a model uses a handful.
  std::unordered_map<Key, Primitive, KeyHash> primitives;
  std::unordered_map<Key, bool, KeyHash> unsupported;
  // Reordered weights, one per (weight, orientation): a recurrent layer reuses its W_hh T
  // times per pass in each direction.
  std::unordered_map<PackedKey, PackedOperand, PackedKeyHash> packed;
};

OneDnn& onednn() {
  thread_local OneDnn state;
  return state;
}

// B as the primitive wants it: the caller's buffer, or (packed) its reordered copy.
dnnl::memory weights_for(OneDnn& s, const Key& k, Primitive& p, const float* B,
                         const FixedOperand& fixed) {
  using dnnl::memory;
  if (!k.packed_b) {
    p.bm.set_data_handle(const_cast<float*>(B));
    return p.bm;
  }
  if (s.packed.size() >= 64) s.packed.clear();  // bound the cache (stale owners)
  PackedOperand& e = s.packed[PackedKey{fixed.owner, k.tb, k.K, k.N, k.ldb}];
  const bool layout_ok = e.memory && e.memory.get_desc() == p.b;
  if (!layout_ok || e.epoch != fixed.epoch || e.generation != fixed.generation || e.source != B) {
    if (!layout_ok) e.memory = memory(p.b, s.engine);
    const auto d = [](std::size_t v) { return static_cast<memory::dim>(v); };
    const memory::desc plain({d(k.K), d(k.N)}, memory::data_type::f32,
                             k.tb ? memory::dims{1, d(k.ldb)} : memory::dims{d(k.ldb), 1});
    memory src(plain, s.engine, const_cast<float*>(B));
    dnnl::reorder(src, e.memory).execute(s.stream, src, e.memory);
    e.epoch = fixed.epoch;
    e.generation = fixed.generation;
    e.source = B;
  }
  return e.memory;
}

// False when oneDNN cannot run this product (the caller falls back to OpenBLAS).
bool onednn_gemm(const Key& k, const float* A, const float* B, float* C, const FixedOperand& fixed,
                 const float* addend = nullptr) {
  using dnnl::memory;
  OneDnn& s = onednn();
  if (s.unsupported.count(k)) return false;
  auto it = s.primitives.find(k);
  if (it == s.primitives.end()) {
    if (s.primitives.size() >= 256) s.primitives.clear();  // bound the cache
    const auto d = [](std::size_t v) { return static_cast<memory::dim>(v); };
    try {
      const memory::desc a({d(k.M), d(k.K)}, memory::data_type::f32,
                           k.ta ? memory::dims{1, d(k.lda)} : memory::dims{d(k.lda), 1});
      const memory::desc b =
          k.packed_b
              ? memory::desc({d(k.K), d(k.N)}, memory::data_type::f32, memory::format_tag::any)
              : memory::desc({d(k.K), d(k.N)}, memory::data_type::f32,
                             k.tb ? memory::dims{1, d(k.ldb)} : memory::dims{d(k.ldb), 1});
      const memory::desc c({d(k.M), d(k.N)}, memory::data_type::f32, memory::dims{d(k.ldc), 1});
      dnnl::primitive_attr attr;
      if (k.accumulate) {  // C += A B: a sum post-op
        dnnl::post_ops ops;
        ops.append_sum(1.0f);
        attr.set_post_ops(ops);
      }
      // The addend: a row [1, N] is the matmul's bias argument. A full [M, N] one is a
      // binary-add post-op: oneDNN 2.6's fast (brgemm) kernels take a bias row only, and
      // given a full-shape bias it fell back to its reference loops, 40x slower.
      memory::desc addend;
      if (k.addend == kRow)
        addend = memory::desc({1, d(k.N)}, memory::data_type::f32, memory::format_tag::ab);
      if (k.addend == kFull) {
        addend = memory::desc({d(k.M), d(k.N)}, memory::data_type::f32, memory::format_tag::ab);
        dnnl::post_ops ops;
        ops.append_binary(dnnl::algorithm::binary_add, addend);
        attr.set_post_ops(ops);
      }
      const dnnl::matmul::primitive_desc pd(
          k.addend == kRow ? dnnl::matmul::desc(a, b, addend, c) : dnnl::matmul::desc(a, b, c),
          attr, s.engine);
      Primitive made{dnnl::matmul(pd), a, pd.weights_desc(), c, addend, {}, {}, {}, {}, {}};
      // Made without buffers (DNNL_MEMORY_NONE): every call points them at its own below.
      made.am = memory(made.a, s.engine, DNNL_MEMORY_NONE);
      made.cm = memory(made.c, s.engine, DNNL_MEMORY_NONE);
      if (!k.packed_b) made.bm = memory(made.b, s.engine, DNNL_MEMORY_NONE);
      made.args = {{DNNL_ARG_SRC, made.am}, {DNNL_ARG_DST, made.cm}};
      if (k.addend) {
        made.dm = memory(made.addend, s.engine, DNNL_MEMORY_NONE);
        made.args[k.addend == kFull ? DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1
                                    : DNNL_ARG_BIAS] = made.dm;
      }
      it = s.primitives.emplace(k, std::move(made)).first;
    } catch (const dnnl::error&) {
      s.unsupported[k] = true;
      return false;
    }
  }
  // oneDNN threads through OpenMP, whose thread count is per calling thread.
  if (omp_get_max_threads() != num_threads()) omp_set_num_threads(num_threads());
  Primitive& p = it->second;
  p.am.set_data_handle(const_cast<float*>(A));
  p.cm.set_data_handle(C);
  if (k.addend) p.dm.set_data_handle(const_cast<float*>(addend));
  // A packed B is the cache's own memory object, which a reorder may have replaced.
  p.args[DNNL_ARG_WEIGHTS] = weights_for(s, k, p, B, fixed);
  p.matmul.execute(s.stream, p.args);
  t_last = "onednn";
  return true;
}
#endif

}  // namespace

const char* openblas_core() {
  const char* name = openblas_get_corename();  // a static string inside OpenBLAS
  return name ? name : "unknown";
}

bool tall_products_on_openblas() {
  static const bool amd = __builtin_cpu_is("amd");
  return amd;
}

bool openblas_kernel_outdated() {
  // OpenBLAS built with DYNAMIC_ARCH picks a kernel by CPU model and takes models newer than
  // itself for the oldest x86-64 it knows: 0.3.21 (Debian 12) runs SSE3 "Prescott" code on
  // an Emerald Rapids Xeon with AVX-512. OPENBLAS_CORETYPE=SkylakeX in the environment
  // (read when OpenBLAS loads) picks the right one, and this turns false.
  static const bool outdated = [] {
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return false;
    static const char* const pre_avx2[] = {"Katmai",        "Coppermine", "Northwood", "Prescott",
                                           "Banias",        "Atom",       "Core2",     "Penryn",
                                           "Dunnington",    "Nehalem",    "Athlon",    "Opteron",
                                           "Opteron(SSE3)", "Barcelona",  "Nano",      "Bobcat",
                                           "Sandybridge",   "Bulldozer",  "Piledriver"};
    const char* core = openblas_core();
    return std::any_of(std::begin(pre_avx2), std::end(pre_avx2),
                       [&](const char* n) { return std::strcmp(core, n) == 0; });
  }();
  return outdated;
}

void gemm(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, float alpha,
          const float* A, std::size_t lda, const float* B, std::size_t ldb, float beta, float* C,
          std::size_t ldc) {
  if (M == 0 || N == 0) return;
#ifdef UNROLL_HAVE_ONEDNN
  if (K > 0 && onednn_fits(ta, M, N, K, alpha, beta) &&
      onednn_gemm(Key{ta, tb, beta != 0.0f, false, kNone, M, N, K, lda, ldb, ldc}, A, B, C, {}))
    return;
#endif
  openblas_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, const float* A,
          const float* B, float beta, float* C) {
  gemm(ta, tb, M, N, K, 1.0f, A, ta ? M : K, B, tb ? K : N, beta, C, N);
}

void gemm(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, const float* A,
          const float* B, float beta, float* C, const FixedOperand& fixed_b) {
  if (M == 0 || N == 0) return;
#ifdef UNROLL_HAVE_ONEDNN
  const std::size_t lda = ta ? M : K, ldb = tb ? K : N;
  if (fixed_b.owner && K > 0 && onednn_fits(ta, M, N, K, 1.0f, beta) &&
      onednn_gemm(Key{ta, tb, beta != 0.0f, true, kNone, M, N, K, lda, ldb, N}, A, B, C, fixed_b))
    return;
#endif
  gemm(ta, tb, M, N, K, A, B, beta, C);
}

namespace {
// op(A) op(B) + the addend (a row [N] or a full [M, N], by `kind`), dense, B fixed as said:
// oneDNN adds it inside its kernel; OpenBLAS gets it copied into C and beta = 1.
void gemm_plus(Addend kind, bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K,
               const float* A, const float* B, const float* addend, float* C,
               const FixedOperand& fixed_b) {
  if (M == 0 || N == 0) return;
#ifdef UNROLL_HAVE_ONEDNN
  const std::size_t lda = ta ? M : K, ldb = tb ? K : N;
  if (K > 0 && onednn_fits(ta, M, N, K, 1.0f, 0.0f) &&
      onednn_gemm(Key{ta, tb, false, fixed_b.owner != nullptr, kind, M, N, K, lda, ldb, N}, A, B, C,
                  fixed_b, addend))
    return;
#endif
  if (kind == kNone) return gemm(ta, tb, M, N, K, A, B, 0.0f, C, fixed_b);
  if (kind == kFull)
    std::copy(addend, addend + M * N, C);
  else
    for (std::size_t r = 0; r < M; ++r) std::copy(addend, addend + N, C + r * N);
  gemm(ta, tb, M, N, K, A, B, 1.0f, C, fixed_b);
}
}  // namespace

void gemm_bias(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, const float* A,
               const float* B, const float* bias, float* C, const FixedOperand& fixed_b) {
  gemm_plus(bias ? kRow : kNone, ta, tb, M, N, K, A, B, bias, C, fixed_b);
}

void gemm_add(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, const float* A,
              const float* B, const float* D, float* C, const FixedOperand& fixed_b) {
  gemm_plus(kFull, ta, tb, M, N, K, A, B, D, C, fixed_b);
}

const char* last_backend() {
  return t_last;
}

}  // namespace unroll::ops::blas
