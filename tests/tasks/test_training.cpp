#include <unistd.h>

#include <filesystem>

#include "helpers.hpp"
#include "optim/checkpoint.hpp"
#include "tasks/compare.hpp"

using namespace unroll;

TEST_CASE("every model learns the adding problem well below the baseline at a small setting",
          "[training]") {
  auto task = tasks::make_task("adding");
  for (const std::string kind : {"rnn", "lstm", "gru", "transformer"}) {
    tasks::ModelOptions mo;
    mo.kind = kind;
    mo.hidden = 32;
    Generator init(3);
    auto model = tasks::make_model(mo, task->spec(), init);
    tasks::TrainConfig tc;
    tc.steps = 400;
    tc.length = 8;
    tc.lr = kind == "transformer" ? 3e-3 : 1e-2;
    tc.eval_sequences = 256;
    tasks::RunResult r = tasks::train_and_evaluate(*task, *model, tc);
    INFO(kind << ": mse " << r.eval.at(8).at("mse") << " vs baseline " << r.baseline.at(8));
    // Baseline 1/6 (always predicting 1); a model that uses the markers does far better.
    CHECK(r.eval.at(8).at("mse") < r.baseline.at(8) / 2);
    CHECK(r.curve.size() == 400 / tc.log_every);
  }
}

TEST_CASE("models of a comparison get parameter counts close to the LSTM's", "[training]") {
  auto task = tasks::make_task("copy");
  tasks::ModelOptions lstm;
  lstm.hidden = 32;
  Generator g(1);
  const std::size_t budget = tasks::make_model(lstm, task->spec(), g)->num_parameters();
  for (const std::string kind : {"rnn", "gru", "transformer"}) {
    tasks::ModelOptions mo = lstm;
    mo.kind = kind;
    mo.hidden = tasks::matched_hidden(mo, task->spec(), budget);
    const double n = static_cast<double>(tasks::make_model(mo, task->spec(), g)->num_parameters());
    INFO(kind << " hidden " << mo.hidden << ": " << n << " parameters vs " << budget);
    CHECK(std::abs(n - budget) / budget < 0.1);
  }
  tasks::ModelOptions bad;
  bad.kind = "mamba";
  CHECK_THROWS_AS(tasks::make_model(bad, task->spec(), g), std::invalid_argument);
}

TEST_CASE("a run saved halfway and resumed gives the same learning curve", "[training]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("unroll_resume_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto task = tasks::make_task("adding");
  tasks::ModelOptions mo;
  mo.kind = "gru";
  mo.hidden = 8;
  tasks::TrainConfig tc;
  tc.steps = 40;
  tc.length = 6;
  tc.log_every = 5;
  tc.eval_sequences = 64;

  Generator g1(5);
  auto straight = tasks::make_model(mo, task->spec(), g1);
  tasks::RunResult full = tasks::train_and_evaluate(*task, *straight, tc);

  Generator g2(5);
  auto first = tasks::make_model(mo, task->spec(), g2);
  tasks::TrainConfig half = tc;
  half.steps = 20;
  half.save_path = (dir / "half.ckpt").string();
  tasks::train_and_evaluate(*task, *first, half);

  Generator g3(99);  // a different initialisation: everything must come from the checkpoint
  auto resumed_model = tasks::make_model(mo, task->spec(), g3);
  tasks::TrainConfig rest = tc;
  rest.resume_path = half.save_path;
  tasks::RunResult resumed = tasks::train_and_evaluate(*task, *resumed_model, rest);

  REQUIRE(resumed.curve.size() == full.curve.size());
  for (std::size_t i = 0; i < full.curve.size(); ++i) {
    CHECK(resumed.curve[i].step == full.curve[i].step);
    CHECK(resumed.curve[i].loss == full.curve[i].loss);
  }
  CHECK(resumed.eval.at(6).at("mse") == full.eval.at(6).at("mse"));
  fs::remove_all(dir);
}

TEST_CASE("gradient flow: ||dLoss/dh_t|| is reported for every step of recurrent models",
          "[training][gradflow]") {
  auto task = tasks::make_task("adding");
  auto flows = tasks::gradient_flow(*task, {"rnn", "lstm", "transformer"}, 30, 16, 1);
  REQUIRE(flows.size() == 2);  // the transformer has no recurrent state
  for (const auto& f : flows) {
    REQUIRE(f.norms.size() == 30);
    // The loss reads the last step only, so the last state's gradient is the largest
    // contribution path's start and must be nonzero.
    CHECK(f.norms.back() > 0.0f);
  }
  // A tanh RNN's gradient shrinks going back in time (vanishing gradients).
  CHECK(flows[0].norms.front() < flows[0].norms.back());
}
