#pragma once
// Internal: the one place ops reach a GEMM. Row-major, float32. Each call goes to OpenBLAS
// or, when the project is built with oneDNN and the shape is one where oneDNN's matmul was
// measured faster (benchmarks/README.md), to oneDNN. Callers see one function.

#include <cstddef>
#include <cstdint>

namespace unroll::ops::blas {

/// C[M, N] = alpha op(A) op(B) + beta C, with op(A) [M, K], op(B) [K, N] and the row strides
/// (leading dimensions) lda, ldb, ldc of A, B, C as stored.
void gemm(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, float alpha,
          const float* A, std::size_t lda, const float* B, std::size_t ldb, float beta, float* C,
          std::size_t ldc);

/// The same for dense operands (leading dimensions from the shapes) and alpha = 1.
void gemm(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, const float* A,
          const float* B, float beta, float* C);

/// An operand that cannot change while (epoch, generation) stay the same: a weight during one
/// recorded pass (see autograd::leaf_value_generation). The library may then keep it
/// reordered into its own blocked layout across calls instead of repacking it every call.
/// `owner` 0 means no such promise.
struct FixedOperand {
  const void* owner = nullptr;
  std::uint64_t epoch = 0, generation = 0;
};

/// The dense form, with B promised fixed as `fixed_b` says.
void gemm(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, const float* A,
          const float* B, float beta, float* C, const FixedOperand& fixed_b);

/// C[M, N] = op(A) op(B) + bias, the bias [N] (or nothing, when null) added to every row;
/// B promised fixed as `fixed_b` says. oneDNN adds the bias inside its kernel.
void gemm_bias(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K,
               const float* A, const float* B, const float* bias, float* C,
               const FixedOperand& fixed_b);

/// C[M, N] = op(A) op(B) + D, with D [M, N] dense and not overlapping C; B promised fixed as
/// `fixed_b` says. oneDNN adds D inside its kernel (a binary-add post-op): no copy of D into
/// C first, as beta = 1 on OpenBLAS needs.
void gemm_add(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K,
              const float* A, const float* B, const float* D, float* C,
              const FixedOperand& fixed_b);

/// The name of the kernel OpenBLAS chose for this CPU ("Haswell", "SkylakeX", "Prescott", ...).
const char* openblas_core();

/// True when OpenBLAS runs a kernel older than this CPU (a pre-AVX2 one on a CPU with AVX2 and
/// FMA: OpenBLAS 0.3.21 mistakes CPUs newer than itself for a Prescott). Built with oneDNN,
/// every GEMM then goes to oneDNN; otherwise the shapes measured faster there do.
bool openblas_kernel_outdated();

/// True on AMD CPUs: there tall untransposed products with a short inner dimension
/// (M > 256, K < 128, such as a linear over a whole sequence) stay on OpenBLAS, which measured
/// faster for them; elsewhere oneDNN was faster and runs them too (benchmarks/README.md).
bool tall_products_on_openblas();

/// Which library ran the last gemm on this thread: "openblas" or "onednn" (for tests).
const char* last_backend();

}  // namespace unroll::ops::blas
