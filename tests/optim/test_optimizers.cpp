// First steps of every optimizer against hand calculation (scalar formulas of the PyTorch
// docs evaluated in double for 1-2 element parameters), groups, skipping and validation.
#include "optim/optim.hpp"
#include "optim_helpers.hpp"

using namespace unroll;
using Catch::Matchers::Contains;
using test::set_grad;

namespace {
Var param(std::initializer_list<float> v) {
  return Var::parameter(Tensor(v));
}
float at(const Var& p, std::size_t i = 0) {
  return p.value().data()[i];
}
}  // namespace

TEST_CASE("SGD plain, momentum with dampening and weight decay, Nesterov", "[optim]") {
  SECTION("plain: p -= lr g") {
    Var p = param({1.0f, 2.0f});
    optim::SGDOptions o;
    o.lr = 0.1;
    optim::SGD opt({p}, o);
    set_grad(p, Tensor{0.5f, -1.0f});
    opt.step();
    CHECK(at(p, 0) == Approx(0.95f).margin(1e-7));
    CHECK(at(p, 1) == Approx(2.1f).margin(1e-7));
  }
  SECTION("momentum 0.9, dampening 0.5, wd 0.1, g = 1") {
    // step 1: d = 1 + 0.1*1 = 1.1, buf = d (no dampening on the first step), p = 0.89
    // step 2: d = 1 + 0.1*0.89 = 1.089, buf = 0.9*1.1 + 0.5*1.089 = 1.5345, p = 0.73655
    Var p = param({1.0f});
    optim::SGDOptions o;
    o.lr = 0.1, o.momentum = 0.9, o.dampening = 0.5, o.weight_decay = 0.1;
    optim::SGD opt({p}, o);
    set_grad(p, Tensor{1.0f});
    opt.step();
    CHECK(at(p) == Approx(0.89f).margin(1e-6));
    set_grad(p, Tensor{1.0f});
    opt.step();
    CHECK(at(p) == Approx(0.73655f).margin(1e-6));
    const auto st = opt.state_tensors();
    REQUIRE(st.size() == 1);
    CHECK(st[0].first == "state.0.0.momentum_buffer");
    CHECK(st[0].second(0) == Approx(1.5345f).margin(1e-6));
  }
  SECTION("Nesterov: d = g + mu buf") {
    // step 1: buf = 1, d = 1 + 0.9 = 1.9, p = -0.19; step 2: buf = 1.9, d = 2.71, p = -0.461
    Var p = param({0.0f});
    optim::SGDOptions o;
    o.lr = 0.1, o.momentum = 0.9, o.nesterov = true;
    optim::SGD opt({p}, o);
    for (float want : {-0.19f, -0.461f}) {
      set_grad(p, Tensor{1.0f});
      opt.step();
      CHECK(at(p) == Approx(want).margin(1e-6));
    }
  }
  SECTION("maximize ascends") {
    Var p = param({1.0f});
    optim::SGDOptions o;
    o.lr = 0.5, o.maximize = true;
    optim::SGD opt({p}, o);
    set_grad(p, Tensor{2.0f});
    opt.step();
    CHECK(at(p) == Approx(2.0f));
  }
}

TEST_CASE("Adam, Adam with AMSGrad and L2 decay, AdamW", "[optim]") {
  SECTION("Adam: step 1 moves by lr, step 2 by the bias-corrected ratio") {
    Var p = param({1.0f});
    optim::AdamOptions o;
    o.lr = 0.1;
    optim::Adam opt({p}, o);
    set_grad(p, Tensor{0.5f});
    opt.step();
    CHECK(at(p) == Approx(0.9f).margin(1e-6));
    set_grad(p, Tensor{-1.0f});
    opt.step();
    // m = -0.055, v = 0.00124975, m^ = m/0.19, v^ = v/0.001999: p = 0.9 + 0.1*0.28947/0.79069
    CHECK(at(p) == Approx(0.93661035f).margin(1e-6));
    CHECK(opt.state_metadata().at("state.0.0.step") == "2");
  }
  SECTION("AMSGrad keeps the largest second moment; weight decay is added to g") {
    Var p = param({1.0f});
    optim::AdamOptions o;
    o.lr = 0.1, o.beta1 = 0.9, o.beta2 = 0.5, o.weight_decay = 0.1, o.amsgrad = true;
    optim::Adam opt({p}, o);
    set_grad(p, Tensor{2.0f});
    opt.step();
    CHECK(at(p) == Approx(0.9f).margin(1e-6));
    set_grad(p, Tensor{0.1f});
    opt.step();
    // v2 = 1.12055 < v1 = 2.205 = v_max, which normalises the step
    CHECK(at(p) == Approx(0.83615365f).margin(1e-6));
    const auto exported = opt.state_tensors();
    std::map<std::string, Tensor> st(exported.begin(), exported.end());
    CHECK(st.at("state.0.0.exp_avg_sq")(0) == Approx(1.12055f).margin(1e-5));
    CHECK(st.at("state.0.0.max_exp_avg_sq")(0) == Approx(2.205f).margin(1e-5));
  }
  SECTION("AdamW shrinks the parameter by 1 - lr wd before the Adam step") {
    Var p = param({1.0f});
    optim::AdamWOptions o;
    o.lr = 0.1, o.weight_decay = 0.1;
    optim::AdamW opt({p}, o);
    set_grad(p, Tensor{0.5f});
    opt.step();
    CHECK(at(p) == Approx(0.89f).margin(1e-6));  // 1 * 0.99 - 0.1
    set_grad(p, Tensor{-1.0f});
    opt.step();
    CHECK(at(p) == Approx(0.91771035f).margin(1e-6));
    CHECK(optim::AdamWOptions().weight_decay == 1e-2);  // PyTorch's AdamW default
  }
}

TEST_CASE("RMSprop plain and centered with momentum; Adagrad with decay", "[optim]") {
  SECTION("RMSprop: p -= lr g / (sqrt(v) + eps)") {
    Var p = param({1.0f});
    optim::RMSpropOptions o;
    o.lr = 0.01;
    optim::RMSprop opt({p}, o);
    set_grad(p, Tensor{0.5f});
    opt.step();
    CHECK(at(p) == Approx(0.9f).margin(1e-6));  // v = 0.0025, sqrt = 0.05
  }
  SECTION("centered with momentum 0.5") {
    Var p = param({1.0f});
    optim::RMSpropOptions o;
    o.lr = 0.01, o.centered = true, o.momentum = 0.5;
    optim::RMSprop opt({p}, o);
    set_grad(p, Tensor{0.5f});
    opt.step();
    CHECK(at(p) == Approx(0.89949624f).margin(1e-6));  // sqrt(0.0025 - 0.005^2)
    set_grad(p, Tensor{-1.0f});
    opt.step();
    CHECK(at(p) == Approx(0.9388683f).margin(1e-6));
  }
  SECTION("Adagrad: lr decay, initial accumulator, weight decay") {
    Var p = param({1.0f});
    optim::AdagradOptions o;
    o.lr = 0.1, o.lr_decay = 0.5, o.initial_accumulator_value = 0.1, o.weight_decay = 0.1;
    optim::Adagrad opt({p}, o);
    // State exists before any step, as PyTorch creates it eagerly.
    REQUIRE(opt.state_tensors().size() == 1);
    CHECK(opt.state_tensors()[0].second(0) == Approx(0.1f));
    set_grad(p, Tensor{0.5f});
    opt.step();
    CHECK(at(p) == Approx(0.91153483f).margin(1e-6));  // g = 0.6, S = 0.46
    set_grad(p, Tensor{0.5f});
    opt.step();
    CHECK(at(p) == Approx(0.86773114f).margin(1e-6));  // clr = 0.1 / 1.5
  }
}

TEST_CASE("parameter groups carry their own lr and weight decay", "[optim]") {
  Var w = Var::parameter(Tensor{{1.0f, 2.0f}});  // [1, 2]: decays
  Var b = param({1.0f});                         // [1]: does not
  const auto split = optim::split_for_weight_decay({{"weight", w}, {"bias", b}});
  REQUIRE(split.decay.size() == 1);
  REQUIRE(split.no_decay.size() == 1);
  CHECK(split.decay[0].node() == w.node());
  optim::SGDOptions decay, plain;
  decay.lr = 0.1, decay.weight_decay = 0.5;
  plain.lr = 0.01;
  optim::SGD opt({{split.decay, decay}, {split.no_decay, plain}});
  set_grad(w, Tensor{{1.0f, 1.0f}});
  set_grad(b, Tensor{1.0f});
  opt.step();
  CHECK(w.value()(0, 0) == Approx(1.0f - 0.1f * (1.0f + 0.5f * 1.0f)));  // 0.85
  CHECK(w.value()(0, 1) == Approx(2.0f - 0.1f * (1.0f + 0.5f * 2.0f)));  // 1.8
  CHECK(at(b) == Approx(0.99f));
  CHECK(opt.lr(0) == 0.1);
  CHECK(opt.lr(1) == 0.01);
  opt.set_lr(1, 0.2);
  CHECK(opt.lr(1) == 0.2);
  CHECK(opt.hyper_parameters(0).at("weight_decay") == 0.5);
  opt.set_lr(0.3);
  CHECK(opt.lr(0) == 0.3);
  CHECK(opt.lr(1) == 0.3);
  CHECK_THROWS_AS(opt.set_lr(-1.0), std::invalid_argument);
  CHECK_THROWS_AS(opt.lr(2), std::out_of_range);
}

TEST_CASE("parameters without a gradient are skipped and get no state", "[optim]") {
  Var a = param({1.0f}), b = param({1.0f});
  optim::AdamOptions o;
  o.lr = 0.1;
  optim::Adam opt({a, b}, o);
  set_grad(a, Tensor{1.0f});
  b.zero_grad();
  opt.step();
  CHECK(at(a) == Approx(0.9f).margin(1e-6));
  CHECK(at(b) == 1.0f);
  CHECK(opt.state_tensors().size() == 2);  // exp_avg, exp_avg_sq of a only
  CHECK(opt.state_metadata().count("state.0.1.step") == 0);
  opt.zero_grad();
  CHECK_FALSE(a.has_grad());
}

TEST_CASE("invalid hyper-parameters name the option and the value", "[optim]") {
  Var p = param({1.0f});
  optim::SGDOptions s;
  s.lr = -0.5;
  CHECK_THROWS_WITH(optim::SGD({p}, s), Contains("lr") && Contains("-0.5"));
  s.lr = 0.1, s.nesterov = true;
  CHECK_THROWS_WITH(optim::SGD({p}, s), Contains("nesterov") && Contains("momentum"));
  optim::AdamOptions a;
  a.beta1 = 1.0;
  CHECK_THROWS_WITH(optim::Adam({p}, a), Contains("beta1") && Contains("1"));
  a.beta1 = 0.9, a.beta2 = -0.1;
  CHECK_THROWS_AS(optim::Adam({p}, a), std::invalid_argument);
  optim::RMSpropOptions r;
  r.alpha = -1;
  CHECK_THROWS_WITH(optim::RMSprop({p}, r), Contains("alpha") && Contains("-1"));
  optim::AdagradOptions g;
  g.lr_decay = -0.1;
  CHECK_THROWS_WITH(optim::Adagrad({p}, g), Contains("lr_decay") && Contains("-0.1"));
  CHECK_THROWS_WITH(optim::SGD(std::vector<Var>{}, optim::SGDOptions{}), Contains("empty"));
  CHECK_THROWS_WITH(optim::SGD({p, p}, optim::SGDOptions{}), Contains("more than once"));
}

TEST_CASE("optimizer state round-trips exactly and bad state changes nothing", "[optim]") {
  Var p = Var::parameter(test::randn({2, 3}, 1));
  Var q = Var::parameter(test::randn({3}, 2));
  optim::AdamOptions o;
  o.lr = 0.01, o.amsgrad = true;
  optim::Adam a({p, q}, o);
  for (int k = 0; k < 3; ++k) {
    set_grad(p, test::randn({2, 3}, 10 + k));
    set_grad(q, test::randn({3}, 20 + k));
    a.step();
  }
  const auto tensors = a.state_tensors();
  const auto meta = a.state_metadata();
  CHECK(tensors.size() == 6);
  CHECK(meta.at("group.0.lr") == "0.01");
  CHECK(meta.at("group.0.amsgrad") == "1");

  Var p2 = Var::parameter(p.value()), q2 = Var::parameter(q.value());
  optim::Adam b({p2, q2}, optim::AdamOptions{});  // other hyper-parameters: load replaces them
  b.load_state_tensors(tensors, meta);
  CHECK(b.lr() == 0.01);
  CHECK(b.options().amsgrad);
  for (Var* v : {&p, &q, &p2, &q2}) set_grad(*v, Tensor(xt::ones_like(v->value())));
  a.step();
  b.step();
  CHECK(p.value() == p2.value());
  CHECK(q.value() == q2.value());

  SECTION("wrong type") {
    optim::SGD sgd({p2, q2}, optim::SGDOptions{});
    CHECK_THROWS_WITH(sgd.load_state_tensors(tensors, meta),
                      Contains("'Adam'") && Contains("'SGD'"));
  }
  SECTION("wrong shapes, missing buffer, unexpected tensor: all listed, nothing changed") {
    Var r = Var::parameter(xt::zeros<float>({4}));
    optim::Adam c({p2, r}, optim::AdamOptions{});
    set_grad(p2, Tensor(xt::ones_like(p2.value())));
    set_grad(r, Tensor(xt::ones_like(r.value())));
    c.step();
    const auto before = c.state_tensors();
    auto bad = tensors;
    bad.erase(bad.begin());  // state.0.0.exp_avg
    bad.emplace_back("state.0.7.exp_avg", Tensor{1.0f});
    try {
      c.load_state_tensors(bad, meta);
      FAIL("load should throw");
    } catch (const optim::StateError& e) {
      const std::string msg = e.what();
      CHECK_THAT(msg, Contains("shapes") && Contains("[3]") && Contains("[4]"));
      CHECK_THAT(msg, Contains("missing state tensor 'state.0.0.exp_avg'"));
      CHECK_THAT(msg, Contains("unexpected state tensor 'state.0.7.exp_avg'"));
      CHECK_THAT(msg, Contains("state.0.1.exp_avg' has shape [3]"));
    }
    CHECK(c.lr() == optim::AdamOptions{}.lr);
    CHECK_FALSE(c.options().amsgrad);
    const auto after = c.state_tensors();
    REQUIRE(after.size() == before.size());
    for (std::size_t i = 0; i < after.size(); ++i) CHECK(after[i].second == before[i].second);
  }
  SECTION("an invalid hyper-parameter in the state") {
    auto m = meta;
    m["group.0.beta1"] = "1.5";
    CHECK_THROWS_WITH(b.load_state_tensors(tensors, m), Contains("beta1") && Contains("1.5"));
  }
}
