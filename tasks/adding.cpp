// The adding problem (Hochreiter & Schmidhuber 1997; the variant of Bai et al. 2018): each
// step carries a value from U(0, 1) and a marker bit; exactly two steps are marked, one in
// each half, and the target at the last step is the sum of the two marked values. A model
// that ignores its input predicts the mean, 1, and scores the variance of the sum of two
// independent U(0, 1): 2 * 1/12 = 1/6 ~ 0.167.

#include "tasks/builtin.hpp"

namespace unroll::tasks {
namespace {

class AddingTask final : public Task {
 public:
  std::string name() const override { return "adding"; }
  std::string description() const override {
    return "adding problem: sum the two marked values of T (value, marker) steps "
           "(predicting 1 scores MSE 1/6 = 0.167)";
  }
  TaskSpec spec() const override { return {InputKind::Features, 2, TargetKind::Values, 1}; }
  std::string metric() const override { return "mse"; }
  bool higher_is_better() const override { return false; }
  std::size_t default_length() const override { return 50; }
  double baseline(std::size_t) const override { return 1.0 / 6.0; }

  Batch sample(Generator& gen, std::size_t batch, std::size_t length) const override {
    require_min_length("adding", length, 2);  // one marker per half
    const std::size_t T = length, half = T / 2;
    Batch b;
    b.features = xt::zeros<float>({batch, T, std::size_t{2}});
    b.value_targets = xt::zeros<float>({batch, T, std::size_t{1}});
    b.value_mask = xt::zeros<float>({batch, T});
    for (std::size_t i = 0; i < batch; ++i) {
      for (std::size_t t = 0; t < T; ++t) b.features(i, t, 0) = gen.uniform();
      const std::size_t first = gen.below(half);
      const std::size_t second = half + gen.below(T - half);
      b.features(i, first, 1) = 1.0f;
      b.features(i, second, 1) = 1.0f;
      b.value_targets(i, T - 1, 0) = b.features(i, first, 0) + b.features(i, second, 0);
      b.value_mask(i, T - 1) = 1.0f;
    }
    return b;
  }
};

}  // namespace

std::unique_ptr<Task> make_adding_task() {
  return std::make_unique<AddingTask>();
}

}  // namespace unroll::tasks
