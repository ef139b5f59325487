// One-step-ahead forecasting of an hourly series: an LSTM, a GRU and a causal Transformer
// each predict the next hour's value at every step of a window, and are scored against the
// seasonal-naive forecast ("the same hour yesterday"), the baseline any forecaster of a
// daily-periodic series has to beat.
//
// The series is the generated year of hourly electricity-like load (morning and evening
// peaks, quieter weekends, noise), or a column of your own CSV. Values are z-scored, so the
// errors are in standard deviations of the series. The inputs per hour are the value and
// the hour of day as (sin, cos): see tasks/forecast.cpp.
//
//   ./build/examples/forecast                                  # plot into a temporary dir
//   ./build/examples/forecast --csv load.csv --column MW --out plots/ --steps 600
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tasks/report.hpp"
#include "tasks/trainer.hpp"
#include "unroll.hpp"

using namespace unroll;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kSeason = 24;           // hours per day: the task's default season
constexpr std::size_t kWindow = 4 * kSeason;  // hours per training (and plotted) window

int usage_error(const std::string& msg) {
  std::fprintf(
      stderr, "forecast: %s (usage: forecast [--csv PATH --column NAME] [--out DIR] [--steps N])\n",
      msg.c_str());
  return 2;
}

// Forecast against truth over one window of the training length, one column per model,
// for gnuplot. Returns the PNG's path, or "" with the reason printed when there is no plot.
std::string plot(const tasks::Task& task,
                 const std::vector<std::shared_ptr<tasks::SequenceModel>>& models,
                 std::size_t length, const std::string& dir) {
  Generator g(2024);
  const tasks::Batch b = task.sample(g, 1, length);
  std::vector<Tensor> preds;
  {
    autograd::NoGradGuard no_grad;
    for (const auto& m : models) preds.push_back(m->forward(b).value());  // [1, T, 1]
  }
  const fs::path data = fs::path(dir) / "forecast.dat";
  std::ofstream f(data);
  f << "# hour truth seasonal_naive";
  for (const auto& m : models) f << ' ' << m->options().kind;
  f << '\n';
  for (std::size_t t = kSeason - 1; t < b.steps(); ++t) {  // from where "yesterday" exists
    f << t + 1 << ' ' << b.value_targets(0, t, 0) << ' ' << b.features(0, t + 1 - kSeason, 0);
    for (const Tensor& p : preds) f << ' ' << p(0, t, 0);
    f << '\n';
  }
  f.close();
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    std::printf("gnuplot not found: no plot (the data is in %s)\n", data.c_str());
    return "";
  }
  const fs::path png = fs::path(dir) / "forecast.png";
  std::ofstream gp(fs::path(dir) / "forecast.gp");
  gp << "set terminal pngcairo size 1000,450 font 'sans,10'\nset output '" << png.string()
     << "'\nset grid\nset key outside right\nset xlabel 'hour'\nset ylabel 'load (z-score)'\n"
     << "set title 'one-step-ahead forecast against truth'\nplot '" << data.string()
     << "' using 1:2 with lines lw 3 lc 'black' title 'truth', '' using 1:3 with lines dt 2 lc "
        "'gray' title 'seasonal naive'";
  for (std::size_t i = 0; i < models.size(); ++i)
    gp << ", '' using 1:" << i + 4 << " with lines lw 2 title '" << models[i]->options().kind
       << "'";
  gp << '\n';
  gp.close();
  const std::string cmd = "gnuplot '" + (fs::path(dir) / "forecast.gp").string() + "'";
  if (std::system(cmd.c_str()) != 0) {
    std::printf("gnuplot failed: no plot (the data is in %s)\n", data.c_str());
    return "";
  }
  return png.string();
}

}  // namespace

int main(int argc, char** argv) {
  tasks::TaskOptions topt;
  std::string out;
  long steps = 150;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a != "--csv" && a != "--column" && a != "--out" && a != "--steps")
      return usage_error("unknown argument '" + a + "'");
    if (i + 1 >= argc) return usage_error(a + " needs a value");
    const std::string v = argv[++i];
    if (a == "--csv") {
      topt.csv_path = v;
    } else if (a == "--column") {
      topt.csv_column = v;
    } else if (a == "--out") {
      out = v;
    } else {  // --steps
      char* end = nullptr;
      steps = std::strtol(v.c_str(), &end, 10);
      if (*end || steps < 1)
        return usage_error("--steps needs a whole number > 0, got '" + v + "'");
    }
  }
  std::unique_ptr<tasks::Task> task;
  try {  // a missing file, column or a non-numeric value is the user's mistake
    task = tasks::make_task("forecast", topt);
    Generator probe(0);
    task->sample(probe, 1, kWindow);  // a series shorter than a window fails here, by name
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "%s\n", e.what());  // the message names the task, file and line
    return 2;
  }
  try {
    if (out.empty()) {
      std::string tmpl = (fs::temp_directory_path() / "unroll_forecast_XXXXXX").string();
      if (!::mkdtemp(tmpl.data()))
        throw std::invalid_argument("cannot create a temporary directory");
      out = tmpl;
    }
    tasks::prepare_output_dir(out);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "forecast: %s\n", e.what());
    return 2;
  }
  std::printf("%s\n", task->description().c_str());

  // Four days per training window; the first day is context only (unscored), so each
  // scored step has seen at least a day, as the seasonal-naive forecast has. The plot uses
  // the same length: the Transformer has never seen positions beyond it.
  tasks::TrainConfig cfg;
  cfg.steps = static_cast<std::size_t>(steps);
  cfg.batch = 16;
  cfg.length = kWindow;
  cfg.eval_sequences = 256;
  cfg.lr = 1e-2;  // high for Adam, fine for models this small and runs this short (measured)
  std::vector<std::shared_ptr<tasks::SequenceModel>> models;
  std::printf("\n%-12s %8s %8s %8s %8s\n", "model", "params", "MSE", "MAE", "train s");
  double naive_mse = 0, naive_mae = 0;
  bool all_beat_naive = true;
  for (const std::string kind : {"lstm", "gru", "transformer"}) {
    tasks::ModelOptions mo;
    mo.kind = kind;
    mo.hidden = 32;
    mo.heads = 4;
    mo.layers = 1;
    Generator init(11);
    models.push_back(tasks::make_model(mo, task->spec(), init));
    const tasks::RunResult r = tasks::train_and_evaluate(*task, *models.back(), cfg);
    const auto& m = r.eval.at(cfg.length);  // evaluated on the same fresh windows for each model
    naive_mse = m.at("naive_mse"), naive_mae = m.at("naive_mae");
    all_beat_naive = all_beat_naive && m.at("mse") < naive_mse;
    std::printf("%-12s %8zu %8.4f %8.4f %8.1f\n", kind.c_str(), r.parameters, m.at("mse"),
                m.at("mae"), r.train_seconds);
  }
  std::printf("%-12s %8s %8.4f %8.4f\n", "naive", "-", naive_mse, naive_mae);
  std::printf("%s\n", all_beat_naive ? "every model beats the seasonal-naive baseline (MSE)"
                                     : "not every model beats the seasonal-naive baseline yet");

  const std::string png = plot(*task, models, cfg.length, out);
  if (!png.empty()) std::printf("plot: %s\n", png.c_str());
  return 0;
}
