#pragma once
// The subcommands of the `unroll` tool, each a function over its parsed options.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "distributed/communicator.hpp"

namespace unroll::cli {

/// Bad input the user can fix: reported in one line, exit status 2.
class UsageError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Upper bounds of the integer options, also applied to the settings read back from a
/// checkpoint (a corrupt "hidden" must not become a 10^11-unit allocation).
inline constexpr std::uint64_t kMaxSteps = 10000000, kMaxBatch = 100000, kMaxHidden = 4096,
                               kMaxLayers = 64, kMaxHeads = 64, kMaxLength = 1000000;

/// Options shared by compare and train.
struct CommonOptions {
  std::size_t seq_len = 0, steps = 1500, batch = 32, hidden = 64, layers = 1, heads = 4;
  double lr = 0;
  std::uint64_t seed = 1;
  int threads = 1;
  std::string text, csv, column;
  /// --data-parallel: train over the ranks of an MPI job (also on when mpirun started us).
  bool data_parallel = false;
};
void add_common(CLI::App& app, CommonOptions& o);

/// Check for an integer option: decimal digits only (no sign; leading zeros are dropped so
/// CLI11 does not read "010" as octal), value in [lo, hi]. The message names the range and
/// the text given, e.g. "expected an integer from 1 to 4096, got 'abc'".
CLI::Validator integer_in(std::uint64_t lo, std::uint64_t hi);

struct CompareOptions {
  std::vector<std::string> tasks{"adding", "copy"};
  std::vector<std::string> models{"rnn", "lstm", "gru", "transformer"};
  std::vector<std::size_t> eval_lengths;
  std::string out;
  bool match_params = true;
};
struct TrainOptions {
  std::string task, model, save, resume;
  /// --save-every: checkpoint interval in steps (0: every tenth of --steps).
  std::size_t save_every = 0;
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

/// `unroll compare`; with `comm`, every run is trained data-parallel over its ranks and only
/// rank 0 prints and writes the report.
int run_compare_command(const CommonOptions& common, const CompareOptions& o,
                        distributed::Communicator* comm = nullptr);
/// `unroll train`; with `comm`, data-parallel over its ranks, only rank 0 prints and saves.
int run_train_command(const CommonOptions& common, const TrainOptions& o,
                      distributed::Communicator* comm = nullptr);
int run_eval_command(const EvalOptions& o);
int run_tasks_command();
int run_gradflow_command(const GradflowOptions& o);
int run_sample_command(const SampleOptions& o);

}  // namespace unroll::cli
