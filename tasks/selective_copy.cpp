// Selective copy (Gu & Dao 2023, the Mamba paper): like copy-memory, but the data tokens sit
// at random places among the noise, so a model must decide by content, not by position,
// what to store. Layout for length T (the number of scatter steps), K = 4 data tokens:
//   T steps: K symbols from 1..8 at distinct random steps, noise (0) elsewhere |
//   the delimiter 9, repeated K + 1 times,
// with targets, the symbols in order of appearance, on the last K steps (the same recall
// convention as tasks/copy.cpp). Chance accuracy on the recalled symbols is 1/8.

#include <algorithm>
#include <numeric>

#include "tasks/builtin.hpp"

namespace unroll::tasks {
namespace {

constexpr std::size_t kData = 4;
constexpr std::int64_t kDelimiter = 9;

class SelectiveCopyTask final : public Task {
 public:
  std::string name() const override { return "selective_copy"; }
  std::string description() const override {
    return "selective copy: 4 symbols scattered at random among T noise steps, recalled in "
           "order after the delimiter (chance 1/8)";
  }
  TaskSpec spec() const override { return {InputKind::Tokens, 10, TargetKind::Classes, 10}; }
  std::string metric() const override { return "accuracy"; }
  bool higher_is_better() const override { return true; }
  std::size_t default_length() const override { return 32; }
  double baseline(std::size_t) const override { return 1.0 / 8.0; }

  Batch sample(Generator& gen, std::size_t batch, std::size_t length) const override {
    require_min_length("selective_copy", length, kData);
    const std::size_t steps = length + 2 * kData + 1;
    Batch b;
    b.tokens = xt::zeros<std::int64_t>({batch, steps});
    b.class_targets = xt::full_like(b.tokens, kNoTarget);
    std::vector<std::size_t> where(length);
    for (std::size_t i = 0; i < batch; ++i) {
      // Partial Fisher-Yates: the first kData entries become a uniform random subset.
      std::iota(where.begin(), where.end(), std::size_t{0});
      for (std::size_t k = 0; k < kData; ++k) std::swap(where[k], where[k + gen.below(length - k)]);
      std::sort(where.begin(), where.begin() + kData);
      for (std::size_t k = 0; k < kData; ++k) {
        const auto s = static_cast<std::int64_t>(1 + gen.below(8));
        b.tokens(i, where[k]) = s;
        b.class_targets(i, length + kData + 1 + k) = s;
      }
      for (std::size_t t = length; t < steps; ++t) b.tokens(i, t) = kDelimiter;
    }
    return b;
  }
};

}  // namespace

std::unique_ptr<Task> make_selective_copy_task() {
  return std::make_unique<SelectiveCopyTask>();
}

}  // namespace unroll::tasks
