#include "helpers.hpp"

using namespace unroll;
using unroll::test::randn;

TEST_CASE("fan-out accumulates: y = x*x + x has dy/dx = 2x + 1", "[tape]") {
  Var x(Tensor{1.5f, -2.0f, 0.25f}, true);
  Var y = x * x + x;
  y.backward(xt::ones<float>({3}));
  const Tensor expected = {4.0f, -3.0f, 1.5f};
  CHECK(test::max_abs_diff(x.grad(), expected) < 1e-6);
}

TEST_CASE("a 3-step unrolled recurrence matches finite differences", "[tape]") {
  auto f = [](const std::vector<Var>& v) {
    // h_t = tanh(W h_{t-1} + x_t), three steps, W shared: BPTT is the tape's reverse walk.
    Var h = v[0];
    for (int t = 0; t < 3; ++t) h = ops::tanh(ops::matmul(h, v[1]) + v[2]);
    return h;
  };
  CHECK_GRADIENTS(f, {randn({2, 3}, 1), randn({3, 3}, 2, 0.5f), randn({2, 3}, 3)});
}

TEST_CASE("detach cuts gradient flow", "[tape]") {
  Var x(Tensor{2.0f}, true);
  Var y = x * x;
  Var z = y.detach() * x;  // dz/dx = y = 4, not 3x^2 = 12
  z.backward();
  CHECK(x.grad()(0) == Approx(4.0f));
  CHECK_FALSE(y.detach().requires_grad());
}

TEST_CASE("no-grad scope records nothing", "[tape]") {
  autograd::Tape tape;
  autograd::TapeScope scope(tape);
  Var x(Tensor{1.0f, 2.0f}, true);
  {
    autograd::NoGradGuard no_grad;
    Var y = ops::exp(x) * x;
    CHECK_FALSE(y.requires_grad());
    CHECK(tape.size() == 0);
    CHECK_THROWS_AS(y.backward(xt::ones<float>({2})), AutogradError);
  }
  Var y = ops::exp(x);
  CHECK(tape.size() == 1);
}

TEST_CASE("gradients accumulate across backward calls until zeroed", "[tape]") {
  Var w(Tensor{3.0f}, true);
  for (int i = 0; i < 3; ++i) {
    autograd::Tape tape;
    autograd::TapeScope scope(tape);
    (w * w).backward();  // d(w^2)/dw = 6 each time
  }
  CHECK(w.grad()(0) == Approx(18.0f));
  w.zero_grad();
  CHECK_FALSE(w.has_grad());
  CHECK(w.grad()(0) == 0.0f);
}

TEST_CASE("a retained gradient accumulates over walks and is passed on once per walk", "[tape]") {
  // h = 3x, L = sum(2h) with h retained; two backward walks over the same graph (PyTorch
  // with retain_graph): dL/dh = 2 per walk, so h.grad = 4 and x.grad = 2 * 6 = 12.
  Var x(Tensor{1.0f, -2.0f}, true);
  Var h = ops::mul(x, 3.0f);
  h.retain_grad();
  Var l = ops::sum(ops::mul(h, 2.0f));
  l.backward();
  l.backward();
  CHECK(test::max_abs_diff(h.grad(), Tensor{4, 4}) == 0);
  CHECK(test::max_abs_diff(x.grad(), Tensor{12, 12}) == 0);
}

TEST_CASE("tape reuse: clear keeps parameter gradients and turns outputs into constants",
          "[tape]") {
  autograd::Tape tape;
  autograd::TapeScope scope(tape);
  Var w(Tensor{2.0f}, true);
  Var kept;
  for (int step = 0; step < 4; ++step) {
    Var y = ops::mul(w, static_cast<float>(step + 1));
    y.backward();
    kept = y;
    tape.clear();
    CHECK(tape.size() == 0);
  }
  CHECK(w.grad()(0) == Approx(1 + 2 + 3 + 4));
  CHECK_FALSE(kept.requires_grad());
  CHECK(kept.item() == Approx(8.0f));
}

TEST_CASE("backward over 100,000 recorded ops does not recurse", "[tape]") {
  autograd::Tape tape;
  autograd::TapeScope scope(tape);
  Var x(Tensor{1.0f}, true);
  Var y = x;
  for (int i = 0; i < 100000; ++i) y = y + 1e-5f;
  CHECK(tape.size() == 100000);
  y.backward();
  CHECK(x.grad()(0) == Approx(1.0f));
  tape.clear();
}

TEST_CASE("broadcast gradients are reduced to each input's shape", "[tape]") {
  Var a(randn({4, 3}), true);
  Var b(Tensor{1.0f, 2.0f, 3.0f}, true);  // [3] broadcast over rows
  Tensor ct = {1.0f, 2.0f, 3.0f, 4.0f};
  ct.reshape({4, 1});
  Var c(ct, true);  // [4, 1] broadcast over columns
  Var y = a * b + c;
  y.backward(xt::ones<float>({4, 3}));
  REQUIRE(b.grad().shape() == b.value().shape());
  REQUIRE(c.grad().shape() == c.value().shape());
  for (std::size_t j = 0; j < 3; ++j) {
    float s = 0;
    for (std::size_t i = 0; i < 4; ++i) s += a.value()(i, j);
    CHECK(b.grad()(j) == Approx(s).margin(1e-5));
  }
  for (std::size_t i = 0; i < 4; ++i) CHECK(c.grad()(i, 0) == Approx(3.0f));
}

TEST_CASE("backward needs a scalar or a matching seed", "[tape]") {
  Var x(randn({2, 2}), true);
  Var y = x * 2.0f;
  CHECK_THROWS_AS(y.backward(), ShapeError);
  CHECK_THROWS_AS(y.backward(xt::ones<float>({3})), ShapeError);
}

TEST_CASE("anomaly mode names the op that produced NaN, forward and backward", "[tape][anomaly]") {
  Var x(Tensor{-1.0f, 4.0f}, true);
  {
    autograd::AnomalyGuard anomaly(true);
    try {
      Var y = ops::log(x);
      FAIL("log(-1) should have raised an anomaly");
    } catch (const AnomalyError& e) {
      const std::string msg = e.what();
      CHECK(msg.find("'log'") != std::string::npos);
      CHECK(msg.find("[2]") != std::string::npos);
      CHECK(msg.find("tape position") != std::string::npos);
    }
  }
  {
    // sqrt(0) is finite forward but its gradient 0.5/sqrt(0) is infinite.
    Var z(Tensor{0.0f, 1.0f}, true);
    autograd::AnomalyGuard anomaly(true);
    Var y = ops::sqrt(z);
    try {
      y.backward(xt::ones<float>({2}));
      FAIL("the backward of sqrt at 0 should have raised an anomaly");
    } catch (const AnomalyError& e) {
      CHECK(std::string(e.what()).find("backward of op 'sqrt'") != std::string::npos);
    }
  }
  Var y = ops::log(x);  // off again: no throw, NaN passes through
  CHECK(std::isnan(y.value()(0)));
}

namespace {
struct Cube : autograd::Function<Cube> {
  static constexpr const char* name = "cube";
  static Tensor forward(autograd::FunctionContext& ctx, const autograd::TensorList& in) {
    ctx.save_for_backward({in[0]});
    return in[0] * in[0] * in[0];
  }
  static autograd::GradList backward(autograd::FunctionContext& ctx, const Tensor& g) {
    const Tensor& x = ctx.saved(0);
    return {Tensor(g * 3.0f * x * x)};
  }
};
struct WrongCount : autograd::Function<WrongCount> {
  static Tensor forward(autograd::FunctionContext&, const autograd::TensorList& in) {
    return in[0];
  }
  static autograd::GradList backward(autograd::FunctionContext&, const Tensor& g) { return {g, g}; }
};
}  // namespace

TEST_CASE("custom Function composes with built-in ops and is gradient-checked", "[function]") {
  auto f = [](const std::vector<Var>& v) { return ops::tanh(Cube::apply({v[0]}) * v[1]); };
  CHECK_GRADIENTS(f, {randn({3, 2}, 4, 0.7f), randn({3, 2}, 5)});
  Var x(Tensor{1.0f}, true);
  Var y = WrongCount::apply({x});
  CHECK_THROWS_AS(y.backward(), AutogradError);
}

TEST_CASE("values no backward reads are released once no Var holds them", "[tape][memory]") {
  autograd::Tape tape;
  autograd::TapeScope scope(tape);
  // [20, 30] = 600 floats: above autograd::kKeepValueElements, so unread values are freed.
  const std::size_t n = 600, f = sizeof(float);
  Var a(randn({20, 30}, 11), true);
  Var b(randn({20, 30}, 12), true);
  Var c(randn({30}, 13), true);  // broadcast over the rows
  const Tensor ones = xt::ones<float>({20, 30});

  SECTION("a chain of temporaries keeps only what backward reads") {
    // mul reads a and b (leaves), not its output; add reads nothing; tanh reads its output.
    // So of the three [20, 30] values only tanh's stays.
    Var y = ops::tanh(a * b + c);
    CHECK(tape.size() == 3);
    CHECK(tape.value_bytes() == n * f);
    y.backward(ones);
    // Hand derivative: dy/da = (1 - y^2) b, dy/db = (1 - y^2) a, dy/dc = sum over rows.
    const Tensor u = a.value() * b.value() + c.value();
    const Tensor d = 1.0f - xt::tanh(u) * xt::tanh(u);
    CHECK(test::max_abs_diff(a.grad(), d * b.value()) < 1e-6);
    CHECK(test::max_abs_diff(b.grad(), d * a.value()) < 1e-6);
    CHECK(test::max_abs_diff(c.grad(), Tensor(xt::sum(d, {0}))) < 1e-5);
  }
  SECTION("a value a later backward reads is kept") {
    Var y = (a + c) * b;  // mul reads a + c
    CHECK(tape.value_bytes() == 2 * n * f);
    y.backward(ones);
    CHECK(test::max_abs_diff(b.grad(), Tensor(a.value() + c.value())) < 1e-6);
  }
  SECTION("a value a Var still holds is kept, and readable") {
    Var s = a + c;
    Var y = ops::tanh(s);
    CHECK(tape.value_bytes() == 2 * n * f);
    CHECK(test::max_abs_diff(s.value(), Tensor(a.value() + c.value())) == 0.0f);
    s = Var();  // the last handle goes: add's output is now unreadable, so it is freed
    CHECK(tape.value_bytes() == n * f);
    y.backward(ones);
    const Tensor d = 1.0f - y.value() * y.value();
    CHECK(test::max_abs_diff(a.grad(), d) < 1e-6);
  }
  SECTION("small values stay (freeing them would cost more than they hold)") {
    Var p(Tensor{1.0f, 2.0f}, true);
    Var y = ops::tanh(p * 3.0f);
    CHECK(tape.value_bytes() == (2 + 2) * f);
  }
}

TEST_CASE("released value buffers are reused by the next output of their size", "[tape][memory]") {
  SECTION("the cache hands back a buffer of exactly the size asked for") {
    Tensor t = xt::zeros<float>({1000});
    const float* p = t.data();
    autograd::cache_value_buffer(t);
    CHECK(t.size() == 0);
    Tensor other = xt::zeros<float>({3});
    CHECK_FALSE(autograd::take_cached_buffer(other, 999));
    CHECK(other.size() == 3);  // unchanged when nothing fits
    Tensor u;
    REQUIRE(autograd::take_cached_buffer(u, 1000));
    u.resize({10, 100});
    CHECK(u.data() == p);
    CHECK_FALSE(autograd::take_cached_buffer(u, 1000));  // taken: no longer cached
  }
  SECTION("a repeated step records into last step's buffers, with correct values") {
    autograd::Tape tape;
    autograd::TapeScope scope(tape);
    Var a(randn({20, 30}, 21), true);
    Var w(randn({40, 30}, 22), true);
    std::vector<const float*> first;
    std::vector<Tensor> blockers;
    for (int step = 0; step < 2; ++step) {
      // linear (GEMM) and select (copy) write their outputs through record_filled. The
      // Vars go before clear(), so the tape recycles their nodes.
      {
        Var y = ops::linear(a, w, Var());
        Var r = ops::select(y, 0, 3);
        if (step == 0) first = {y.value().data(), r.value().data()};
        if (step == 1) {
          CHECK(y.value().data() == first[0]);
          CHECK(r.value().data() == first[1]);
        }
        // Row 3 of a w^T by hand.
        for (std::size_t j = 0; j < 40; ++j) {
          double s = 0;
          for (std::size_t k = 0; k < 30; ++k) s += a.value()(3, k) * w.value()(j, k);
          CHECK(r.value()(j) == Approx(s).margin(1e-5));
        }
      }
      tape.clear();
      // Had clear() freed the buffers, these would take them and step 1 would get others.
      if (step == 0) blockers = {Tensor::from_shape({20, 40}), Tensor::from_shape({40})};
    }
  }
}

namespace {
// narrow(y, 0, start, len) weighted by w * (1, 2, 3, ...), or, with whole, y * w.
struct SliceUse {
  std::size_t start, len;
  float w;
  bool whole = false;
};

// dL/da for y = 3a, [T, 2, 3], L = sum over uses of sum(use(y) * weights).
Tensor sliced_gradient(const std::vector<SliceUse>& uses, std::size_t T) {
  const Shape s{T, 2, 3};
  Var a(test::randn(s, 5), true);
  Var y = a * 3.0f;  // a non-leaf: the slices' backwards write its gradient, a's shows it
  Var loss;
  for (const SliceUse& u : uses) {
    Var term;
    if (u.whole) {
      term = ops::sum(y * u.w);
    } else {
      Tensor weights = (test::iota({u.len, 2, 3}) + 1.0f) * u.w;
      term = ops::sum(ops::narrow(y, 0, u.start, u.len) * Var(weights));
    }
    loss = loss.defined() ? loss + term : term;
  }
  loss.backward();
  return a.grad();
}

// The same by hand: element (t, k) of a gets 3 w ((t - start) * 6 + k + 1) from each use.
Tensor sliced_gradient_by_hand(const std::vector<SliceUse>& uses, std::size_t T) {
  Tensor g = xt::zeros<float>({T, std::size_t{2}, std::size_t{3}});
  for (const SliceUse& u : uses)
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t k = 0; k < 6; ++k) {
        if (u.whole)
          g.data()[t * 6 + k] += 3.0f * u.w;
        else if (t >= u.start && t < u.start + u.len)
          g.data()[t * 6 + k] += 3.0f * u.w * static_cast<float>((t - u.start) * 6 + k + 1);
      }
  return g;
}
}  // namespace

TEST_CASE("slices of a tensor pass its gradient in any order, with gaps, repeats and overlaps",
          "[tape][memory]") {
  // A slice's backward zero-fills only what it must (the rest of a fresh buffer), copies into
  // a fresh buffer and adds onto a written one. Each case runs twice on one tape, so the
  // second run's buffers are the first run's, holding stale gradients wherever a zero fill
  // is missing.
  const std::size_t T = 6;
  const std::vector<std::vector<SliceUse>> cases = {
      {{2, 1, 2}, {4, 1, 1}},                 // BPTT order, gaps around
      {{0, 1, 1}, {3, 1, -1}, {5, 1, 0.5f}},  // walked from the end down
      {{0, 1, 1}, {1, 1, 1}, {2, 1, 1}, {3, 1, 1}, {4, 1, 1}, {5, 1, 1}},  // every step
      {{5, 1, 1}, {3, 1, 2}, {1, 1, 3}},                                   // walked upwards, gaps
      {{2, 1, 1}, {2, 1, 3}},                                              // one slice twice
      {{2, 1, 2}, {1, 3, 1}},                      // inside one written earlier
      {{1, 3, 1}, {2, 2, 2}},                      // overlapping the written part
      {{0, 0, 0, true}, {1, 1, 2}, {4, 1, 1}},     // then a whole-tensor use adds
      {{1, 1, 2}, {4, 1, 1}, {0, 0, 0.5f, true}},  // after one
      {{0, 6, 1}},                                 // the whole tensor as a slice
  };
  autograd::Tape tape;
  autograd::TapeScope scope(tape);
  for (int run = 0; run < 2; ++run) {
    for (std::size_t c = 0; c < cases.size(); ++c) {
      CAPTURE(run, c);
      const Tensor got = sliced_gradient(cases[c], T);
      CHECK(test::max_abs_diff(got, sliced_gradient_by_hand(cases[c], T)) < 1e-4);
      tape.clear();
    }
  }
}

TEST_CASE("a split piece reads a sibling's gradient that was written by slices", "[tape][memory]") {
  // The pieces of one chunk write their input's gradient together, so the piece walked first
  // reads the other's gradient, here written by a slice at one row. Twice on one tape: the
  // second run's buffers hold the first run's gradients.
  autograd::Tape tape;
  autograd::TapeScope scope(tape);
  Tensor expected = xt::zeros<float>({6, 2, 3});
  for (std::size_t k = 0; k < 6; ++k) expected.data()[6 + k] = 3.0f * static_cast<float>(k + 1);
  for (std::size_t k = 18; k < 36; ++k) expected.data()[k] = 3.0f * 0.5f;
  for (int run = 0; run < 2; ++run) {
    CAPTURE(run);
    Tensor got;
    {
      Var a(test::randn({6, 2, 3}, 4), true);
      Var y = a * 3.0f;
      const std::vector<Var> halves = ops::chunk(y, 2, 0);
      Var first = ops::select(halves[0], 0, 1) * Var(test::iota({2, 3}) + 1.0f);
      (ops::sum(first) + ops::sum(halves[1] * 0.5f)).backward();
      got = a.grad();
    }
    CHECK(test::max_abs_diff(got, expected) == 0);
    tape.clear();
  }
}
