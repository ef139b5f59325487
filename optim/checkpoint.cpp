#include "optim/checkpoint.hpp"

#include <set>

#include "nn/safetensors.hpp"
#include "optim/text.hpp"

namespace unroll::optim {

namespace {

const char* const kFormat = "unroll-checkpoint-1";

/// Entries of `m` under `prefix`, with the prefix removed.
Metadata under(const Metadata& m, const std::string& prefix) {
  Metadata out;
  for (auto it = m.lower_bound(prefix); it != m.end() && it->first.rfind(prefix, 0) == 0; ++it)
    out[it->first.substr(prefix.size())] = it->second;
  return out;
}

}  // namespace

void save_checkpoint(const std::string& path, const TrainingState& s) {
  if (!s.model) throw std::invalid_argument("save_checkpoint: TrainingState::model is null");
  NamedTensors tensors;
  Metadata meta;
  meta["format"] = kFormat;
  meta["step"] = std::to_string(s.step);
  for (const auto& [n, p] : s.model->named_parameters())
    tensors.emplace_back("model." + n, p.value());
  if (s.optimizer) {
    for (auto& [n, t] : s.optimizer->state_tensors())
      tensors.emplace_back("optim." + n, std::move(t));
    for (const auto& [k, v] : s.optimizer->state_metadata()) meta["optim." + k] = v;
  }
  if (s.schedule)
    for (const auto& [k, v] : s.schedule->state()) meta["schedule." + k] = v;
  for (const auto& [n, g] : s.generators) {
    if (!g) throw std::invalid_argument("save_checkpoint: generator '" + n + "' is null");
    meta["rng." + n] = g->state();
  }
  for (const auto& [k, v] : s.extra) meta["extra." + k] = v;
  nn::save_safetensors(path, tensors, meta);
}

namespace {

/// Parses the safetensors image with `read` (file or memory), wrapping its errors.
template <class Read>
nn::SafetensorsFile read_checkpoint(const std::string& path, TrainingState& s, Read&& read) {
  if (!s.model) throw std::invalid_argument("load_checkpoint: TrainingState::model is null");
  try {
    return read();
  } catch (const std::exception& e) {
    throw CheckpointError("load_checkpoint: cannot read " + path + ": " + e.what(), {e.what()});
  }
}

/// Validates the parsed checkpoint `f` (named `path` in messages) against `s`, then loads it.
void apply_checkpoint(const nn::SafetensorsFile& f, const std::string& path, TrainingState& s) {
  auto fail = [&](std::vector<std::string> bad) {
    std::string msg = "load_checkpoint: " + path + " does not match (nothing was loaded):";
    for (const auto& b : bad) msg += "\n  " + b;
    throw CheckpointError(msg, std::move(bad));
  };

  std::vector<std::string> bad;
  auto fmt = f.metadata.find("format");
  if (fmt == f.metadata.end() || fmt->second != kFormat) {
    bad.push_back("metadata 'format' is " +
                  (fmt == f.metadata.end() ? std::string("missing") : "'" + fmt->second + "'") +
                  ", expected '" + kFormat + "'");
    fail(bad);
  }
  std::optional<std::int64_t> step;
  if (auto it = f.metadata.find("step"); it == f.metadata.end())
    bad.push_back("missing metadata 'step'");
  else if (!(step = text::to_int(it->second)))
    bad.push_back("metadata 'step' = '" + it->second + "' is not an integer");
  else if (*step < 0)
    bad.push_back("metadata 'step' = " + it->second + " is negative, expected a step count >= 0");

  // Model: every parameter present as float with its shape, nothing unexpected.
  const nn::NamedParameters params = s.model->named_parameters();
  std::vector<const Tensor*> values(params.size(), nullptr);
  std::set<std::string> names;
  for (std::size_t k = 0; k < params.size(); ++k) {
    const auto& [n, p] = params[k];
    names.insert("model." + n);
    auto it = f.tensors.find("model." + n);
    if (it == f.tensors.end()) {
      bad.push_back("missing model parameter 'model." + n + "' " + shape_str(p.shape()));
      continue;
    }
    if (!it->second.is_float()) {
      bad.push_back("model parameter 'model." + n + "' has dtype " + it->second.dtype +
                    ", expected a float dtype");
      continue;
    }
    const Tensor& t = std::get<Tensor>(it->second.data);
    if (shape_of(t) != p.shape()) {
      bad.push_back("model parameter 'model." + n + "': checkpoint " + shape_str(t) + " vs model " +
                    shape_str(p.shape()));
      continue;
    }
    values[k] = &t;
  }
  NamedTensors optim_tensors;
  for (const auto& [n, t] : f.tensors) {
    if (n.rfind("model.", 0) == 0 && !names.count(n))
      bad.push_back("unexpected model parameter '" + n + "' (the model has no '" + n.substr(6) +
                    "')");
    if (n.rfind("optim.", 0) == 0 && s.optimizer) {
      if (!t.is_float())
        bad.push_back("optimizer tensor '" + n + "' has dtype " + t.dtype + ", expected float");
      else
        optim_tensors.emplace_back(n.substr(6), std::get<Tensor>(t.data));
    }
  }

  // Optimizer, schedule and generators check themselves without changing anything.
  const Metadata optim_meta = under(f.metadata, "optim.");
  if (s.optimizer) {
    if (optim_meta.empty())
      bad.push_back("the checkpoint has no optimizer state, but an optimizer (" +
                    s.optimizer->name() + ") was given to load into");
    else
      for (const auto& p : s.optimizer->state_problems(optim_tensors, optim_meta))
        bad.push_back("optimizer: " + p);
  }
  const Metadata sched_meta = under(f.metadata, "schedule.");
  if (s.schedule) {
    if (sched_meta.empty())
      bad.push_back("the checkpoint has no schedule state, but a schedule (" + s.schedule->name() +
                    ") was given to load into");
    else
      for (const auto& p : s.schedule->state_problems(sched_meta)) bad.push_back("schedule: " + p);
  }
  std::map<std::string, Generator> rngs;
  for (const auto& [n, g] : s.generators) {
    if (!g) throw std::invalid_argument("load_checkpoint: generator '" + n + "' is null");
    auto it = f.metadata.find("rng." + n);
    if (it == f.metadata.end()) {
      bad.push_back("missing generator state 'rng." + n + "'");
      continue;
    }
    try {
      rngs[n].set_state(it->second);
    } catch (const std::exception&) {
      bad.push_back("generator state 'rng." + n + "' is malformed");
    }
  }
  if (!bad.empty()) fail(bad);

  // Everything fits: apply. None of these can fail on the data any more.
  for (std::size_t k = 0; k < params.size(); ++k) {
    Var p = params[k].second;
    p.mutable_value() = *values[k];
  }
  if (s.optimizer) s.optimizer->load_state_tensors(optim_tensors, optim_meta);
  if (s.schedule) s.schedule->load_state(sched_meta);
  for (auto& [n, g] : s.generators) *g = rngs.at(n);
  s.step = *step;
  s.extra = under(f.metadata, "extra.");
}

}  // namespace

void load_checkpoint(const std::string& path, TrainingState& s) {
  apply_checkpoint(read_checkpoint(path, s, [&] { return nn::load_safetensors(path); }), path, s);
}

void load_checkpoint(const std::uint8_t* data, std::size_t size, const std::string& what,
                     TrainingState& s) {
  apply_checkpoint(
      read_checkpoint(what, s, [&] { return nn::parse_safetensors(data, size, what); }), what, s);
}

}  // namespace unroll::optim
