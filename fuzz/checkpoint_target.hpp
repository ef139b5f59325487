#pragma once
// What the checkpoint fuzzer does with one input; tests/reliability/test_fuzz_corpus.cpp
// replays the saved corpus through the same function with the normal build.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "autograd/random.hpp"
#include "autograd/tape.hpp"
#include "nn/layers.hpp"
#include "nn/safetensors.hpp"
#include "ops/losses.hpp"
#include "optim/optim.hpp"

namespace unroll::fuzz {

/// What a checkpoint is loaded into: an MLP (Linear 3->4, tanh, Linear 4->1) whose weights
/// and biases form two optimizer groups, the optimizer and schedule types the input's
/// metadata names ("optim.type", "schedule.type"; Adam and StepLR when absent or unknown),
/// so every type's validation is reachable from the bytes, and a generator "data".
struct CheckpointTarget {
  Generator init{7};                         ///< draws the initial weights
  Generator data{8};                         ///< the generator the checkpoint restores
  nn::Sequential model;                      ///< the MLP
  std::unique_ptr<optim::Optimizer> opt;     ///< optimizer over {weights, biases}
  std::unique_ptr<optim::LRSchedule> sched;  ///< schedule of `opt`
  std::int64_t step = 0;                     ///< restored step
  std::map<std::string, std::string> extra;  ///< restored free-form strings

  /// Builds the optimizer and schedule named by `meta` (a peek at the input's metadata).
  explicit CheckpointTarget(const std::map<std::string, std::string>& meta) {
    model.add(std::make_shared<nn::Linear>(3, 4, true, init))
        .add(nn::Tanh())
        .add(std::make_shared<nn::Linear>(4, 1, true, init));
    const auto split = optim::split_for_weight_decay(model.named_parameters());
    const std::vector<std::vector<Var>> groups = {split.decay, split.no_decay};
    auto named = [&](const char* key) {
      auto it = meta.find(key);
      return it == meta.end() ? std::string() : it->second;
    };
    opt = make_optimizer(named("optim.type"), groups);
    sched = make_schedule(named("schedule.type"), *opt);
  }

  /// The TrainingState that load_checkpoint fills.
  optim::TrainingState state() {
    return {&model, opt.get(), sched.get(), {{"data", &data}}, step, extra};
  }

  /// One training step with the loaded state: forward, backward, optimizer and schedule
  /// step. A checkpoint that loads must leave objects that can go on training.
  void train_step() {
    const Tensor x = data.normal_tensor({5, 3});
    const Tensor y = data.normal_tensor({5, 1});
    autograd::Tape tape;
    autograd::TapeScope scope(tape);
    Var loss = ops::mse_loss(model(Var(x)), Var(y));
    loss.backward();
    opt->step();
    opt->zero_grad();
    if (auto* plateau = dynamic_cast<optim::ReduceLROnPlateau*>(sched.get()))
      plateau->step(loss.item());
    else
      static_cast<optim::EpochSchedule&>(*sched).step();
  }

 private:
  template <class O>
  static std::unique_ptr<optim::Optimizer> groups_of(const std::vector<std::vector<Var>>& gs) {
    std::vector<typename O::Group> out;
    for (const auto& g : gs) out.push_back({g, typename O::Options{}});
    return std::make_unique<O>(std::move(out));
  }
  static std::unique_ptr<optim::Optimizer> make_optimizer(const std::string& type,
                                                          const std::vector<std::vector<Var>>& gs) {
    if (type == "SGD") return groups_of<optim::SGD>(gs);
    if (type == "AdamW") return groups_of<optim::AdamW>(gs);
    if (type == "RMSprop") return groups_of<optim::RMSprop>(gs);
    if (type == "Adagrad") return groups_of<optim::Adagrad>(gs);
    return groups_of<optim::Adam>(gs);
  }
  static std::unique_ptr<optim::LRSchedule> make_schedule(const std::string& type,
                                                          optim::Optimizer& o) {
    if (type == "ExponentialLR") return std::make_unique<optim::ExponentialLR>(o, 0.9);
    if (type == "CosineAnnealingLR") return std::make_unique<optim::CosineAnnealingLR>(o, 10);
    if (type == "LinearLR") return std::make_unique<optim::LinearWarmup>(o, 5, 0.25);
    if (type == "ReduceLROnPlateau") return std::make_unique<optim::ReduceLROnPlateau>(o);
    return std::make_unique<optim::StepLR>(o, 3, 0.5);
  }
};

/// Loads `data` as a checkpoint into a CheckpointTarget. Returns true if it loaded (then
/// trains one step on it), false if it was rejected with optim::CheckpointError. Any other
/// exception escapes (a bug: bad input must give a CheckpointError naming the problem), as
/// does a std::logic_error when a rejected load changed the model (loads are all or nothing).
inline bool checkpoint_input(const std::uint8_t* data, std::size_t size) {
  std::map<std::string, std::string> meta;
  try {
    meta = nn::parse_safetensors(data, size, "fuzz-input").metadata;
  } catch (const nn::FormatError&) {
    // load_checkpoint below reports it; the target keeps its default types.
  }
  CheckpointTarget target(meta);
  std::vector<Tensor> before;
  for (const Var& p : target.model.parameters()) before.push_back(p.value());
  optim::TrainingState s = target.state();
  try {
    optim::load_checkpoint(data, size, "fuzz-input", s);
  } catch (const optim::CheckpointError&) {
    const auto params = target.model.parameters();
    for (std::size_t k = 0; k < params.size(); ++k)
      if (!(params[k].value() == before[k]))
        throw std::logic_error("a rejected checkpoint changed model parameter " +
                               std::to_string(k));
    return false;
  }
  target.train_step();
  return true;
}

}  // namespace unroll::fuzz
