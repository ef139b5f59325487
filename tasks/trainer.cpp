#include "tasks/trainer.hpp"

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>

#include "autograd/tape.hpp"
#include "distributed/data_parallel.hpp"
#include "optim/adam.hpp"
#include "optim/checkpoint.hpp"
#include "optim/clip.hpp"

namespace unroll::tasks {

namespace {
// The learning curve travels inside the checkpoint as text: "step loss metric;..."
std::string encode_curve(const std::vector<CurvePoint>& c) {
  std::string s;
  char buf[96];
  for (const auto& p : c) {
    std::snprintf(buf, sizeof buf, "%zu %.17g %.17g;", p.step, p.loss, p.metric);
    s += buf;
  }
  return s;
}

std::vector<CurvePoint> decode_curve(const std::string& s) {
  std::vector<CurvePoint> c;
  std::size_t pos = 0;
  while (pos < s.size()) {
    const std::size_t end = s.find(';', pos);
    if (end == std::string::npos) break;
    CurvePoint p{};
    if (std::sscanf(s.substr(pos, end - pos).c_str(), "%zu %lf %lf", &p.step, &p.loss, &p.metric) ==
        3)
      c.push_back(p);
    pos = end + 1;
  }
  return c;
}

// The step at which UNROLL_FAULT_KILL_AT_STEP asks the run to kill itself (0: never).
std::size_t kill_at_step() {
  const char* s = std::getenv("UNROLL_FAULT_KILL_AT_STEP");
  return s && *s ? static_cast<std::size_t>(std::strtoull(s, nullptr, 10)) : 0;
}

bool gradients_finite(const std::vector<Var>& params) {
  for (const Var& p : params)
    if (p.has_grad() && !autograd::all_finite(p.grad())) return false;
  return true;
}

double now_seconds() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}
}  // namespace

std::map<std::string, double> evaluate(const Task& task, SequenceModel& model, std::size_t length,
                                       std::size_t sequences, std::size_t batch, Generator& gen) {
  // batch 0 would loop forever; 0 sequences would average over nothing.
  if (sequences == 0 || batch == 0)
    throw std::invalid_argument("evaluate: sequences (" + std::to_string(sequences) +
                                ") and batch (" + std::to_string(batch) + ") must be >= 1");
  autograd::NoGradGuard no_grad;
  model.eval();
  std::map<std::string, double> sum;
  std::size_t seen = 0;
  while (seen < sequences) {
    const std::size_t b = std::min(batch, sequences - seen);
    Batch data = task.sample(gen, b, length);
    for (auto& [k, v] : task.metrics(model.forward(data).value(), data)) sum[k] += v * b;
    seen += b;
  }
  model.train();
  for (auto& [k, v] : sum) v /= static_cast<double>(seen);
  return sum;
}

RunResult train_and_evaluate(const Task& task, SequenceModel& model, const TrainConfig& cfg,
                             const std::function<void(const Progress&)>& on_progress) {
  // An empty batch has a NaN mean loss: refuse it here rather than report a "NaN at step 1".
  if (cfg.batch == 0) throw std::invalid_argument("train: batch must be >= 1 sequence, got 0");
  const std::size_t length = cfg.length ? cfg.length : task.default_length();
  Generator data_gen(cfg.seed * 7919 + 1);
  optim::AdamOptions ao;
  ao.lr = cfg.lr;
  optim::Adam opt(model.parameters(), ao);
  std::vector<Var> params = model.parameters();
  autograd::Tape tape;
  autograd::TapeScope scope(tape);

  RunResult r;
  r.task = task.name();
  r.model = model.options().kind;
  r.metric = task.metric();
  r.higher_is_better = task.higher_is_better();
  r.seq_len = length;
  r.parameters = model.num_parameters();
  r.steps = cfg.steps;
  r.hidden = model.options().hidden;

  optim::TrainingState state;
  state.model = &model;
  state.optimizer = &opt;
  state.generators = {{"data", &data_gen}};
  std::size_t first_step = 1;
  double loss_avg = 0;
  if (!cfg.resume_path.empty()) {
    optim::load_checkpoint(cfg.resume_path, state);
    first_step = static_cast<std::size_t>(state.step) + 1;
    r.curve = decode_curve(state.extra["curve"]);
    loss_avg = state.extra.count("loss_avg") ? std::stod(state.extra["loss_avg"]) : 0.0;
  }
  // Step of the last checkpoint at save_path (0: none): the one resumed from, if it is there.
  std::size_t last_saved = cfg.resume_path == cfg.save_path ? first_step - 1 : 0;
  auto save = [&](std::size_t step) {
    state.step = static_cast<std::int64_t>(step);
    state.extra = cfg.checkpoint_extra;
    state.extra["curve"] = encode_curve(r.curve);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", loss_avg);
    state.extra["loss_avg"] = buf;
    optim::save_checkpoint(cfg.save_path, state);
    last_saved = step;
  };

  // Data parallel: every rank starts from rank 0's parameters with the same settings, draws
  // the whole batch from the same data generator and trains on its slice of it.
  std::optional<distributed::DataParallel> dp;
  if (cfg.communicator) {
    dp.emplace(*cfg.communicator, params);
    dp->require_same("the number of parameters", static_cast<double>(r.parameters));
    dp->require_same("the batch size", static_cast<double>(cfg.batch));
    dp->require_same("the sequence length", static_cast<double>(length));
    dp->require_same("the number of steps", static_cast<double>(cfg.steps));
    dp->require_same("the first step", static_cast<double>(first_step));
    dp->require_same("the seed", static_cast<double>(cfg.seed));
    dp->slice(cfg.batch);  // a batch smaller than the group fails here, on every rank
    dp->broadcast_parameters();
  }
  const bool writes_files = !dp || dp->is_root();
  // A non-finite loss or gradient stops the run before the optimizer applies it, so every
  // checkpoint on disk holds finite parameters from before the failure.
  auto fail_nonfinite = [&](const std::string& what, std::size_t step) {
    char lr[32];
    std::snprintf(lr, sizeof lr, "%g", cfg.lr);
    std::string kept;
    if (writes_files && !cfg.save_path.empty())
      kept = last_saved ? "; the last checkpoint, " + cfg.save_path + " (step " +
                              std::to_string(last_saved) + "), is from before it and was kept"
                        : "; no checkpoint was written before it";
    throw std::runtime_error(task.name() + "/" + r.model + ": the " + what + " at step " +
                             std::to_string(step) + kept + ". Lower --lr (it is " + lr +
                             "), or check the data");
  };
  auto check_loss = [&](float lv, std::size_t step) {
    if (!std::isfinite(lv))
      fail_nonfinite(
          std::string("loss became non-finite (") + (std::isnan(lv) ? "NaN" : "Inf") + ")", step);
  };
  const std::size_t kill_step = kill_at_step();

  model.train();
  const double t0 = now_seconds();
  std::size_t tokens = 0;
  for (std::size_t step = first_step; step <= cfg.steps; ++step) {
    if (step == kill_step) std::raise(SIGKILL);  // test hook: see TrainConfig
    Batch batch = task.sample(data_gen, cfg.batch, length);
    std::optional<Batch> part;  // data parallel: this rank's rows of the batch
    if (dp) part = distributed::slice_batch(batch, dp->slice(cfg.batch));
    const Batch& mine = part ? *part : batch;
    Var out = model.forward(mine);
    Var loss = task.loss(out, mine);
    float lv = loss.item();
    if (!dp) check_loss(lv, step);
    loss.backward();
    if (dp) {
      // The whole batch's gradient and loss on every rank; checked after the sum so that
      // every rank stops at the same step.
      lv = dp->reduce_gradients(task.loss_terms(mine), task.loss_terms(batch), lv);
      check_loss(lv, step);
    }
    if (!gradients_finite(params)) fail_nonfinite("gradient became non-finite (NaN/Inf)", step);
    if (cfg.clip > 0) optim::clip_grad_norm(params, cfg.clip);
    opt.step();
    opt.zero_grad();
    tokens += batch.batch_size() * batch.steps();
    loss_avg = step == first_step && first_step == 1 ? lv : 0.9 * loss_avg + 0.1 * lv;
    if (step % cfg.log_every == 0 || step == cfg.steps) {
      Tensor gathered;  // data parallel: the whole batch's outputs, from every rank
      if (dp) gathered = dp->gather_rows(out.value(), cfg.batch);
      const double m = task.metrics(dp ? gathered : out.value(), batch).at(task.metric());
      r.curve.push_back({step, loss_avg, m});  // smoothed: one batch is noisy
    }
    tape.clear();
    if (writes_files && !cfg.save_path.empty() && cfg.save_every && step % cfg.save_every == 0 &&
        step != cfg.steps)
      save(step);
    if (on_progress) {
      const double s = now_seconds() - t0;
      on_progress({step, cfg.steps, loss_avg, s > 0 ? tokens / s : 0.0, s});
    }
  }
  if (writes_files && !cfg.save_path.empty()) save(cfg.steps);
  r.train_seconds = now_seconds() - t0;
  r.tokens_per_second = r.train_seconds > 0 ? tokens / r.train_seconds : 0.0;
  r.final_loss = loss_avg;

  std::vector<std::size_t> lengths = cfg.eval_lengths;
  if (lengths.empty()) lengths.push_back(length);
  for (std::size_t L : lengths) {
    Generator eval_gen(cfg.seed * 104729 + L);  // the same evaluation data for every model
    r.eval[L] = evaluate(task, model, L, cfg.eval_sequences, std::max<std::size_t>(cfg.batch, 64),
                         eval_gen);
    r.baseline[L] = task.baseline(L);
  }
  return r;
}

}  // namespace unroll::tasks
