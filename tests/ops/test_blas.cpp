// The GEMM dispatch (ops/blas.hpp) against a plain double-precision triple loop, on shapes
// that go to each back end, with transposes, accumulation and padded row strides.
#include <cstring>
#include <tuple>

#include "autograd/threads.hpp"
#include "helpers.hpp"
#include "ops/blas.hpp"

using namespace unroll;

namespace {
// C[M,N] = alpha op(A) op(B) + beta C, every product summed in double.
void reference(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, float alpha,
               const std::vector<float>& A, std::size_t lda, const std::vector<float>& B,
               std::size_t ldb, float beta, std::vector<float>& C, std::size_t ldc) {
  for (std::size_t i = 0; i < M; ++i)
    for (std::size_t j = 0; j < N; ++j) {
      double s = 0;
      for (std::size_t k = 0; k < K; ++k)
        s += static_cast<double>(ta ? A[k * lda + i] : A[i * lda + k]) *
             (tb ? B[j * ldb + k] : B[k * ldb + j]);
      C[i * ldc + j] = static_cast<float>(alpha * s + beta * C[i * ldc + j]);
    }
}

// The back end a product should reach: oneDNN when built with it and either OpenBLAS runs an
// outdated kernel (every shape) or the shape is one measured faster there (`onednn_shape`);
// otherwise OpenBLAS.
const char* expected_backend(bool onednn_shape) {
#ifdef UNROLL_HAVE_ONEDNN
  if (ops::blas::openblas_kernel_outdated() || onednn_shape) return "onednn";
#else
  (void)onednn_shape;
#endif
  return "openblas";
}

std::vector<float> filled(std::size_t n, unsigned seed) {
  const Tensor t = test::randn({n}, seed);
  return std::vector<float>(t.begin(), t.end());
}

// The largest |a[i] - b[i]| of two equally long results.
double worst_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, static_cast<double>(std::abs(a[i] - b[i])));
  return worst;
}
}  // namespace

TEST_CASE("gemm matches a double-precision loop on every back end", "[blas]") {
  // {M, N, K}: a recurrent step (32 x 1024 x 256: oneDNN when built with it), a tall
  // product with a short inner dimension (OpenBLAS on AMD CPUs) and a small one (OpenBLAS).
  const auto [M, N, K] = GENERATE(std::tuple<std::size_t, std::size_t, std::size_t>{32, 1024, 256},
                                  std::tuple<std::size_t, std::size_t, std::size_t>{1024, 64, 64},
                                  std::tuple<std::size_t, std::size_t, std::size_t>{5, 7, 3});
  const bool ta = GENERATE(false, true);
  const bool tb = GENERATE(false, true);
  const float beta = GENERATE(0.0f, 1.0f);
  const std::size_t pad = GENERATE(0, 3);  // padded rows: strides larger than the widths
  const std::size_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
  const std::vector<float> A = filled((ta ? K : M) * lda, 1), B = filled((tb ? N : K) * ldb, 2);
  std::vector<float> C = filled(M * ldc, 3), expected = C;
  // beta = 0 must ignore what C held, NaN included.
  if (beta == 0.0f) C[0] = std::numeric_limits<float>::quiet_NaN();
  reference(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, expected, ldc);
  ops::blas::gemm(ta, tb, M, N, K, 1.0f, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
  INFO("M=" << M << " N=" << N << " K=" << K << " ta=" << ta << " tb=" << tb << " beta=" << beta
            << " pad=" << pad << " back end " << ops::blas::last_backend());
  double worst = 0;
  for (std::size_t i = 0; i < M; ++i)
    for (std::size_t j = 0; j < N; ++j)
      worst =
          std::max(worst, static_cast<double>(std::abs(C[i * ldc + j] - expected[i * ldc + j])));
  CHECK(worst < 1e-4 * std::sqrt(static_cast<double>(K)));
  // The padding between rows is never written.
  for (std::size_t i = 0; i < M && pad; ++i)
    for (std::size_t j = N; j < ldc; ++j) CHECK(C[i * ldc + j] == expected[i * ldc + j]);
  CHECK(std::strcmp(ops::blas::last_backend(),
                    expected_backend(M * N * K >= (1u << 20) &&
                                     (K >= 128 || M <= 256 || ta ||
                                      !ops::blas::tall_products_on_openblas()))) == 0);
}

TEST_CASE("gemm with alpha != 1 scales the product", "[blas]") {
  // alpha 0.5 on the recurrent-step shape: 2 (0.5 A B) == A B from the same call with alpha 1.
  const std::size_t M = 32, N = 1024, K = 256;
  const std::vector<float> A = filled(M * K, 4), B = filled(K * N, 5);
  std::vector<float> half(M * N), full(M * N);
  ops::blas::gemm(false, false, M, N, K, 0.5f, A.data(), K, B.data(), N, 0.0f, half.data(), N);
  ops::blas::gemm(false, false, M, N, K, A.data(), B.data(), 0.0f, full.data());
  double worst = 0;
  for (std::size_t i = 0; i < M * N; ++i)
    worst = std::max(worst, static_cast<double>(std::abs(2.0f * half[i] - full[i])));
  CHECK(worst < 1e-4);
}

TEST_CASE("gemm_bias adds a bias row, gemm_add a full [M, N] tensor, on every back end", "[blas]") {
  // x W^T + b (a row) and x W^T + D (full) at a recurrent-step shape (oneDNN: the bias
  // argument, a binary-add post-op) and a small one (OpenBLAS after copying the addend into
  // C); with W promised fixed or not. D differs in every element, so a D broadcast from one
  // row (the gemm_bias layout) would fail.
  const auto [M, N, K] = GENERATE(std::tuple<std::size_t, std::size_t, std::size_t>{32, 1024, 256},
                                  std::tuple<std::size_t, std::size_t, std::size_t>{5, 7, 3});
  const bool fixed = GENERATE(false, true);
  const bool full = GENERATE(false, true);
  // One A and B for both kinds: W promised fixed must be the same W under the same stamp.
  const std::vector<float> A = filled(M * K, 6), B = filled(N * K, 7);
  const std::vector<float> addend = filled(full ? M * N : N, full ? 14 : 8);
  std::vector<float> C(M * N, std::numeric_limits<float>::quiet_NaN()), expected(M * N);
  for (std::size_t i = 0; i < M; ++i)
    for (std::size_t j = 0; j < N; ++j) expected[i * N + j] = addend[full ? i * N + j : j];
  reference(false, true, M, N, K, 1.0f, A, K, B, K, 1.0f, expected, N);
  const int owner = 0;
  const ops::blas::FixedOperand fb =
      fixed ? ops::blas::FixedOperand{&owner, 1, 1} : ops::blas::FixedOperand{};
  if (full)
    ops::blas::gemm_add(false, true, M, N, K, A.data(), B.data(), addend.data(), C.data(), fb);
  else
    ops::blas::gemm_bias(false, true, M, N, K, A.data(), B.data(), addend.data(), C.data(), fb);
  INFO("M=" << M << " fixed=" << fixed << " full=" << full << " back end "
            << ops::blas::last_backend());
  CHECK(worst_diff(C, expected) < 1e-4 * std::sqrt(static_cast<double>(K)));
}

TEST_CASE("a tall product gives the same bits on 1 and 2 threads", "[blas][threads]") {
  // 1000 x 128 x 64: on AMD CPUs K < 128 keeps it on OpenBLAS, which stays on one thread when
  // oneDNN is built in; elsewhere (or when OpenBLAS's kernel is outdated) oneDNN runs it on
  // both threads, and the same bits are asked of oneDNN. Cutting such a product into row
  // blocks per thread (tried for 2-thread speed) changed the last bits, which this test
  // caught; the thread count must not.
  const std::size_t M = 1000, N = 128, K = 64, pad = 3;
  const bool tb = GENERATE(false, true);
  const float beta = GENERATE(0.0f, 1.0f);
  const std::size_t lda = K + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
  const std::vector<float> A = filled(M * lda, 9), B = filled((tb ? N : K) * ldb, 10);
  const std::vector<float> C0 = filled(M * ldc, 11);
  std::vector<float> expected = C0;
  reference(false, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, expected, ldc);
  const int saved = num_threads();
  std::vector<std::vector<float>> got;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    std::vector<float> C = C0;
    ops::blas::gemm(false, tb, M, N, K, 1.0f, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
    CHECK(std::strcmp(ops::blas::last_backend(),
                      expected_backend(!ops::blas::tall_products_on_openblas())) == 0);
    got.push_back(std::move(C));
  }
  set_num_threads(saved);
  INFO("tb=" << tb << " beta=" << beta);
  std::size_t first = M * ldc;
  for (std::size_t i = 0; i < M * ldc && first == M * ldc; ++i)
    if (got[0][i] != got[1][i]) first = i;
  INFO("first diff at row " << first / ldc << " col " << first % ldc);
  CHECK(got[0] == got[1]);  // padding included: neither wrote between rows
  double worst = 0;
  for (std::size_t i = 0; i < M; ++i)
    for (std::size_t j = 0; j < N; ++j)
      worst = std::max(worst,
                       static_cast<double>(std::abs(got[1][i * ldc + j] - expected[i * ldc + j])));
  CHECK(worst < 1e-4 * std::sqrt(static_cast<double>(K)));
  for (std::size_t i = 0; i < M; ++i)
    for (std::size_t j = N; j < ldc; ++j) CHECK(got[1][i * ldc + j] == C0[i * ldc + j]);
}

TEST_CASE("one shape called on two live sets of buffers writes each its own result", "[blas]") {
  // A back end that keeps per-shape state (oneDNN's memory objects) must point it at each
  // call's buffers: interleaved calls of one key on distinct, simultaneously live A, B, bias
  // and C each match their own double-precision product, and the first set stays untouched
  // by the second call.
  const std::size_t M = 32, N = 1024, K = 256;
  const std::vector<float> A1 = filled(M * K, 21), B1 = filled(N * K, 22), b1 = filled(N, 23);
  const std::vector<float> A2 = filled(M * K, 24), B2 = filled(N * K, 25), b2 = filled(N, 26);
  std::vector<float> C1(M * N), C2(M * N), e1(M * N), e2(M * N);
  for (std::size_t i = 0; i < M * N; ++i) e1[i] = b1[i % N], e2[i] = b2[i % N];
  reference(false, true, M, N, K, 1.0f, A1, K, B1, K, 1.0f, e1, N);
  reference(false, true, M, N, K, 1.0f, A2, K, B2, K, 1.0f, e2, N);
  for (int round = 0; round < 2; ++round) {
    ops::blas::gemm_bias(false, true, M, N, K, A1.data(), B1.data(), b1.data(), C1.data(), {});
    ops::blas::gemm_bias(false, true, M, N, K, A2.data(), B2.data(), b2.data(), C2.data(), {});
    INFO("round " << round << " back end " << ops::blas::last_backend());
    CHECK(worst_diff(C1, e1) < 1e-4 * std::sqrt(static_cast<double>(K)));
    CHECK(worst_diff(C2, e2) < 1e-4 * std::sqrt(static_cast<double>(K)));
  }
}
