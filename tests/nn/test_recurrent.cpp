#include <cmath>

#include "helpers.hpp"
#include "nn/recurrent.hpp"
#include "nn/tbptt.hpp"

using namespace unroll;
using unroll::test::randn;

namespace {
autograd::NamedVars params_of(const nn::Module& m) {
  return m.named_parameters();
}

// The loss of a whole unrolled run: outputs and every final state tensor, so gradients
// reach the parameters through every path (c_n of an LSTM included).
Var run_all(nn::RecurrentLayer& layer, const Var& x, const nn::State& init = {},
            const std::vector<std::size_t>& lengths = {}) {
  nn::RecurrentOutput r = layer.forward(x, init, lengths);
  std::vector<Var> parts{ops::reshape(r.output, {-1})};
  for (const Var& s : r.final_state) parts.push_back(ops::reshape(s, {-1}));
  return ops::concat(parts, 0);
}
}  // namespace

TEST_CASE("each built-in cell unrolled over several steps passes gradcheck", "[recurrent]") {
  Generator gen(1);
  nn::RNNCell rnn(3, 4, true, nn::Nonlinearity::Tanh, gen);
  nn::LSTMCell lstm(3, 4, true, gen);
  nn::GRUCell gru(3, 4, true, gen);
  nn::GRUCell gru_nobias(3, 4, false, gen);
  for (nn::RecurrentCell* cell : std::vector<nn::RecurrentCell*>{&rnn, &lstm, &gru, &gru_nobias}) {
    auto f = [cell](const std::vector<Var>& v) {
      nn::UnrollResult r = nn::unroll(*cell, v[0]);
      return ops::concat({ops::reshape(r.outputs, {-1}), ops::reshape(r.final_state.back(), {-1})},
                         0);
    };
    CHECK_GRADIENTS(f, {randn({4, 2, 3}, 7)}, params_of(*cell));
  }
}

TEST_CASE("stacked bidirectional LSTM and GRU pass gradcheck, initial states included",
          "[recurrent]") {
  Generator gen(2);
  nn::RNNOptions o;
  o.num_layers = 2;
  o.bidirectional = true;
  nn::LSTM lstm(3, 4, o, gen);
  auto f = [&](const std::vector<Var>& v) { return run_all(lstm, v[0], {v[1], v[2]}); };
  CHECK_GRADIENTS(f, {randn({3, 2, 3}, 8), randn({4, 2, 4}, 9, 0.5f), randn({4, 2, 4}, 10, 0.5f)},
                  params_of(lstm));
  o.batch_first = true;
  nn::GRU gru(3, 4, o, gen);
  auto g = [&](const std::vector<Var>& v) { return run_all(gru, v[0]); };
  CHECK_GRADIENTS(g, {randn({2, 3, 3}, 11)}, params_of(gru));
}

TEST_CASE("RNN with relu and no bias passes gradcheck", "[recurrent]") {
  Generator gen(3);
  nn::RNNOptions o;
  o.nonlinearity = nn::Nonlinearity::Relu;
  o.bias = false;
  nn::RNN rnn(3, 5, o, gen);
  CHECK(rnn.named_parameters().size() == 2);
  auto f = [&](const std::vector<Var>& v) { return run_all(rnn, v[0]); };
  CHECK_GRADIENTS(f, {randn({3, 2, 3}, 12)}, params_of(rnn));
}

TEST_CASE("PyTorch parameter names and state shapes", "[recurrent]") {
  nn::RNNOptions o;
  o.num_layers = 2;
  o.bidirectional = true;
  nn::LSTM lstm(3, 5, o);
  std::vector<std::string> names;
  for (auto& [n, v] : lstm.named_parameters()) names.push_back(n);
  REQUIRE(names.size() == 16);
  CHECK(names[0] == "weight_ih_l0");
  CHECK(names[1] == "weight_hh_l0");
  CHECK(names[2] == "bias_ih_l0");
  CHECK(names[3] == "bias_hh_l0");
  CHECK(names[4] == "weight_ih_l0_reverse");
  CHECK(names[8] == "weight_ih_l1");
  CHECK(lstm.parameter("weight_ih_l1").shape() == Shape{20, 10});
  nn::RecurrentOutput r = lstm.forward(Var(randn({6, 2, 3})));
  CHECK(r.output.shape() == Shape{6, 2, 10});
  REQUIRE(r.final_state.size() == 2);
  CHECK(r.final_state[0].shape() == Shape{4, 2, 5});
  CHECK(r.final_state[1].shape() == Shape{4, 2, 5});
}

TEST_CASE("variable-length batches equal running each sequence alone, values and gradients",
          "[recurrent]") {
  Generator gen(4);
  nn::RNNOptions o;
  o.bidirectional = true;
  nn::GRU gru(3, 4, o, gen);
  const std::vector<std::size_t> lengths{5, 3, 1};
  const Tensor x = randn({5, 3, 3}, 13);
  const Tensor seed_out = randn({5, 3, 8}, 14);
  const Tensor seed_h = randn({2, 3, 4}, 15);

  autograd::Tape tape;
  autograd::TapeScope scope(tape);
  Var xb(x, true);
  nn::RecurrentOutput rb = gru.forward(xb, {}, lengths);
  autograd::backward(rb.output, seed_out);
  autograd::backward(rb.final_state[0], seed_h);
  std::map<std::string, Tensor> batched_grads;
  for (auto& [n, p] : gru.named_parameters()) batched_grads[n] = p.grad();
  gru.zero_grad();

  std::map<std::string, Tensor> summed;
  for (std::size_t b = 0; b < 3; ++b) {
    const std::size_t L = lengths[b];
    Tensor xs = xt::view(x, xt::range(0, L), xt::range(b, b + 1), xt::all());
    Var xv(xs, true);
    nn::RecurrentOutput r = gru.forward(xv);
    Tensor so = xt::view(seed_out, xt::range(0, L), xt::range(b, b + 1), xt::all());
    Tensor sh = xt::view(seed_h, xt::all(), xt::range(b, b + 1), xt::all());
    autograd::backward(r.output, so);
    autograd::backward(r.final_state[0], sh);
    // Outputs at valid steps match, padded steps are zero.
    for (std::size_t t = 0; t < 5; ++t)
      for (std::size_t j = 0; j < 8; ++j) {
        const float batched = rb.output.value()(t, b, j);
        if (t < L)
          CHECK(batched == Approx(r.output.value()(t, 0, j)).margin(1e-5));
        else
          CHECK(batched == 0.0f);
      }
    for (std::size_t d = 0; d < 2; ++d)
      for (std::size_t j = 0; j < 4; ++j)
        CHECK(rb.final_state[0].value()(d, b, j) ==
              Approx(r.final_state[0].value()(d, 0, j)).margin(1e-5));
    // Input gradients: equal on valid steps, zero on padding.
    for (std::size_t t = 0; t < 5; ++t)
      for (std::size_t j = 0; j < 3; ++j) {
        const float gb = xb.grad()(t, b, j);
        if (t < L)
          CHECK(gb == Approx(xv.grad()(t, 0, j)).margin(1e-5));
        else
          CHECK(gb == 0.0f);
      }
    tape.clear();
  }
  for (auto& [n, p] : gru.named_parameters())
    CHECK(test::max_abs_diff(p.grad(), batched_grads[n]) < 1e-4);
}

TEST_CASE("batch_first gives the transposed result of time-major", "[recurrent]") {
  Generator g1(5), g2(5);
  nn::RNNOptions tm, bf;
  bf.batch_first = true;
  nn::LSTM a(3, 4, tm, g1), b(3, 4, bf, g2);
  const Tensor x = randn({6, 2, 3}, 16);
  const Tensor xt_ = xt::transpose(x, {1, 0, 2});
  Tensor ya = a.forward(Var(x)).output.value();
  Tensor yb = b.forward(Var(Tensor(xt_))).output.value();
  Tensor yb_t = xt::transpose(yb, {1, 0, 2});
  CHECK(test::max_abs_diff(ya, yb_t) < 1e-6);
}

TEST_CASE("recurrent shape errors name what was expected", "[recurrent]") {
  nn::LSTM lstm(3, 4);
  CHECK_THROWS_AS(lstm.forward(Var(randn({5, 2, 7}))), ShapeError);
  CHECK_THROWS_AS(lstm.forward(Var(randn({5, 3}))), ShapeError);
  CHECK_THROWS_AS(lstm.forward(Var(randn({5, 2, 3})), {Var(randn({1, 2, 4}))}), ShapeError);
  CHECK_THROWS_AS(
      lstm.forward(Var(randn({5, 2, 3})), {Var(randn({1, 3, 4})), Var(randn({1, 3, 4}))}),
      ShapeError);
  CHECK_THROWS_AS(lstm.forward(Var(randn({5, 2, 3})), {}, {6, 1}), ShapeError);
  CHECK_THROWS_AS(lstm.forward(Var(randn({5, 2, 3})), {}, {5}), ShapeError);
  try {
    lstm.forward(Var(randn({5, 2, 7})));
  } catch (const ShapeError& e) {
    CHECK(std::string(e.what()).find("expects 3") != std::string::npos);
  }
  nn::RNNOptions bad;
  bad.num_layers = 0;
  CHECK_THROWS_AS(nn::GRU(3, 4, bad), ShapeError);
}

TEST_CASE("gradient-flow diagnostics: dLoss/dh_t for every step", "[recurrent][gradflow]") {
  Generator gen(6);
  nn::RNNOptions o;
  nn::RNN rnn(2, 3, o, gen);
  nn::RecurrentOptions ro;
  ro.track_state_grads = true;
  nn::RecurrentLayer layer(
      [&](std::size_t in, std::size_t, bool) {
        return std::make_shared<nn::RNNCell>(in, 3, true, nn::Nonlinearity::Tanh, gen);
      },
      2, ro, gen);
  autograd::Tape tape;
  autograd::TapeScope scope(tape);
  nn::RecurrentOutput r = layer.forward(Var(randn({8, 1, 2}, 17)));
  const Tensor seed = Tensor{{{0.6f, 0.0f, 0.8f}}};  // ||seed|| = 1
  autograd::backward(r.final_state[0], seed);        // loss depends on the last state only
  REQUIRE(r.step_states.size() == 1);
  const std::vector<float> norms = nn::state_gradient_norms(r.step_states[0]);
  REQUIRE(norms.size() == 8);
  CHECK(norms[7] == Approx(1.0f));  // dL/dh_T is the seed itself
  // Earlier steps: dL/dh_{t} = J_{t+1}^T dL/dh_{t+1}, checked against finite differences
  // by the gradchecks above; here, the chain through tanh with |W| < 1 only shrinks.
  for (std::size_t t = 0; t < 7; ++t) CHECK(norms[t] > 0.0f);
}

TEST_CASE("truncated BPTT carries values across chunks but not gradients", "[recurrent][tbptt]") {
  Generator g1(8), g2(8);
  nn::GRU chunked(2, 3, {}, g1), full(2, 3, {}, g2);
  const Tensor stream = randn({9, 2, 2}, 18);
  std::vector<Tensor> chunk_outputs;
  auto losses = nn::train_truncated_bptt(
      chunked, stream, 4,
      [&](const Var& out, std::size_t) {
        chunk_outputs.push_back(out.value());
        return ops::sum(out);
      },
      [] {});
  REQUIRE(losses.size() == 3);  // 4 + 4 + 1 steps
  // Forward values equal one uninterrupted run (same weights: same seed).
  Tensor y = full.forward(Var(stream)).output.value();
  Tensor last = xt::view(y, xt::range(8, 9), xt::all(), xt::all());
  CHECK(test::max_abs_diff(chunk_outputs.back(), last) < 1e-6);
  // Gradients stopped at chunk boundaries: the accumulated gradient differs from full BPTT.
  Tensor chunk_grad = chunked.parameter("weight_hh_l0").grad();
  autograd::Tape tape;
  autograd::TapeScope scope(tape);
  ops::sum(full.forward(Var(stream)).output).backward();
  CHECK(test::max_abs_diff(chunk_grad, full.parameter("weight_hh_l0").grad()) > 1e-4);
}

namespace {
// h_t = h_{t-1} + x'_t, x'_t the step's input as the unroller hands it: a running sum, so
// the final h has a closed form. With W given, the cell declares x W^T + b (+ step_bias)
// as its input projection.
class SumCell : public nn::RecurrentCell {
 public:
  SumCell(std::size_t in, std::size_t out) : in_(in), out_(out) {}
  SumCell(const Tensor& W, const Tensor& b, const Tensor& step_b)
      : in_(W.shape()[1]), out_(W.shape()[0]) {
    declare_input_projection(register_parameter("W", W), register_parameter("b", b),
                             register_parameter("step_b", step_b));
  }
  std::size_t input_size() const override { return in_; }
  std::size_t hidden_size() const override { return out_; }
  nn::State initial_state(std::size_t batch) const override { return {ops::zeros({batch, out_})}; }
  nn::State step(const Var& x, const nn::State& s) override { return {x + s[0]}; }

 private:
  std::size_t in_, out_;
};
}  // namespace

TEST_CASE("the unroller applies a declared input projection, bias and step bias, per step",
          "[recurrent]") {
  const std::size_t T = 3, B = 2, in = 3, out = 4;
  const Tensor x = randn({T, B, in}, 21), W = randn({out, in}, 22);
  const Tensor b = randn({out}, 23), sb = randn({out}, 24);
  // By hand: h_T[r, j] = sum_t (sum_k x[t, r, k] W[j, k] + b[j] + sb[j]).
  Tensor expected = xt::zeros<float>({B, out});
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t r = 0; r < B; ++r)
      for (std::size_t j = 0; j < out; ++j) {
        double v = b(j) + sb(j);
        for (std::size_t k = 0; k < in; ++k) v += double(x(t, r, k)) * W(j, k);
        expected(r, j) += static_cast<float>(v);
      }
  SumCell cell(W, b, sb);
  REQUIRE(params_of(cell).size() == 3);
  nn::UnrollResult r = nn::unroll(cell, Var(x));
  CHECK(test::max_abs_diff(r.final_state[0].value(), expected) < 1e-5);

  // Without a projection each step gets x_t itself: h_T = sum over t of x_t.
  SumCell plain(in, in);
  nn::UnrollResult p = nn::unroll(plain, Var(x));
  const Tensor sum_x = xt::sum(x, {0});
  CHECK(test::max_abs_diff(p.final_state[0].value(), sum_x) < 1e-5);

  // Gradients of the projection's weight, bias and step bias, and of x, by finite differences.
  auto f = [&cell](const std::vector<Var>& v) {
    return ops::reshape(nn::unroll(cell, v[0]).outputs, {-1});
  };
  CHECK_GRADIENTS(f, {randn({T, B, in}, 25)}, params_of(cell));
}
