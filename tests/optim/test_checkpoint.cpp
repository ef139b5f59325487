// Training checkpoints: resuming reproduces the uninterrupted run bit for bit; a checkpoint
// that does not fit raises and changes nothing.
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "optim/optim.hpp"
#include "optim_helpers.hpp"

using namespace unroll;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("unroll_checkpoint_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

/// A tiny regression model, a fresh optimizer and schedule, and the two generators the
/// run draws from (dropout masks, data), all built from `init_seed`.
struct Run {
  explicit Run(std::uint64_t init_seed, std::size_t hidden = 8)
      : init(init_seed), dropout(init_seed + 1), data(init_seed + 2) {
    model.add(std::make_shared<nn::Linear>(3, hidden, true, init))
        .add(nn::Tanh())
        .add(std::make_shared<nn::Dropout>(0.2f, dropout))
        .add(std::make_shared<nn::Linear>(hidden, 1, true, init));
    const auto split = optim::split_for_weight_decay(model.named_parameters());
    optim::AdamWOptions decay, plain;
    decay.lr = plain.lr = 0.02;
    decay.weight_decay = 0.1;
    plain.weight_decay = 0.0;
    opt = std::make_unique<optim::AdamW>(
        std::vector<optim::AdamW::Group>{{split.decay, decay}, {split.no_decay, plain}});
    sched = std::make_unique<optim::CosineAnnealingLR>(*opt, 20, 0.001);
  }
  optim::TrainingState state() {
    return {&model, opt.get(), sched.get(), {{"dropout", &dropout}, {"data", &data}}, step, {}};
  }
  /// `n` training steps; returns the losses.
  std::vector<float> train(int n) {
    std::vector<float> losses;
    for (int k = 0; k < n; ++k, ++step) {
      const Tensor x = data.normal_tensor({16, 3});
      Tensor y = Tensor::from_shape({16, 1});
      for (std::size_t i = 0; i < 16; ++i)
        y(i, 0) = std::sin(x(i, 0)) + 0.5f * x(i, 1) * x(i, 2) + 0.05f * data.normal();
      autograd::Tape tape;
      autograd::TapeScope scope(tape);
      Var loss = ops::mse_loss(model(Var(x)), Var(y));
      losses.push_back(loss.item());
      loss.backward();
      optim::clip_grad_norm(model.parameters(), 1.0f);
      opt->step();
      opt->zero_grad();
      sched->step();
    }
    return losses;
  }
  Generator init, dropout, data;
  nn::Sequential model;
  std::unique_ptr<optim::AdamW> opt;
  std::unique_ptr<optim::CosineAnnealingLR> sched;
  std::int64_t step = 0;
};

bool same_bits(float a, float b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

}  // namespace

TEST_CASE("resume from a checkpoint gives the uninterrupted loss curve bit for bit",
          "[checkpoint]") {
  const fs::path dir = temp_dir();
  const std::string path = (dir / "run.safetensors").string();
  constexpr int N = 20;

  Run straight(1);
  const std::vector<float> want = straight.train(N);

  Run first(1);
  const std::vector<float> head = first.train(N / 2);
  auto st = first.state();
  st.step = first.step;
  st.extra = {{"note", "half way"}};
  optim::save_checkpoint(path, st);

  Run resumed(99);  // different initialisation and generators: everything must come from the file
  auto rs = resumed.state();
  optim::load_checkpoint(path, rs);
  CHECK(rs.step == N / 2);
  CHECK(rs.extra.at("note") == "half way");
  CHECK(resumed.opt->lr(0) == first.opt->lr(0));
  resumed.step = rs.step;
  const std::vector<float> tail = resumed.train(N - N / 2);

  REQUIRE(want.size() == N);
  for (int k = 0; k < N; ++k) {
    const float got = k < N / 2 ? head[k] : tail[k - N / 2];
    INFO("step " << k << ": straight " << want[k] << ", resumed " << got);
    CHECK(same_bits(got, want[k]));
  }
  CHECK(want.back() < want.front());  // it trains
  const auto a = straight.model.named_parameters(), b = resumed.model.named_parameters();
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].first);
    CHECK(a[i].second.value() == b[i].second.value());
  }
  CHECK(straight.data.state() == resumed.data.state());
  CHECK(straight.dropout.state() == resumed.dropout.state());
  fs::remove_all(dir);
}

TEST_CASE("a checkpoint that does not match raises, lists the problems and changes nothing",
          "[checkpoint]") {
  const fs::path dir = temp_dir();
  const std::string path = (dir / "ck.safetensors").string();
  Run src(1);
  src.train(3);
  auto st = src.state();
  optim::save_checkpoint(path, st);

  auto snapshot = [](Run& r) {
    std::vector<Tensor> v;
    for (const auto& p : r.model.parameters()) v.push_back(p.value());
    return std::make_tuple(v, r.opt->state_tensors(), r.opt->state_metadata(), r.sched->state(),
                           r.dropout.state(), r.data.state());
  };
  auto unchanged = [](const auto& before, const auto& after) {
    CHECK(std::get<0>(before) == std::get<0>(after));
    CHECK(std::get<1>(before).size() == std::get<1>(after).size());
    CHECK(std::get<2>(before) == std::get<2>(after));
    CHECK(std::get<3>(before) == std::get<3>(after));
    CHECK(std::get<4>(before) == std::get<4>(after));
    CHECK(std::get<5>(before) == std::get<5>(after));
  };

  SECTION("other hidden size: every misshaped parameter and the optimizer shapes are listed") {
    Run dst(5, 6);
    dst.train(1);
    const auto before = snapshot(dst);
    auto ds = dst.state();
    try {
      optim::load_checkpoint(path, ds);
      FAIL("load should throw");
    } catch (const optim::CheckpointError& e) {
      const std::string msg = e.what();
      CHECK_THAT(msg, Contains("model.0.weight': checkpoint [8, 3] vs model [6, 3]"));
      CHECK_THAT(msg, Contains("model.3.weight': checkpoint [1, 8] vs model [1, 6]"));
      CHECK_THAT(msg, Contains("optimizer: group 0 parameter shapes"));
      CHECK_THAT(msg, Contains("nothing was loaded"));
    }
    unchanged(before, snapshot(dst));
  }
  SECTION("another optimizer type") {
    Run dst(5);
    optim::SGD sgd(dst.model.parameters(), optim::SGDOptions{});
    auto ds = dst.state();
    ds.optimizer = &sgd;
    ds.schedule = nullptr;
    const auto before = snapshot(dst);
    CHECK_THROWS_WITH(optim::load_checkpoint(path, ds),
                      Contains("optimizer type") && Contains("'AdamW'") && Contains("'SGD'"));
    unchanged(before, snapshot(dst));
  }
  SECTION("a missing generator and a schedule of another type") {
    Run dst(5);
    Generator extra_gen(3);
    optim::StepLR step_lr(*dst.opt, 5);
    auto ds = dst.state();
    ds.schedule = &step_lr;
    ds.generators["augment"] = &extra_gen;
    const auto before = snapshot(dst);
    try {
      optim::load_checkpoint(path, ds);
      FAIL("load should throw");
    } catch (const optim::CheckpointError& e) {
      CHECK_THAT(std::string(e.what()), Contains("rng.augment") && Contains("StepLR"));
      CHECK(e.problems.size() == 2);
    }
    unchanged(before, snapshot(dst));
  }
  SECTION("corrupt and truncated files") {
    Run dst(5);
    const auto before = snapshot(dst);
    auto ds = dst.state();
    {
      std::ifstream in(path, std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::ofstream out((dir / "cut.safetensors").string(), std::ios::binary);
      out.write(bytes.data(), std::streamsize(bytes.size() - 40));
    }
    CHECK_THROWS_AS(optim::load_checkpoint((dir / "cut.safetensors").string(), ds),
                    optim::CheckpointError);
    CHECK_THROWS_AS(optim::load_checkpoint((dir / "absent.safetensors").string(), ds),
                    optim::CheckpointError);
    nn::save_safetensors((dir / "plain.safetensors").string(), {{"weight", Tensor{1.0f}}});
    CHECK_THROWS_WITH(optim::load_checkpoint((dir / "plain.safetensors").string(), ds),
                      Contains("format"));
    unchanged(before, snapshot(dst));
  }
  SECTION("the model alone loads from a training checkpoint") {
    Run dst(5);
    optim::TrainingState only;
    only.model = &dst.model;
    optim::load_checkpoint(path, only);
    CHECK(dst.model.parameters()[0].value() == src.model.parameters()[0].value());
    CHECK(only.step == 3);  // the saved step
  }
  fs::remove_all(dir);
}
