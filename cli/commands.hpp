#pragma once
// The subcommands of the `unroll` tool, each a function over its parsed options.

#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace unroll::cli {

/// Bad input the user can fix: reported in one line, exit status 2.
class UsageError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Options shared by compare and train.
struct CommonOptions {
  std::size_t seq_len = 0, steps = 1500, batch = 32, hidden = 64, layers = 1, heads = 4;
  double lr = 0;
  std::uint64_t seed = 1;
  int threads = 1;
  std::string text, csv, column;
};
void add_common(CLI::App& app, CommonOptions& o);

struct CompareOptions {
  std::vector<std::string> tasks{"adding", "copy"};
  std::vector<std::string> models{"rnn", "lstm", "gru", "transformer"};
  std::vector<std::size_t> eval_lengths;
  std::string out;
  bool match_params = true;
};
struct TrainOptions {
  std::string task, model, save, resume;
};
struct EvalOptions {
  std::string checkpoint, task;
  std::size_t seq_len = 0, sequences = 512;
};
struct SampleOptions {
  std::string checkpoint, prime;
  std::size_t length = 300;
  double temperature = 0.8;
  std::uint64_t seed = 1;
};
struct GradflowOptions {
  std::string task = "adding";
  std::vector<std::string> models{"rnn", "lstm", "gru"};
  std::size_t seq_len = 100, hidden = 64;
  std::uint64_t seed = 1;
  std::string out;
};

int run_compare_command(const CommonOptions& common, const CompareOptions& o);
int run_train_command(const CommonOptions& common, const TrainOptions& o);
int run_eval_command(const EvalOptions& o);
int run_tasks_command();
int run_gradflow_command(const GradflowOptions& o);
int run_sample_command(const SampleOptions& o);

}  // namespace unroll::cli
