#include <cmath>

#include "helpers.hpp"

using namespace unroll;
using Catch::Matchers::Contains;
using unroll::test::max_abs_diff;
using unroll::test::randn;

namespace {

const autograd::GradCheckOptions kStep{.eps = 1e-2};

std::vector<std::string> names_of(const nn::Module& m) {
  std::vector<std::string> out;
  for (const auto& [n, v] : m.named_parameters()) out.push_back(n);
  return out;
}

// Biases start at zero in MHA; nonzero values make a test see every parameter's effect.
void perturb(nn::Module& m, std::uint64_t seed) {
  for (auto& [n, v] : m.named_parameters())
    v.mutable_value() = v.value() + randn(shape_of(v.value()), seed++, 0.1f);
}

nn::TransformerSequenceModelOptions small_model(std::size_t input_size, std::size_t vocab,
                                                nn::PositionKind pos) {
  nn::TransformerSequenceModelOptions o;
  o.input_size = input_size;
  o.vocab_size = vocab;
  o.output_size = 5;
  o.d_model = 8;
  o.nhead = 2;
  o.num_layers = 2;
  o.dim_feedforward = 16;
  o.dropout = 0.0f;
  o.positions = pos;
  o.max_len = 32;
  return o;
}

}  // namespace

TEST_CASE("TransformerEncoderLayer has PyTorch's parameter names in PyTorch's order",
          "[transformer]") {
  nn::TransformerEncoderLayer layer(8, 2, 16);
  const std::vector<std::string> expected{"self_attn.in_proj_weight",
                                          "self_attn.in_proj_bias",
                                          "self_attn.out_proj.weight",
                                          "self_attn.out_proj.bias",
                                          "linear1.weight",
                                          "linear1.bias",
                                          "linear2.weight",
                                          "linear2.bias",
                                          "norm1.weight",
                                          "norm1.bias",
                                          "norm2.weight",
                                          "norm2.bias"};
  CHECK(names_of(layer) == expected);
  CHECK(shape_of(layer.parameter("linear1.weight").value()) == Shape{16, 8});
  CHECK(shape_of(layer.parameter("linear2.weight").value()) == Shape{8, 16});
  nn::TransformerEncoderLayerOptions o;
  o.d_model = 4;
  o.nhead = 2;
  o.bias = false;
  CHECK(names_of(nn::TransformerEncoderLayer(o)) ==
        std::vector<std::string>{"self_attn.in_proj_weight", "self_attn.out_proj.weight",
                                 "linear1.weight", "linear2.weight", "norm1.weight",
                                 "norm2.weight"});
  CHECK(nn::parse_feedforward_activation("gelu") == nn::FeedForwardActivation::GELU);
  CHECK_THROWS_AS(nn::parse_feedforward_activation("tanh"), std::invalid_argument);
}

TEST_CASE("TransformerEncoderLayer post-norm equals its formula written with ops",
          "[transformer]") {
  Generator gen(4);
  nn::TransformerEncoderLayer layer(6, 3, 10, 0.0f, nn::FeedForwardActivation::GELU, 1e-5f, true,
                                    false, true, gen);
  perturb(layer, 50);
  Var x(randn({2, 4, 6}, 1));
  // x1 = LN1(x + MHA(x)), y = LN2(x1 + W2 gelu(W1 x1 + b1) + b2)
  Var a = layer.self_attn->forward(x, x, x, {}, false).output;
  Var x1 = ops::layer_norm(x + a, layer.norm1->weight, layer.norm1->bias);
  Var ff = ops::linear(ops::gelu(ops::linear(x1, layer.linear1->weight, layer.linear1->bias)),
                       layer.linear2->weight, layer.linear2->bias);
  Var y = ops::layer_norm(x1 + ff, layer.norm2->weight, layer.norm2->bias);
  CHECK(max_abs_diff(layer.forward(x).value(), y.value()) < 1e-6);
}

TEST_CASE("TransformerEncoderLayer passes gradcheck, pre- and post-norm", "[transformer]") {
  Generator gen(5);
  for (bool norm_first : {false, true}) {
    nn::TransformerEncoderLayer layer(4, 2, 6, 0.0f, nn::FeedForwardActivation::GELU, 1e-5f, false,
                                      norm_first, true, gen);
    perturb(layer, 60);
    BoolTensor kpm = xt::zeros<bool>(Shape{2, 3});
    kpm(1, 2) = true;
    auto f = [&](const std::vector<Var>& v) { return layer.forward(v[0], {}, kpm, true); };
    CHECK_GRADIENTS(f, {randn({3, 2, 4}, 7)}, layer.named_parameters(), kStep);
  }
}

TEST_CASE("TransformerEncoderLayer is causal with is_causal or a causal src_mask",
          "[transformer]") {
  Generator gen(6);
  nn::TransformerEncoderLayer layer(8, 2, 16, 0.0f, nn::FeedForwardActivation::ReLU, 1e-5f, true,
                                    true, true, gen);
  const std::size_t T = 5;
  BoolTensor causal = xt::zeros<bool>(Shape{T, T});
  for (std::size_t i = 0; i < T; ++i)
    for (std::size_t j = i + 1; j < T; ++j) causal(i, j) = true;
  Tensor xt0 = randn({2, T, 8}, 1);
  Var y_flag = layer.forward(Var(xt0), {}, {}, true);
  Var y_mask = layer.forward(Var(xt0), causal);
  CHECK(max_abs_diff(y_flag.value(), y_mask.value()) == 0.0);
  for (std::size_t t = 0; t < T; ++t) {
    Var x(xt0, true);
    ops::sum(ops::narrow(layer.forward(x, {}, {}, true), 1, t, 1)).backward();
    for (std::size_t s = 0; s < T; ++s) {
      const double g = xt::sum(xt::abs(xt::view(x.grad(), xt::all(), s)))();
      CHECK((g > 0.0) == (s <= t));
    }
  }
}

TEST_CASE("TransformerEncoder: names, stacking and the final norm", "[transformer]") {
  nn::TransformerEncoderLayerOptions o;
  o.d_model = 4;
  o.nhead = 2;
  o.dim_feedforward = 8;
  o.dropout = 0.0f;
  nn::TransformerEncoder enc(o, 2, true);
  const auto names = names_of(enc);
  REQUIRE(names.size() == 2 * 12 + 2);
  CHECK(names[0] == "layers.0.self_attn.in_proj_weight");
  CHECK(names[12] == "layers.1.self_attn.in_proj_weight");
  CHECK(names[23] == "layers.1.norm2.bias");
  CHECK(names[24] == "norm.weight");
  CHECK(names[25] == "norm.bias");
  // Each layer gets its own initial values from the factory.
  CHECK(max_abs_diff(enc.layers[0]->self_attn->in_proj_weight.value(),
                     enc.layers[1]->self_attn->in_proj_weight.value()) > 0.0);
  perturb(enc, 70);
  Var x(randn({3, 2, 4}, 1));
  Var manual = enc.norm->forward(enc.layers[1]->forward(enc.layers[0]->forward(x)));
  CHECK(max_abs_diff(enc.forward(x).value(), manual.value()) == 0.0);
  // A factory and no final norm.
  int made = 0;
  nn::TransformerEncoder plain(
      [&] {
        ++made;
        return std::make_shared<nn::TransformerEncoderLayer>(o);
      },
      3);
  CHECK(made == 3);
  CHECK(plain.norm == nullptr);
  CHECK(names_of(plain).back() == "layers.2.norm2.bias");
}

TEST_CASE("sinusoidal and learned positions", "[transformer]") {
  nn::SinusoidalPositionalEncoding pe(5, 10);
  const Tensor& P = pe.table();
  // P[p, 2i] = sin(p / 10000^(2i/d)), P[p, 2i+1] = cos(same); d = 5 (odd: no cos column 5).
  for (std::size_t p : {0, 1, 7})
    for (std::size_t i = 0; i < 3; ++i) {
      const double a = p / std::pow(10000.0, 2.0 * i / 5.0);
      CHECK(std::abs(P(p, 2 * i) - std::sin(a)) < 1e-6);
      if (2 * i + 1 < 5) CHECK(std::abs(P(p, 2 * i + 1) - std::cos(a)) < 1e-6);
    }
  Var x(randn({2, 3, 5}, 1));
  Var y = pe.forward(x, 4);  // positions 4, 5, 6
  CHECK(std::abs(y.value()(1, 2, 0) - (x.value()(1, 2, 0) + std::sin(6.0f))) < 1e-6);
  Var y1 = pe.forward(Var(randn({2, 5}, 2)), 9);  // one step at the last position
  CHECK(shape_of(y1.value()) == Shape{2, 5});
  CHECK_THROWS_WITH(pe.forward(x, 8), Contains("max_len 10"));
  CHECK_THROWS_AS(pe.forward(Var(randn({2, 3, 4}, 1))), ShapeError);

  Generator gen(3);
  nn::LearnedPositionalEmbedding le(6, 5, gen);
  CHECK(names_of(le) == std::vector<std::string>{"weight"});
  Var xl(randn({2, 3, 5}, 1), true);
  Var yl = le.forward(xl, 2);
  CHECK(std::abs(yl.value()(0, 1, 3) - (xl.value()(0, 1, 3) + le.weight.value()(3, 3))) < 1e-6);
  ops::sum(yl).backward();
  // Positions 2..4 each used by 2 batch entries; others unused.
  CHECK(le.weight.grad()(2, 0) == 2.0f);
  CHECK(le.weight.grad()(4, 4) == 2.0f);
  CHECK(le.weight.grad()(0, 0) == 0.0f);
  CHECK(le.weight.grad()(5, 0) == 0.0f);
  CHECK_THROWS_AS(le.forward(xl, 4), ShapeError);
}

TEST_CASE("TransformerSequenceModel: per-step outputs, names, gradcheck", "[transformer]") {
  Generator gen(11);
  nn::TransformerSequenceModel m(small_model(3, 0, nn::PositionKind::Learned), gen);
  Var y = m.forward(Var(randn({2, 6, 3}, 1)));
  CHECK(shape_of(y.value()) == Shape{2, 6, 5});
  const auto names = names_of(m);
  CHECK(names.front() == "input_proj.weight");
  CHECK(std::find(names.begin(), names.end(), "pos.weight") != names.end());
  CHECK(std::find(names.begin(), names.end(), "encoder.layers.1.self_attn.in_proj_weight") !=
        names.end());
  CHECK(std::find(names.begin(), names.end(), "encoder.norm.weight") != names.end());
  CHECK(names.back() == "head.bias");

  auto opts = small_model(2, 0, nn::PositionKind::Sinusoidal);
  opts.num_layers = 1;
  opts.d_model = 4;
  opts.dim_feedforward = 6;
  opts.output_size = 2;
  nn::TransformerSequenceModel tiny(opts, gen);
  auto f = [&](const std::vector<Var>& v) { return tiny.forward(v[0]); };
  CHECK_GRADIENTS(f, {randn({2, 3, 2}, 4)}, tiny.named_parameters(), kStep);
}

TEST_CASE("TransformerSequenceModel is causal: output t ignores inputs after t", "[transformer]") {
  Generator gen(12);
  nn::TransformerSequenceModel m(small_model(3, 0, nn::PositionKind::Sinusoidal), gen);
  const std::size_t T = 5;
  Tensor x0 = randn({2, T, 3}, 1);
  for (std::size_t t = 0; t < T; ++t) {
    Var x(x0, true);
    ops::sum(ops::narrow(m.forward(x), 1, t, 1)).backward();
    for (std::size_t s = 0; s < T; ++s) {
      const double g = xt::sum(xt::abs(xt::view(x.grad(), xt::all(), s)))();
      CHECK((g > 0.0) == (s <= t));
    }
  }
}

TEST_CASE("KV-cache stepping equals the full causal forward", "[transformer]") {
  Generator gen(13);
  for (auto pos :
       {nn::PositionKind::Sinusoidal, nn::PositionKind::Learned, nn::PositionKind::None}) {
    for (bool norm_first : {true, false}) {
      auto o = small_model(3, 0, pos);
      o.norm_first = norm_first;
      nn::TransformerSequenceModel m(o, gen);
      perturb(m, 80);
      Tensor x = randn({2, 7, 3}, 1);
      Var full = m.forward(Var(x));
      nn::KVCache cache;
      for (std::size_t t = 0; t < 7; ++t) {
        Var y = m.step(Var(Tensor(xt::view(x, xt::all(), t))), cache);
        CHECK(cache.length() == t + 1);
        CHECK(max_abs_diff(y.value(), Tensor(xt::view(full.value(), xt::all(), t))) < 1e-5);
      }
    }
  }
  // Token ids: the same through the embedding.
  nn::TransformerSequenceModel lm(small_model(0, 11, nn::PositionKind::Sinusoidal), gen);
  IndexTensor ids = {{3, 1, 4, 1, 5, 9}, {2, 6, 5, 3, 5, 8}};
  Var full = lm.forward(ids);
  CHECK(shape_of(full.value()) == Shape{2, 6, 5});
  nn::KVCache cache;
  for (std::size_t t = 0; t < 6; ++t) {
    IndexTensor step = xt::view(ids, xt::all(), t);
    Var y = lm.step(step, cache);
    CHECK(max_abs_diff(y.value(), Tensor(xt::view(full.value(), xt::all(), t))) < 1e-5);
  }
  cache.clear();
  CHECK(cache.length() == 0);
}

TEST_CASE("TransformerSequenceModel and encoder errors", "[transformer]") {
  Generator gen(14);
  nn::TransformerSequenceModel m(small_model(3, 0, nn::PositionKind::Sinusoidal), gen);
  CHECK_THROWS_WITH(m.forward(Var(randn({2, 4, 2}, 1))),
                    Contains("[2, 4, 2]") && Contains("input_size = 3"));
  CHECK_THROWS_AS(m.forward(IndexTensor{{1, 2}}), ShapeError);        // no vocabulary
  CHECK_THROWS_AS(m.forward(Var(randn({2, 40, 3}, 1))), ShapeError);  // > max_len
  nn::KVCache cache;
  CHECK_THROWS_AS(m.step(Var(randn({2, 4}, 1)), cache), ShapeError);
  auto o = small_model(3, 0, nn::PositionKind::Sinusoidal);
  o.causal = false;
  nn::TransformerSequenceModel bidir(o, gen);
  CHECK_THROWS_AS(bidir.step(Var(randn({2, 3}, 1)), cache), std::logic_error);
  o.input_size = 0;
  CHECK_THROWS_AS(nn::TransformerSequenceModel(o, gen), ShapeError);

  nn::TransformerEncoderLayer layer(8, 2, 16);
  CHECK_THROWS_WITH(layer.forward(Var(randn({3, 2, 6}, 1))),
                    Contains("MultiheadAttention") && Contains("[3, 2, 6]"));
  CHECK_THROWS_AS(nn::TransformerEncoderLayer(8, 3), ShapeError);
  CHECK_THROWS_AS(layer.forward(Var(randn({3, 2, 8}, 1)), BoolTensor(xt::zeros<bool>(Shape{2, 2}))),
                  ShapeError);
  CHECK_THROWS_AS(
      layer.forward(Var(randn({3, 2, 8}, 1)), {}, BoolTensor(xt::zeros<bool>(Shape{3, 2}))),
      ShapeError);
}
