#include <xtensor/xbuilder.hpp>

#include "helpers.hpp"

using namespace unroll;
using unroll::test::iota;
using unroll::test::max_abs_diff;
using unroll::test::randn;
using unroll::test::shaped;

TEST_CASE("index_select picks rows along an axis", "[indexing]") {
  Var x(iota({3, 4}));
  CHECK(max_abs_diff(ops::index_select(x, 0, IndexTensor{2, 0, 2}).value(),
                     Tensor{{8, 9, 10, 11}, {0, 1, 2, 3}, {8, 9, 10, 11}}) == 0);
  CHECK(max_abs_diff(ops::index_select(x, -1, IndexTensor{3, 1}).value(),
                     Tensor{{3, 1}, {7, 5}, {11, 9}}) == 0);

  // Repeated indices sum: rows 0, 0, 2 with seed ones -> row 0 twice, row 1 never.
  Var w(iota({3, 2}), true);
  ops::index_select(w, 0, IndexTensor{0, 0, 2}).backward(xt::ones<float>({3, 2}));
  CHECK(max_abs_diff(w.grad(), Tensor{{2, 2}, {0, 0}, {1, 1}}) == 0);

  const IndexTensor rep{1, 3, 1};
  CHECK_GRADIENTS([rep](const std::vector<Var>& v) { return ops::index_select(v[0], 1, rep); },
                  {randn({2, 4, 3}, 1)});
  CHECK_GRADIENTS([rep](const std::vector<Var>& v) { return ops::index_select(v[0], -1, rep); },
                  {randn({2, 3, 4}, 2)});
  CHECK_GRADIENTS(
      [](const std::vector<Var>& v) { return ops::index_select(v[0], 0, IndexTensor{1}); },
      {randn({2, 3}, 3)});
}

TEST_CASE("gather follows torch.gather", "[indexing]") {
  Var t(Tensor{{1, 2}, {3, 4}});
  // The torch.gather documentation example.
  CHECK(max_abs_diff(ops::gather(t, 1, IndexTensor{{0, 0}, {1, 0}}).value(),
                     Tensor{{1, 1}, {4, 3}}) == 0);
  CHECK(max_abs_diff(ops::gather(t, 0, IndexTensor{{1, 0}, {0, 0}}).value(),
                     Tensor{{3, 2}, {1, 2}}) == 0);
  // Index smaller than the input off the axis, longer along it.
  Var x(iota({3, 4}));
  CHECK(max_abs_diff(ops::gather(x, -1, IndexTensor{{3, 0, 3}, {1, 2, 2}}).value(),
                     Tensor{{3, 0, 3}, {5, 6, 6}}) == 0);

  // Picking one class score per row: the cross-entropy use.
  Var s(iota({2, 3}), true);
  ops::gather(s, 1, shaped(IndexTensor{2, 2}, {2, 1})).backward(shaped(Tensor{1, -2}, {2, 1}));
  CHECK(max_abs_diff(s.grad(), Tensor{{0, 0, 1}, {0, 0, -2}}) == 0);

  const IndexTensor idx{{{1, 0}, {0, 0}, {3, 1}, {1, 1}, {2, 0}},
                        {{0, 1}, {1, 1}, {2, 2}, {3, 0}, {0, 0}},
                        {{3, 3}, {2, 1}, {0, 0}, {1, 2}, {2, 3}}};  // [3, 5, 2], repeats
  CHECK_GRADIENTS([idx](const std::vector<Var>& v) { return ops::gather(v[0], 1, idx); },
                  {randn({3, 4, 2}, 4)});
  const IndexTensor last{{{1, 0, 1}}, {{0, 0, 1}}};  // [2, 1, 3] into [2, 3, 2] on axis -1
  CHECK_GRADIENTS([last](const std::vector<Var>& v) { return ops::gather(v[0], -1, last); },
                  {randn({2, 3, 2}, 5)});
  const IndexTensor first{{2, 0, 1}, {2, 2, 0}};  // [2, 3] into [3, 3] on axis 0
  CHECK_GRADIENTS([first](const std::vector<Var>& v) { return ops::gather(v[0], 0, first); },
                  {randn({3, 3}, 6)});
}

TEST_CASE("embedding looks up rows; repeated ids sum their gradients", "[indexing]") {
  Var w(iota({4, 3}), true);
  const IndexTensor ids{{1, 3}, {1, 0}};
  Var y = ops::embedding(ids, w);
  REQUIRE(y.shape() == Shape{2, 2, 3});
  CHECK(max_abs_diff(y.value(), Tensor{{{3, 4, 5}, {9, 10, 11}}, {{3, 4, 5}, {0, 1, 2}}}) == 0);

  const Tensor seed{{{1, 2, 3}, {4, 5, 6}}, {{10, 20, 30}, {-1, -2, -3}}};
  y.backward(seed);
  // Row 1 is used at (0, 0) and (1, 0): 1+10, 2+20, 3+30. Row 2 is never used.
  CHECK(max_abs_diff(w.grad(), Tensor{{-1, -2, -3}, {11, 22, 33}, {0, 0, 0}, {4, 5, 6}}) == 0);

  Var wp(iota({4, 3}), true);
  Var yp = ops::embedding(ids, wp, 1);
  CHECK(max_abs_diff(yp.value(), y.value()) == 0);  // padding rows are still read
  yp.backward(seed);
  CHECK(max_abs_diff(wp.grad(), Tensor{{-1, -2, -3}, {0, 0, 0}, {0, 0, 0}, {4, 5, 6}}) == 0);

  CHECK(ops::embedding(IndexTensor(2), w).shape() == Shape{3});  // 0-d ids -> [dim]
  CHECK(max_abs_diff(ops::embedding(IndexTensor(2), w).value(), Tensor{6, 7, 8}) == 0);

  const IndexTensor many{{0, 2, 2, 4}, {1, 4, 4, 4}};
  CHECK_GRADIENTS([many](const std::vector<Var>& v) { return ops::embedding(many, v[0]); },
                  {randn({5, 3}, 7)});
}

TEST_CASE("masked_fill and where choose by a boolean mask", "[indexing]") {
  Var x(iota({2, 3}), true);
  const BoolTensor col{{false, true, false}};  // [1, 3], broadcast over rows
  Var y = ops::masked_fill(x, col, -9.0f);
  CHECK(max_abs_diff(y.value(), Tensor{{0, -9, 2}, {3, -9, 5}}) == 0);
  y.backward(Tensor{{1, 2, 3}, {4, 5, 6}});
  CHECK(max_abs_diff(x.grad(), Tensor{{1, 0, 3}, {4, 0, 6}}) == 0);

  const BoolTensor full{
      {true, false, false, true}, {false, false, true, false}, {true, true, false, false}};
  CHECK_GRADIENTS([full](const std::vector<Var>& v) { return ops::masked_fill(v[0], full, 0.5f); },
                  {randn({3, 4}, 8)});
  const BoolTensor row{true, false, false, true};  // [4] broadcast to [2, 3, 4]
  CHECK_GRADIENTS([row](const std::vector<Var>& v) { return ops::masked_fill(v[0], row, 0.0f); },
                  {randn({2, 3, 4}, 9)});

  const BoolTensor cond = shaped(BoolTensor{true, false}, {2, 1});  // [2, 1]
  Var a(Tensor{{1, 2, 3}, {4, 5, 6}}), b(Tensor{10, 20, 30});
  CHECK(max_abs_diff(ops::where(cond, a, b).value(), Tensor{{1, 2, 3}, {10, 20, 30}}) == 0);
  Var ga(iota({2, 3}), true), gb(Tensor{10, 20, 30}, true);
  ops::where(cond, ga, gb).backward(xt::ones<float>({2, 3}));
  CHECK(max_abs_diff(ga.grad(), Tensor{{1, 1, 1}, {0, 0, 0}}) == 0);
  CHECK(max_abs_diff(gb.grad(), Tensor{1, 1, 1}) == 0);  // reduced from [2, 3] by the tape

  CHECK_GRADIENTS([cond](const std::vector<Var>& v) { return ops::where(cond, v[0], v[1]); },
                  {randn({2, 3}, 10), randn({3}, 11)});
  const BoolTensor c3{{{true, false, true}}, {{false, false, true}}};  // [2, 1, 3]
  CHECK_GRADIENTS([c3](const std::vector<Var>& v) { return ops::where(c3, v[0], v[1]); },
                  {randn({4, 1}, 12), randn({2, 4, 3}, 13)});
}

TEST_CASE("indexing ops reject bad arguments with ShapeError naming the op", "[indexing]") {
  Var x(iota({3, 4}));
  CHECK_SHAPE_ERROR(ops::index_select(x, 2, IndexTensor{0}), "index_select");
  CHECK_SHAPE_ERROR(ops::index_select(x, 0, IndexTensor{0, 3}), "index_select");
  CHECK_THROWS_WITH(ops::index_select(x, 0, IndexTensor{0, 3}),
                    Catch::Contains("index 3") && Catch::Contains("[1]"));
  CHECK_SHAPE_ERROR(ops::index_select(x, 1, IndexTensor{-1}), "index_select");
  CHECK_SHAPE_ERROR(ops::index_select(x, 0, shaped(IndexTensor{0}, {1, 1})), "index_select");

  CHECK_SHAPE_ERROR(ops::gather(x, 1, IndexTensor{0, 1}), "gather");  // rank
  CHECK_SHAPE_ERROR(ops::gather(x, 1, shaped(IndexTensor{0, 0, 0, 0}, {4, 1})),
                    "gather");                                                      // 4 > 3 rows
  CHECK_SHAPE_ERROR(ops::gather(x, 1, IndexTensor{{0, 4}}), "gather");              // value
  CHECK_SHAPE_ERROR(ops::gather(x, -3, shaped(IndexTensor{0}, {1, 1})), "gather");  // axis

  Var w(iota({4, 3}));
  CHECK_SHAPE_ERROR(ops::embedding(IndexTensor{{0, 1}, {4, 2}}, w), "embedding");
  CHECK_THROWS_WITH(
      ops::embedding(IndexTensor{{0, 1}, {4, 2}}, w),
      Catch::Contains("id 4") && Catch::Contains("[1, 0]") && Catch::Contains("num_embeddings 4"));
  CHECK_SHAPE_ERROR(ops::embedding(IndexTensor{-1}, w), "embedding");
  CHECK_SHAPE_ERROR(ops::embedding(IndexTensor{0}, w, 4), "embedding");
  CHECK_SHAPE_ERROR(ops::embedding(IndexTensor{0}, Var(iota({4}))), "embedding");

  CHECK_SHAPE_ERROR(ops::masked_fill(x, BoolTensor{true, false}, 0.0f), "masked_fill");
  CHECK_SHAPE_ERROR(ops::masked_fill(Var(iota({4})), BoolTensor::from_shape({3, 4}), 0.0f),
                    "masked_fill");
  CHECK_SHAPE_ERROR(ops::where(BoolTensor{true, false}, x, x), "where");
  CHECK_SHAPE_ERROR(ops::where(BoolTensor{true}, x, Var(iota({3}))), "where");
}

TEST_CASE("indexing ops add into a gradient that is already there", "[indexing]") {
  const IndexTensor rows{1, 0, 1};
  const IndexTensor ids{{1, 1, 0}};
  const BoolTensor mask{true, false, true};
  CHECK_GRADIENTS(
      [&](const std::vector<Var>& v) {
        return ops::index_select(v[0], 0, rows) *
                   ops::gather(v[0], 1, IndexTensor{{2, 0, 1}, {0, 1, 1}, {2, 2, 0}}) +
               ops::reshape(ops::embedding(ids, v[0]), {3, 3}) + ops::masked_fill(v[0], mask, 1.0f);
      },
      {randn({3, 3}, 14)});
}
