// Gradient clipping against hand-computed cases.
#include <cmath>

#include "optim/clip.hpp"
#include "optim_helpers.hpp"

using namespace unroll;
using Catch::Matchers::Contains;
using test::set_grad;

TEST_CASE("clip_grad_norm scales [3, 4] (norm 5) to norm 1", "[clip]") {
  Var p = Var::parameter(Tensor{0.0f, 0.0f});
  set_grad(p, Tensor{3.0f, 4.0f});
  const float total = optim::clip_grad_norm({p}, 1.0f);
  CHECK(total == Approx(5.0f));
  CHECK(p.grad()(0) == Approx(0.6f).margin(1e-6));
  CHECK(p.grad()(1) == Approx(0.8f).margin(1e-6));
}

TEST_CASE("clip_grad_norm takes one global norm over many parameters", "[clip]") {
  // ||[1, 2]||^2 + ||[2]||^2 + ||[[4]]||^2 = 1 + 4 + 4 + 16 = 25: total 5, factor 2/5.
  Var a = Var::parameter(Tensor{0.0f, 0.0f});
  Var b = Var::parameter(Tensor{0.0f});
  Var c = Var::parameter(xt::zeros<float>({1, 1}));
  Var none = Var::parameter(Tensor{7.0f});  // no gradient: skipped
  set_grad(a, Tensor{1.0f, 2.0f});
  set_grad(b, Tensor{2.0f});
  set_grad(c, Tensor(xt::full_like(c.value(), 4.0f)));
  const float total = optim::clip_grad_norm({a, b, none, c}, 2.0f);
  CHECK(total == Approx(5.0f));
  CHECK(a.grad()(0) == Approx(0.4f).margin(1e-6));
  CHECK(a.grad()(1) == Approx(0.8f).margin(1e-6));
  CHECK(b.grad()(0) == Approx(0.8f).margin(1e-6));
  CHECK(c.grad()(0, 0) == Approx(1.6f).margin(1e-6));
  CHECK_FALSE(none.has_grad());
}

TEST_CASE("clip_grad_norm: below the limit nothing changes; inf and 1-norms", "[clip]") {
  Var a = Var::parameter(Tensor{0.0f, 0.0f});
  Var b = Var::parameter(Tensor{0.0f});
  SECTION("below max_norm: gradients untouched") {
    set_grad(a, Tensor{3.0f, 4.0f});
    CHECK(optim::clip_grad_norm({a}, 10.0f) == Approx(5.0f));
    CHECK(a.grad()(0) == 3.0f);
    CHECK(a.grad()(1) == 4.0f);
  }
  SECTION("inf norm: max |g| over all parameters") {
    set_grad(a, Tensor{1.0f, -7.0f});
    set_grad(b, Tensor{3.0f});
    CHECK(optim::clip_grad_norm({a, b}, 3.5f, INFINITY) == Approx(7.0f));
    CHECK(a.grad()(0) == Approx(0.5f).margin(1e-6));
    CHECK(a.grad()(1) == Approx(-3.5f).margin(1e-6));
    CHECK(b.grad()(0) == Approx(1.5f).margin(1e-6));
  }
  SECTION("1-norm and 3-norm") {
    set_grad(a, Tensor{3.0f, -4.0f});
    CHECK(optim::clip_grad_norm({a}, 100.0f, 1.0f) == Approx(7.0f));
    CHECK(optim::clip_grad_norm({a}, 100.0f, 3.0f) == Approx(std::cbrt(27.0f + 64.0f)));
  }
  SECTION("no gradients at all: 0") {
    CHECK(optim::clip_grad_norm({a, b}, 1.0f) == 0.0f);
  }
}

TEST_CASE("clip_grad_norm: non-finite total with error_if_nonfinite throws", "[clip]") {
  Var a = Var::parameter(Tensor{0.0f, 0.0f});
  set_grad(a, Tensor{INFINITY, 1.0f});
  CHECK_THROWS_AS(optim::clip_grad_norm({a}, 1.0f, 2.0f, true), std::runtime_error);
  CHECK_THROWS_WITH(optim::clip_grad_norm({a}, 1.0f, 2.0f, true),
                    Contains("non-finite") && Contains("order 2"));
  CHECK(std::isinf(a.grad()(0)));  // untouched
  CHECK(a.grad()(1) == 1.0f);
  set_grad(a, Tensor{NAN, 1.0f});
  CHECK_THROWS_WITH(optim::clip_grad_norm({a}, 1.0f, INFINITY, true), Contains("non-finite"));
  CHECK(std::isnan(optim::clip_grad_norm({a}, 1.0f, 2.0f, false)));  // as PyTorch: no error
  CHECK_THROWS_AS(optim::clip_grad_norm({a}, 1.0f, 0.0f), std::invalid_argument);
}

TEST_CASE("clip_grad_value clamps every element", "[clip]") {
  Var a = Var::parameter(Tensor{0.0f, 0.0f, 0.0f});
  Var b = Var::parameter(Tensor{0.0f});
  set_grad(a, Tensor{-3.0f, 0.5f, 2.0f});
  set_grad(b, Tensor{-0.25f});
  optim::clip_grad_value({a, b}, 1.0f);
  CHECK(a.grad() == Tensor{-1.0f, 0.5f, 1.0f});
  CHECK(b.grad()(0) == -0.25f);
  CHECK_THROWS_AS(optim::clip_grad_value({a}, -1.0f), std::invalid_argument);
}
