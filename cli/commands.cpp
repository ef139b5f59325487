#include "cli/commands.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>

#include "autograd/tape.hpp"
#include "autograd/threads.hpp"
#include "nn/safetensors.hpp"
#include "optim/checkpoint.hpp"
#include "tasks/charlm.hpp"
#include "tasks/compare.hpp"

namespace unroll::cli {

namespace {

// A live line on a terminal; plain lines every 10% otherwise (logs, CI).
class ProgressPrinter {
 public:
  ProgressPrinter() : tty_(::isatty(STDERR_FILENO)) {}
  void operator()(const std::string& label, const tasks::Progress& p) {
    const double left = p.step ? p.seconds / p.step * (p.steps - p.step) : 0;
    if (tty_) {
      std::fprintf(stderr, "\r%-24s step %5zu/%zu  loss %.4f  %8.0f tok/s  %5.0fs left   ",
                   label.c_str(), p.step, p.steps, p.loss, p.tokens_per_second, left);
      if (p.step == p.steps) std::fprintf(stderr, "\n");
    } else if (p.step == p.steps || p.step % std::max<std::size_t>(1, p.steps / 10) == 0) {
      std::fprintf(stderr, "%s step %zu/%zu loss %.4f %.0f tok/s %.0fs left\n", label.c_str(),
                   p.step, p.steps, p.loss, p.tokens_per_second, left);
    }
  }

 private:
  bool tty_;
};

std::string timestamp_dir() {
  char buf[64];
  const std::time_t t = std::time(nullptr);
  std::strftime(buf, sizeof buf, "runs/%Y%m%d-%H%M%S", std::localtime(&t));
  return buf;
}

tasks::TaskOptions task_options(const CommonOptions& c) {
  tasks::TaskOptions o;
  o.text_path = c.text;
  o.csv_path = c.csv;
  o.csv_column = c.column;
  return o;
}

// `flag` names where the names came from in the message ("--model", "checkpoint 'x'").
void check_models(const std::vector<std::string>& models, const std::string& flag = "--models") {
  const auto known = tasks::model_names();
  if (models.empty()) throw UsageError(flag + ": give at least one model");
  for (const auto& m : models)
    if (std::find(known.begin(), known.end(), m) == known.end())
      throw UsageError(flag + ": unknown model '" + m +
                       "'; known models: rnn, lstm, gru, transformer");
}

void check_tasks(const std::vector<std::string>& names, const std::string& flag = "--tasks") {
  const auto known = tasks::task_names();
  if (names.empty()) throw UsageError(flag + ": give at least one task");
  for (const auto& t : names)
    if (std::find(known.begin(), known.end(), t) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      throw UsageError(flag + ": unknown task '" + t + "'; known tasks: " + list);
    }
}

}  // namespace

CLI::Validator integer_in(std::uint64_t lo, std::uint64_t hi) {
  const std::string range = std::to_string(lo) + " to " + std::to_string(hi);
  return CLI::Validator(
      [lo, hi, range](std::string& s) -> std::string {
        const std::string bad = "expected an integer from " + range + ", got '" + s + "'";
        if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string::npos)
          return bad;
        const auto first = s.find_first_not_of('0');
        s = first == std::string::npos ? "0" : s.substr(first);  // "010" is 10, not octal 8
        try {
          const auto v = std::stoull(s);
          if (v >= lo && v <= hi) return "";
        } catch (const std::out_of_range&) {
        }
        return bad;
      },
      "INT in [" + range + "]");
}

void add_common(CLI::App& app, CommonOptions& o) {
  app.add_option("--seq-len", o.seq_len, "training sequence length (default: each task's own)")
      ->check(integer_in(1, kMaxLength));
  app.add_option("--steps", o.steps, "training steps per run")
      ->capture_default_str()
      ->check(integer_in(1, kMaxSteps));
  app.add_option("--batch", o.batch, "sequences per step")
      ->capture_default_str()
      ->check(integer_in(1, kMaxBatch));
  app.add_option("--hidden", o.hidden, "LSTM hidden size (others matched to its parameter count)")
      ->capture_default_str()
      ->check(integer_in(1, kMaxHidden));
  app.add_option("--layers", o.layers, "layers per model")
      ->capture_default_str()
      ->check(integer_in(1, kMaxLayers));
  app.add_option("--heads", o.heads, "transformer attention heads")
      ->capture_default_str()
      ->check(integer_in(1, kMaxHeads));
  app.add_option("--lr", o.lr, "Adam learning rate (default: 3e-3 recurrent, 1e-3 transformer)")
      ->check(CLI::Validator(
          [](std::string& s) -> std::string {
            try {
              std::size_t used = 0;
              const double v = std::stod(s, &used);
              if (used == s.size() && v > 0 && v < 1e6) return "";
            } catch (const std::exception&) {
            }
            return "expected a number > 0 and < 1e6, got '" + s + "'";
          },
          "X > 0"));
  app.add_option("--seed", o.seed, "random seed")
      ->capture_default_str()
      ->check(integer_in(0, UINT64_MAX));
  app.add_option("--threads", o.threads, "threads (OpenBLAS)")
      ->capture_default_str()
      ->check(integer_in(1, 256));
  app.add_option("--text", o.text, "charlm: text file (default: generated corpus)");
  app.add_option("--csv", o.csv, "forecast: CSV file (default: generated series)");
  app.add_option("--column", o.column, "forecast: CSV column to forecast");
  app.add_flag("--data-parallel", o.data_parallel,
               "split each batch over the ranks of an MPI job (on by itself under mpirun; "
               "docs/distributed.md)");
}

int run_compare_command(const CommonOptions& c, const CompareOptions& o,
                        distributed::Communicator* comm) {
  check_tasks(o.tasks);
  check_models(o.models);
  if (c.lr != 0 && !(c.lr > 0)) throw UsageError("--lr must be > 0");
  set_num_threads(c.threads);
  const bool root = !comm || comm->is_root();  // data parallel: only rank 0 prints and writes

  tasks::CompareConfig cfg;
  cfg.tasks = o.tasks;
  cfg.models = o.models;
  cfg.seq_len = c.seq_len;
  cfg.eval_lengths = o.eval_lengths;
  cfg.steps = c.steps;
  cfg.batch = c.batch;
  cfg.hidden = c.hidden;
  cfg.layers = c.layers;
  cfg.heads = c.heads;
  cfg.lr = c.lr;
  cfg.seed = c.seed;
  cfg.match_params = o.match_params;
  cfg.task_options = task_options(c);
  cfg.communicator = comm;
  // Build every task once up front and draw one sequence at every length it will be trained
  // and evaluated at, so that a bad --text/--csv or a length the data (or the transformer's
  // positions) cannot supply fails before any training and before the report directory
  // exists: a failed run leaves nothing behind.
  const std::size_t max_len = tasks::ModelOptions{}.max_len;
  const bool transformer = std::count(o.models.begin(), o.models.end(), "transformer") > 0;
  for (const auto& t : cfg.tasks) {
    const auto task = tasks::make_task(t, cfg.task_options);
    const std::size_t L = c.seq_len ? c.seq_len : task->default_length();
    std::vector<std::size_t> lengths = o.eval_lengths;
    if (lengths.empty()) lengths = {2 * L};
    lengths.push_back(L);
    Generator probe(0);
    for (std::size_t l : lengths) {
      if (transformer && l > max_len)
        throw UsageError(t + ": length " + std::to_string(l) + " (--seq-len/--eval-lengths) is " +
                         "longer than the transformer's " + std::to_string(max_len) + " positions");
      task->sample(probe, 1, l);
    }
  }
  const std::string out = o.out.empty() ? timestamp_dir() : o.out;
  if (root) tasks::prepare_output_dir(out);  // fail before hours of training, not after

  ProgressPrinter progress;
  std::function<void(const std::string&, const tasks::Progress&)> show;
  if (root) show = std::ref(progress);
  std::vector<tasks::RunResult> results = tasks::run_compare(cfg, show);
  if (!root) return 0;

  std::map<std::string, std::string> settings{
      {"steps", std::to_string(c.steps)},
      {"batch", std::to_string(c.batch)},
      {"hidden (LSTM)", std::to_string(c.hidden)},
      {"layers", std::to_string(c.layers)},
      {"seed", std::to_string(c.seed)},
      {"threads", std::to_string(c.threads)},
      {"lr", c.lr > 0 ? std::to_string(c.lr) : "3e-3 recurrent, 1e-3 transformer"},
      {"parameter matching",
       o.match_params ? "each model's width chosen so its parameter count is closest to the LSTM's"
                      : "off"}};
  if (comm) settings["data-parallel ranks"] = std::to_string(comm->size());
  std::printf("\n%s", tasks::format_table(results).c_str());
  tasks::write_results(out, results, settings);
  const auto charts = tasks::write_plots(out, results);
  tasks::write_markdown(out, results, settings, charts);
  std::printf("\nreport: %s/report.md (results.json, results.csv, %zu charts)\n", out.c_str(),
              charts.size());
  return 0;
}

int run_tasks_command() {
  for (const auto& name : tasks::task_names()) {
    auto t = tasks::make_task(name);
    std::printf("%-15s %-9s T=%-5zu %s\n", name.c_str(), t->metric().c_str(), t->default_length(),
                t->description().c_str());
  }
  return 0;
}

int run_gradflow_command(const GradflowOptions& o) {
  check_tasks({o.task}, "--task");
  check_models(o.models);
  std::unique_ptr<tasks::Task> task = tasks::make_task(o.task);
  std::vector<tasks::GradFlow> flows =
      tasks::gradient_flow(*task, o.models, o.seq_len, o.hidden, o.seed);
  if (flows.empty())
    throw UsageError("--models: gradflow needs a recurrent model (rnn, lstm or gru)");
  std::printf(
      "||dLoss/dh_t|| on %s, T = %zu (loss at the task's targets; small t = far from the loss)\n%s",
      o.task.c_str(), o.seq_len, tasks::format_gradflow(flows, 20).c_str());
  if (!o.out.empty()) {
    tasks::prepare_output_dir(o.out);
    const auto charts = tasks::write_plots(o.out, {}, flows);
    tasks::write_file_atomic(o.out, "gradflow.txt",
                             tasks::format_gradflow(flows, flows[0].norms.size()));
    std::printf("written: %s/gradflow.txt%s\n", o.out.c_str(),
                charts.empty() ? "" : " and gradflow.png");
  }
  return 0;
}

namespace {
// The settings a checkpoint carries so that `unroll eval` and `--resume` rebuild the same
// task and model.
std::map<std::string, std::string> read_checkpoint_settings(const std::string& path) {
  nn::SafetensorsFile f;
  try {
    f = nn::load_safetensors(path);
  } catch (const std::exception& e) {
    throw UsageError(std::string("checkpoint: ") + e.what());
  }
  std::map<std::string, std::string> s;
  for (const auto& [k, v] : f.metadata)
    if (k.rfind("extra.", 0) == 0) s[k.substr(6)] = v;
  for (const char* key : {"task", "model", "hidden", "layers", "heads", "seq_len"})
    if (!s.count(key))
      throw UsageError("checkpoint '" + path + "' was not written by `unroll train` (no '" + key +
                       "' setting)");
  return s;
}

// A size setting of a checkpoint, held to the bounds of the option that wrote it (a corrupt
// "-8" or "99999999999" must be refused, not become an enormous allocation).
std::size_t to_size(const std::map<std::string, std::string>& s, const std::string& key) {
  const std::uint64_t hi = key == "hidden"   ? kMaxHidden
                           : key == "layers" ? kMaxLayers
                           : key == "heads"  ? kMaxHeads
                                             : kMaxLength;
  std::string v = s.at(key);
  const std::string problem = integer_in(1, hi)(v);
  if (!problem.empty()) throw UsageError("checkpoint: setting '" + key + "': " + problem);
  return static_cast<std::size_t>(std::stoull(v));
}

std::string metrics_json(const std::map<std::string, double>& m) {
  std::string j = "{";
  char buf[64];
  for (const auto& [k, v] : m) {
    std::snprintf(buf, sizeof buf, "%.6g", v);
    j += (j.size() > 1 ? ", \"" : "\"") + k + "\": " + buf;
  }
  return j + "}";
}
}  // namespace

int run_train_command(const CommonOptions& c, const TrainOptions& o,
                      distributed::Communicator* comm) {
  check_tasks({o.task}, "--task");
  check_models({o.model}, "--model");
  set_num_threads(c.threads);
  tasks::ModelOptions mo;
  mo.kind = o.model;
  mo.hidden = c.hidden;
  mo.layers = c.layers;
  mo.heads = c.heads;
  std::size_t seq_len = c.seq_len;
  if (!o.resume.empty()) {
    const auto s = read_checkpoint_settings(o.resume);
    if (s.at("task") != o.task || s.at("model") != o.model)
      throw UsageError("--resume: '" + o.resume + "' holds a " + s.at("model") + " trained on " +
                       s.at("task") + ", not a " + o.model + " on " + o.task);
    mo.hidden = to_size(s, "hidden");
    mo.layers = to_size(s, "layers");
    mo.heads = to_size(s, "heads");
    seq_len = to_size(s, "seq_len");
  }
  std::unique_ptr<tasks::Task> task = tasks::make_task(o.task, task_options(c));
  if (!seq_len) seq_len = task->default_length();
  Generator init(c.seed * 31 + 7);
  std::shared_ptr<tasks::SequenceModel> model = tasks::make_model(mo, task->spec(), init);

  tasks::TrainConfig tc;
  tc.steps = c.steps;
  tc.batch = c.batch;
  tc.length = seq_len;
  tc.lr = c.lr > 0 ? c.lr : tasks::default_lr(o.model);
  tc.seed = c.seed;
  tc.save_path = o.save;
  tc.save_every = o.save_every ? o.save_every : std::max<std::size_t>(1, c.steps / 10);
  tc.resume_path = o.resume;
  tc.checkpoint_extra = {{"task", o.task},
                         {"model", o.model},
                         {"hidden", std::to_string(mo.hidden)},
                         {"layers", std::to_string(mo.layers)},
                         {"heads", std::to_string(mo.heads)},
                         {"seq_len", std::to_string(seq_len)},
                         {"text", c.text},
                         {"csv", c.csv},
                         {"column", c.column}};
  tc.communicator = comm;
  const bool root = !comm || comm->is_root();  // data parallel: only rank 0 prints
  ProgressPrinter progress;
  const std::string label = o.task + "/" + o.model;
  tasks::RunResult r;
  try {
    r = tasks::train_and_evaluate(*task, *model, tc, [&](const tasks::Progress& p) {
      if (root) progress(label, p);
    });
  } catch (const optim::CheckpointError& e) {  // only --resume loads a checkpoint here
    throw UsageError(std::string("--resume: ") + e.what());
  }
  if (!root) return 0;
  std::printf("%s", tasks::format_table({r}).c_str());
  std::printf("%s\n", metrics_json(r.eval.at(seq_len)).c_str());
  if (!o.save.empty()) std::printf("checkpoint: %s\n", o.save.c_str());
  return 0;
}

namespace {
struct Loaded {
  std::map<std::string, std::string> settings;
  std::unique_ptr<tasks::Task> task;
  std::shared_ptr<tasks::SequenceModel> model;
};

// Rebuilds the task and model a checkpoint was trained with and loads its parameters.
Loaded load_trained(const std::string& checkpoint, const std::string& task_override) {
  Loaded l;
  l.settings = read_checkpoint_settings(checkpoint);
  const auto& s = l.settings;
  const std::string task_name = task_override.empty() ? s.at("task") : task_override;
  const std::string from = "checkpoint '" + checkpoint + "'";
  check_tasks({task_name}, task_override.empty() ? from : "--task");
  check_models({s.at("model")}, from);
  tasks::TaskOptions to;
  to.text_path = s.count("text") ? s.at("text") : "";
  to.csv_path = s.count("csv") ? s.at("csv") : "";
  to.csv_column = s.count("column") ? s.at("column") : "";
  l.task = tasks::make_task(task_name, to);
  tasks::ModelOptions mo;
  mo.kind = s.at("model");
  mo.hidden = to_size(s, "hidden");
  mo.layers = to_size(s, "layers");
  mo.heads = to_size(s, "heads");
  Generator init(0);
  l.model = tasks::make_model(mo, l.task->spec(), init);
  optim::TrainingState st;
  st.model = l.model.get();
  try {
    optim::load_checkpoint(checkpoint, st);
  } catch (const optim::CheckpointError& e) {
    throw UsageError(std::string("--checkpoint: ") + e.what());
  }
  return l;
}
}  // namespace

int run_sample_command(const SampleOptions& o) {
  Loaded l = load_trained(o.checkpoint, "");
  auto* lm = dynamic_cast<const tasks::CharLMTask*>(l.task.get());
  if (!lm)
    throw UsageError("sample: the checkpoint holds a model of task '" + l.settings.at("task") +
                     "'; sampling needs a charlm model (unroll train --task charlm ...)");
  std::vector<std::int64_t> ids;
  try {
    ids = lm->encode(o.prime.empty() ? std::string(1, lm->text()[0]) : o.prime);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--prime: ") + e.what());
  }
  const std::size_t window = to_size(l.settings, "seq_len");
  Generator gen(o.seed);
  autograd::NoGradGuard no_grad;
  l.model->eval();
  std::string out = o.prime;
  for (std::size_t i = 0; i < o.length; ++i) {
    // Re-reads the last `window` characters each step: simple, and the same code path for
    // every model kind (the Transformer's cached decoder is in examples/char_rnn.cpp).
    const std::size_t n = std::min(window, ids.size());
    tasks::Batch b;
    b.tokens = IndexTensor::from_shape({std::size_t{1}, n});
    std::copy(ids.end() - static_cast<std::ptrdiff_t>(n), ids.end(), b.tokens.data());
    const Tensor logits = l.model->forward(b).value();
    const std::size_t V = logits.shape()[2];
    const float* row = logits.data() + (n - 1) * V;
    float mx = row[0];
    for (std::size_t c = 1; c < V; ++c) mx = std::max(mx, row[c]);
    std::vector<double> p(V);
    double z = 0;
    for (std::size_t c = 0; c < V; ++c) z += p[c] = std::exp((row[c] - mx) / o.temperature);
    double u = gen.uniform() * z;
    std::size_t pick = V - 1;
    for (std::size_t c = 0; c < V; ++c) {
      if ((u -= p[c]) <= 0) {
        pick = c;
        break;
      }
    }
    ids.push_back(static_cast<std::int64_t>(pick));
    out += lm->decode({static_cast<std::int64_t>(pick)});
  }
  std::printf("%s\n", out.c_str());
  return 0;
}

int run_eval_command(const EvalOptions& o) {
  Loaded l = load_trained(o.checkpoint, o.task);
  const auto& s = l.settings;
  auto& task = l.task;
  auto& model = l.model;
  const std::string task_name = task->name();
  tasks::ModelOptions mo = model->options();
  const std::size_t L = o.seq_len ? o.seq_len : to_size(s, "seq_len");
  Generator gen(104729 + L);
  const auto m = tasks::evaluate(*task, *model, L, o.sequences, 64, gen);
  std::printf("%s / %s at length %zu (%zu sequences; baseline %s %.4g)\n", task_name.c_str(),
              mo.kind.c_str(), L, o.sequences, task->metric().c_str(), task->baseline(L));
  for (const auto& [k, v] : m) std::printf("  %-14s %.6g\n", k.c_str(), v);
  std::printf("%s\n", metrics_json(m).c_str());
  return 0;
}

}  // namespace unroll::cli
