#pragma once
// Training checkpoints: model parameters, optimizer state, schedule state, RNG states, the
// step number and free-form strings in ONE safetensors file, written atomically, so that
// stopping and resuming reproduces the uninterrupted run bit for bit.
//
// File layout: tensors "model.<parameter name>" and "optim.state.<g>.<i>.<buffer>";
// metadata "format" = "unroll-checkpoint-1", "step", "optim.<key>", "schedule.<key>",
// "rng.<name>" and "extra.<key>".

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "autograd/random.hpp"
#include "nn/module.hpp"
#include "optim/optimizer.hpp"
#include "optim/schedule.hpp"

namespace unroll::optim {

/// A checkpoint that cannot be read or does not match what it is loaded into; the message
/// names the file and lists every problem, one per line (also in `problems`).
class CheckpointError : public std::runtime_error {
 public:
  /// Builds the error from its message `what` and the list of `problems`.
  CheckpointError(const std::string& what, std::vector<std::string> problems)
      : std::runtime_error(what), problems(std::move(problems)) {}
  /// Every problem found, one entry each.
  std::vector<std::string> problems;
};

/// The live objects a checkpoint saves from and loads into. Only `model` is required;
/// a null optimizer/schedule is neither saved nor loaded.
struct TrainingState {
  /// Model whose parameters are saved/loaded (required).
  nn::Module* model = nullptr;
  /// Optimizer whose state is saved/loaded, or null.
  Optimizer* optimizer = nullptr;
  /// Schedule whose state is saved/loaded, or null.
  LRSchedule* schedule = nullptr;
  /// Generators by name, e.g. {{"default", &default_generator()}, {"data", &data_gen}}.
  std::map<std::string, Generator*> generators;
  /// Training step (or epoch) reached; restored by load.
  std::int64_t step = 0;
  /// Free-form strings (run name, config, best metric...); restored by load.
  std::map<std::string, std::string> extra;
};

/// Writes everything in `s` to `path` atomically (nn::save_safetensors).
void save_checkpoint(const std::string& path, const TrainingState& s);

/// Loads `path` into `s`: parameters, optimizer state and hyper-parameters, schedule state,
/// every listed generator's state, then `step` and `extra`. Everything is validated first:
/// on any problem (unreadable or corrupt file, missing/unexpected/misshaped parameters,
/// optimizer or schedule of another type or shape, missing generator) it throws
/// CheckpointError listing all of them and nothing in `s` is modified. Checkpoint parts for
/// which `s` has no target (an optimizer when s.optimizer is null, other generators) are
/// ignored, so a model alone can be loaded from a training checkpoint.
void load_checkpoint(const std::string& path, TrainingState& s);

/// load_checkpoint from an in-memory safetensors image of `size` bytes at `data` (a file
/// already read, a network buffer, a fuzzer's input); `what` names it in messages. Same
/// checks and the same all-or-nothing behaviour as the file version.
void load_checkpoint(const std::uint8_t* data, std::size_t size, const std::string& what,
                     TrainingState& s);

}  // namespace unroll::optim
