// The fusion-ceiling cell of the benchmarks (benchmarks/fused_lstm.hpp) computes what the
// built-in LSTM computes: its one hand-written node is checked against the library's
// composed ops (themselves checked against PyTorch) and against finite differences.
#include "../../benchmarks/workload.hpp"

#include "helpers.hpp"

using namespace unroll;
using namespace unroll::test;

namespace {
// The LSTM element-wise stage from library ops: gates [B, 4H], c [B, H] -> {h', c'}.
std::vector<Var> composed(const Var& gates, const Var& c) {
  const std::vector<Var> g = ops::chunk(gates, 4, 1);
  Var cn = ops::sigmoid(g[1]) * c + ops::sigmoid(g[0]) * ops::tanh(g[2]);
  return {ops::sigmoid(g[3]) * ops::tanh(cn), cn};
}
}  // namespace

TEST_CASE("fused_lstm_pointwise matches the composed LSTM ops, values and gradients",
          "[bench][fused]") {
  // H = 19 runs both the SIMD lanes and the scalar tail (16 or 8 lanes per batch).
  for (std::size_t H : {3, 19, 32}) {
    INFO("H = " << H);
    const Tensor gv = randn({5, 4 * H}, 20 + H, 2.0f), cv = randn({5, H}, 40 + H);
    const Tensor wh = randn({5, H}, 60 + H), wc = randn({5, H}, 80 + H);
    Var g1(gv, true), c1(cv, true), g2(gv, true), c2(cv, true);
    const Var hc = bench::fused_lstm_pointwise(g1, c1);
    const std::vector<Var> ref = composed(g2, c2);
    const std::vector<Var> got = ops::chunk(hc, 2, 1);
    CHECK(max_abs_diff(got[0].value(), ref[0].value()) < 1e-6);
    CHECK(max_abs_diff(got[1].value(), ref[1].value()) < 1e-6);
    // Gradients of L = sum(h' wh) + sum(c' wc): both outputs carry a gradient.
    (ops::sum(got[0] * Var(wh)) + ops::sum(got[1] * Var(wc))).backward();
    (ops::sum(ref[0] * Var(wh)) + ops::sum(ref[1] * Var(wc))).backward();
    CHECK(max_abs_diff(g1.grad(), g2.grad()) < 1e-5);
    CHECK(max_abs_diff(c1.grad(), c2.grad()) < 1e-5);
  }
}

TEST_CASE("fused_lstm_pointwise passes gradcheck, also when its gradients accumulate",
          "[bench][fused]") {
  for (std::size_t H : {2, 17}) {
    INFO("H = " << H);
    // The inputs are used again after the fused node, so in the reverse walk their other
    // gradients arrive first and the fused backward gets buffers that already hold one
    // (beta = 1). Named statements fix the recording order.
    auto f = [](const std::vector<Var>& v) {
      const Var y = bench::fused_lstm_pointwise(v[0], v[1]);
      const Var again =
          ops::concat({v[1], v[1]}, 1) * ops::reshape(ops::sum(v[0] * v[0]) * 0.01f, {1, 1});
      return ops::reshape(y * 2.0f + again, {-1});
    };
    CHECK_GRADIENTS(f, {randn({3, 4 * H}, 5 + H), randn({3, H}, 9 + H)});
  }
}

TEST_CASE("the benchmarks' user-written and fused-ceiling LSTM cells unroll to the built-in's",
          "[bench][fused]") {
  Generator gen(4);
  const std::size_t in = 6, H = 18;
  nn::LSTMCell builtin(in, H, true, gen);
  bench::UserLSTMCell user(in, H, gen);
  bench::FusedLSTMCell fused(in, H, gen);
  for (bench::UserLSTMCell* cell : {&user, static_cast<bench::UserLSTMCell*>(&fused)}) {
    cell->Wx.mutable_value() = builtin.weight_ih.value();
    cell->Wh.mutable_value() = builtin.weight_hh.value();
    cell->b.mutable_value() = builtin.bias_ih.value() + builtin.bias_hh.value();
  }
  const Tensor x = randn({7, 3, in}, 3), h0 = randn({3, H}, 4, 0.5f), c0 = randn({3, H}, 5, 0.5f);
  const Tensor seed = randn({7, 3, H}, 6);
  auto run = [&](nn::RecurrentCell& cell) {
    cell.zero_grad();
    nn::UnrollResult r = nn::unroll(cell, Var(x), {Var(h0), Var(c0)});
    (ops::sum(r.outputs * Var(seed)) + ops::sum(r.final_state[1])).backward();
    return r;
  };
  const nn::UnrollResult a = run(builtin);
  for (bench::UserLSTMCell* cell : {&user, static_cast<bench::UserLSTMCell*>(&fused)}) {
    INFO((cell == &user ? "user-written cell" : "fused-ceiling cell"));
    const nn::UnrollResult b = run(*cell);
    CHECK(max_abs_diff(a.outputs.value(), b.outputs.value()) < 1e-5);
    CHECK(max_abs_diff(a.final_state[1].value(), b.final_state[1].value()) < 1e-5);
    CHECK(max_abs_diff(builtin.weight_hh.grad(), cell->Wh.grad()) < 1e-4);
    CHECK(max_abs_diff(builtin.weight_ih.grad(), cell->Wx.grad()) < 1e-4);
    CHECK(max_abs_diff(builtin.bias_ih.grad(), cell->b.grad()) < 1e-4);
  }
}

TEST_CASE("fused_lstm_pointwise names the shapes it expected", "[bench][fused]") {
  const Var g(randn({2, 8})), c(randn({2, 3}));
  CHECK_SHAPE_ERROR(bench::fused_lstm_pointwise(g, c), "fused_lstm_pointwise");
  CHECK_THROWS_WITH(bench::fused_lstm_pointwise(g, c),
                    Catch::Contains("gates [2, 8]") && Catch::Contains("c [2, 3]"));
}
