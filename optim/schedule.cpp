#include "optim/schedule.hpp"

#include <cmath>
#include <limits>
#include <numbers>
#include <set>
#include <stdexcept>

#include "optim/text.hpp"

namespace unroll::optim {

namespace {

/// Runs `f` (which validates by throwing) and returns its message, or "" if it passed.
template <class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

// An integer that std::int64_t holds: every caller converts it to one, and converting
// 1e300 (a finite integer-valued double from a corrupt checkpoint) is undefined behaviour.
bool is_int(double v) {
  return v >= -0x1p63 && v < 0x1p63 && v == std::floor(v);
}

}  // namespace

// ---------------------------------------------------------------- base

LRSchedule::LRSchedule(Optimizer& opt) : opt_(&opt) {
  for (std::size_t g = 0; g < opt.num_groups(); ++g) base_lrs_.push_back(opt.lr(g));
  record_lrs();
}

void LRSchedule::record_lrs() {
  last_lr_.clear();
  for (std::size_t g = 0; g < opt_->num_groups(); ++g) last_lr_.push_back(opt_->lr(g));
}

Metadata LRSchedule::state() const {
  Metadata m;
  m["type"] = name();
  m["last_epoch"] = std::to_string(last_epoch_);
  m["groups"] = std::to_string(base_lrs_.size());
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
    m["base_lr." + std::to_string(g)] = text::from_double(base_lrs_[g]);
    m["last_lr." + std::to_string(g)] = text::from_double(last_lr_[g]);
  }
  for (const auto& [k, v] : fields()) m[k] = text::from_double(v);
  return m;
}

std::vector<std::string> LRSchedule::state_problems(const Metadata& m) const {
  std::vector<std::string> bad;
  auto get = [&](const std::string& k) -> const std::string* {
    auto it = m.find(k);
    if (it == m.end()) {
      bad.push_back("missing schedule state '" + k + "'");
      return nullptr;
    }
    return &it->second;
  };
  const std::string* type = get("type");
  if (!type) return bad;
  if (*type != name()) {
    bad.push_back("schedule type: state is for '" + *type + "', this schedule is '" + name() + "'");
    return bad;
  }
  std::set<std::string> known = {"type", "last_epoch", "groups"};
  if (const std::string* e = get("last_epoch")) {
    const auto v = text::to_int(*e);
    // The next step() increments it, so INT64_MAX would overflow.
    if (!v || *v < 0 || *v == std::numeric_limits<std::int64_t>::max())
      bad.push_back("schedule state 'last_epoch' = '" + *e +
                    "' is not an epoch, expected an integer in [0, 2^63 - 2]");
  }
  const std::size_t G = opt_->num_groups();
  if (const std::string* gs = get("groups"); gs && *gs != std::to_string(G)) {
    bad.push_back("schedule group count: state has " + *gs + ", the optimizer has " +
                  std::to_string(G));
    return bad;
  }
  auto number = [&](const std::string& k) -> std::optional<double> {
    known.insert(k);
    const std::string* s = get(k);
    if (!s) return std::nullopt;
    auto v = text::to_double(*s);
    if (!v) bad.push_back("schedule state '" + k + "' = '" + *s + "' is not a number");
    return v;
  };
  for (std::size_t g = 0; g < G; ++g) {
    for (const char* what : {"base_lr.", "last_lr."})
      if (auto v = number(what + std::to_string(g)); v && !(*v >= 0))
        bad.push_back("schedule state '" + std::string(what) + std::to_string(g) +
                      "' = " + text::from_double(*v) + ", expected >= 0");
  }
  std::map<std::string, double> f;
  bool complete = true;
  for (const auto& [k, unused] : fields()) {
    auto v = number(k);
    if (v)
      f[k] = *v;
    else
      complete = false;
  }
  if (complete)
    if (std::string e = check_fields(f); !e.empty()) bad.push_back(e);
  for (const auto& [k, v] : m)
    if (!known.count(k)) bad.push_back("unexpected schedule state '" + k + "'");
  return bad;
}

void LRSchedule::load_state(const Metadata& m) {
  const auto bad = state_problems(m);
  if (!bad.empty()) {
    std::string msg = name() + ": cannot load schedule state:";
    for (const auto& b : bad) msg += "\n  " + b;
    throw StateError(msg, bad);
  }
  std::map<std::string, double> f;
  for (const auto& [k, unused] : fields()) f[k] = *text::to_double(m.at(k));
  set_fields(f);
  last_epoch_ = *text::to_int(m.at("last_epoch"));
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
    base_lrs_[g] = *text::to_double(m.at("base_lr." + std::to_string(g)));
    last_lr_[g] = *text::to_double(m.at("last_lr." + std::to_string(g)));
  }
}

// ---------------------------------------------------------------- closed forms

void EpochSchedule::start() {
  last_epoch_ = -1;
  step();
}

void EpochSchedule::step() {
  ++last_epoch_;
  for (std::size_t g = 0; g < base_lrs_.size(); ++g)
    opt_->set_lr(g, lr_at(base_lrs_[g], last_epoch_));
  record_lrs();
}

namespace {
void check_step(double step_size, double gamma) {
  if (!(is_int(step_size) && step_size >= 1))
    text::invalid_option("StepLR", "step_size", step_size, "an integer >= 1");
  if (!(gamma >= 0)) text::invalid_option("StepLR", "gamma", gamma, "gamma >= 0");
}
void check_exp(double gamma) {
  if (!(gamma >= 0)) text::invalid_option("ExponentialLR", "gamma", gamma, "gamma >= 0");
}
void check_cos(double T_max, double eta_min) {
  if (!(is_int(T_max) && T_max >= 1))
    text::invalid_option("CosineAnnealingLR", "T_max", T_max, "an integer >= 1");
  if (!(eta_min >= 0))
    text::invalid_option("CosineAnnealingLR", "eta_min", eta_min, "eta_min >= 0");
}
void check_warmup(double steps, double start) {
  if (!(is_int(steps) && steps >= 1))
    text::invalid_option("LinearWarmup", "warmup_steps", steps, "an integer >= 1");
  if (!(start >= 0 && start <= 1))
    text::invalid_option("LinearWarmup", "start_factor", start, "0 <= start_factor <= 1");
}
}  // namespace

StepLR::StepLR(Optimizer& opt, std::int64_t step_size, double gamma)
    : EpochSchedule(opt), step_size_(step_size), gamma_(gamma) {
  check_step(double(step_size), gamma);
  start();
}
double StepLR::lr_at(double base, std::int64_t epoch) const {
  return base * std::pow(gamma_, double(epoch / step_size_));
}
std::vector<std::pair<std::string, double>> StepLR::fields() const {
  return {{"step_size", double(step_size_)}, {"gamma", gamma_}};
}
std::string StepLR::check_fields(const std::map<std::string, double>& v) const {
  return message_of([&] { check_step(v.at("step_size"), v.at("gamma")); });
}
void StepLR::set_fields(const std::map<std::string, double>& v) {
  check_step(v.at("step_size"), v.at("gamma"));
  step_size_ = std::int64_t(v.at("step_size"));
  gamma_ = v.at("gamma");
}

ExponentialLR::ExponentialLR(Optimizer& opt, double gamma) : EpochSchedule(opt), gamma_(gamma) {
  check_exp(gamma);
  start();
}
double ExponentialLR::lr_at(double base, std::int64_t epoch) const {
  return base * std::pow(gamma_, double(epoch));
}
std::vector<std::pair<std::string, double>> ExponentialLR::fields() const {
  return {{"gamma", gamma_}};
}
std::string ExponentialLR::check_fields(const std::map<std::string, double>& v) const {
  return message_of([&] { check_exp(v.at("gamma")); });
}
void ExponentialLR::set_fields(const std::map<std::string, double>& v) {
  check_exp(v.at("gamma"));
  gamma_ = v.at("gamma");
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& opt, std::int64_t T_max, double eta_min)
    : EpochSchedule(opt), T_max_(T_max), eta_min_(eta_min) {
  check_cos(double(T_max), eta_min);
  start();
}
double CosineAnnealingLR::lr_at(double base, std::int64_t epoch) const {
  return eta_min_ +
         (base - eta_min_) * (1 + std::cos(std::numbers::pi * double(epoch) / double(T_max_))) / 2;
}
std::vector<std::pair<std::string, double>> CosineAnnealingLR::fields() const {
  return {{"T_max", double(T_max_)}, {"eta_min", eta_min_}};
}
std::string CosineAnnealingLR::check_fields(const std::map<std::string, double>& v) const {
  return message_of([&] { check_cos(v.at("T_max"), v.at("eta_min")); });
}
void CosineAnnealingLR::set_fields(const std::map<std::string, double>& v) {
  check_cos(v.at("T_max"), v.at("eta_min"));
  T_max_ = std::int64_t(v.at("T_max"));
  eta_min_ = v.at("eta_min");
}

LinearWarmup::LinearWarmup(Optimizer& opt, std::int64_t warmup_steps, double start_factor)
    : EpochSchedule(opt), warmup_steps_(warmup_steps), start_factor_(start_factor) {
  check_warmup(double(warmup_steps), start_factor);
  start();
}
double LinearWarmup::lr_at(double base, std::int64_t epoch) const {
  const double t = double(std::min(epoch, warmup_steps_));
  return base * (start_factor_ + (1.0 - start_factor_) * t / double(warmup_steps_));
}
std::vector<std::pair<std::string, double>> LinearWarmup::fields() const {
  return {{"total_iters", double(warmup_steps_)}, {"start_factor", start_factor_}};
}
std::string LinearWarmup::check_fields(const std::map<std::string, double>& v) const {
  return message_of([&] { check_warmup(v.at("total_iters"), v.at("start_factor")); });
}
void LinearWarmup::set_fields(const std::map<std::string, double>& v) {
  check_warmup(v.at("total_iters"), v.at("start_factor"));
  warmup_steps_ = std::int64_t(v.at("total_iters"));
  start_factor_ = v.at("start_factor");
}

// ---------------------------------------------------------------- plateau

namespace {
void check_plateau(const PlateauOptions& o) {
  const char* who = "ReduceLROnPlateau";
  if (!(o.factor >= 0 && o.factor < 1))
    text::invalid_option(who, "factor", o.factor, "0 <= factor < 1");
  if (o.patience < 0) text::invalid_option(who, "patience", double(o.patience), "patience >= 0");
  if (o.cooldown < 0) text::invalid_option(who, "cooldown", double(o.cooldown), "cooldown >= 0");
  if (!(o.min_lr >= 0)) text::invalid_option(who, "min_lr", o.min_lr, "min_lr >= 0");
  if (!(o.threshold >= 0)) text::invalid_option(who, "threshold", o.threshold, "threshold >= 0");
  if (!(o.eps >= 0)) text::invalid_option(who, "eps", o.eps, "eps >= 0");
}
}  // namespace

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& opt, PlateauOptions options)
    : LRSchedule(opt), o_(options) {
  check_plateau(o_);
  best_ = o_.mode == PlateauOptions::Mode::Min ? INFINITY : -INFINITY;
}

bool ReduceLROnPlateau::is_better(double a) const {
  const bool rel = o_.threshold_mode == PlateauOptions::Threshold::Rel;
  if (o_.mode == PlateauOptions::Mode::Min)
    return rel ? a < best_ * (1.0 - o_.threshold) : a < best_ - o_.threshold;
  return rel ? a > best_ * (o_.threshold + 1.0) : a > best_ + o_.threshold;
}

void ReduceLROnPlateau::step(double metric) {
  ++last_epoch_;
  if (is_better(metric)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;  // bad epochs during cooldown do not count
  }
  if (num_bad_epochs_ > o_.patience) {
    for (std::size_t g = 0; g < opt_->num_groups(); ++g) {
      const double old_lr = opt_->lr(g);
      const double new_lr = std::max(old_lr * o_.factor, o_.min_lr);
      if (old_lr - new_lr > o_.eps) opt_->set_lr(g, new_lr);
    }
    cooldown_counter_ = o_.cooldown;
    num_bad_epochs_ = 0;
  }
  record_lrs();
}

std::vector<std::pair<std::string, double>> ReduceLROnPlateau::fields() const {
  return {{"mode_max", o_.mode == PlateauOptions::Mode::Max ? 1.0 : 0.0},
          {"factor", o_.factor},
          {"patience", double(o_.patience)},
          {"threshold", o_.threshold},
          {"threshold_abs", o_.threshold_mode == PlateauOptions::Threshold::Abs ? 1.0 : 0.0},
          {"cooldown", double(o_.cooldown)},
          {"min_lr", o_.min_lr},
          {"eps", o_.eps},
          {"best", best_},
          {"num_bad_epochs", double(num_bad_epochs_)},
          {"cooldown_counter", double(cooldown_counter_)}};
}

namespace {
PlateauOptions plateau_from(const std::map<std::string, double>& v) {
  const char* who = "ReduceLROnPlateau";
  for (const char* k : {"mode_max", "threshold_abs"})
    if (v.at(k) != 0 && v.at(k) != 1) text::invalid_option(who, k, v.at(k), "0 or 1");
  for (const char* k : {"patience", "cooldown", "num_bad_epochs", "cooldown_counter"})
    if (!is_int(v.at(k)) || v.at(k) < 0) text::invalid_option(who, k, v.at(k), "an integer >= 0");
  PlateauOptions o;
  o.mode = v.at("mode_max") != 0 ? PlateauOptions::Mode::Max : PlateauOptions::Mode::Min;
  o.factor = v.at("factor");
  o.patience = std::int64_t(v.at("patience"));
  o.threshold = v.at("threshold");
  o.threshold_mode =
      v.at("threshold_abs") != 0 ? PlateauOptions::Threshold::Abs : PlateauOptions::Threshold::Rel;
  o.cooldown = std::int64_t(v.at("cooldown"));
  o.min_lr = v.at("min_lr");
  o.eps = v.at("eps");
  check_plateau(o);
  return o;
}
}  // namespace

std::string ReduceLROnPlateau::check_fields(const std::map<std::string, double>& v) const {
  return message_of([&] { plateau_from(v); });
}
void ReduceLROnPlateau::set_fields(const std::map<std::string, double>& v) {
  o_ = plateau_from(v);
  best_ = v.at("best");
  num_bad_epochs_ = std::int64_t(v.at("num_bad_epochs"));
  cooldown_counter_ = std::int64_t(v.at("cooldown_counter"));
}

}  // namespace unroll::optim
