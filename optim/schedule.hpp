#pragma once
// Learning-rate schedules over any Optimizer, as torch.optim.lr_scheduler: constructing one
// records each group's lr as its base lr and applies the epoch-0 value; step() advances one
// epoch (or iteration) and writes the new lr into every group. Closed forms are evaluated
// from the base lrs, so there is no drift from repeated multiplication.
//
//   optim::AdamW opt(model.parameters(), o);
//   optim::CosineAnnealingLR sched(opt, 1000);
//   for (...) { loss.backward(); opt.step(); opt.zero_grad(); sched.step(); }

#include <cstdint>
#include <string>
#include <vector>

#include "optim/optimizer.hpp"

namespace unroll::optim {

/// Base of every schedule: the optimizer it drives, the epoch counter, last lrs, state I/O.
class LRSchedule {
 public:
  /// Records each group's current lr of `opt` as its base lr and as last_lr().
  explicit LRSchedule(Optimizer& opt);
  LRSchedule(const LRSchedule&) = delete;
  LRSchedule& operator=(const LRSchedule&) = delete;
  virtual ~LRSchedule() = default;

  /// "StepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR", "ReduceLROnPlateau".
  virtual std::string name() const = 0;
  /// The lr of every group as set by the last step (or the constructor).
  const std::vector<double>& last_lr() const { return last_lr_; }
  /// Epochs stepped so far (0 after construction).
  std::int64_t last_epoch() const { return last_epoch_; }
  /// The optimizer this schedule drives.
  Optimizer& optimizer() const { return *opt_; }

  /// Everything needed to resume: "type", "last_epoch", "base_lr.<g>", "last_lr.<g>",
  /// the configuration and any counters, as exact decimal strings.
  Metadata state() const;
  /// Every way `m` does not fit this schedule (other type, group count, unparsable or
  /// invalid values, missing or unexpected keys); empty when it can be loaded.
  std::vector<std::string> state_problems(const Metadata& m) const;
  /// Restores state() output (configuration included, as PyTorch's load_state_dict).
  /// Does not touch the optimizer's lr: that is optimizer state. All or nothing: throws
  /// StateError listing state_problems() and changes nothing.
  void load_state(const Metadata& m);

 protected:
  /// The schedule's own numbers (configuration and counters) by name.
  virtual std::vector<std::pair<std::string, double>> fields() const = 0;
  /// Sets them from `v` (every name of fields() present). Throws std::invalid_argument if
  /// the values are invalid, before changing anything.
  virtual void set_fields(const std::map<std::string, double>& v) = 0;
  /// Whether set_fields would accept `v` (the message of its exception otherwise).
  virtual std::string check_fields(const std::map<std::string, double>& v) const = 0;
  /// Copies every group's current lr from the optimizer into last_lr_.
  void record_lrs();

  /// The optimizer driven (not owned).
  Optimizer* opt_;
  /// Epochs stepped so far.
  std::int64_t last_epoch_ = 0;
  /// Each group's initial lr, the base of the closed forms.
  std::vector<double> base_lrs_;
  /// Each group's lr after the last step.
  std::vector<double> last_lr_;
};

/// A schedule whose lr is a closed form of (base lr, epoch).
class EpochSchedule : public LRSchedule {
 public:
  /// Advances one epoch and sets every group's lr to lr_at(base lr, epoch).
  void step();
  /// The schedule's lr at `epoch` for a group whose base lr is `base_lr`.
  virtual double lr_at(double base_lr, std::int64_t epoch) const = 0;

 protected:
  /// Same constructor as LRSchedule; derived constructors then call start().
  using LRSchedule::LRSchedule;
  /// Applies epoch 0; called at the end of each derived constructor.
  void start();
};

/// lr = base · gamma^floor(epoch / step_size).
class StepLR : public EpochSchedule {
 public:
  /// std::invalid_argument for step_size < 1 or gamma < 0.
  StepLR(Optimizer& opt, std::int64_t step_size, double gamma = 0.1);
  std::string name() const override { return "StepLR"; }
  double lr_at(double base_lr, std::int64_t epoch) const override;

 protected:
  std::vector<std::pair<std::string, double>> fields() const override;
  void set_fields(const std::map<std::string, double>& v) override;
  std::string check_fields(const std::map<std::string, double>& v) const override;

 private:
  std::int64_t step_size_;
  double gamma_;
};

/// lr = base · gamma^epoch.
class ExponentialLR : public EpochSchedule {
 public:
  /// std::invalid_argument for gamma < 0.
  ExponentialLR(Optimizer& opt, double gamma);
  std::string name() const override { return "ExponentialLR"; }
  double lr_at(double base_lr, std::int64_t epoch) const override;

 protected:
  std::vector<std::pair<std::string, double>> fields() const override;
  void set_fields(const std::map<std::string, double>& v) override;
  std::string check_fields(const std::map<std::string, double>& v) const override;

 private:
  double gamma_;
};

/// lr = eta_min + (base - eta_min) · (1 + cos(π · epoch / T_max)) / 2 (PyTorch's closed
/// form; past T_max it rises again along the cosine).
class CosineAnnealingLR : public EpochSchedule {
 public:
  /// std::invalid_argument for T_max < 1 or eta_min < 0.
  CosineAnnealingLR(Optimizer& opt, std::int64_t T_max, double eta_min = 0.0);
  std::string name() const override { return "CosineAnnealingLR"; }
  double lr_at(double base_lr, std::int64_t epoch) const override;

 protected:
  std::vector<std::pair<std::string, double>> fields() const override;
  void set_fields(const std::map<std::string, double>& v) override;
  std::string check_fields(const std::map<std::string, double>& v) const override;

 private:
  std::int64_t T_max_;
  double eta_min_;
};

/// Linear warm-up, PyTorch's LinearLR with end_factor 1:
/// lr = base · (start_factor + (1 - start_factor) · min(epoch, warmup_steps) / warmup_steps).
class LinearWarmup : public EpochSchedule {
 public:
  /// std::invalid_argument for warmup_steps < 1 or start_factor outside [0, 1].
  LinearWarmup(Optimizer& opt, std::int64_t warmup_steps, double start_factor = 1.0 / 3);
  std::string name() const override { return "LinearLR"; }
  double lr_at(double base_lr, std::int64_t epoch) const override;

 protected:
  std::vector<std::pair<std::string, double>> fields() const override;
  void set_fields(const std::map<std::string, double>& v) override;
  std::string check_fields(const std::map<std::string, double>& v) const override;

 private:
  std::int64_t warmup_steps_;
  double start_factor_;
};

/// ReduceLROnPlateau options (PyTorch names and defaults).
struct PlateauOptions {
  /// Whether the metric should decrease (Min) or increase (Max).
  enum class Mode { Min, Max };
  /// Whether `threshold` is relative to the best value (Rel) or absolute (Abs).
  enum class Threshold { Rel, Abs };
  Mode mode = Mode::Min;       ///< whether the metric should go down or up
  double factor = 0.1;         ///< new lr = max(lr · factor, min_lr)
  std::int64_t patience = 10;  ///< bad epochs tolerated before a reduction
  double threshold = 1e-4;     ///< what counts as an improvement (see threshold_mode)
  Threshold threshold_mode = Threshold::Rel;  ///< Rel: best·(1 ∓ threshold); Abs: best ∓ threshold
  std::int64_t cooldown = 0;  ///< epochs after a reduction during which bad epochs don't count
  double min_lr = 0.0;        ///< lower bound for every group
  double eps = 1e-8;          ///< reductions smaller than this are skipped
};

/// Cuts the lr by `factor` when the metric has not improved for more than `patience`
/// epochs, then waits `cooldown` epochs (torch.optim.lr_scheduler.ReduceLROnPlateau).
class ReduceLROnPlateau : public LRSchedule {
 public:
  /// std::invalid_argument for factor >= 1 or < 0, patience/cooldown < 0, min_lr < 0.
  ReduceLROnPlateau(Optimizer& opt, PlateauOptions options = {});
  std::string name() const override { return "ReduceLROnPlateau"; }
  /// One epoch with validation metric `metric`; may reduce every group's lr.
  void step(double metric);
  /// Best metric seen so far.
  double best() const { return best_; }
  /// Consecutive epochs without improvement.
  std::int64_t num_bad_epochs() const { return num_bad_epochs_; }
  /// Epochs of cooldown remaining (bad epochs are not counted meanwhile).
  std::int64_t cooldown_counter() const { return cooldown_counter_; }

 protected:
  std::vector<std::pair<std::string, double>> fields() const override;
  void set_fields(const std::map<std::string, double>& v) override;
  std::string check_fields(const std::map<std::string, double>& v) const override;

 private:
  bool is_better(double a) const;
  PlateauOptions o_;
  double best_;
  std::int64_t num_bad_epochs_ = 0, cooldown_counter_ = 0;
};

}  // namespace unroll::optim
