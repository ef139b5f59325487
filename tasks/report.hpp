#pragma once
// The comparison's report: results.json, results.csv, gnuplot charts and report.md in one
// directory, each file written to a temporary name and renamed, so nothing is half-written.

#include <map>
#include <string>
#include <vector>

#include "tasks/trainer.hpp"

namespace unroll::tasks {

/// ||dLoss/dh_t|| against t for one model (the gradient-flow picture).
struct GradFlow {
  /// Model kind.
  std::string model;
  /// ||dLoss/dh_t|| for t = 0..T-1.
  std::vector<float> norms;
};

/// The console table: one row per run (task, model, metric by length, baseline,
/// parameters, training time, tokens/s).
std::string format_table(const std::vector<RunResult>& results);
/// The gradient-flow table: t against each model's norm.
std::string format_gradflow(const std::vector<GradFlow>& flows, std::size_t rows = 12);

/// results.json and results.csv.
void write_results(const std::string& dir, const std::vector<RunResult>& results,
                   const std::map<std::string, std::string>& settings);
/// Learning curves per task, metric against length, and (if given) gradient flow, as PNG
/// via gnuplot. Returns the chart file names written (empty if gnuplot is missing).
std::vector<std::string> write_plots(const std::string& dir, const std::vector<RunResult>& results,
                                     const std::vector<GradFlow>& flows = {});
/// report.md: settings, the table, what each result means, and the charts.
void write_markdown(const std::string& dir, const std::vector<RunResult>& results,
                    const std::map<std::string, std::string>& settings,
                    const std::vector<std::string>& charts,
                    const std::vector<GradFlow>& flows = {});

/// Writes `text` to dir/name atomically (temporary file, then rename).
void write_file_atomic(const std::string& dir, const std::string& name, const std::string& text);
/// Creates `dir` (and parents) and checks a file can be written there; std::invalid_argument
/// naming the directory otherwise.
void prepare_output_dir(const std::string& dir);

}  // namespace unroll::tasks
