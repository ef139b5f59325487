// The vanishing- and exploding-gradient problems, with numbers.
//
// Backpropagation through time multiplies dLoss/dh_t by the step Jacobian dh_{t+1}/dh_t
// once per step. For a tanh RNN that Jacobian is diag(1 - h^2) W_hh: with small weights the
// product shrinks geometrically (the loss cannot "see" early inputs: vanishing), with large
// weights it can grow geometrically (exploding). The LSTM's cell state and the GRU's update
// gate add a path whose Jacobian is a gate value (c_t = f * c_{t-1} + ...), which a trained
// gate can hold near 1, so the gradient can survive over many steps.
//
// Part 1 puts the loss on the last step only and prints ||dLoss/dh_t|| going backwards.
// Part 2 builds an RNN whose gradients explode and shows what optim::clip_grad_norm does.
//
//   ./build/examples/gradient_flow [--length T]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include "unroll.hpp"

using namespace unroll;

namespace {

constexpr std::size_t kIn = 8, kHidden = 32, kBatch = 16;

// ||dLoss/dh_t|| for every t when the loss reads only h_T through a fixed random direction:
// dLoss/dh_T is then the same vector for every model, so the rows compare like with like.
std::vector<float> state_grad_norms(nn::RecurrentLayer& layer, const Tensor& x, const Tensor& r) {
  autograd::Tape tape;  // a private tape: this measurement leaves no trace behind
  autograd::TapeScope scope(tape);
  layer.set_track_state_grads(true);
  nn::RecurrentOutput out = layer.forward(Var(x));
  const std::size_t T = x.shape()[0];
  ops::sum(ops::select(out.output, 0, T - 1) * Var(r)).backward();
  return nn::state_gradient_norms(out.step_states[0]);
}

float grad_norm(const std::vector<Var>& params) {
  double s = 0;
  for (const Var& p : params)
    if (p.has_grad()) s += xt::sum(p.grad() * p.grad())();
  return static_cast<float>(std::sqrt(s));
}

}  // namespace

int main(int argc, char** argv) {
  long T = 120;  // at most 300: beyond, the exploding RNN of part 2 overflows float32
  for (int i = 1; i < argc; ++i) {
    char* end = nullptr;
    if (std::string(argv[i]) == "--length" && i + 1 < argc &&
        (T = std::strtol(argv[i + 1], &end, 10), *end == 0 && T >= 2 && T <= 300)) {
      ++i;
    } else {
      std::fprintf(stderr,
                   "gradient_flow: bad argument '%s' (usage: gradient_flow [--length 2..300])\n",
                   argv[i]);
      return 2;
    }
  }
  Generator gen(5);
  const Tensor x = gen.normal_tensor({static_cast<std::size_t>(T), kBatch, kIn});
  const Tensor r = gen.normal_tensor({kBatch, kHidden}, 0.0f, 1.0f / kBatch);

  // ---- Part 1: freshly initialised models (PyTorch's init), the situation at step 0 of
  // training, which decides whether a long-range dependency can be found at all.
  nn::RNN rnn(kIn, kHidden, {}, gen);
  nn::LSTM lstm(kIn, kHidden, {}, gen);
  nn::GRU gru(kIn, kHidden, {}, gen);
  // The usual LSTM remedy (Jozefowicz et al. 2015): forget-gate bias 1, so f starts near
  // sigmoid(1) = 0.73 instead of 0.5 and the cell path forgets more slowly.
  nn::LSTM lstm_fb1(kIn, kHidden, {}, gen);
  xt::view(lstm_fb1.parameter("bias_hh_l0").mutable_value(), xt::range(kHidden, 2 * kHidden)) +=
      1.0f;

  const std::vector<std::pair<const char*, nn::RecurrentLayer*>> models = {
      {"tanh RNN", &rnn}, {"LSTM", &lstm}, {"LSTM fb=1", &lstm_fb1}, {"GRU", &gru}};
  std::vector<std::vector<float>> norms;
  for (auto& [name, layer] : models) norms.push_back(state_grad_norms(*layer, x, r));

  std::printf("||dLoss/dh_t||, loss on the last step (t = %ld) only:\n\n%6s %10s", T - 1, "t",
              "steps back");
  for (auto& [name, layer] : models) std::printf(" %12s", name);
  std::printf("\n");
  std::vector<long> rows;
  for (long back : {0L, 1L, 2L, 5L, 10L, 20L, 40L, 60L, 80L, 100L, 150L, 200L})
    if (back < T - 1) rows.push_back(back);
  rows.push_back(T - 1);  // t = 0, the first input
  for (long back : rows) {
    std::printf("%6ld %10ld", T - 1 - back, back);
    for (const auto& n : norms) std::printf(" %12.3e", n[static_cast<std::size_t>(T - 1 - back)]);
    std::printf("\n");
  }
  std::printf("\nfraction of the gradient reaching t = 0:");
  for (std::size_t m = 0; m < models.size(); ++m)
    std::printf("  %s %.1e", models[m].first,
                norms[m][0] / norms[m][static_cast<std::size_t>(T - 1)]);
  std::printf(
      "\nAt initialisation every model loses the gradient geometrically; the LSTM's rate is set\n"
      "by its forget gate (about 0.5, or 0.73 with bias 1), which training can push towards 1.\n");

  // ---- Part 2: exploding gradients. Recurrent weights 3x an orthogonal matrix put the tanh
  // RNN in its chaotic regime: a small change of h_0 is amplified at every step, and so is
  // the gradient flowing back.
  nn::RNN wild(kIn, kHidden, {}, gen);
  wild.parameter("weight_hh_l0").mutable_value() =
      nn::init::orthogonal({kHidden, kHidden}, 3.0f, gen);
  const Tensor xs = 0.1f * x;  // small inputs: the recurrence, not the input, drives the state
  const std::vector<float> wn = state_grad_norms(wild, xs, r);
  std::printf("\nRNN with W_hh = 3 x orthogonal: ||dLoss/dh_t|| %.3e at t = %ld, %.3e at t = 0\n",
              wn[static_cast<std::size_t>(T - 1)], T - 1, wn[0]);

  // One training step on a loss that reads every step: the parameter gradient sums all the
  // amplified contributions. Clipping rescales the whole gradient vector to norm <= 1: the
  // direction is kept, only the step length is bounded.
  const std::vector<Var> params = wild.parameters();
  Tensor target = gen.normal_tensor({static_cast<std::size_t>(T), kBatch, kHidden}, 0.0f, 0.5f);
  auto loss_of = [&] { return ops::mse_loss(wild.forward(Var(xs)).output, Var(target)); };
  wild.zero_grad();  // drop the gradient the measurement above left in the parameters
  loss_of().backward();
  const float before = optim::clip_grad_norm(params, 1.0f);  // returns the norm before clipping
  const float after = grad_norm(params);
  std::printf("parameter gradient norm: %.3e before clip_grad_norm(max_norm = 1), %.3f after\n",
              before, after);
  autograd::current_tape().clear();

  // What each gradient does to training: 20 SGD steps at lr 0.1 from the same start. The
  // raw gradient's first step moves the weights by lr x the norm above (~1e9): every tanh
  // unit is pinned at +-1, its derivative is 0, and no gradient ever flows again (the network
  // is dead). Clipped steps have length <= lr; the direction is the gradient's.
  std::vector<Tensor> start;
  for (const Var& p : params) start.push_back(p.value());
  for (const bool clip : {false, true}) {
    for (std::size_t i = 0; i < params.size(); ++i) Var(params[i]).mutable_value() = start[i];
    optim::SGD sgd(params, {.lr = 0.1});
    float first = 0, last = 0, norm = 0;
    for (int step = 0; step < 20; ++step) {
      Var l = loss_of();
      sgd.zero_grad();
      l.backward();
      norm = clip ? optim::clip_grad_norm(params, 1.0f) : grad_norm(params);
      sgd.step();
      autograd::current_tape().clear();
      (step == 0 ? first : last) = l.item();
    }
    std::printf("20 SGD steps, %-13s loss %.4f -> %.4f, last gradient norm %.3e%s\n",
                clip ? "clipped:" : "not clipped:", first, last, norm,
                norm == 0.0f ? " (saturated: dead)" : "");
  }
  const bool ok = after <= 1.0f + 1e-4f && before > 1.0f;
  std::printf("%s\n", ok ? "clipping bounded the gradient norm to 1" : "clipping check FAILED");
  return ok ? 0 : 1;
}
