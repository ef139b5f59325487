// Associative recall (as in Ba et al. 2016 "fast weights" and the Hyena/H3 synthetics):
// for length n (the number of pairs) the input is
//   k1 v1 k2 v2 ... kn vn ? q
// with n distinct keys drawn from 16, values drawn (with repeats) from 8, the query marker
// '?', and q one of the n keys; the target at the last step is q's value. Token ids: keys
// 0..15, values 16..23, '?' 24; the target class is the value's index 0..7. Keys are
// distinct within a sequence so the answer is unique, which caps n at 16. Chance is 1/8 (a
// model that only guesses among the values it has seen can do somewhat better).

#include <numeric>

#include "tasks/builtin.hpp"

namespace unroll::tasks {
namespace {

constexpr std::size_t kKeys = 16, kValues = 8;
constexpr std::int64_t kQuery = kKeys + kValues;

class AssocRecallTask final : public Task {
 public:
  std::string name() const override { return "assoc_recall"; }
  std::string description() const override {
    return "associative recall: T key-value pairs, then a query key; predict its value "
           "(chance 1/8)";
  }
  TaskSpec spec() const override {
    return {InputKind::Tokens, kKeys + kValues + 1, TargetKind::Classes, kValues};
  }
  std::string metric() const override { return "accuracy"; }
  bool higher_is_better() const override { return true; }
  std::size_t default_length() const override { return 8; }
  double baseline(std::size_t) const override { return 1.0 / kValues; }

  Batch sample(Generator& gen, std::size_t batch, std::size_t length) const override {
    // With one pair the query has only one possible key: nothing to look up.
    require_min_length("assoc_recall", length, 2);
    if (length > kKeys)
      throw std::invalid_argument("assoc_recall: length " + std::to_string(length) +
                                  " is too large; the maximum is " + std::to_string(kKeys) +
                                  " pairs (keys are distinct)");
    const std::size_t steps = 2 * length + 2;
    Batch b;
    b.tokens = xt::zeros<std::int64_t>({batch, steps});
    b.class_targets = xt::full_like(b.tokens, kNoTarget);
    std::vector<std::int64_t> keys(kKeys), values(length);
    for (std::size_t i = 0; i < batch; ++i) {
      std::iota(keys.begin(), keys.end(), std::int64_t{0});
      for (std::size_t k = 0; k < length; ++k) {
        std::swap(keys[k], keys[k + gen.below(kKeys - k)]);
        values[k] = static_cast<std::int64_t>(gen.below(kValues));
        b.tokens(i, 2 * k) = keys[k];
        b.tokens(i, 2 * k + 1) = static_cast<std::int64_t>(kKeys) + values[k];
      }
      const std::size_t q = gen.below(length);
      b.tokens(i, steps - 2) = kQuery;
      b.tokens(i, steps - 1) = keys[q];
      b.class_targets(i, steps - 1) = values[q];
    }
    return b;
  }
};

}  // namespace

std::unique_ptr<Task> make_assoc_recall_task() {
  return std::make_unique<AssocRecallTask>();
}

}  // namespace unroll::tasks
