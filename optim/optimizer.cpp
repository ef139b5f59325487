#include "optim/optimizer.hpp"

#include <limits>
#include <set>
#include <unordered_set>

#include "optim/text.hpp"

namespace unroll::optim {

namespace {

std::string shapes_of(const std::vector<Var>& ps) {
  std::string s;
  for (std::size_t i = 0; i < ps.size(); ++i) {
    if (i) s += ';';
    s += shape_str(ps[i].shape());
  }
  return s;
}

/// Splits "state.<g>.<i>.<rest>"; false if `name` is not of that form.
bool split_state_key(const std::string& name, std::size_t& g, std::size_t& i, std::string& rest) {
  if (name.rfind("state.", 0) != 0) return false;
  const std::size_t a = 6, b = name.find('.', a);
  if (b == std::string::npos) return false;
  const std::size_t c = name.find('.', b + 1);
  if (c == std::string::npos) return false;
  const auto gi = text::to_int(name.substr(a, b - a));
  const auto ii = text::to_int(name.substr(b + 1, c - b - 1));
  if (!gi || !ii || *gi < 0 || *ii < 0) return false;
  g = static_cast<std::size_t>(*gi);
  i = static_cast<std::size_t>(*ii);
  rest = name.substr(c + 1);
  return !rest.empty();
}

std::string key(std::size_t g, std::size_t i, const std::string& what) {
  return "state." + std::to_string(g) + "." + std::to_string(i) + "." + what;
}

}  // namespace

DecaySplit split_for_weight_decay(const std::vector<std::pair<std::string, Var>>& named) {
  DecaySplit s;
  for (const auto& [n, p] : named) (p.ndim() >= 2 ? s.decay : s.no_decay).push_back(p);
  return s;
}

// ---------------------------------------------------------------- groups and stepping

void Optimizer::set_groups(std::vector<std::vector<Var>> groups) {
  std::unordered_set<const autograd::Node*> seen;
  std::size_t total = 0;
  for (std::size_t g = 0; g < groups.size(); ++g)
    for (std::size_t i = 0; i < groups[g].size(); ++i) {
      const Var& p = groups[g][i];
      if (!p.defined())
        throw std::invalid_argument(name() + ": parameter " + std::to_string(i) + " of group " +
                                    std::to_string(g) + " is an undefined Var");
      if (!seen.insert(p.node()).second)
        throw std::invalid_argument(name() + ": parameter " + std::to_string(i) + " of group " +
                                    std::to_string(g) +
                                    " appears more than once (in this or an earlier group)");
      ++total;
    }
  if (total == 0) throw std::invalid_argument(name() + ": got an empty parameter list");
  params_ = std::move(groups);
  state_.clear();
  for (const auto& ps : params_) state_.emplace_back(ps.size());
  for (auto& ss : state_)
    for (auto& s : ss) s.buffers.resize(buffer_names().size());
}

void Optimizer::step() {
  for (std::size_t g = 0; g < params_.size(); ++g)
    for (std::size_t i = 0; i < params_[g].size(); ++i) {
      Var& p = params_[g][i];
      if (p.has_grad()) update(g, p, state_[g][i]);
    }
}

void Optimizer::zero_grad() {
  for (const auto& ps : params_)
    for (const auto& p : ps) p.zero_grad();
}

const std::vector<Var>& Optimizer::params(std::size_t group) const {
  if (group >= params_.size())
    throw std::out_of_range(name() + ": group " + std::to_string(group) + " out of range (" +
                            std::to_string(params_.size()) + " groups)");
  return params_[group];
}

double Optimizer::lr(std::size_t group) const {
  params(group);  // range check
  return group_lr(group);
}

void Optimizer::set_lr(double lr) {
  for (std::size_t g = 0; g < params_.size(); ++g) set_lr(g, lr);
}

void Optimizer::set_lr(std::size_t group, double lr) {
  params(group);
  if (!(lr >= 0.0))
    throw std::invalid_argument(name() + ": invalid lr = " + text::from_double(lr) +
                                ", expected lr >= 0");
  set_group_lr(group, lr);
}

std::map<std::string, double> Optimizer::hyper_parameters(std::size_t group) const {
  params(group);
  return get_hyper(group);
}

Tensor Optimizer::like(const Var& p, float fill) {
  Tensor t = Tensor::from_shape(p.value().shape());
  t.fill(fill);
  return t;
}

Tensor& Optimizer::slot(ParamState& s, std::size_t k, const Var& p, float fill) {
  if (!s.buffers[k]) s.buffers[k] = like(p, fill);
  return *s.buffers[k];
}

// ---------------------------------------------------------------- state export

NamedTensors Optimizer::state_tensors() const {
  NamedTensors out;
  const auto& names = buffer_names();
  for (std::size_t g = 0; g < state_.size(); ++g)
    for (std::size_t i = 0; i < state_[g].size(); ++i) {
      const ParamState& s = state_[g][i];
      if (!s.initialized) continue;
      for (std::size_t k = 0; k < names.size(); ++k)
        if (s.buffers[k]) out.emplace_back(key(g, i, names[k]), *s.buffers[k]);
    }
  return out;
}

Metadata Optimizer::state_metadata() const {
  Metadata m;
  m["type"] = name();
  m["groups"] = std::to_string(params_.size());
  for (std::size_t g = 0; g < params_.size(); ++g) {
    const std::string pre = "group." + std::to_string(g) + ".";
    m[pre + "params"] = std::to_string(params_[g].size());
    m[pre + "shapes"] = shapes_of(params_[g]);
    for (const auto& [k, v] : get_hyper(g)) m[pre + k] = text::from_double(v);
    for (std::size_t i = 0; i < state_[g].size(); ++i)
      if (state_[g][i].initialized) m[key(g, i, "step")] = std::to_string(state_[g][i].step);
  }
  return m;
}

// ---------------------------------------------------------------- state import

std::vector<std::string> Optimizer::state_problems(const NamedTensors& tensors,
                                                   const Metadata& meta) const {
  std::vector<std::string> bad;
  auto get = [&](const std::string& k) -> const std::string* {
    auto it = meta.find(k);
    if (it == meta.end()) {
      bad.push_back("missing metadata '" + k + "'");
      return nullptr;
    }
    return &it->second;
  };
  const std::string* type = get("type");
  if (!type) return bad;
  if (*type != name()) {
    bad.push_back("optimizer type: state is for '" + *type + "', this optimizer is '" + name() +
                  "'");
    return bad;
  }
  std::set<std::string> known = {"type", "groups"};
  const std::size_t G = params_.size();
  if (const std::string* gs = get("groups"); gs && *gs != std::to_string(G)) {
    bad.push_back("group count: state has " + *gs + ", this optimizer has " + std::to_string(G));
    return bad;
  }

  // Hyper-parameters per group, parsed so buffers_used() can say what each state needs.
  std::vector<std::map<std::string, double>> hyper(G);
  std::vector<bool> hyper_ok(G, true);
  for (std::size_t g = 0; g < G; ++g) {
    const std::string pre = "group." + std::to_string(g) + ".";
    known.insert({pre + "params", pre + "shapes"});
    if (const std::string* n = get(pre + "params"); n && *n != std::to_string(params_[g].size()))
      bad.push_back("group " + std::to_string(g) + " parameter count: state has " + *n +
                    ", this optimizer has " + std::to_string(params_[g].size()));
    if (const std::string* sh = get(pre + "shapes"); sh && *sh != shapes_of(params_[g]))
      bad.push_back("group " + std::to_string(g) + " parameter shapes: state has " + *sh +
                    ", this optimizer has " + shapes_of(params_[g]));
    for (const auto& [k, v] : get_hyper(g)) {
      known.insert(pre + k);
      const std::string* s = get(pre + k);
      if (!s) {
        hyper_ok[g] = false;
        continue;
      }
      const auto d = text::to_double(*s);
      if (!d) {
        bad.push_back("metadata '" + pre + k + "' = '" + *s + "' is not a number");
        hyper_ok[g] = false;
        continue;
      }
      hyper[g][k] = *d;
    }
    if (hyper_ok[g]) {
      try {
        check_hyper(hyper[g]);
      } catch (const std::invalid_argument& e) {
        bad.push_back("group " + std::to_string(g) + ": " + e.what());
        hyper_ok[g] = false;
      }
    }
  }

  // Which parameters have state, and which buffers came for each.
  const auto& names = buffer_names();
  std::map<std::pair<std::size_t, std::size_t>, std::vector<bool>> stateful;
  for (const auto& [k, v] : meta) {
    std::size_t g, i;
    std::string rest;
    if (!split_state_key(k, g, i, rest)) continue;
    known.insert(k);
    if (rest != "step" || g >= G || i >= params_[g].size()) {
      bad.push_back("unexpected metadata '" + k + "'");
      continue;
    }
    const auto step = text::to_int(v);
    // The next update increments it, so INT64_MAX would overflow.
    if (!step || *step < 0 || *step == std::numeric_limits<std::int64_t>::max()) {
      bad.push_back("metadata '" + k + "' = '" + v +
                    "' is not a step count, expected an integer in [0, 2^63 - 2]");
      continue;
    }
    stateful[{g, i}] = std::vector<bool>(names.size(), false);
  }
  for (const auto& [k, v] : meta)
    if (!known.count(k)) bad.push_back("unexpected metadata '" + k + "'");

  std::set<std::string> seen;
  for (const auto& [n, t] : tensors) {
    if (!seen.insert(n).second) {
      bad.push_back("duplicate state tensor '" + n + "'");
      continue;
    }
    std::size_t g, i;
    std::string rest;
    if (!split_state_key(n, g, i, rest) || g >= G || i >= params_[g].size()) {
      bad.push_back("unexpected state tensor '" + n + "'");
      continue;
    }
    std::size_t k = 0;
    while (k < names.size() && names[k] != rest) ++k;
    auto st = stateful.find({g, i});
    if (k == names.size() || st == stateful.end()) {
      bad.push_back("unexpected state tensor '" + n + "'" +
                    (k < names.size() ? " (no " + key(g, i, "step") + " for it)" : ""));
      continue;
    }
    if (shape_of(t) != params_[g][i].shape()) {
      bad.push_back("state tensor '" + n + "' has shape " + shape_str(t) + ", parameter " +
                    std::to_string(i) + " of group " + std::to_string(g) + " has shape " +
                    shape_str(params_[g][i].shape()));
      continue;
    }
    st->second[k] = true;
  }
  for (const auto& [gi, have] : stateful) {
    if (!hyper_ok[gi.first]) continue;
    const std::vector<bool> need = buffers_used(hyper[gi.first]);
    for (std::size_t k = 0; k < names.size(); ++k)
      if (need[k] && !have[k])
        bad.push_back("missing state tensor '" + key(gi.first, gi.second, names[k]) + "'");
  }
  return bad;
}

void Optimizer::load_state_tensors(const NamedTensors& tensors, const Metadata& meta) {
  const auto bad = state_problems(tensors, meta);
  if (!bad.empty()) {
    std::string msg = name() + ": cannot load optimizer state:";
    for (const auto& b : bad) msg += "\n  " + b;
    throw StateError(msg, bad);
  }
  // Validated: nothing below can fail on the data, so the swap is all or nothing.
  std::vector<std::map<std::string, double>> hyper(params_.size());
  for (std::size_t g = 0; g < params_.size(); ++g) {
    const std::string pre = "group." + std::to_string(g) + ".";
    for (const auto& [k, v] : get_hyper(g)) hyper[g][k] = *text::to_double(meta.at(pre + k));
  }
  std::vector<std::vector<ParamState>> fresh;
  for (const auto& ps : params_) fresh.emplace_back(ps.size());
  for (auto& ss : fresh)
    for (auto& s : ss) s.buffers.resize(buffer_names().size());
  for (const auto& [k, v] : meta) {
    std::size_t g, i;
    std::string rest;
    if (!split_state_key(k, g, i, rest)) continue;
    fresh[g][i].initialized = true;
    fresh[g][i].step = *text::to_int(v);
  }
  const auto& names = buffer_names();
  for (const auto& [n, t] : tensors) {
    std::size_t g, i;
    std::string rest;
    split_state_key(n, g, i, rest);
    for (std::size_t k = 0; k < names.size(); ++k)
      if (names[k] == rest) fresh[g][i].buffers[k] = t;
  }
  for (std::size_t g = 0; g < params_.size(); ++g) set_hyper(g, hyper[g]);
  state_ = std::move(fresh);
}

}  // namespace unroll::optim
