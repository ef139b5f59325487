#include <cmath>
#include <functional>
#include <string>

#include <xtensor/xadapt.hpp>

#include "helpers.hpp"

using namespace unroll;
using unroll::test::randn;
using unroll::test::shaped;
using unroll::test::uniform;
using Vars = std::vector<Var>;

namespace {

using BinaryOp = std::function<Var(const Var&, const Var&)>;

// The broadcasting cases every binary op is checked on, plus one with the roles swapped.
const std::vector<std::pair<Shape, Shape>> kBroadcastCases = {
    {{4, 3}, {4, 3}}, {{4, 3}, {3}}, {{3}, {4, 3}}, {{4, 1}, {1, 3}}, {{2, 4, 3}, {4, 1}}};

// Smallest |a - b| over the broadcast pair: max/min are only differentiable away from ties.
float min_gap(const Tensor& a, const Tensor& b) {
  return xt::amin(xt::abs(a - b))();
}

// Runs `f`, requires a ShapeError, and checks the message names everything in `needles`.
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

Tensor elementwise_ref(const Tensor& x, double (*f)(double)) {
  Tensor out = x;
  for (std::size_t i = 0; i < out.size(); ++i) out.data()[i] = static_cast<float>(f(x.data()[i]));
  return out;
}

}  // namespace

// ------------------------------------------------------------------ forward values

TEST_CASE("elementwise: binary forward values by hand, with broadcasting", "[elementwise]") {
  Var a(Tensor{{1.0f, 2.0f, 3.0f}, {4.0f, 5.0f, 6.0f}});
  Var b(Tensor{10.0f, 20.0f, 40.0f});
  CHECK(test::max_abs_diff((a + b).value(), Tensor{{11, 22, 43}, {14, 25, 46}}) == 0);
  CHECK(test::max_abs_diff((a - b).value(), Tensor{{-9, -18, -37}, {-6, -15, -34}}) == 0);
  CHECK(test::max_abs_diff((a * b).value(), Tensor{{10, 40, 120}, {40, 100, 240}}) == 0);
  CHECK(test::max_abs_diff((b / a).value(), Tensor{{10, 10, 40.0f / 3}, {2.5f, 4, 40.0f / 6}}) <
        1e-6);
  Tensor col = shaped({2.0f, 3.0f}, {2, 1});  // [2, 1] against [3]: outer-product shaped result
  CHECK(test::max_abs_diff(ops::pow(Var(col), Var(Tensor{0.0f, 1.0f, 2.0f})).value(),
                           Tensor{{1, 2, 4}, {1, 3, 9}}) < 1e-6);
  CHECK(test::max_abs_diff(ops::maximum(a, Var(Tensor{2.5f, 1.0f, 7.0f})).value(),
                           Tensor{{2.5f, 2, 7}, {4, 5, 7}}) == 0);
  CHECK(test::max_abs_diff(ops::minimum(a, Var(Tensor{2.5f, 1.0f, 7.0f})).value(),
                           Tensor{{1, 1, 3}, {2.5f, 1, 6}}) == 0);
}

TEST_CASE("elementwise: scalar variants and operators with floats on either side",
          "[elementwise]") {
  Var a(Tensor{1.0f, -2.0f, 4.0f});
  CHECK(test::max_abs_diff((a + 1.5f).value(), Tensor{2.5f, -0.5f, 5.5f}) == 0);
  CHECK(test::max_abs_diff((1.5f + a).value(), Tensor{2.5f, -0.5f, 5.5f}) == 0);
  CHECK(test::max_abs_diff((a - 1.0f).value(), Tensor{0.0f, -3.0f, 3.0f}) == 0);
  CHECK(test::max_abs_diff((1.0f - a).value(), Tensor{0.0f, 3.0f, -3.0f}) == 0);
  CHECK(test::max_abs_diff((a * 3.0f).value(), Tensor{3.0f, -6.0f, 12.0f}) == 0);
  CHECK(test::max_abs_diff((3.0f * a).value(), Tensor{3.0f, -6.0f, 12.0f}) == 0);
  CHECK(test::max_abs_diff((a / 2.0f).value(), Tensor{0.5f, -1.0f, 2.0f}) == 0);
  CHECK(test::max_abs_diff((2.0f / a).value(), Tensor{2.0f, -1.0f, 0.5f}) == 0);
  CHECK(test::max_abs_diff((-a).value(), Tensor{-1.0f, 2.0f, -4.0f}) == 0);
  CHECK(test::max_abs_diff(ops::rsub(1.0f, a).value(), Tensor{0.0f, 3.0f, -3.0f}) == 0);
  CHECK(test::max_abs_diff(ops::rdiv(2.0f, a).value(), Tensor{2.0f, -1.0f, 0.5f}) == 0);
  CHECK(test::max_abs_diff(ops::pow(a, 2.0f).value(), Tensor{1.0f, 4.0f, 16.0f}) < 1e-6);
  CHECK(test::max_abs_diff(ops::abs(a).value(), Tensor{1.0f, 2.0f, 4.0f}) == 0);
  CHECK(test::max_abs_diff(ops::clamp(a, -1.0f, 2.0f).value(), Tensor{1.0f, -1.0f, 2.0f}) == 0);
}

TEST_CASE("elementwise: unary forward values against the C library", "[elementwise]") {
  const Tensor x = uniform({3, 4}, 0.1f, 3.0f, 7);
  CHECK(test::max_abs_diff(ops::exp(Var(x)).value(),
                           elementwise_ref(x, [](double v) { return std::exp(v); })) < 1e-5);
  CHECK(test::max_abs_diff(ops::log(Var(x)).value(),
                           elementwise_ref(x, [](double v) { return std::log(v); })) < 1e-6);
  CHECK(test::max_abs_diff(ops::sqrt(Var(x)).value(),
                           elementwise_ref(x, [](double v) { return std::sqrt(v); })) < 1e-6);
  CHECK(test::max_abs_diff(ops::pow(Var(x), 1.5f).value(),
                           elementwise_ref(x, [](double v) { return std::pow(v, 1.5); })) < 1e-5);
  CHECK(ops::exp(Var(Tensor{0.0f})).item() == 1.0f);
  CHECK(ops::log(Var(Tensor{1.0f})).item() == 0.0f);
}

// ------------------------------------------------------------------ hand-computed gradients

TEST_CASE("elementwise: maximum/minimum split ties equally, abs has gradient 0 at 0",
          "[elementwise]") {
  Var a(Tensor{1.0f, 2.0f, 5.0f}, true);
  Var b(Tensor{1.0f, 3.0f, 4.0f}, true);
  ops::maximum(a, b).backward(xt::ones<float>({3}));
  CHECK(test::max_abs_diff(a.grad(), Tensor{0.5f, 0.0f, 1.0f}) == 0);
  CHECK(test::max_abs_diff(b.grad(), Tensor{0.5f, 1.0f, 0.0f}) == 0);
  a.zero_grad();
  b.zero_grad();
  ops::minimum(a, b).backward(xt::ones<float>({3}));
  CHECK(test::max_abs_diff(a.grad(), Tensor{0.5f, 1.0f, 0.0f}) == 0);
  CHECK(test::max_abs_diff(b.grad(), Tensor{0.5f, 0.0f, 1.0f}) == 0);

  Var z(Tensor{-2.0f, 0.0f, 3.0f}, true);
  ops::abs(z).backward(xt::ones<float>({3}));
  CHECK(test::max_abs_diff(z.grad(), Tensor{-1.0f, 0.0f, 1.0f}) == 0);

  // clamp passes the gradient on [lo, hi] inclusive and blocks it outside.
  Var c(Tensor{-3.0f, -1.0f, 0.5f, 2.0f, 9.0f}, true);
  ops::clamp(c, -1.0f, 2.0f).backward(xt::ones<float>({5}));
  CHECK(test::max_abs_diff(c.grad(), Tensor{0.0f, 1.0f, 1.0f, 1.0f, 0.0f}) == 0);
}

TEST_CASE("elementwise: broadcast gradient of a [4, 1] * [1, 3] product by hand", "[elementwise]") {
  Var a(shaped({1.0f, 2.0f, 3.0f, 4.0f}, {4, 1}), true);
  Var b(Tensor{{1.0f, 10.0f, 100.0f}}, true);
  (a * b).backward(xt::ones<float>({4, 3}));
  // d/da_i sum_j a_i b_j = sum_j b_j = 111; d/db_j = sum_i a_i = 10.
  CHECK(test::max_abs_diff(a.grad(), shaped({111.0f, 111.0f, 111.0f, 111.0f}, {4, 1})) < 1e-5);
  CHECK(test::max_abs_diff(b.grad(), Tensor{{10.0f, 10.0f, 10.0f}}) < 1e-5);
}

// ------------------------------------------------------------------ gradient checks

TEST_CASE("elementwise: gradcheck of add, sub, mul, div with broadcasting", "[elementwise]") {
  const std::vector<std::pair<const char*, BinaryOp>> ops_list = {
      {"add", [](const Var& a, const Var& b) { return ops::add(a, b); }},
      {"sub", [](const Var& a, const Var& b) { return ops::sub(a, b); }},
      {"mul", [](const Var& a, const Var& b) { return ops::mul(a, b); }},
      {"div", [](const Var& a, const Var& b) { return ops::div(a, b); }},
  };
  for (const auto& [name, op] : ops_list) {
    for (const auto& [sa, sb] : kBroadcastCases) {
      INFO(name << " " << shape_str(sa) << " with " << shape_str(sb));
      // Divisors kept in [0.5, 2) so 1/b stays smooth at the finite-difference step.
      const Tensor b = std::string(name) == "div" ? uniform(sb, 0.5f, 2.0f, 12) : randn(sb, 12);
      auto f = [op = op](const Vars& v) { return op(v[0], v[1]); };
      CHECK_GRADIENTS(f, {randn(sa, 11), b});
    }
  }
}

TEST_CASE("elementwise: gradcheck of pow(Var, Var), maximum, minimum with broadcasting",
          "[elementwise]") {
  for (const auto& [sa, sb] : kBroadcastCases) {
    INFO(shape_str(sa) << " with " << shape_str(sb));
    auto fpow = [](const Vars& v) { return ops::pow(v[0], v[1]); };
    CHECK_GRADIENTS(fpow, {uniform(sa, 0.5f, 2.0f, 21), uniform(sb, -1.5f, 2.5f, 22)});

    const Tensor a = uniform(sa, -2.0f, 2.0f, 23), b = uniform(sb, -2.0f, 2.0f, 24);
    // No near-ties: a finite-difference step (1e-3) must not cross the kink.
    REQUIRE(min_gap(a, b) > 0.004f);
    auto fmax = [](const Vars& v) { return ops::maximum(v[0], v[1]); };
    auto fmin = [](const Vars& v) { return ops::minimum(v[0], v[1]); };
    CHECK_GRADIENTS(fmax, {a, b});
    CHECK_GRADIENTS(fmin, {a, b});
  }
}

TEST_CASE("elementwise: gradcheck of unary ops on non-square shapes", "[elementwise]") {
  const Tensor pos = uniform({3, 5}, 0.3f, 2.5f, 31);
  const Tensor any = randn({2, 3, 4}, 32);
  CHECK_GRADIENTS([](const Vars& v) { return ops::neg(v[0]); }, {any});
  CHECK_GRADIENTS([](const Vars& v) { return ops::exp(v[0]); }, {any});
  CHECK_GRADIENTS([](const Vars& v) { return ops::log(v[0]); }, {pos});
  CHECK_GRADIENTS([](const Vars& v) { return ops::sqrt(v[0]); }, {pos});
  CHECK_GRADIENTS([](const Vars& v) { return ops::pow(v[0], 3.0f); }, {any});
  CHECK_GRADIENTS([](const Vars& v) { return ops::pow(v[0], -0.5f); }, {pos});
  CHECK_GRADIENTS([](const Vars& v) { return ops::pow(v[0], 2.5f); }, {pos});

  // abs and clamp: points at least 0.05 away from the kinks.
  Tensor away = {{-1.5f, -0.3f, 0.2f, 0.9f}, {2.2f, -0.05f, 0.07f, -2.6f}};
  CHECK_GRADIENTS([](const Vars& v) { return ops::abs(v[0]); }, {away});
  CHECK_GRADIENTS([](const Vars& v) { return ops::clamp(v[0], -1.0f, 1.0f); }, {away});
}

TEST_CASE("elementwise: gradcheck of scalar variants and every operator", "[elementwise]") {
  const Tensor x = randn({3, 4}, 41);
  const Tensor pos = uniform({3, 4}, 0.5f, 2.0f, 42);
  CHECK_GRADIENTS([](const Vars& v) { return ops::add(v[0], 0.7f); }, {x});
  CHECK_GRADIENTS([](const Vars& v) { return ops::mul(v[0], -1.3f); }, {x});
  CHECK_GRADIENTS([](const Vars& v) { return ops::rsub(2.0f, v[0]); }, {x});
  CHECK_GRADIENTS([](const Vars& v) { return ops::rdiv(2.0f, v[0]); }, {pos});
  CHECK_GRADIENTS([](const Vars& v) { return v[0] + 1.5f; }, {x});
  CHECK_GRADIENTS([](const Vars& v) { return 1.5f + v[0]; }, {x});
  CHECK_GRADIENTS([](const Vars& v) { return v[0] - 1.5f; }, {x});
  CHECK_GRADIENTS([](const Vars& v) { return 1.5f - v[0]; }, {x});
  CHECK_GRADIENTS([](const Vars& v) { return v[0] * 2.5f; }, {x});
  CHECK_GRADIENTS([](const Vars& v) { return 2.5f * v[0]; }, {x});
  CHECK_GRADIENTS([](const Vars& v) { return v[0] / 4.0f; }, {x});
  CHECK_GRADIENTS([](const Vars& v) { return 3.0f / v[0]; }, {pos});
  CHECK_GRADIENTS([](const Vars& v) { return -v[0]; }, {x});
  // Var-Var operators, broadcast, and an expression using one input several times.
  CHECK_GRADIENTS([](const Vars& v) { return v[0] + v[1]; }, {x, randn({4}, 43)});
  CHECK_GRADIENTS([](const Vars& v) { return v[0] - v[1]; }, {x, randn({3, 1}, 44)});
  CHECK_GRADIENTS([](const Vars& v) { return v[0] * v[1]; }, {x, randn({4}, 45)});
  CHECK_GRADIENTS([](const Vars& v) { return v[0] / v[1]; }, {x, uniform({4}, 0.5f, 2.0f, 46)});
  CHECK_GRADIENTS([](const Vars& v) { return (v[0] * v[0] - 2.0f * v[0]) / (1.0f + v[0] * v[0]); },
                  {x});
}

// ------------------------------------------------------------------ shape errors

TEST_CASE("elementwise: non-broadcastable shapes throw ShapeError naming op and shapes",
          "[elementwise]") {
  Var a(randn({4, 3}), true);
  Var b(randn({4}), true);
  Var c(randn({2, 4, 3}), true);
  Var d(randn({3, 3}), true);
  const std::vector<std::pair<const char*, BinaryOp>> ops_list = {
      {"add", [](const Var& x, const Var& y) { return ops::add(x, y); }},
      {"sub", [](const Var& x, const Var& y) { return ops::sub(x, y); }},
      {"mul", [](const Var& x, const Var& y) { return ops::mul(x, y); }},
      {"div", [](const Var& x, const Var& y) { return ops::div(x, y); }},
      {"pow", [](const Var& x, const Var& y) { return ops::pow(x, y); }},
      {"maximum", [](const Var& x, const Var& y) { return ops::maximum(x, y); }},
      {"minimum", [](const Var& x, const Var& y) { return ops::minimum(x, y); }},
  };
  for (const auto& [name, op] : ops_list) {
    INFO(name);
    expect_shape_error([&, op = op] { op(a, b); }, {name, "[4, 3]", "[4]"});
    expect_shape_error([&, op = op] { op(c, d); }, {name, "[2, 4, 3]", "[3, 3]"});
  }
  // The operators report the op they stand for.
  expect_shape_error([&] { a + b; }, {"add", "[4, 3]", "[4]"});
  expect_shape_error([&] { a - b; }, {"sub", "[4, 3]", "[4]"});
  expect_shape_error([&] { a* b; }, {"mul", "[4, 3]", "[4]"});
  expect_shape_error([&] { a / b; }, {"div", "[4, 3]", "[4]"});
}

TEST_CASE("elementwise: clamp with lo > hi throws ShapeError naming the bounds", "[elementwise]") {
  Var a(randn({2, 2}), true);
  expect_shape_error([&] { ops::clamp(a, 2.0f, 1.0f); }, {"clamp", "2.0", "1.0"});
  CHECK_NOTHROW(ops::clamp(a, 1.0f, 1.0f));
}
