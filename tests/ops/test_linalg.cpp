#include <functional>
#include <string>

#include <xtensor/xadapt.hpp>
#include <xtensor/xview.hpp>

#include "helpers.hpp"

using namespace unroll;
using unroll::test::randn;
using unroll::test::shaped;
using Vars = std::vector<Var>;

namespace {

// Naive triple loop, independent of BLAS: C[b] = op(A[b]) op(B[b or shared]).
Tensor naive_matmul(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  const bool batched = a.dimension() == 3;
  const std::size_t batch = batched ? a.shape()[0] : 1;
  const std::size_t ra = a.dimension(), rb = b.dimension();
  const std::size_t M = ta ? a.shape()[ra - 1] : a.shape()[ra - 2];
  const std::size_t K = ta ? a.shape()[ra - 2] : a.shape()[ra - 1];
  const std::size_t N = tb ? b.shape()[rb - 2] : b.shape()[rb - 1];
  Tensor c = xt::zeros<float>(batched ? Shape{batch, M, N} : Shape{M, N});
  const std::size_t sA = M * K, sB = rb == 3 ? K * N : 0;
  for (std::size_t z = 0; z < batch; ++z)
    for (std::size_t i = 0; i < M; ++i)
      for (std::size_t j = 0; j < N; ++j) {
        double s = 0;
        for (std::size_t k = 0; k < K; ++k) {
          const float av = a.data()[z * sA + (ta ? k * M + i : i * K + k)];
          const float bv = b.data()[z * sB + (tb ? j * K + k : k * N + j)];
          s += static_cast<double>(av) * bv;
        }
        c.data()[z * M * N + i * N + j] = static_cast<float>(s);
      }
  return c;
}

// Shape of an operand stored for op(X) = [rows, cols], with an optional batch axis.
Shape stored(std::size_t rows, std::size_t cols, bool transposed, std::size_t batch = 0) {
  Shape s = transposed ? Shape{cols, rows} : Shape{rows, cols};
  if (batch) s.insert(s.begin(), batch);
  return s;
}

// Products are linear in each operand, so central differences are exact at any step: a
// large step lifts the difference far above float32 rounding of the outputs.
const autograd::GradCheckOptions kLinearInEach{.eps = 0.1};

void expect_shape_error(const std::function<void()>& f, const std::vector<std::string>& needles) {
  try {
    f();
    FAIL("expected unroll::ShapeError");
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    INFO(msg);
    for (const auto& s : needles) CHECK(msg.find(s) != std::string::npos);
  }
}

}  // namespace

// ------------------------------------------------------------------ forward values

TEST_CASE("matmul: small hand-written products", "[linalg]") {
  Var a(Tensor{{1.0f, 2.0f}, {3.0f, 4.0f}});
  Var b(Tensor{{5.0f, 6.0f}, {7.0f, 8.0f}});
  CHECK(test::max_abs_diff(ops::matmul(a, b).value(), Tensor{{19, 22}, {43, 50}}) == 0);
  CHECK(test::max_abs_diff(ops::matmul(a, b, true).value(), Tensor{{26, 30}, {38, 44}}) == 0);
  CHECK(test::max_abs_diff(ops::matmul(a, b, false, true).value(), Tensor{{17, 23}, {39, 53}}) ==
        0);
  CHECK(test::max_abs_diff(ops::matmul(a, b, true, true).value(), Tensor{{23, 31}, {34, 46}}) == 0);
  // Non-square: [2, 3] x [3, 1] and [1, 3] x [3, 2].
  Var r(Tensor{{1.0f, 2.0f, 3.0f}, {-1.0f, 0.0f, 1.0f}});
  Var col(shaped({1.0f, 2.0f, 3.0f}, {3, 1}));
  CHECK(test::max_abs_diff(ops::matmul(r, col).value(), shaped({14, 2}, {2, 1})) == 0);
  Var row(Tensor{{1.0f, 1.0f, 2.0f}});
  CHECK(test::max_abs_diff(ops::matmul(row, r, false, true).value(), Tensor{{9, 1}}) == 0);
  // Batched: two 1x2 . 2x1 products.
  const Tensor a3 = shaped({1, 2, 3, 4}, {2, 1, 2});
  const Tensor b3 = shaped({5, 6, 7, 8}, {2, 2, 1});
  CHECK(test::max_abs_diff(ops::matmul(Var(a3), Var(b3)).value(), shaped({17, 53}, {2, 1, 1})) ==
        0);
}

TEST_CASE("matmul: every layout and flag combination matches a naive loop", "[linalg]") {
  const std::size_t B = 2, M = 3, K = 4, N = 5;
  for (int flags = 0; flags < 4; ++flags) {
    const bool ta = flags & 1, tb = flags & 2;
    INFO("transpose_a " << ta << " transpose_b " << tb);
    const Tensor a2 = randn(stored(M, K, ta), 61), b2 = randn(stored(K, N, tb), 62);
    const Tensor a3 = randn(stored(M, K, ta, B), 63), b3 = randn(stored(K, N, tb, B), 64);
    CHECK(test::max_abs_diff(ops::matmul(Var(a2), Var(b2), ta, tb).value(),
                             naive_matmul(a2, b2, ta, tb)) < 1e-5);
    CHECK(test::max_abs_diff(ops::matmul(Var(a3), Var(b3), ta, tb).value(),
                             naive_matmul(a3, b3, ta, tb)) < 1e-5);
    CHECK(test::max_abs_diff(ops::matmul(Var(a3), Var(b2), ta, tb).value(),
                             naive_matmul(a3, b2, ta, tb)) < 1e-5);
  }
}

TEST_CASE("linear: forward against a hand computation, with and without bias", "[linalg]") {
  Var W(Tensor{{1.0f, 0.0f, -1.0f}, {2.0f, 1.0f, 0.5f}});  // [out 2, in 3]
  Var b(Tensor{0.5f, -1.0f});
  Var x1(Tensor{1.0f, 2.0f, 3.0f});
  // W x = [1 - 3, 2 + 2 + 1.5] = [-2, 5.5]
  CHECK(test::max_abs_diff(ops::linear(x1, W).value(), Tensor{-2.0f, 5.5f}) == 0);
  CHECK(test::max_abs_diff(ops::linear(x1, W, b).value(), Tensor{-1.5f, 4.5f}) == 0);
  Var x2(Tensor{{1.0f, 2.0f, 3.0f}, {0.0f, 0.0f, 2.0f}});
  CHECK(test::max_abs_diff(ops::linear(x2, W, b).value(), Tensor{{-1.5f, 4.5f}, {-1.5f, 0.0f}}) ==
        0);
  // Rank 3: [2, 2, 3] -> [2, 2, 2], each row as above.
  Tensor t3 = xt::zeros<float>({2, 2, 3});
  t3(1, 0, 0) = 1.0f;  // row e0 -> W[:, 0] + b = [1.5, 1]
  t3(0, 1, 2) = 2.0f;  // row 2 e2 -> 2 W[:, 2] + b = [-1.5, 0]
  const Tensor y3 = ops::linear(Var(t3), W, b).value();
  REQUIRE(shape_of(y3) == Shape{2, 2, 2});
  CHECK(y3(0, 0, 0) == 0.5f);
  CHECK(y3(0, 0, 1) == -1.0f);
  CHECK(y3(1, 0, 0) == 1.5f);
  CHECK(y3(1, 0, 1) == 1.0f);
  CHECK(y3(0, 1, 0) == -1.5f);
  CHECK(y3(0, 1, 1) == 0.0f);
}

TEST_CASE("add_linear: c + x W^T against a hand computation, rank 1 and 2", "[linalg]") {
  Var W(Tensor{{1.0f, 0.0f, -1.0f}, {2.0f, 1.0f, 0.5f}});  // [out 2, in 3]
  // W [1, 2, 3] = [-2, 5.5]; W [0, 0, 2] = [-2, 1] (as in the linear test above).
  CHECK(test::max_abs_diff(
            ops::add_linear(Var(Tensor{10.0f, -0.5f}), Var(Tensor{1.0f, 2.0f, 3.0f}), W).value(),
            Tensor{8.0f, 5.0f}) == 0);
  Var x2(Tensor{{1.0f, 2.0f, 3.0f}, {0.0f, 0.0f, 2.0f}});
  Var c2(Tensor{{1.0f, 2.0f}, {3.0f, 4.0f}});
  CHECK(test::max_abs_diff(ops::add_linear(c2, x2, W).value(),
                           Tensor{{-1.0f, 7.5f}, {1.0f, 5.0f}}) == 0);
}

// ------------------------------------------------------------------ gradient checks

TEST_CASE("matmul: gradcheck 2-D, 3-D x 3-D, 3-D x 2-D with every transpose combination",
          "[linalg]") {
  const std::size_t B = 2, M = 3, K = 4, N = 5;
  for (int flags = 0; flags < 4; ++flags) {
    const bool ta = flags & 1, tb = flags & 2;
    INFO("transpose_a " << ta << " transpose_b " << tb);
    auto f = [ta, tb](const Vars& v) { return ops::matmul(v[0], v[1], ta, tb); };
    CHECK_GRADIENTS(f, {randn(stored(M, K, ta), 71), randn(stored(K, N, tb), 72)},
                    autograd::NamedVars{}, kLinearInEach);
    CHECK_GRADIENTS(f, {randn(stored(M, K, ta, B), 73), randn(stored(K, N, tb, B), 74)},
                    autograd::NamedVars{}, kLinearInEach);
    CHECK_GRADIENTS(f, {randn(stored(M, K, ta, B), 75), randn(stored(K, N, tb), 76)},
                    autograd::NamedVars{}, kLinearInEach);
  }
}

TEST_CASE("matmul: an operand used twice accumulates (x^T x)", "[linalg]") {
  auto f = [](const Vars& v) { return ops::matmul(v[0], v[0], true, false); };
  CHECK_GRADIENTS(f, {randn({4, 3}, 77)});
  auto g = [](const Vars& v) { return ops::matmul(ops::matmul(v[0], v[1]), v[1], false, true); };
  CHECK_GRADIENTS(g, {randn({2, 3, 4}, 78), randn({4, 5}, 79)});
}

TEST_CASE("linear: gradcheck for x of rank 1, 2, 3, with and without bias", "[linalg]") {
  const std::size_t in = 4, out = 3;
  for (const Shape& xs : {Shape{in}, Shape{5, in}, Shape{2, 3, in}}) {
    INFO("x " << shape_str(xs));
    auto with_bias = [](const Vars& v) { return ops::linear(v[0], v[1], v[2]); };
    auto no_bias = [](const Vars& v) { return ops::linear(v[0], v[1]); };
    CHECK_GRADIENTS(with_bias, {randn(xs, 81), randn({out, in}, 82), randn({out}, 83)},
                    autograd::NamedVars{}, kLinearInEach);
    CHECK_GRADIENTS(no_bias, {randn(xs, 84), randn({out, in}, 85)}, autograd::NamedVars{},
                    kLinearInEach);
  }
}

TEST_CASE("add_linear: gradcheck for x of rank 1, 2, 3, and c used twice", "[linalg]") {
  const std::size_t in = 4, out = 3;
  for (const Shape& xs : {Shape{in}, Shape{5, in}, Shape{2, 3, in}}) {
    INFO("x " << shape_str(xs));
    Shape cs = xs;
    cs.back() = out;
    auto f = [](const Vars& v) { return ops::add_linear(v[0], v[1], v[2]); };
    CHECK_GRADIENTS(f, {randn(cs, 86), randn(xs, 87), randn({out, in}, 88)}, autograd::NamedVars{},
                    kLinearInEach);
  }
  // c also read by a later op: its gradient is G plus that op's, not G handed over alone.
  auto twice = [](const Vars& v) { return ops::add_linear(v[0], v[1], v[2]) * v[0]; };
  CHECK_GRADIENTS(twice, {randn({5, out}, 89), randn({5, in}, 90), randn({out, in}, 91)});
}

TEST_CASE("linear: parameters accumulate over calls like a module's weight", "[linalg]") {
  Var W = Var::parameter(randn({3, 4}, 86));
  Var b = Var::parameter(randn({3}, 87));
  auto g = [&](const Vars& v) { return ops::linear(v[0], W, b) + ops::linear(v[1], W, b); };
  CHECK_GRADIENTS(g, {randn({2, 4}, 88), randn({2, 4}, 89)},
                  autograd::NamedVars{{"W", W}, {"b", b}}, kLinearInEach);
}

TEST_CASE("linear: a large weight used at many small steps gets sum_t G_t^T x_t", "[linalg]") {
  // W [600, 500] is beyond the size at which the tape batches the per-step weight-gradient
  // products into one GEMM at the end of the walk; one call with 300 rows is computed at
  // once. Loss = sum_t sum(linear(x_t, W) * C_t), so dW = sum_t C_t^T x_t (naive loops).
  const std::size_t out = 600, in = 500;
  Var W = Var::parameter(randn({out, in}, 90, 0.05f));
  const std::vector<std::size_t> rows = {2, 3, 300, 2, 1};
  std::vector<Tensor> xs, cs;
  for (std::size_t t = 0; t < rows.size(); ++t) {
    xs.push_back(randn({rows[t], in}, 100 + t));
    cs.push_back(randn({rows[t], out}, 200 + t));
  }
  Tensor want = xt::zeros<float>({out, in});
  for (std::size_t t = 0; t < rows.size(); ++t)
    for (std::size_t r = 0; r < rows[t]; ++r)
      for (std::size_t o = 0; o < out; ++o)
        for (std::size_t i = 0; i < in; ++i) want(o, i) += cs[t](r, o) * xs[t](r, i);
  for (int pass = 1; pass <= 2; ++pass) {  // a second backward accumulates onto the first
    autograd::Tape tape;
    autograd::TapeScope scope(tape);
    Var loss;
    for (std::size_t t = 0; t < rows.size(); ++t) {
      Var term = ops::sum(ops::linear(Var(xs[t]), W) * ops::constant(cs[t]));
      loss = t == 0 ? term : loss + term;
    }
    loss.backward();
    CHECK(test::max_abs_diff(W.grad(), want * static_cast<float>(pass)) < 1e-3);
  }
}

TEST_CASE("linear: a weight reused across steps of one pass, and changed in between", "[linalg]") {
  // Recurrent-step shapes (x [32, 256], W [1024, 256]): a GEMM library may keep W packed
  // while the tape records. Each call must still see W's current value: step 2 follows
  // W *= 2 through mutable_value() within the same tape epoch.
  autograd::Tape tape;
  autograd::TapeScope scope(tape);
  Var W = Var::parameter(randn({1024, 256}, 300, 0.05f));
  Var x(randn({32, 256}, 301), true);
  const Tensor w1 = W.value();
  Var y1 = ops::linear(x, W);
  Var y1b = ops::linear(x, W);  // the same weight again, unchanged
  W.mutable_value() *= 2.0f;
  Var y2 = ops::linear(x, W);
  const Tensor want1 = naive_matmul(x.value(), w1, false, true);
  CHECK(test::max_abs_diff(y1.value(), want1) < 1e-4);
  CHECK(test::max_abs_diff(y1b.value(), want1) < 1e-4);
  CHECK(test::max_abs_diff(y2.value(), Tensor(2.0f * want1)) < 2e-4);
  // d/dx sum(y2) = ones [32, 1024] . (2 W1): every row is twice the column sums of W1.
  ops::sum(y2).backward();
  const Tensor col = xt::sum(w1, {0});
  for (std::size_t r = 0; r < 32; ++r)
    CHECK(test::max_abs_diff(Tensor(xt::row(x.grad(), r)), Tensor(2.0f * col)) < 1e-3);
}

// ------------------------------------------------------------------ shape errors

TEST_CASE("matmul: shape errors name the op and both shapes", "[linalg]") {
  expect_shape_error(
      [] {
        ops::matmul(Var(randn({3, 4})), Var(randn({5, 6})));
      },
      {"matmul", "[3, 4]", "[5, 6]", "inner"});
  // The transposed operand is reported as stored, with the flag marked.
  expect_shape_error(
      [] {
        ops::matmul(Var(randn({3, 4})), Var(randn({5, 3})), false, true);
      },
      {"matmul", "[3, 4]", "[5, 3]^T"});
  expect_shape_error(
      [] {
        ops::matmul(Var(randn({3, 4})), Var(randn({4, 5})), true);
      },
      {"matmul", "[3, 4]^T", "[4, 5]", "inner"});
  expect_shape_error(
      [] {
        ops::matmul(Var(randn({2, 3, 4})), Var(randn({3, 4, 5})));
      },
      {"matmul", "[2, 3, 4]", "[3, 4, 5]", "batch"});
  // Ranks: 1-D, 4-D and 2-D x 3-D are not supported.
  expect_shape_error(
      [] {
        ops::matmul(Var(randn({4})), Var(randn({4, 5})));
      },
      {"matmul", "[4]", "[4, 5]"});
  expect_shape_error(
      [] {
        ops::matmul(Var(randn({2, 2, 3, 4})), Var(randn({4, 5})));
      },
      {"matmul", "[2, 2, 3, 4]", "[4, 5]"});
  expect_shape_error(
      [] {
        ops::matmul(Var(randn({3, 4})), Var(randn({2, 4, 5})));
      },
      {"matmul", "[3, 4]", "[2, 4, 5]"});
}

TEST_CASE("linear: wrong weight or bias shapes name the op and the shapes", "[linalg]") {
  Var x(randn({2, 4}));
  expect_shape_error([&] { ops::linear(x, Var(randn({3, 5}))); }, {"linear", "[2, 4]", "[3, 5]"});
  expect_shape_error([&] { ops::linear(x, Var(randn({4}))); }, {"linear", "[2, 4]", "[4]"});
  expect_shape_error(
      [&] {
        ops::linear(x, Var(randn({3, 4})), Var(randn({4})));
      },
      {"linear", "[3, 4]", "[4]"});
  expect_shape_error(
      [&] {
        ops::linear(x, Var(randn({3, 4})), Var(randn({1, 3})));
      },
      {"linear", "[3, 4]", "[1, 3]"});
}

TEST_CASE("add_linear: an addend not of the output's shape names the op and the shapes",
          "[linalg]") {
  Var x(randn({2, 4})), W(randn({3, 4}));
  expect_shape_error([&] { ops::add_linear(Var(randn({3})), x, W); },
                     {"add_linear", "[3]", "[2, 3]"});
  expect_shape_error(
      [&] {
        ops::add_linear(Var(randn({3, 2})), x, W);
      },
      {"add_linear", "[3, 2]", "[2, 3]"});
  expect_shape_error(
      [&] {
        ops::add_linear(Var(randn({2, 3})), x, Var(randn({3, 5})));
      },
      {"add_linear", "[2, 4]", "[3, 5]"});
  // An undefined addend (a Var() where a tensor was meant) is refused, not dereferenced.
  CHECK_THROWS_WITH(ops::add_linear(Var(), x, W),
                    Catch::Contains("add_linear") && Catch::Contains("undefined"));
}
