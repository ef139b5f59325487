#include <string>

#include <xtensor/xbuilder.hpp>

#include "helpers.hpp"

using namespace unroll;
using unroll::test::iota;
using unroll::test::max_abs_diff;
using unroll::test::randn;
using unroll::test::shaped;

TEST_CASE("reshape: values keep row-major order, -1 is inferred", "[shape]") {
  Var x(iota({2, 3}));
  Var y = ops::reshape(x, {3, -1});
  CHECK(y.shape() == Shape{3, 2});
  CHECK(max_abs_diff(y.value(), Tensor{{0, 1}, {2, 3}, {4, 5}}) == 0);
  CHECK(ops::reshape(x, {-1}).shape() == Shape{6});
  CHECK(ops::reshape(x, {1, 6, 1}).shape() == Shape{1, 6, 1});
  CHECK_GRADIENTS(
      [](const std::vector<Var>& v) {
        return ops::reshape(v[0], {4, -1});
      },
      {randn({2, 3, 4}, 1)});
}

TEST_CASE("flatten merges a range of axes", "[shape]") {
  Var x(iota({2, 3, 4}));
  CHECK(ops::flatten(x).shape() == Shape{24});
  CHECK(ops::flatten(x, 1).shape() == Shape{2, 12});
  CHECK(ops::flatten(x, 0, 1).shape() == Shape{6, 4});
  CHECK(ops::flatten(x, -2, -1).shape() == Shape{2, 12});
  CHECK(ops::flatten(x, 1, 1).shape() == Shape{2, 3, 4});
  CHECK(ops::flatten(x, 0, 1).value()(4, 2) == 18.0f);  // row 4 = (1, 1): 12 + 4 + 2
  CHECK_GRADIENTS([](const std::vector<Var>& v) { return ops::flatten(v[0], 0, -2); },
                  {randn({2, 3, 4}, 2)});
}

TEST_CASE("transpose and permute reorder axes", "[shape]") {
  Var m(iota({2, 3}));
  CHECK(max_abs_diff(ops::transpose(m, 0, 1).value(), Tensor{{0, 3}, {1, 4}, {2, 5}}) == 0);
  CHECK(max_abs_diff(ops::transpose(m, -1, -2).value(), Tensor{{0, 3}, {1, 4}, {2, 5}}) == 0);

  const Tensor xv = iota({2, 3, 4});
  Var x(xv);
  Var t = ops::transpose(x, 0, -1);  // [4, 3, 2]
  REQUIRE(t.shape() == Shape{4, 3, 2});
  Var p = ops::permute(x, {2, 0, 1});  // [4, 2, 3], p(k, i, j) = x(i, j, k)
  REQUIRE(p.shape() == Shape{4, 2, 3});
  bool ok = true;
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 3; ++j)
      for (std::size_t k = 0; k < 4; ++k) {
        const float want = static_cast<float>(12 * i + 4 * j + k);
        ok = ok && t.value()(k, j, i) == want && p.value()(k, i, j) == want;
      }
  CHECK(ok);
  CHECK(p.value()(3, 1, 2) == 23.0f);  // x(1, 2, 3) = 12 + 8 + 3

  CHECK_GRADIENTS([](const std::vector<Var>& v) { return ops::transpose(v[0], 0, 2); },
                  {randn({2, 3, 4}, 3)});
  CHECK_GRADIENTS([](const std::vector<Var>& v) { return ops::transpose(v[0], -1, -2); },
                  {randn({2, 3, 4}, 4)});
  CHECK_GRADIENTS(
      [](const std::vector<Var>& v) {
        return ops::permute(v[0], {1, -1, 0});
      },
      {randn({2, 3, 4}, 5)});
  CHECK_GRADIENTS(
      [](const std::vector<Var>& v) {
        return ops::permute(v[0], {3, 1, 0, 2});
      },
      {randn({2, 3, 1, 4}, 6)});
}

TEST_CASE("select removes the axis; narrow keeps it", "[shape]") {
  Var x(Tensor{{1, 2, 3}, {4, 5, 6}});
  CHECK(max_abs_diff(ops::select(x, 0, 1).value(), Tensor{4, 5, 6}) == 0);
  CHECK(max_abs_diff(ops::select(x, -1, 2).value(), Tensor{3, 6}) == 0);
  CHECK(max_abs_diff(ops::narrow(x, 1, 1, 2).value(), Tensor{{2, 3}, {5, 6}}) == 0);
  CHECK(max_abs_diff(ops::narrow(x, -2, 1, 1).value(), Tensor{{4, 5, 6}}) == 0);
  CHECK(ops::narrow(x, 1, 3, 0).shape() == Shape{2, 0});

  for (int axis : {0, 1, -1})
    CHECK_GRADIENTS([axis](const std::vector<Var>& v) { return ops::select(v[0], axis, 2); },
                    {randn({3, 4, 5}, 7)});
  CHECK_GRADIENTS([](const std::vector<Var>& v) { return ops::narrow(v[0], 1, 1, 2); },
                  {randn({3, 4, 5}, 8)});
  CHECK_GRADIENTS([](const std::vector<Var>& v) { return ops::narrow(v[0], -1, 2, 3); },
                  {randn({3, 4, 5}, 9)});
}

TEST_CASE("select gradient: a hand-checked unrolled sum over time steps", "[shape]") {
  // y = sum_t c_t * x[t] with x [T=3, 2]; dL/dx[t] = c_t * seed. Every select after the
  // first adds into the same buffer.
  Var x(randn({3, 2}, 10), true);
  Var y = ops::mul(ops::select(x, 0, 0), 1.0f) + ops::mul(ops::select(x, 0, 1), 2.0f) +
          ops::mul(ops::select(x, 0, 2), 3.0f);
  y.backward(Tensor{1.0f, -1.0f});
  CHECK(max_abs_diff(x.grad(), Tensor{{1, -1}, {2, -2}, {3, -3}}) < 1e-6);

  // A gradient that arrives before (reshape, recorded later) and after (select) the buffer.
  CHECK_GRADIENTS(
      [](const std::vector<Var>& v) {
        return ops::concat(
            {ops::select(v[0], 0, 1), ops::reshape(v[0], {-1}), ops::select(v[0], 0, 1),
             ops::reshape(ops::slice(v[0], -1, 0, 3, 2), {-1})},
            0);
      },
      {randn({3, 2}, 11)});
}

TEST_CASE("slice follows python rules", "[shape]") {
  Var x(iota({10}));
  CHECK(max_abs_diff(ops::slice(x, 0, 1, 8, 3).value(), Tensor{1, 4, 7}) == 0);
  CHECK(max_abs_diff(ops::slice(x, 0, -3, 100).value(), Tensor{7, 8, 9}) == 0);
  CHECK(max_abs_diff(ops::slice(x, 0, -100, -8).value(), Tensor{0, 1}) == 0);
  CHECK(max_abs_diff(ops::slice(x, -1, 0, 10, 4).value(), Tensor{0, 4, 8}) == 0);
  CHECK(ops::slice(x, 0, 5, 2).shape() == Shape{0});
  Var m(iota({3, 4}));
  CHECK(max_abs_diff(ops::slice(m, 1, 1, 4, 2).value(), Tensor{{1, 3}, {5, 7}, {9, 11}}) == 0);
  CHECK(max_abs_diff(ops::slice(m, 0, -2, 3).value(), Tensor{{4, 5, 6, 7}, {8, 9, 10, 11}}) == 0);

  CHECK_GRADIENTS([](const std::vector<Var>& v) { return ops::slice(v[0], -1, 1, 7, 2); },
                  {randn({3, 7}, 12)});
  CHECK_GRADIENTS([](const std::vector<Var>& v) { return ops::slice(v[0], 0, -4, 5, 3); },
                  {randn({5, 2, 3}, 13)});
}

TEST_CASE("concat and stack join along an axis", "[shape]") {
  Var a(Tensor{{1, 2}, {3, 4}}), b(shaped(Tensor{5, 6}, {2, 1})), c(Tensor{{7, 8}});
  CHECK(max_abs_diff(ops::concat({a, b}, 1).value(), Tensor{{1, 2, 5}, {3, 4, 6}}) == 0);
  CHECK(max_abs_diff(ops::concat({a, c}, -2).value(), Tensor{{1, 2}, {3, 4}, {7, 8}}) == 0);
  CHECK(max_abs_diff(ops::concat({a}, 0).value(), a.value()) == 0);

  Var d(Tensor{{5, 6}, {7, 8}});
  CHECK(max_abs_diff(ops::stack({a, d}).value(), Tensor{{{1, 2}, {3, 4}}, {{5, 6}, {7, 8}}}) == 0);
  CHECK(max_abs_diff(ops::stack({a, d}, 1).value(), Tensor{{{1, 2}, {5, 6}}, {{3, 4}, {7, 8}}}) ==
        0);
  CHECK(max_abs_diff(ops::stack({a, d}, -1).value(), Tensor{{{1, 5}, {2, 6}}, {{3, 7}, {4, 8}}}) ==
        0);

  CHECK_GRADIENTS(
      [](const std::vector<Var>& v) {
        return ops::concat({v[0], v[1], v[2]}, -2);
      },
      {randn({2, 1, 3}, 14), randn({2, 3, 3}, 15), randn({2, 2, 3}, 16)});
  CHECK_GRADIENTS(
      [](const std::vector<Var>& v) {
        return ops::concat({v[0], v[1]}, 2);
      },
      {randn({2, 3, 1}, 17), randn({2, 3, 4}, 18)});
  // The same input twice: the second copy adds into the first's gradient.
  CHECK_GRADIENTS(
      [](const std::vector<Var>& v) {
        return ops::concat({v[0], v[1], v[0]}, 0);
      },
      {randn({2, 3}, 19), randn({1, 3}, 20)});
  for (int axis : {0, 1, -1})
    CHECK_GRADIENTS(
        [axis](const std::vector<Var>& v) {
          return ops::stack({v[0], v[1], v[2]}, axis);
        },
        {randn({2, 3}, 21), randn({2, 3}, 22), randn({2, 3}, 23)});
}

TEST_CASE("split and chunk cut an axis into pieces", "[shape]") {
  Var x(iota({5, 2}));
  auto p = ops::split(x, 2, 0);
  REQUIRE(p.size() == 3);
  CHECK(max_abs_diff(p[0].value(), Tensor{{0, 1}, {2, 3}}) == 0);
  CHECK(max_abs_diff(p[1].value(), Tensor{{4, 5}, {6, 7}}) == 0);
  CHECK(max_abs_diff(p[2].value(), Tensor{{8, 9}}) == 0);

  auto q = ops::split(x, std::vector<std::size_t>{1, 4}, -2);
  REQUIRE(q.size() == 2);
  CHECK(max_abs_diff(q[0].value(), Tensor{{0, 1}}) == 0);
  CHECK(q[1].shape() == Shape{4, 2});
  CHECK(q[1].value()(3, 1) == 9.0f);

  auto cols = ops::split(x, 1, -1);
  REQUIRE(cols.size() == 2);
  CHECK(max_abs_diff(cols[1].value(), shaped(Tensor{1, 3, 5, 7, 9}, {5, 1})) == 0);

  // torch.chunk: pieces of ceil(d / n); 5 rows in 3 chunks -> 2, 2, 1; 6 rows in 4 -> 2, 2, 2.
  auto c = ops::chunk(x, 3, 0);
  REQUIRE(c.size() == 3);
  CHECK(c[2].shape() == Shape{1, 2});
  auto c6 = ops::chunk(Var(iota({6})), 4, 0);
  REQUIRE(c6.size() == 3);
  CHECK(max_abs_diff(c6[2].value(), Tensor{4, 5}) == 0);
  CHECK(ops::chunk(x, 7, 0).size() == 5);

  CHECK_GRADIENTS(
      [](const std::vector<Var>& v) {
        auto s = ops::split(v[0], 2, 1);  // [3, 5, 2] -> 2, 2, 1 along axis 1
        return ops::concat({ops::mul(s[2], 3.0f), s[0] * s[1]}, 1);
      },
      {randn({3, 5, 2}, 24)});
  CHECK_GRADIENTS(
      [](const std::vector<Var>& v) {
        auto s = ops::split(v[0], std::vector<std::size_t>{3, 1}, -1);
        return ops::concat({s[1], ops::mul(s[0], -2.0f)}, -1);
      },
      {randn({2, 4}, 25)});
  CHECK_GRADIENTS(
      [](const std::vector<Var>& v) {
        auto s = ops::chunk(v[0], 2, 0);  // 3 rows -> 2, 1
        return ops::concat({s[1], ops::mul(s[0], 0.5f)}, 0);
      },
      {randn({3, 2}, 26)});
}

TEST_CASE("unbind gives every index along an axis", "[shape]") {
  Var x(iota({2, 3}));
  auto rows = ops::unbind(x);
  REQUIRE(rows.size() == 2);
  CHECK(max_abs_diff(rows[1].value(), Tensor{3, 4, 5}) == 0);
  auto cols = ops::unbind(x, -1);
  REQUIRE(cols.size() == 3);
  CHECK(max_abs_diff(cols[2].value(), Tensor{2, 5}) == 0);
  CHECK(ops::unbind(Var(iota({0, 2})), 0).empty());
  CHECK_SHAPE_ERROR(ops::unbind(x, 2), "unbind");
  for (int axis : {0, 1, 2})
    CHECK_GRADIENTS(
        [axis](const std::vector<Var>& v) {
          auto s = ops::unbind(v[0], axis);
          // Every piece weighted differently, one used twice, one not at all.
          std::vector<Var> used;
          for (std::size_t k = 0; k + 1 < s.size(); ++k)
            used.push_back(ops::mul(s[k], static_cast<float>(k) + 1.5f));
          used.push_back(s[0] * s[0]);
          return ops::stack(used, 0);
        },
        {randn({3, 4, 2}, 27)});
}

TEST_CASE("split backward: unused pieces get zeros, hand-checked", "[shape]") {
  // x [4, 2] split into rows {1, 1, 2}; L = sum(seed * 2 * piece1): only row 1 has gradient.
  Var x(randn({4, 2}, 28), true);
  auto p = ops::split(x, std::vector<std::size_t>{1, 1, 2}, 0);
  ops::mul(p[1], 2.0f).backward(Tensor{{1.0f, -3.0f}});
  CHECK(max_abs_diff(x.grad(), Tensor{{0, 0}, {2, -6}, {0, 0}, {0, 0}}) == 0);

  // Pieces along the inner axis, so every outer row holds a region of each piece.
  Var y(randn({2, 3}, 29), true);
  auto c = ops::split(y, std::vector<std::size_t>{2, 1}, 1);
  (ops::mul(c[0], 3.0f) + ops::mul(c[0], 1.0f)).backward(Tensor{{1, 2}, {3, 4}});
  CHECK(max_abs_diff(y.grad(), Tensor{{4, 8, 0}, {12, 16, 0}}) == 0);
}

TEST_CASE("split backward with other consumers of the input, before and after", "[shape]") {
  // reshape recorded after the split: the input's gradient is already there when the
  // pieces run (they add); recorded before: the pieces write first and reshape adds.
  CHECK_GRADIENTS(
      [](const std::vector<Var>& v) {
        auto s = ops::chunk(v[0], 3, 1);
        return ops::concat({ops::reshape(ops::mul(s[2], 2.0f), {-1}), ops::reshape(v[0], {-1}),
                            ops::reshape(s[0], {-1})},
                           0);
      },
      {randn({2, 6}, 30)});
  CHECK_GRADIENTS(
      [](const std::vector<Var>& v) {
        Var flat = ops::reshape(v[0], {-1});
        auto s = ops::unbind(v[0], 1);
        return ops::concat({s[1], flat, ops::mul(s[3], -1.0f)}, 0);
      },
      {randn({2, 4}, 31)});
}

TEST_CASE("split pieces: retain_grad, a piece as the root, repeated backward", "[shape]") {
  Var x(Tensor{{1, 2}, {3, 4}, {5, 6}}, true);
  auto p = ops::split(x, 1, 0);  // three [1, 2] pieces, one split group
  p[2].retain_grad();
  Var l = ops::sum(ops::mul(p[0], 2.0f) + ops::mul(p[2], 5.0f));
  l.backward();
  CHECK(max_abs_diff(x.grad(), Tensor{{2, 2}, {0, 0}, {5, 5}}) == 0);
  // p[2] ran first and wrote p[0]'s gradient too; p[2]'s own is kept, p[0]'s freed.
  REQUIRE(p[2].has_grad());
  CHECK(max_abs_diff(p[2].grad(), Tensor{{5, 5}}) == 0);
  CHECK_FALSE(p[0].has_grad());
  // A second walk passes on only its own gradient; the retained one accumulates (PyTorch).
  l.backward();
  CHECK(max_abs_diff(x.grad(), Tensor{{4, 4}, {0, 0}, {10, 10}}) == 0);
  CHECK(max_abs_diff(p[2].grad(), Tensor{{10, 10}}) == 0);
  // A piece as the root: its siblings have no gradient in this walk.
  x.zero_grad();
  p[1].backward(Tensor{{7, -1}});
  CHECK(max_abs_diff(x.grad(), Tensor{{0, 0}, {7, -1}, {0, 0}}) == 0);
}

TEST_CASE("unsqueeze and squeeze add and remove size-1 axes", "[shape]") {
  Var x(iota({2, 3}));
  CHECK(ops::unsqueeze(x, 0).shape() == Shape{1, 2, 3});
  CHECK(ops::unsqueeze(x, 1).shape() == Shape{2, 1, 3});
  CHECK(ops::unsqueeze(x, 2).shape() == Shape{2, 3, 1});
  CHECK(ops::unsqueeze(x, -1).shape() == Shape{2, 3, 1});
  CHECK(ops::unsqueeze(x, -3).shape() == Shape{1, 2, 3});
  CHECK(ops::unsqueeze(x, 1).value()(1, 0, 2) == 5.0f);
  Var y(iota({2, 1, 3}));
  CHECK(ops::squeeze(y, 1).shape() == Shape{2, 3});
  CHECK(ops::squeeze(y, -2).shape() == Shape{2, 3});
  CHECK(max_abs_diff(ops::squeeze(y, 1).value(), x.value()) == 0);

  CHECK_GRADIENTS([](const std::vector<Var>& v) { return ops::unsqueeze(v[0], -2); },
                  {randn({2, 3}, 27)});
  CHECK_GRADIENTS([](const std::vector<Var>& v) { return ops::squeeze(v[0], 0); },
                  {randn({1, 3, 2}, 28)});
}

TEST_CASE("expand broadcasts and its gradient sums the copies", "[shape]") {
  Var x(shaped(Tensor{1, 2, 3}, {3, 1}), true);  // [3, 1] -> [2, 3, 4]
  Var y = ops::expand(x, {2, 3, 4});
  REQUIRE(y.shape() == Shape{2, 3, 4});
  CHECK(y.value()(1, 2, 3) == 3.0f);
  CHECK(y.value()(0, 1, 0) == 2.0f);
  y.backward(xt::ones<float>({2, 3, 4}));
  CHECK(max_abs_diff(x.grad(), shaped(Tensor{8, 8, 8}, {3, 1})) == 0);  // 2 * 4 copies each

  CHECK_GRADIENTS(
      [](const std::vector<Var>& v) {
        return ops::expand(v[0], {4, 2, 3});
      },
      {randn({1, 3}, 29)});
  CHECK_GRADIENTS(
      [](const std::vector<Var>& v) {
        return ops::expand(v[0], {2, 3});
      },
      {randn({2, 3}, 30)});
}

TEST_CASE("shape ops reject bad arguments with ShapeError naming the op", "[shape]") {
  Var x(iota({2, 3}));
  CHECK_SHAPE_ERROR(ops::reshape(x, {4, 2}), "reshape");
  CHECK_SHAPE_ERROR(ops::reshape(x, {4, -1}), "reshape");
  CHECK_SHAPE_ERROR(ops::reshape(x, {-1, -1}), "reshape");
  CHECK_SHAPE_ERROR(ops::reshape(x, {-2, -3}), "reshape");
  CHECK_THROWS_WITH(ops::reshape(x, {4, 2}),
                    Catch::Contains("[2, 3]") && Catch::Contains("[4, 2]"));

  CHECK_SHAPE_ERROR(ops::flatten(x, 2), "flatten");
  CHECK_SHAPE_ERROR(ops::flatten(x, 1, 0), "flatten");
  CHECK_SHAPE_ERROR(ops::transpose(x, 0, 2), "transpose");
  CHECK_SHAPE_ERROR(ops::transpose(x, -3, 0), "transpose");
  CHECK_THROWS_WITH(ops::transpose(x, -3, 0),
                    Catch::Contains("axis -3") && Catch::Contains("[2, 3]"));
  CHECK_SHAPE_ERROR(ops::permute(x, {0}), "permute");
  CHECK_SHAPE_ERROR(ops::permute(x, {1, -1}), "permute");
  CHECK_SHAPE_ERROR(ops::permute(x, {0, 2}), "permute");

  CHECK_SHAPE_ERROR(ops::select(x, 2, 0), "select");
  CHECK_SHAPE_ERROR(ops::select(x, 0, 2), "select");
  CHECK_THROWS_WITH(ops::select(x, 0, 2), Catch::Contains("index 2"));
  CHECK_SHAPE_ERROR(ops::narrow(x, 1, 2, 2), "narrow");
  CHECK_SHAPE_ERROR(ops::narrow(x, 1, 4, 0), "narrow");
  CHECK_SHAPE_ERROR(ops::narrow(x, -3, 0, 1), "narrow");
  CHECK_SHAPE_ERROR(ops::slice(x, 1, 0, 2, 0), "slice");
  CHECK_SHAPE_ERROR(ops::slice(x, 5, 0, 2), "slice");

  Var y(iota({2, 4})), z(iota({3, 3, 1}));
  CHECK_SHAPE_ERROR(ops::concat({x, y}, 0), "concat");
  CHECK_THROWS_WITH(ops::concat({x, y}, 0), Catch::Contains("input 1") &&
                                                Catch::Contains("[2, 4]") &&
                                                Catch::Contains("[2, 3]"));
  CHECK_SHAPE_ERROR(ops::concat({x, z}, 0), "concat");
  CHECK_SHAPE_ERROR(ops::concat({x, x}, 2), "concat");
  CHECK_SHAPE_ERROR(ops::concat({}, 0), "concat");
  CHECK_SHAPE_ERROR(ops::stack({x, y}), "stack");
  CHECK_SHAPE_ERROR(ops::stack({x, x}, 3), "stack");
  CHECK_SHAPE_ERROR(ops::stack({}, 0), "stack");

  CHECK_SHAPE_ERROR(ops::split(x, std::vector<std::size_t>{1, 1}, 1), "split");
  CHECK_THROWS_WITH(ops::split(x, std::vector<std::size_t>{1, 1}, 1),
                    Catch::Contains("sum to 2") && Catch::Contains("3"));
  CHECK_SHAPE_ERROR(ops::split(x, 0, 1), "split");
  CHECK_SHAPE_ERROR(ops::split(x, 1, -3), "split");
  CHECK_SHAPE_ERROR(ops::chunk(x, 0, 1), "chunk");
  CHECK_SHAPE_ERROR(ops::chunk(x, 2, 2), "chunk");

  CHECK_SHAPE_ERROR(ops::unsqueeze(x, 3), "unsqueeze");
  CHECK_SHAPE_ERROR(ops::unsqueeze(x, -4), "unsqueeze");
  CHECK_SHAPE_ERROR(ops::squeeze(x, 0), "squeeze");
  CHECK_SHAPE_ERROR(ops::squeeze(x, 2), "squeeze");
  CHECK_SHAPE_ERROR(ops::expand(x, {2, 4}), "expand");
  CHECK_SHAPE_ERROR(ops::expand(x, {3}), "expand");
}

TEST_CASE("shape ops add into a gradient that is already there", "[shape]") {
  // Arguments are recorded left to right, so the first op's backward runs last and finds
  // the buffer already holding the other uses' gradient.
  CHECK_GRADIENTS(
      [](const std::vector<Var>& v) {
        return ops::transpose(v[0], 0, 1) * ops::permute(v[0], {1, 0}) +
               ops::reshape(ops::flatten(v[0]), {3, 2});
      },
      {randn({2, 3}, 31)});
  CHECK_GRADIENTS(
      [](const std::vector<Var>& v) {
        return ops::concat({ops::squeeze(ops::unsqueeze(v[0], 0), 0), ops::narrow(v[0], 0, 1, 1),
                            ops::stack({ops::select(v[0], 0, 0)}, 0)},
                           0);
      },
      {randn({2, 3}, 32)});
  CHECK_GRADIENTS(
      [](const std::vector<Var>& v) {
        auto s = ops::split(v[0], 1, 0);
        return ops::concat({ops::flatten(ops::slice(v[0], 1, 0, 3, 2)), ops::flatten(s[0] * s[1]),
                            ops::flatten(s[1])},
                           0);
      },
      {randn({2, 3}, 33)});
}
