#pragma once
// Saving and loading a module's parameters as safetensors under PyTorch state_dict names,
// so a file from `safetensors.torch.save_file(model.state_dict(), path)` loads directly.

#include <map>
#include <string>
#include <vector>

#include "nn/module.hpp"
#include "nn/safetensors.hpp"

namespace unroll::nn {

/// What a load found besides the tensors it applied.
struct LoadReport {
  std::vector<std::string> missing;     ///< parameters of the module absent from the file
  std::vector<std::string> unexpected;  ///< tensors in the file the module does not have
  std::vector<std::string> mismatched;  ///< "name: file [a, b] vs module [c, d]" (or dtype)
  std::vector<std::string> loaded;      ///< parameters that were set
  /// True when nothing was missing, unexpected or mismatched.
  bool clean() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  /// Every problem, one per line.
  std::string describe() const;
};

/// A strict load found missing, unexpected or wrongly shaped tensors (all listed).
class StateDictError : public std::runtime_error {
 public:
  /// Error with message `what` and the report listing every problem.
  StateDictError(const std::string& what, LoadReport r)
      : std::runtime_error(what), report(std::move(r)) {}
  /// Every missing, unexpected and mismatched tensor.
  LoadReport report;
};

/// Writes every parameter of `m` (float32, dotted names) atomically to `path`.
void save(const Module& m, const std::string& path,
          const std::map<std::string, std::string>& metadata = {});

/// Loads parameters from `path` into `m`. Strict (default): any missing, unexpected or
/// mismatched tensor throws StateDictError listing all of them and changes nothing.
/// Non-strict: applies what matches and reports the rest. F16/BF16/F64 are converted.
LoadReport load(Module& m, const std::string& path, bool strict = true);
/// Same, from an already parsed file.
LoadReport load(Module& m, const SafetensorsFile& file, bool strict = true);

}  // namespace unroll::nn
