#include <algorithm>
#include <cmath>
#include <numeric>

#include "helpers.hpp"

using namespace unroll;
using unroll::test::max_abs_diff;
using unroll::test::message_of;
using unroll::test::randn;

namespace {

// 0, 1, ..., n-1 in the given shape.
Tensor arange(const Shape& s) {
  Tensor t = xt::empty<float>(s);
  for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = static_cast<float>(i);
  return t;
}

// Distinct values 0.1 apart in shuffled order: max has no near-ties, so finite differences
// never cross an argmax change.
Tensor distinct(const Shape& s, std::uint64_t seed) {
  Tensor t = xt::empty<float>(s);
  std::vector<std::size_t> perm(t.size());
  std::iota(perm.begin(), perm.end(), 0);
  Generator g(seed);
  std::shuffle(perm.begin(), perm.end(), g.engine());
  for (std::size_t i = 0; i < t.size(); ++i)
    t.data()[i] = 0.1f * (static_cast<float>(perm[i]) - static_cast<float>(t.size()) / 2);
  return t;
}

// [n, 1] from a list.
Tensor column(std::initializer_list<float> v) {
  Tensor t = Tensor(v);
  t.reshape({v.size(), std::size_t{1}});
  return t;
}

bool same(const IndexTensor& a, const IndexTensor& b) {
  return a == b;
}

}  // namespace

TEST_CASE("sum and mean forward match hand calculations", "[reductions]") {
  Var x(Tensor{{1, 2, 3}, {4, 5, 6}});
  Var all = ops::sum(x);
  CHECK(all.shape() == Shape{});
  CHECK(all.item() == 21.0f);
  CHECK(ops::mean(x).item() == Approx(3.5f));

  CHECK(max_abs_diff(ops::sum(x, {0}).value(), Tensor{5, 7, 9}) == 0);
  CHECK(max_abs_diff(ops::sum(x, {1}).value(), Tensor{6, 15}) == 0);
  CHECK(max_abs_diff(ops::sum(x, {-1}).value(), Tensor{6, 15}) == 0);
  CHECK(max_abs_diff(ops::sum(x, {-1}, true).value(), column({6, 15})) == 0);
  CHECK(max_abs_diff(ops::sum(x, {0, 1}).value(), Tensor(21.0f)) == 0);
  CHECK(max_abs_diff(ops::mean(x, {0}).value(), Tensor{2.5f, 3.5f, 4.5f}) < 1e-6);
  CHECK(max_abs_diff(ops::mean(x, {1}, true).value(), column({2, 5})) < 1e-6);

  // arange [2, 3, 4] summed over axes 0 and 2: sum_{i,k} 12i + 4j + k = 32j + 60.
  Var a(arange({2, 3, 4}));
  CHECK(max_abs_diff(ops::sum(a, {0, 2}).value(), Tensor{60, 92, 124}) == 0);
  CHECK(max_abs_diff(ops::sum(a, {2, -3}).value(), Tensor{60, 92, 124}) == 0);
  CHECK(ops::sum(a, {0, 2}, true).shape() == Shape{1, 3, 1});
  CHECK(max_abs_diff(ops::mean(a, {0, 2}).value(), Tensor{7.5f, 11.5f, 15.5f}) < 1e-6);
  // sum over axis 1 of arange [2, 3, 4]: 3 * (12i + k) + 4 * (0 + 1 + 2).
  const Tensor s1 = ops::sum(a, {1}).value();
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t k = 0; k < 4; ++k) CHECK(s1(i, k) == 3.0f * (12 * i + k) + 12.0f);
}

TEST_CASE("sum of a million elements is accurate (no serial float drift)", "[reductions]") {
  Var x(Tensor(xt::ones<float>({1000, 1000}) * 0.1f));
  const double expected = 1e6 * static_cast<double>(0.1f);  // 100000.0015
  CHECK(std::abs(ops::sum(x).item() - expected) < 0.02);
  CHECK(std::abs(ops::mean(x).item() - 0.1f) < 1e-7);
  CHECK(std::abs(ops::sum(x, {1}).value()(7) - 100.0f) < 1e-4);
}

TEST_CASE("sum and mean backward broadcast the gradient", "[reductions]") {
  Var x(randn({2, 3, 4}), true);
  Var y = ops::mean(x, {0, 2});  // [3]
  y.backward(Tensor{1.0f, 2.0f, 3.0f});
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 3; ++j)
      for (std::size_t k = 0; k < 4; ++k) CHECK(x.grad()(i, j, k) == Approx((j + 1) / 8.0));
}

TEST_CASE("sum and mean gradients match finite differences", "[reductions]") {
  const Tensor x3 = randn({2, 3, 4}, 11);
  const Tensor x4 = randn({2, 3, 4, 5}, 12);
  CHECK_GRADIENTS([](const std::vector<Var>& v) { return ops::sum(v[0]); }, {x3});
  CHECK_GRADIENTS([](const std::vector<Var>& v) { return ops::mean(v[0]); }, {x3});
  for (bool keep : {false, true}) {
    for (std::vector<int> axes : std::vector<std::vector<int>>{
             {0}, {1}, {2}, {-1}, {-2}, {0, 2}, {2, 0}, {0, 1, 2}, {1, -1}}) {
      INFO("axes size " << axes.size() << " first " << axes[0] << " keepdims " << keep);
      CHECK_GRADIENTS(
          [axes, keep](const std::vector<Var>& v) { return ops::sum(v[0], axes, keep); }, {x3});
      CHECK_GRADIENTS(
          [axes, keep](const std::vector<Var>& v) { return ops::mean(v[0], axes, keep); }, {x3});
    }
    // Two separate runs of reduced axes (1 and 3), with a kept axis between them.
    CHECK_GRADIENTS(
        [keep](const std::vector<Var>& v) {
          return ops::sum(v[0], {1, 3}, keep);
        },
        {x4});
    CHECK_GRADIENTS(
        [keep](const std::vector<Var>& v) {
          return ops::mean(v[0], {0, 2}, keep);
        },
        {x4});
  }
  // Non-square 2-D and 1-D.
  CHECK_GRADIENTS([](const std::vector<Var>& v) { return ops::sum(v[0], {0}); },
                  {randn({5, 2}, 13)});
  CHECK_GRADIENTS([](const std::vector<Var>& v) { return ops::mean(v[0], {0}); }, {randn({7}, 14)});
}

TEST_CASE("reductions accumulate into an existing gradient (fan-out)", "[reductions]") {
  // The reduction is recorded first, so its backward runs last and adds into the gradient
  // the later x * x already wrote.
  const Tensor x = randn({3, 4}, 21);
  auto fan = [](Var (*op)(const Var&)) {
    return [op](const std::vector<Var>& v) {
      Var a = op(v[0]);
      Var b = v[0] * v[0];
      return ops::sum(a) + ops::sum(b);
    };
  };
  CHECK_GRADIENTS(fan([](const Var& v) { return ops::sum(v, {1}); }), {x});
  CHECK_GRADIENTS(fan([](const Var& v) { return ops::mean(v, {0}, true); }), {x});
  CHECK_GRADIENTS(fan([](const Var& v) { return ops::mean(v); }), {x});
  CHECK_GRADIENTS(fan([](const Var& v) { return ops::max(v, 1).values; }), {distinct({3, 4}, 3)});
  CHECK_GRADIENTS(fan([](const Var& v) { return ops::max(v); }), {distinct({3, 4}, 4)});
  CHECK_GRADIENTS(fan([](const Var& v) { return ops::logsumexp(v, 0); }), {x});
}

TEST_CASE("max over an axis: values, first index on ties, gradient to that index", "[reductions]") {
  Var x(Tensor{{1, 3, 3}, {2, 2, 1}}, true);
  ops::MaxResult r = ops::max(x, 1);
  CHECK(max_abs_diff(r.values.value(), Tensor{3, 2}) == 0);
  CHECK(same(r.indices, IndexTensor{1, 0}));
  r.values.backward(Tensor{10, 20});
  CHECK(max_abs_diff(x.grad(), Tensor{{0, 10, 0}, {20, 0, 0}}) == 0);

  ops::MaxResult c = ops::max(Var(Tensor{{1, 5, 0}, {4, 2, 7}}), -2, true);
  CHECK(c.values.shape() == Shape{1, 3});
  CHECK(max_abs_diff(c.values.value(), Tensor{{4, 5, 7}}) == 0);
  CHECK(same(c.indices, IndexTensor{{1, 0, 1}}));

  ops::MaxResult nan = ops::max(Var(Tensor{1.0f, NAN, 3.0f}), 0);
  CHECK(std::isnan(nan.values.item()));
  CHECK(nan.indices.data()[0] == 1);
}

TEST_CASE("max gradients match finite differences", "[reductions]") {
  const Tensor x = distinct({3, 4, 5}, 31);
  for (int axis : {0, 1, 2, -1, -3})
    for (bool keep : {false, true}) {
      INFO("axis " << axis << " keepdims " << keep);
      CHECK_GRADIENTS(
          [axis, keep](const std::vector<Var>& v) { return ops::max(v[0], axis, keep).values; },
          {x});
    }
  CHECK_GRADIENTS([](const std::vector<Var>& v) { return ops::max(v[0], 0).values; },
                  {distinct({6, 2}, 32)});
  CHECK_GRADIENTS([](const std::vector<Var>& v) { return ops::max(v[0]); }, {x});
}

TEST_CASE("max of all elements: value and ties share the gradient", "[reductions]") {
  Var x(Tensor{1, 5, 5, 2}, true);
  Var m = ops::max(x);
  CHECK(m.shape() == Shape{});
  CHECK(m.item() == 5.0f);
  m.backward();
  CHECK(max_abs_diff(x.grad(), Tensor{0, 0.5f, 0.5f, 0}) == 0);
}

TEST_CASE("logsumexp: closed forms, extremes, gradients", "[reductions]") {
  const float l2 = std::log(2.0f), l3 = std::log(3.0f);
  Var x(Tensor{{0.0f, l2, l3}, {1e4f, 1e4f, -1e4f}});
  Var y = ops::logsumexp(x, 1);
  CHECK(y.value()(0) == Approx(std::log(6.0f)).epsilon(1e-6));
  CHECK(std::isfinite(y.value()(1)));
  CHECK(y.value()(1) == Approx(1e4 + std::log(2.0)).epsilon(1e-7));
  Var lo = ops::logsumexp(Var(Tensor{-1e4f, -1e4f}), 0);
  CHECK(lo.item() == Approx(-1e4 + std::log(2.0)).epsilon(1e-7));
  // Along axis 0 of [[0, 0], [ln 2, ln 3]]: ln 3 and ln 4, keepdims shape [1, 2].
  Var c = ops::logsumexp(Var(Tensor{{0.0f, 0.0f}, {l2, l3}}), 0, true);
  CHECK(c.shape() == Shape{1, 2});
  CHECK(max_abs_diff(c.value(), Tensor{{l3, std::log(4.0f)}}) < 1e-6);

  const Tensor r = randn({2, 3, 4}, 41, 2.0f);
  for (int axis : {0, 1, 2, -1})
    for (bool keep : {false, true}) {
      INFO("axis " << axis << " keepdims " << keep);
      CHECK_GRADIENTS(
          [axis, keep](const std::vector<Var>& v) { return ops::logsumexp(v[0], axis, keep); },
          {r});
    }
  CHECK_GRADIENTS([](const std::vector<Var>& v) { return ops::logsumexp(v[0], -1); },
                  {randn({5, 3}, 42)});
  // At extreme logits the gradient is the softmax, exp(x - y): finite. y = 1e4 + ln 2 is
  // stored in float (spacing 1e-3 there), so the 0.5 is only good to ~1e-3 (as in PyTorch).
  Var e(Tensor{1e4f, -1e4f, 1e4f}, true);
  ops::logsumexp(e, 0).backward();
  CHECK(max_abs_diff(e.grad(), Tensor{0.5f, 0.0f, 0.5f}) < 1e-3);
}

TEST_CASE("reductions reject bad axes with a ShapeError naming the op", "[reductions]") {
  Var x(randn({2, 3}));
  CHECK_THROWS_AS(ops::sum(x, {2}), ShapeError);
  CHECK_THROWS_AS(ops::sum(x, {-3}), ShapeError);
  CHECK_THROWS_AS(ops::sum(x, {0, -2}), ShapeError);  // the same axis twice
  CHECK_THROWS_AS(ops::sum(x, {}), ShapeError);
  CHECK_THROWS_AS(ops::mean(x, {5}), ShapeError);
  CHECK_THROWS_AS(ops::max(x, 2), ShapeError);
  CHECK_THROWS_AS(ops::max(x, -3), ShapeError);
  CHECK_THROWS_AS(ops::logsumexp(x, 2), ShapeError);
  CHECK_THROWS_AS(ops::max(Var(Tensor(xt::empty<float>({0})))), ShapeError);
  CHECK_THROWS_AS(ops::max(Var(Tensor(xt::empty<float>({2, 0}))), 1), ShapeError);

  const std::string s = message_of([&] { ops::sum(x, {2}); });
  CHECK_THAT(s, Catch::Contains("sum") && Catch::Contains("axis 2") && Catch::Contains("rank 2"));
  CHECK_THAT(message_of([&] { ops::mean(x, {-3}); }),
             Catch::Contains("mean") && Catch::Contains("axis -3"));
  CHECK_THAT(message_of([&] {
               ops::sum(x, {1, -1});
             }),
             Catch::Contains("sum") && Catch::Contains("more than once"));
  CHECK_THAT(message_of([&] { ops::max(x, 7); }),
             Catch::Contains("max") && Catch::Contains("axis 7") && Catch::Contains("rank 2"));
  CHECK_THAT(message_of([&] { ops::logsumexp(x, -5); }),
             Catch::Contains("logsumexp") && Catch::Contains("axis -5"));
}
