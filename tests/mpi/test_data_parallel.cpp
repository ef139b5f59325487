// Data-parallel training under mpirun (run by ctest with 2 ranks; no Catch2, since every rank
// runs the same checks and only rank 0 reports). Exit status 0 when every check passed.
//
// The independent reference is the one-process run: train_and_evaluate without a
// communicator, on the same seed, steps and global batch, done inside this program on every
// rank. The data-parallel run must match it within float tolerance (gradients summed in
// another order), leave bit-identical parameters on every rank, and resume from its
// checkpoint on any number of ranks.
//
//   test_data_parallel [WORK_DIR]            the checks (WORK_DIR holds a checkpoint)
//   test_data_parallel --fail-on-rank R      rank R throws at step 3: the job must end with
//                                            "rank R: ..." and a non-zero status, not hang
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "distributed/data_parallel.hpp"
#include "distributed/mpi_communicator.hpp"
#include "tasks/trainer.hpp"

using namespace unroll;

namespace {

int g_failures = 0, g_passed = 0;
distributed::Communicator* g_comm = nullptr;

void check(bool ok, const std::string& what) {
  ok ? ++g_passed : ++g_failures;
  if (g_comm->is_root() || !ok)
    std::printf("%s rank %d: %s\n", ok ? "ok  " : "FAIL", g_comm->rank(), what.c_str());
}

// The copy task with a different number of targets in every sequence (row i keeps the first
// 1 + (3i mod 10) of its 10 recall targets). Weighting each rank's gradient by its share of
// the rows instead of its share of the targets would then give a wrong gradient, so this
// task tells the exact weighting from the approximate one. No random draws are added: the
// data generator advances exactly as in the copy task.
class UnevenCopy : public tasks::Task {
 public:
  UnevenCopy() : copy_(tasks::make_task("copy")) {}
  std::string name() const override { return "uneven_copy"; }
  std::string description() const override { return "copy with 1..10 targets per sequence"; }
  tasks::TaskSpec spec() const override { return copy_->spec(); }
  std::string metric() const override { return copy_->metric(); }
  bool higher_is_better() const override { return true; }
  std::size_t default_length() const override { return 6; }
  tasks::Batch sample(Generator& gen, std::size_t batch, std::size_t length) const override {
    tasks::Batch b = copy_->sample(gen, batch, length);
    for (std::size_t i = 0; i < batch; ++i) {
      const std::size_t keep = 1 + (3 * i) % 10;
      std::size_t seen = 0;
      for (std::size_t t = 0; t < b.steps(); ++t)
        if (b.class_targets(i, t) != tasks::kNoTarget && ++seen > keep)
          b.class_targets(i, t) = tasks::kNoTarget;
    }
    return b;
  }
  double baseline(std::size_t length) const override { return copy_->baseline(length); }

 private:
  std::unique_ptr<tasks::Task> copy_;
};

struct Run {
  tasks::RunResult result;
  std::vector<float> params;                                // every parameter, in model order
  std::vector<std::pair<std::size_t, std::size_t>> exempt;  // [begin, end) of params not compared
};

Run train(const tasks::Task& task, const std::string& kind, std::size_t steps,
          distributed::Communicator* comm, const std::string& save = "",
          const std::string& resume = "") {
  tasks::ModelOptions mo;
  mo.kind = kind;
  mo.hidden = 16;
  mo.heads = 2;
  Generator init(11);
  auto model = tasks::make_model(mo, task.spec(), init);
  tasks::TrainConfig cfg;
  cfg.steps = steps;
  cfg.batch = 7;  // uneven on 2 ranks: 4 + 3 rows
  cfg.length = 6;
  cfg.lr = 3e-3;
  cfg.seed = 5;
  cfg.log_every = 5;
  cfg.eval_sequences = 64;
  cfg.save_path = save;
  cfg.save_every = save.empty() ? 0 : 5;
  cfg.resume_path = resume;
  cfg.checkpoint_extra = {{"test", "data_parallel"}};
  cfg.communicator = comm;
  Run r;
  r.result = tasks::train_and_evaluate(task, *model, cfg);
  r.params = distributed::flatten_values(model->parameters());
  // The key bias of attention gets a gradient that is exactly 0 in exact arithmetic
  // (softmax over keys ignores q.b_k, the same for every key), so its float gradient is
  // rounding noise that Adam scales up to steps of size lr: it differs between any two
  // summation orders and does not change the model's outputs. It is left out of the
  // parameter comparison; the loss, metrics and outputs still cover it.
  std::size_t offset = 0;
  for (const auto& [name, p] : model->named_parameters()) {
    const std::size_t n = p.value().size();
    const std::string suffix = "self_attn.in_proj_bias";
    if (name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      r.exempt.push_back({offset + n / 3, offset + 2 * n / 3});
    offset += n;
  }
  return r;
}

// |a - b| <= 1e-5 + 1e-4 |b| for every parameter, loss and metric. Float sums taken in
// another order differ in the last bits; after 30 Adam steps the parameters differ by
// ~1e-7. Weighting by rows instead of targets moves them by ~2e-3 relative (tried).
bool close(double a, double b) {
  return std::abs(a - b) <= 1e-5 + 1e-4 * std::abs(b);
}

std::string compare_runs(const Run& got, const Run& want) {
  if (got.params.size() != want.params.size()) return "parameter count differs";
  double worst = 0;
  for (std::size_t i = 0; i < got.params.size(); ++i) {
    bool skip = false;
    for (const auto& [b, e] : want.exempt) skip = skip || (i >= b && i < e);
    if (skip) continue;
    if (!close(got.params[i], want.params[i]))
      return "parameter " + std::to_string(i) + ": " + std::to_string(got.params[i]) + " vs " +
             std::to_string(want.params[i]);
    worst = std::max(worst, double(std::abs(got.params[i] - want.params[i])));
  }
  if (got.result.curve.size() != want.result.curve.size()) return "curve length differs";
  for (std::size_t i = 0; i < got.result.curve.size(); ++i) {
    const auto &g = got.result.curve[i], &w = want.result.curve[i];
    if (g.step != w.step || !close(g.loss, w.loss) || !close(g.metric, w.metric))
      return "curve point " + std::to_string(w.step) + ": loss " + std::to_string(g.loss) + " vs " +
             std::to_string(w.loss) + ", metric " + std::to_string(g.metric) + " vs " +
             std::to_string(w.metric);
  }
  for (const auto& [L, metrics] : want.result.eval)
    for (const auto& [k, v] : metrics)
      if (!close(got.result.eval.at(L).at(k), v))
        return "eval " + k + ": " + std::to_string(got.result.eval.at(L).at(k)) + " vs " +
               std::to_string(v);
  char buf[64];
  std::snprintf(buf, sizeof buf, "max |dparam| %.2e", worst);
  return std::string("") + buf;
}

void run_checks(distributed::Communicator& comm, const std::string& dir) {
  const std::size_t steps = 30;
  UnevenCopy uneven;
  auto adding = tasks::make_task("adding");
  for (const std::string kind : {"lstm", "transformer"}) {
    const std::vector<const tasks::Task*> task_list{&uneven, adding.get()};
    for (const tasks::Task* task : task_list) {
      const std::string label = kind + " on " + task->name();
      const Run ref = train(*task, kind, steps, nullptr);
      const Run dp = train(*task, kind, steps, &comm);
      const std::string diff = compare_runs(dp, ref);
      check(diff.rfind("max", 0) == 0,
            label + ": " + std::to_string(comm.size()) + " ranks = 1 process (" + diff + ")");
      // Every rank's parameters equal rank 0's bit for bit.
      Generator g(0);
      auto probe = tasks::make_model({kind, 16, 1, 2}, task->spec(), g);
      distributed::unflatten_values(dp.params, probe->parameters());
      distributed::DataParallel check_dp(comm, probe->parameters());
      check(check_dp.parameters_identical(), label + ": parameters identical on every rank");
    }
  }

  // Checkpoints written by rank 0 of a data-parallel run resume on any number of ranks.
  const std::string ckpt = dir + "/dp_resume_test.ckpt";
  const Run ref = train(uneven, "lstm", steps, nullptr);
  train(uneven, "lstm", steps / 2, &comm, ckpt);
  comm.barrier();  // rank 0 has written the checkpoint
  const Run resumed_dp = train(uneven, "lstm", steps, &comm, "", ckpt);
  std::string diff = compare_runs(resumed_dp, ref);
  check(diff.rfind("max", 0) == 0, "resume on " + std::to_string(comm.size()) +
                                       " ranks = uninterrupted 1 process (" + diff + ")");
  const Run resumed_one = train(uneven, "lstm", steps, nullptr, "", ckpt);
  diff = compare_runs(resumed_one, ref);
  check(diff.rfind("max", 0) == 0,
        "data-parallel checkpoint resumed by 1 process = uninterrupted (" + diff + ")");
  comm.barrier();
  if (comm.is_root()) std::filesystem::remove(ckpt);

  // A batch smaller than the group is refused on every rank with the same message.
  bool refused = false;
  try {
    tasks::TrainConfig cfg;
    cfg.batch = static_cast<std::size_t>(comm.size()) - 1;
    cfg.steps = 1;
    cfg.communicator = &comm;
    Generator init(1);
    auto model = tasks::make_model({"lstm", 8}, adding->spec(), init);
    if (cfg.batch > 0) tasks::train_and_evaluate(*adding, *model, cfg);
  } catch (const std::invalid_argument& e) {
    refused = std::string(e.what()).find("smaller than the") != std::string::npos;
  }
  if (comm.size() > 1) check(refused, "a batch smaller than the number of ranks is refused");
}

}  // namespace

int main(int argc, char** argv) {
  distributed::MpiCommunicator comm(&argc, &argv);
  g_comm = &comm;
  std::string dir = ".";
  int fail_rank = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--fail-on-rank" && i + 1 < argc)
      fail_rank = std::atoi(argv[++i]);
    else
      dir = a;
  }
  try {
    if (fail_rank >= 0) {
      auto task = tasks::make_task("adding");
      Generator init(1);
      auto model = tasks::make_model({"lstm", 8}, task->spec(), init);
      tasks::TrainConfig cfg;
      cfg.batch = 8;
      cfg.steps = 1000000;  // the other ranks would wait here for ever without the abort
      cfg.communicator = &comm;
      tasks::train_and_evaluate(*task, *model, cfg, [&](const tasks::Progress& p) {
        if (comm.rank() == fail_rank && p.step == 3)
          throw std::runtime_error("injected failure at step 3");
      });
      return 0;
    }
    run_checks(comm, dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: %s\n", comm.rank(), e.what());
    std::fflush(stderr);
    comm.abort(3);
  }
  double failures = g_failures;
  comm.allreduce(&failures, 1, distributed::ReduceOp::Sum);
  if (comm.is_root()) std::printf("%d passed, %d failed\n", g_passed, static_cast<int>(failures));
  return failures == 0 ? 0 : 1;
}
