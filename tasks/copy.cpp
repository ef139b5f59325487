// Copy-memory (Bai, Kolter & Koltun 2018, "An Empirical Evaluation of Generic Convolutional
// and Recurrent Networks"), following their reference generator (locuslab/TCN,
// copy_memory/utils.py): for delay T the input has T + 20 steps,
//   10 symbols from 1..8 | T - 1 blanks (0) | the delimiter 9, repeated 11 times,
// so the first delimiter sits at step T + 9 and the recall steps T + 10 .. T + 19 still read 9.
// The paper scores every step (blank targets everywhere but the recall steps), where a
// memoryless model that outputs blanks and then guesses reaches cross-entropy
// 10 ln 8 / (T + 20). Here only the 10 recall steps carry targets (kNoTarget elsewhere), so
// the loss is not diluted by trivially predictable blanks and accuracy means "symbols
// recalled"; the memoryless figures on these steps are accuracy 1/8 and cross-entropy ln 8.

#include <cmath>

#include "tasks/builtin.hpp"

namespace unroll::tasks {
namespace {

constexpr std::size_t kSymbols = 10;  // symbols to remember
constexpr std::int64_t kDelimiter = 9;

class CopyTask final : public Task {
 public:
  std::string name() const override { return "copy"; }
  std::string description() const override {
    return "copy-memory: remember 10 symbols over T blank steps, recall them after the "
           "delimiter (memoryless: accuracy 1/8, cross-entropy ln 8 on the recall steps, "
           "10 ln 8/(T+20) over all steps)";
  }
  TaskSpec spec() const override {
    // Ten classes like the paper's softmax, although only 1..8 are ever targets.
    return {InputKind::Tokens, 10, TargetKind::Classes, 10};
  }
  std::string metric() const override { return "accuracy"; }
  bool higher_is_better() const override { return true; }
  std::size_t default_length() const override { return 20; }
  double baseline(std::size_t) const override { return 1.0 / 8.0; }

  Batch sample(Generator& gen, std::size_t batch, std::size_t length) const override {
    require_min_length("copy", length, 1);
    const std::size_t steps = length + 2 * kSymbols;
    Batch b;
    b.tokens = xt::zeros<std::int64_t>({batch, steps});
    b.class_targets = xt::full_like(b.tokens, kNoTarget);
    for (std::size_t i = 0; i < batch; ++i) {
      for (std::size_t k = 0; k < kSymbols; ++k) {
        const auto s = static_cast<std::int64_t>(1 + gen.below(8));
        b.tokens(i, k) = s;
        b.class_targets(i, length + kSymbols + k) = s;
      }
      for (std::size_t t = length + kSymbols - 1; t < steps; ++t) b.tokens(i, t) = kDelimiter;
    }
    return b;
  }
};

}  // namespace

std::unique_ptr<Task> make_copy_task() {
  return std::make_unique<CopyTask>();
}

}  // namespace unroll::tasks
