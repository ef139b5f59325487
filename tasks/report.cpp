#include "tasks/report.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace unroll::tasks {

namespace fs = std::filesystem;

namespace {
std::string fmt(double v, int prec = 4) {
  char buf[64];
  if (v != 0 && (std::abs(v) < 1e-3 || std::abs(v) >= 1e6))
    std::snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
  else
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
  return buf;
}

std::vector<std::size_t> all_lengths(const std::vector<RunResult>& rs) {
  std::set<std::size_t> s;
  for (const auto& r : rs)
    for (const auto& [L, m] : r.eval) s.insert(L);
  return {s.begin(), s.end()};
}

std::vector<std::string> task_order(const std::vector<RunResult>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs)
    if (std::find(out.begin(), out.end(), r.task) == out.end()) out.push_back(r.task);
  return out;
}

// A run "beats the baseline" when its metric is on the right side of the naive predictor.
bool beats(const RunResult& r, std::size_t L) {
  const double m = r.eval.at(L).at(r.metric), b = r.baseline.at(L);
  return r.higher_is_better ? m > b : m < b;
}
}  // namespace

std::string format_table(const std::vector<RunResult>& results) {
  std::ostringstream os;
  char line[512];
  std::snprintf(line, sizeof line, "%-15s %-12s %-9s %8s %-22s %9s %8s %8s %10s\n", "task", "model",
                "metric", "length", "value (baseline)", "params", "hidden", "train s", "tokens/s");
  os << line << std::string(108, '-') << "\n";
  for (const auto& r : results)
    for (const auto& [L, m] : r.eval) {
      const std::string v =
          fmt(m.at(r.metric)) + " (" + fmt(r.baseline.at(L), 3) + ")" + (beats(r, L) ? "" : " x");
      std::snprintf(line, sizeof line, "%-15s %-12s %-9s %8zu %-22s %9zu %8zu %8.1f %10.0f\n",
                    r.task.c_str(), r.model.c_str(), r.metric.c_str(), L, v.c_str(), r.parameters,
                    r.hidden, r.train_seconds, r.tokens_per_second);
      os << line;
    }
  os << "(x: no better than the baseline predictor)\n";
  return os.str();
}

std::string format_gradflow(const std::vector<GradFlow>& flows, std::size_t rows) {
  if (flows.empty() || flows[0].norms.empty()) return "";
  std::ostringstream os;
  const std::size_t T = flows[0].norms.size();
  char buf[64];
  os << "      t";
  for (const auto& f : flows) {
    std::snprintf(buf, sizeof buf, " %12s", f.model.c_str());
    os << buf;
  }
  os << "\n";
  const std::size_t stride = std::max<std::size_t>(1, T / rows);
  for (std::size_t t = 0; t < T; t += stride) {
    std::snprintf(buf, sizeof buf, "%7zu", t);
    os << buf;
    for (const auto& f : flows) {
      std::snprintf(buf, sizeof buf, " %12.3e", t < f.norms.size() ? f.norms[t] : 0.0f);
      os << buf;
    }
    os << "\n";
  }
  return os.str();
}

void write_file_atomic(const std::string& dir, const std::string& name, const std::string& text) {
  const fs::path final_path = fs::path(dir) / name;
  const fs::path tmp = fs::path(dir) / ("." + name + ".tmp." + std::to_string(::getpid()));
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    f.flush();
    if (!f) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw std::runtime_error("cannot write " + final_path.string());
    }
  }
  std::error_code ec;
  fs::rename(tmp, final_path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw std::runtime_error("cannot write " + final_path.string() + ": " + ec.message());
  }
}

void prepare_output_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    throw std::invalid_argument("--out '" + dir + "': cannot create the directory (" +
                                (ec ? ec.message() : std::string("not a directory")) + ")");
  if (::access(dir.c_str(), W_OK) != 0)
    throw std::invalid_argument("--out '" + dir + "': the directory is not writable");
}

void write_results(const std::string& dir, const std::vector<RunResult>& results,
                   const std::map<std::string, std::string>& settings) {
  nlohmann::json runs = nlohmann::json::array();
  std::ostringstream csv;
  csv << "task,model,seq_len,eval_length,metric,value,baseline,parameters,hidden,steps,"
         "train_seconds,tokens_per_second,final_loss\n";
  for (const auto& r : results) {
    nlohmann::json j;
    j["task"] = r.task;
    j["model"] = r.model;
    j["seq_len"] = r.seq_len;
    j["parameters"] = r.parameters;
    j["hidden"] = r.hidden;
    j["steps"] = r.steps;
    j["train_seconds"] = r.train_seconds;
    j["tokens_per_second"] = r.tokens_per_second;
    j["final_loss"] = r.final_loss;
    j["metric"] = r.metric;
    for (const auto& [L, m] : r.eval) {
      j["metrics"][std::to_string(L)] = m;
      j["baseline"][std::to_string(L)] = r.baseline.at(L);
      csv << r.task << ',' << r.model << ',' << r.seq_len << ',' << L << ',' << r.metric << ','
          << m.at(r.metric) << ',' << r.baseline.at(L) << ',' << r.parameters << ',' << r.hidden
          << ',' << r.steps << ',' << r.train_seconds << ',' << r.tokens_per_second << ','
          << r.final_loss << '\n';
    }
    nlohmann::json curve = nlohmann::json::array();
    for (const auto& p : r.curve) curve.push_back({p.step, p.loss, p.metric});
    j["learning_curve"] = curve;
    runs.push_back(j);
  }
  nlohmann::json doc;
  doc["settings"] = settings;
  doc["runs"] = runs;
  write_file_atomic(dir, "results.json", doc.dump(2) + "\n");
  write_file_atomic(dir, "results.csv", csv.str());
}

std::vector<std::string> write_plots(const std::string& dir, const std::vector<RunResult>& results,
                                     const std::vector<GradFlow>& flows) {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) return {};
  std::vector<std::string> charts;
  std::ostringstream gp;
  gp << "set terminal pngcairo size 900,500 font 'sans,10'\nset grid\nset key outside right\n";
  const fs::path data_dir = fs::path(dir) / "plots";
  fs::create_directories(data_dir);
  for (const std::string& task : task_order(results)) {
    std::vector<const RunResult*> runs;
    for (const auto& r : results)
      if (r.task == task) runs.push_back(&r);
    // Learning curves: training loss against step, one line per model.
    std::ostringstream plot;
    for (const RunResult* r : runs) {
      std::ostringstream dat;
      for (const auto& p : r->curve) dat << p.step << ' ' << p.loss << ' ' << p.metric << '\n';
      const std::string file = "curve_" + task + "_" + r->model + ".dat";
      write_file_atomic(data_dir.string(), file, dat.str());
      plot << (plot.tellp() ? ", " : "") << "'" << (data_dir / file).string()
           << "' using 1:2 with lines lw 2 title '" << r->model << "'";
    }
    const std::string curve_png = "curve_" + task + ".png";
    gp << "set output '" << (fs::path(dir) / curve_png).string() << "'\n"
       << "set title '" << task
       << ": training loss (moving average)'\nset xlabel 'step'\nset ylabel 'loss'\n"
       << "set logscale y\nplot " << plot.str() << "\nunset logscale y\n";
    charts.push_back(curve_png);
    // Metric against evaluation length (length generalisation), if several lengths.
    if (runs[0]->eval.size() > 1) {
      std::ostringstream lp;
      for (const RunResult* r : runs) {
        std::ostringstream dat;
        for (const auto& [L, m] : r->eval)
          dat << L << ' ' << m.at(r->metric) << ' ' << r->baseline.at(L) << '\n';
        const std::string file = "length_" + task + "_" + r->model + ".dat";
        write_file_atomic(data_dir.string(), file, dat.str());
        lp << (lp.tellp() ? ", " : "") << "'" << (data_dir / file).string()
           << "' using 1:2 with linespoints lw 2 title '" << r->model << "'";
      }
      lp << ", '" << (data_dir / ("length_" + task + "_" + runs[0]->model + ".dat")).string()
         << "' using 1:3 with lines dt 2 lc 'gray' title 'baseline'";
      const std::string len_png = "length_" + task + ".png";
      gp << "set output '" << (fs::path(dir) / len_png).string() << "'\n"
         << "set title '" << task << ": " << runs[0]->metric << " by sequence length'\n"
         << "set xlabel 'evaluation length'\nset ylabel '" << runs[0]->metric << "'\nplot "
         << lp.str() << "\n";
      charts.push_back(len_png);
    }
  }
  if (!flows.empty()) {
    std::ostringstream fp;
    for (const auto& f : flows) {
      std::ostringstream dat;
      for (std::size_t t = 0; t < f.norms.size(); ++t)
        dat << t << ' ' << std::max(f.norms[t], 1e-30f) << '\n';
      const std::string file = "gradflow_" + f.model + ".dat";
      write_file_atomic(data_dir.string(), file, dat.str());
      fp << (fp.tellp() ? ", " : "") << "'" << (data_dir / file).string()
         << "' using 1:2 with lines lw 2 title '" << f.model << "'";
    }
    gp << "set output '" << (fs::path(dir) / "gradflow.png").string() << "'\n"
       << "set title 'gradient flow: ||dLoss/dh_t|| (loss at the last step)'\nset xlabel 't'\n"
       << "set ylabel 'norm'\nset logscale y\nplot " << fp.str() << "\nunset logscale y\n";
    charts.push_back("gradflow.png");
  }
  write_file_atomic(dir, "plots.gp", gp.str());
  const std::string cmd = "gnuplot '" + (fs::path(dir) / "plots.gp").string() + "' 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) return {};
  return charts;
}

void write_markdown(const std::string& dir, const std::vector<RunResult>& results,
                    const std::map<std::string, std::string>& settings,
                    const std::vector<std::string>& charts, const std::vector<GradFlow>& flows) {
  std::ostringstream md;
  md << "# unroll comparison\n\n";
  md << "| setting | value |\n| --- | --- |\n";
  for (const auto& [k, v] : settings) md << "| " << k << " | " << v << " |\n";
  for (const std::string& task : task_order(results)) {
    md << "\n## " << task << "\n\n";
    const auto lengths = all_lengths(results);
    md << "| model | params | hidden |";
    for (std::size_t L : lengths) md << " T=" << L << " |";
    md << " train s | tokens/s |\n| --- | --- | --- |";
    for (std::size_t i = 0; i < lengths.size(); ++i) md << " --- |";
    md << " --- | --- |\n";
    std::string metric;
    double baseline = 0;
    for (const auto& r : results) {
      if (r.task != task) continue;
      metric = r.metric;
      md << "| " << r.model << " | " << r.parameters << " | " << r.hidden << " |";
      for (std::size_t L : lengths) {
        if (r.eval.count(L)) {
          md << " " << fmt(r.eval.at(L).at(r.metric))
             << (beats(r, L) ? "" : " (no better than baseline)") << " |";
          baseline = r.baseline.at(L);
        } else {
          md << " - |";
        }
      }
      md << " " << fmt(r.train_seconds, 3) << " | " << fmt(r.tokens_per_second, 3) << " |\n";
    }
    md << "\nMetric: " << metric << "; baseline (a predictor without memory) " << fmt(baseline, 3)
       << ".\n";
    for (const auto& c : charts)
      if (c.find("_" + task + ".png") != std::string::npos) md << "\n![" << c << "](" << c << ")\n";
  }
  if (!flows.empty()) {
    md << "\n## Gradient flow\n\n```\n" << format_gradflow(flows) << "```\n";
    if (std::find(charts.begin(), charts.end(), "gradflow.png") != charts.end())
      md << "\n![gradient flow](gradflow.png)\n";
  }
  md << "\nFiles: `results.json` (every run with its learning curve), `results.csv`, charts "
        "(`*.png`, "
        "data in `plots/`).\n";
  write_file_atomic(dir, "report.md", md.str());
}

}  // namespace unroll::tasks
