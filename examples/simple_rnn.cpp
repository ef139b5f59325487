// The textbook recurrent network, written out with ops so the equations are the code:
//
//   h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)     (the hidden state carries the past)
//   y_t = W_hy h_t + b_y                            (a readout of the state)
//
// Input 10 features, hidden 20, output 2 classes. Nothing here computes a gradient: every op
// is recorded on the tape, and loss.backward() walks the tape in reverse, which for a loop
// over time steps is backpropagation through time.
//
//   ./build/examples/simple_rnn [--steps N]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include "unroll.hpp"

using namespace unroll;

class SimpleRNN : public nn::Module {
 public:
  SimpleRNN(std::size_t in, std::size_t hidden, std::size_t out, Generator& gen) : hidden_(hidden) {
    // PyTorch's nn.RNN initialisation, U(-1/sqrt(H), 1/sqrt(H)), so this model starts where
    // the built-in nn::RNN would.
    const float k = 1.0f / std::sqrt(static_cast<float>(hidden));
    W_xh = register_parameter("W_xh", gen.uniform_tensor({hidden, in}, -k, k));
    W_hh = register_parameter("W_hh", gen.uniform_tensor({hidden, hidden}, -k, k));
    b_h = register_parameter("b_h", gen.uniform_tensor({hidden}, -k, k));
    W_hy = register_parameter("W_hy", gen.uniform_tensor({out, hidden}, -k, k));
    b_y = register_parameter("b_y", gen.uniform_tensor({out}, -k, k));
  }

  /// x [batch, time, in] -> the hidden state after every step, each [batch, hidden].
  std::vector<Var> states(const Var& x) {
    Var h = ops::zeros({x.dim(0), hidden_});  // h_0 = 0
    std::vector<Var> hs;
    for (std::size_t t = 0; t < x.dim(1); ++t) {
      Var x_t = ops::select(x, 1, t);  // [batch, in]
      // h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h); linear(a, W) = a W^T applies W to every
      // row of the batch at once.
      h = ops::tanh(ops::linear(x_t, W_xh) + ops::linear(h, W_hh) + b_h);
      hs.push_back(h);
    }
    return hs;
  }

  /// x [batch, time, in] -> class scores [batch, out] from the last step: the whole sequence
  /// has been read by then, so one readout classifies it.
  Var forward(const Var& x) {
    Var h_T = states(x).back();
    return ops::linear(h_T, W_hy, b_y);  // y_t = W_hy h_t + b_y, read at t = T
  }

  Var W_xh, W_hh, b_h, W_hy, b_y;

 private:
  std::size_t hidden_;
};

namespace {

// A task that needs memory: is the sum of feature 0 over the sequence positive? No single
// step decides it, so the state has to accumulate evidence.
void make_batch(Generator& gen, std::size_t B, std::size_t T, Tensor& x, IndexTensor& y) {
  x = gen.normal_tensor({B, T, 10});
  y = xt::zeros<std::int64_t>({B});
  for (std::size_t b = 0; b < B; ++b) {
    float s = 0;
    for (std::size_t t = 0; t < T; ++t) s += x(b, t, 0);
    y(b) = s > 0 ? 1 : 0;
  }
}

double accuracy(const Tensor& logits, const IndexTensor& y) {
  std::size_t right = 0;
  for (std::size_t b = 0; b < y.size(); ++b) right += (logits(b, 1) > logits(b, 0)) == (y(b) == 1);
  return static_cast<double>(right) / static_cast<double>(y.size());
}

}  // namespace

int main(int argc, char** argv) {
  int steps = 500;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--steps") == 0 && i + 1 < argc && std::atoi(argv[i + 1]) >= 50) {
      steps = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "simple_rnn: bad argument '%s'; usage: simple_rnn [--steps N>=50]\n",
                   argv[i]);
      return 2;
    }
  }
  Generator gen(1);
  SimpleRNN model(10, 20, 2, gen);

  // Shapes first: 32 sequences of 5 steps of 10 features in, one score pair per sequence out.
  Tensor x;
  IndexTensor y;
  make_batch(gen, 32, 5, x, y);
  Var out = model.forward(Var(x));
  std::printf("input shape %s -> output shape (%zu, %zu)\n", shape_str(x).c_str(), out.dim(0),
              out.dim(1));

  // The same maths as the built-in layer: copy the weights into nn::RNN and compare h_T.
  nn::RNN rnn(10, 20, {.batch_first = true}, gen);
  rnn.parameter("weight_ih_l0").mutable_value() = model.W_xh.value();
  rnn.parameter("weight_hh_l0").mutable_value() = model.W_hh.value();
  rnn.parameter("bias_ih_l0").mutable_value() = model.b_h.value();
  rnn.parameter("bias_hh_l0").mutable_value() = xt::zeros<float>({20});  // b_h covers both
  const Tensor ours = model.states(Var(x)).back().value();
  const Tensor builtin = rnn.forward(Var(x)).final_state[0].value();  // h_n [1, 32, 20]
  const float diff = xt::amax(xt::abs(xt::view(builtin, 0) - ours))();
  std::printf("max |h_T - nn::RNN h_n| = %.1e\n", diff);
  autograd::current_tape().clear();

  // Training: cross-entropy on the last step's scores, Adam. Each step records a fresh
  // tape; clearing it afterwards frees the activations of the 5 unrolled steps.
  // After step 1, the loss printed is the mean over the last 50 steps: single batches of
  // 32 are noisy.
  optim::Adam opt(model.parameters(), {.lr = 5e-3});
  float first = 0, last = 0, window = 0;
  for (int step = 1; step <= steps; ++step) {
    make_batch(gen, 32, 5, x, y);
    Var loss = ops::cross_entropy(model.forward(Var(x)), y);
    opt.zero_grad();
    loss.backward();
    opt.step();
    autograd::current_tape().clear();
    window += loss.item();
    if (step == 1) std::printf("step %4d       loss %.4f\n", step, first = loss.item());
    if (step % 50 == 0) {
      last = window / 50, window = 0;
      std::printf("steps %4d-%4d  loss %.4f\n", step - 49, step, last);
    }
  }

  Tensor xt_;
  IndexTensor yt;
  make_batch(gen, 1000, 5, xt_, yt);
  double acc;
  {
    autograd::NoGradGuard no_grad;  // evaluation only: record nothing
    acc = accuracy(model.forward(Var(xt_)).value(), yt);
  }
  std::printf("held-out accuracy %.3f (chance 0.5)\n", acc);
  const bool learned = last < 0.5f * first && acc > 0.9;
  std::printf("loss %.4f -> %.4f: %s\n", first, last,
              learned ? "the loss fell, the RNN learned the task" : "did NOT learn");
  return learned && diff < 1e-5f ? 0 : 1;
}
