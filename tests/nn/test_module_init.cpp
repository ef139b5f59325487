#include <cmath>

#include "helpers.hpp"
#include "nn/init.hpp"
#include "nn/module.hpp"

using namespace unroll;

namespace {
struct Leaf : nn::Module {
  Var w, b;
  Leaf() {
    w = register_parameter("weight", nn::init::ones({2, 3}));
    b = register_parameter("bias", nn::init::zeros({2}));
  }
};
struct Tree : nn::Module {
  std::shared_ptr<Leaf> enc, rev;
  Var scale;
  Tree() {
    scale = register_parameter("scale", nn::init::constant({1}, 2.0f));
    enc = register_module("encoder", std::make_shared<Leaf>());
    rev = register_module_suffixed("l0_reverse", std::make_shared<Leaf>());
  }
};

double mean_of(const Tensor& t) {
  double s = 0;
  for (float v : t) s += v;
  return s / static_cast<double>(t.size());
}
double std_of(const Tensor& t) {
  const double m = mean_of(t);
  double s = 0;
  for (float v : t) s += (v - m) * (v - m);
  return std::sqrt(s / static_cast<double>(t.size()));
}
}  // namespace

TEST_CASE("named_parameters uses dotted and PyTorch-suffixed names in order", "[module]") {
  Tree t;
  std::vector<std::string> names;
  for (auto& [n, v] : t.named_parameters()) names.push_back(n);
  const std::vector<std::string> expected{"scale", "encoder.weight", "encoder.bias",
                                          "weight_l0_reverse", "bias_l0_reverse"};
  CHECK(names == expected);
  CHECK(t.num_parameters() == 1 + 2 * (6 + 2));
  CHECK(t.parameters().size() == 5);
  CHECK_THROWS_AS(t.parameter("encoder.nope"), std::out_of_range);
  // Handles share the node: writing through the module is seen by the member.
  t.parameter("encoder.weight").mutable_value()(0, 0) = 7.0f;
  CHECK(t.enc->w.value()(0, 0) == 7.0f);
}

TEST_CASE("train/eval propagate to children; zero_grad clears every parameter", "[module]") {
  Tree t;
  t.eval();
  CHECK_FALSE(t.is_training());
  CHECK_FALSE(t.enc->is_training());
  t.train();
  CHECK(t.rev->is_training());
  (t.enc->w * 3.0f).backward(xt::ones<float>({2, 3}));
  CHECK(t.enc->w.has_grad());
  t.zero_grad();
  CHECK_FALSE(t.enc->w.has_grad());
}

TEST_CASE("initialisers follow their closed-form bounds and moments", "[init]") {
  Generator gen(3);
  // xavier_uniform on [200, 300]: bound sqrt(6/500); uniform std = bound / sqrt(3).
  Tensor x = nn::init::xavier_uniform({200, 300}, 1.0f, gen);
  const double bound = std::sqrt(6.0 / 500.0);
  const float xmax = xt::amax(x)(), xmin = xt::amin(x)();
  CHECK(xmax <= bound);
  CHECK(xmin >= -bound);
  CHECK(std_of(x) == Approx(bound / std::sqrt(3.0)).epsilon(0.02));
  // kaiming_normal (relu gain): std = sqrt(2 / fan_in).
  Tensor k = nn::init::kaiming_normal({400, 250}, 0.0f, gen);
  CHECK(std_of(k) == Approx(std::sqrt(2.0 / 250.0)).epsilon(0.02));
  CHECK(std::abs(mean_of(k)) < 0.003);
  // xavier_normal: std = sqrt(2 / (fan_in + fan_out)).
  Tensor xn = nn::init::xavier_normal({300, 100}, 2.0f, gen);
  CHECK(std_of(xn) == Approx(2.0 * std::sqrt(2.0 / 400.0)).epsilon(0.02));
  // kaiming_uniform with a = sqrt(5) is PyTorch's Linear default: bound 1/sqrt(fan_in).
  Tensor ku = nn::init::kaiming_uniform({50, 64}, std::sqrt(5.0f), gen);
  const float kmax = xt::amax(ku)();
  CHECK(kmax <= 1.0 / 8.0 + 1e-6);
  CHECK(kmax > 0.9 / 8.0);
  CHECK_THROWS_AS(nn::init::xavier_uniform({5}, 1.0f, gen), std::invalid_argument);
}

TEST_CASE("orthogonal init gives orthonormal rows or columns", "[init]") {
  Generator gen(5);
  for (Shape s : {Shape{6, 4}, Shape{4, 6}, Shape{5, 5}}) {
    Tensor q = nn::init::orthogonal(s, 1.0f, gen);
    const bool tall = s[0] >= s[1];
    const std::size_t n = tall ? s[1] : s[0];
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        double dot = 0;
        for (std::size_t k = 0; k < (tall ? s[0] : s[1]); ++k)
          dot += tall ? q(k, i) * q(k, j) : q(i, k) * q(j, k);
        CHECK(dot == Approx(i == j ? 1.0 : 0.0).margin(1e-5));
      }
  }
}

TEST_CASE("same seed, same initialisation", "[init]") {
  Generator a(11), b(11);
  const bool same = nn::init::normal({4, 4}, 0, 1, a) == nn::init::normal({4, 4}, 0, 1, b);
  CHECK(same);
  // Saved generator state replays the same stream.
  const std::string st = a.state();
  const float next = a.uniform();
  a.set_state(st);
  CHECK(a.uniform() == next);
  CHECK_THROWS_AS(a.set_state("garbage"), std::invalid_argument);
}
