// Parity: read T random bits, output their XOR at the last step. The answer depends on every
// bit equally, so no shortcut exists, and training at length L then evaluating at longer
// lengths shows whether a model learned the recurrence (flip a state bit on every 1) or a
// length-specific pattern. Each batch has exactly `length` bits, so no padding is needed.

#include "tasks/builtin.hpp"

namespace unroll::tasks {
namespace {

class ParityTask final : public Task {
 public:
  std::string name() const override { return "parity"; }
  std::string description() const override {
    return "parity: XOR of T random bits, predicted at the last step (chance 0.5)";
  }
  TaskSpec spec() const override { return {InputKind::Tokens, 2, TargetKind::Classes, 2}; }
  std::string metric() const override { return "accuracy"; }
  bool higher_is_better() const override { return true; }
  std::size_t default_length() const override { return 16; }
  double baseline(std::size_t) const override { return 0.5; }

  Batch sample(Generator& gen, std::size_t batch, std::size_t length) const override {
    require_min_length("parity", length, 1);
    Batch b;
    b.tokens = xt::zeros<std::int64_t>({batch, length});
    b.class_targets = xt::full_like(b.tokens, kNoTarget);
    for (std::size_t i = 0; i < batch; ++i) {
      std::int64_t x = 0;
      for (std::size_t t = 0; t < length; ++t) {
        const auto bit = static_cast<std::int64_t>(gen.below(2));
        b.tokens(i, t) = bit;
        x ^= bit;
      }
      b.class_targets(i, length - 1) = x;
    }
    return b;
  }
};

}  // namespace

std::unique_ptr<Task> make_parity_task() {
  return std::make_unique<ParityTask>();
}

}  // namespace unroll::tasks
