// Schedules against their closed forms at several epochs, and plateau behaviour.
#include "optim/optim.hpp"
#include "optim_helpers.hpp"

using namespace unroll;
using Catch::Matchers::Contains;

namespace {
/// SGD over two one-element groups with lr 0.1 and 0.01.
struct TwoGroups {
  Var a = Var::parameter(Tensor{1.0f}), b = Var::parameter(Tensor{1.0f});
  optim::SGD opt{std::vector<optim::SGD::Group>{{{a}, lr(0.1)}, {{b}, lr(0.01)}}};
  static optim::SGDOptions lr(double v) {
    optim::SGDOptions o;
    o.lr = v;
    return o;
  }
};
}  // namespace

TEST_CASE("StepLR: base * gamma^(epoch / step_size) for every group", "[schedule]") {
  TwoGroups t;
  optim::StepLR s(t.opt, 3, 0.5);
  const double want[] = {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025};
  for (int e = 0; e < 8; ++e) {
    if (e > 0) s.step();
    CHECK(s.last_epoch() == e);
    CHECK(t.opt.lr(0) == Approx(want[e]).epsilon(1e-12));
    CHECK(t.opt.lr(1) == Approx(want[e] / 10).epsilon(1e-12));
    CHECK(s.last_lr()[0] == t.opt.lr(0));
  }
}

TEST_CASE("ExponentialLR: base * gamma^epoch", "[schedule]") {
  TwoGroups t;
  optim::ExponentialLR s(t.opt, 0.9);
  for (int k = 0; k < 5; ++k) s.step();
  CHECK(t.opt.lr(0) == Approx(0.1 * 0.59049).epsilon(1e-12));
  CHECK(t.opt.lr(1) == Approx(0.01 * 0.59049).epsilon(1e-12));
}

TEST_CASE("CosineAnnealingLR: eta_min + (base - eta_min)(1 + cos(pi e / T))/2", "[schedule]") {
  TwoGroups t;
  optim::CosineAnnealingLR s(t.opt, 10, 0.001);
  std::map<int, double> want = {{0, 0.1}, {5, 0.0505}, {10, 0.001}, {15, 0.0505}, {20, 0.1}};
  // e = 2: cos(pi/5) = 0.809017: 0.001 + 0.099 * 0.9045085
  want[2] = 0.001 + 0.099 * (1 + 0.8090169943749475) / 2;
  for (int e = 0; e <= 20; ++e) {
    if (e > 0) s.step();
    if (want.count(e)) CHECK(t.opt.lr(0) == Approx(want[e]).epsilon(1e-12));
  }
  CHECK(t.opt.lr(1) == Approx(0.01).epsilon(1e-12));
}

TEST_CASE("LinearWarmup: from start_factor * lr to lr over warmup_steps", "[schedule]") {
  TwoGroups t;
  optim::LinearWarmup s(t.opt, 4, 0.25);
  const double want[] = {0.025, 0.04375, 0.0625, 0.08125, 0.1, 0.1, 0.1};
  for (int e = 0; e < 7; ++e) {
    if (e > 0) s.step();
    CHECK(t.opt.lr(0) == Approx(want[e]).epsilon(1e-12));
    CHECK(t.opt.lr(1) == Approx(want[e] / 10).epsilon(1e-12));
  }
  CHECK_THROWS_WITH(optim::LinearWarmup(t.opt, 0), Contains("warmup_steps"));
  CHECK_THROWS_WITH(optim::LinearWarmup(t.opt, 3, 1.5),
                    Contains("start_factor") && Contains("1.5"));
}

TEST_CASE("ReduceLROnPlateau: patience, cooldown, min_lr", "[schedule]") {
  TwoGroups t;
  optim::PlateauOptions o;
  o.factor = 0.5, o.patience = 2, o.cooldown = 1, o.min_lr = 0.02;
  optim::ReduceLROnPlateau s(t.opt, o);
  // epoch: metric -> lr of group 0 after the step.
  // 1: best. 2,3: bad 1,2. 4: bad 3 > 2 -> 0.05, cooldown 1. 5: cooldown eats the bad epoch.
  // 6,7,8: bad 1,2,3 -> 0.025. 9: improvement. 10,11,12: -> max(0.0125, 0.02) = 0.02.
  // Then further reductions are below eps: stays 0.02. Group 1 (0.01) is already below
  // min_lr 0.02: max(0.005, 0.02) = 0.02 is not a reduction, so it is left alone.
  const double metric[] = {1, 1, 1, 1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
  const double want[] = {0.1,   0.1,   0.1,   0.05, 0.05, 0.05, 0.05, 0.025,
                         0.025, 0.025, 0.025, 0.02, 0.02, 0.02, 0.02, 0.02};
  for (int e = 0; e < 16; ++e) {
    s.step(metric[e]);
    INFO("epoch " << e + 1);
    CHECK(t.opt.lr(0) == Approx(want[e]).epsilon(1e-12));
    CHECK(t.opt.lr(1) == 0.01);
  }
  CHECK(s.best() == 0.5);

  SECTION("mode max: rising metric never reduces") {
    TwoGroups u;
    optim::PlateauOptions m;
    m.mode = optim::PlateauOptions::Mode::Max, m.patience = 0;
    optim::ReduceLROnPlateau r(u.opt, m);
    for (int e = 1; e <= 5; ++e) r.step(e);
    CHECK(u.opt.lr(0) == 0.1);
    r.step(1.0);  // worse, patience 0
    CHECK(u.opt.lr(0) == Approx(0.01));
  }
  SECTION("abs threshold") {
    TwoGroups u;
    optim::PlateauOptions m;
    m.threshold_mode = optim::PlateauOptions::Threshold::Abs, m.threshold = 0.1, m.patience = 0;
    optim::ReduceLROnPlateau r(u.opt, m);
    r.step(1.0);
    r.step(0.95);  // not better by 0.1
    CHECK(u.opt.lr(0) == Approx(0.01));
  }
  CHECK_THROWS_WITH(optim::ReduceLROnPlateau(t.opt,
                                             [] {
                                               optim::PlateauOptions b;
                                               b.factor = 1.0;
                                               return b;
                                             }()),
                    Contains("factor"));
}

TEST_CASE("schedule state round-trips, configuration included; bad state changes nothing",
          "[schedule]") {
  TwoGroups t;
  optim::CosineAnnealingLR s(t.opt, 10, 0.001);
  for (int k = 0; k < 3; ++k) s.step();
  const auto state = s.state();

  TwoGroups u;
  optim::CosineAnnealingLR r(u.opt, 50);
  r.load_state(state);
  u.opt.set_lr(0, t.opt.lr(0));  // the optimizer's lr is optimizer state
  u.opt.set_lr(1, t.opt.lr(1));
  for (int k = 0; k < 4; ++k) {
    s.step();
    r.step();
    CHECK(t.opt.lr(0) == u.opt.lr(0));  // bitwise: same closed form, same numbers
    CHECK(t.opt.lr(1) == u.opt.lr(1));
  }

  TwoGroups v;
  optim::StepLR w(v.opt, 2);
  CHECK_THROWS_WITH(w.load_state(state), Contains("CosineAnnealingLR") && Contains("StepLR"));
  auto broken = state;
  broken["T_max"] = "0";
  broken.erase("base_lr.1");
  optim::CosineAnnealingLR x(v.opt, 7);
  try {
    x.load_state(broken);
    FAIL("should throw");
  } catch (const optim::StateError& e) {
    CHECK_THAT(std::string(e.what()), Contains("T_max") && Contains("base_lr.1"));
    CHECK(e.problems.size() == 2);
  }
  CHECK(x.last_epoch() == 0);
  CHECK(x.state().at("T_max") == "7");

  optim::PlateauOptions po;
  po.patience = 1;
  optim::ReduceLROnPlateau p1(t.opt, po), p2(u.opt);
  p1.step(3.0);
  p1.step(4.0);
  p2.load_state(p1.state());
  CHECK(p2.best() == 3.0);
  CHECK(p2.num_bad_epochs() == 1);
  CHECK(p2.state() == p1.state());
}
