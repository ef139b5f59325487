#pragma once
// The data-driven PyTorch parity runner. Each fixture (tests/data/parity/*.safetensors,
// schema in /work/shared/fixtures/README.md) names a module or optimizer and its config;
// the runner builds it through a registry, loads parameters and inputs, runs it, and
// compares outputs and gradients. A new case is a new file; a new module is one builder:
//
//   static parity::ParityCase build_linear(const nlohmann::json& cfg) {
//     auto m = std::make_shared<nn::Linear>(cfg.at("in_features"), cfg.at("out_features"),
//                                           parity::config_or(cfg, "bias", true));
//     parity::ParityCase c;
//     c.config_keys = {"in_features", "out_features", "bias"};
//     c.params = parity::param_map(m->named_parameters());
//     c.forward = [m](const parity::FloatInputs& in, const parity::IndexInputs&) {
//       return parity::Outputs{{"output", m->forward(parity::input(in, "input"))}};
//     };
//     return c;
//   }
//   static parity::Registrar reg_linear("Linear", build_linear);

#include <functional>
#include <iosfwd>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "unroll.hpp"

namespace unroll::parity {

/// Float inputs by name (the `in.NAME` tensors), each a leaf requiring grad.
using FloatInputs = std::map<std::string, Var>;
/// Integer inputs by name (class targets, token ids, U8 masks), as int64.
using IndexInputs = std::map<std::string, IndexTensor>;
/// Outputs by name (`out.NAME`).
using Outputs = std::map<std::string, Var>;

/// A module (or functional op) under test, built from a fixture's config.
struct ParityCase {
  /// Config keys the builder honoured; any other key in the fixture fails the case.
  std::set<std::string> config_keys;
  /// Parameters it owns, by PyTorch state_dict name; the fixture's `param.*` overwrite them.
  std::map<std::string, Var> params;
  /// Runs the forward call and returns its outputs by name.
  std::function<Outputs(const FloatInputs&, const IndexInputs&)> forward;
};
/// Builds a case from the fixture's `config` JSON object.
using Builder = std::function<ParityCase(const nlohmann::json& config)>;

/// An optimizer under test, built from a fixture's config over parameters p0, p1, ...
struct OptimizerCase {
  /// Config keys the builder honoured; any other key fails the case.
  std::set<std::string> config_keys;
  /// One optimizer step from the parameters' current grad().
  std::function<void()> step;
};
/// Builds an optimizer case from the `config` JSON and the parameters (p0, p1, ... in order).
using OptimizerBuilder =
    std::function<OptimizerCase(const nlohmann::json& config, const std::vector<Var>& params)>;

/// Register the builder for fixtures with `module = name` (kind module). Throws
/// std::logic_error if the name is taken.
void register_parity_builder(const std::string& name, Builder builder);
/// Register the builder for fixtures with `module = name` (kind optimizer).
void register_parity_optimizer(const std::string& name, OptimizerBuilder builder);
/// The module registry (name -> builder).
const std::map<std::string, Builder>& parity_builders();
/// The optimizer registry (name -> builder).
const std::map<std::string, OptimizerBuilder>& parity_optimizers();

/// Registers a builder from a static object in any test file:
/// `static parity::Registrar reg("Linear", build_linear);`
struct Registrar {
  Registrar(const std::string& name, Builder b) { register_parity_builder(name, std::move(b)); }
  Registrar(const std::string& name, OptimizerBuilder b) {
    register_parity_optimizer(name, std::move(b));
  }
};

/// Outcome of one fixture.
struct CaseResult {
  std::string file;  ///< file name (no directory)
  bool ok = false;
  double max_abs_err = 0;  ///< over every compared output and gradient
  std::string reason;      ///< why it failed
};
/// Outcome of a directory.
struct RunSummary {
  std::vector<CaseResult> cases;
  std::size_t passed = 0, failed = 0;
};

/// Run one fixture file; never throws (every problem becomes a failed result).
CaseResult run_parity_file(const std::string& path);
/// Run every `*.safetensors` in `dir` in sorted order, printing one line per file
/// (`parity <file>: ok, max abs err <x>` / `parity <file>: FAILED: <reason>`) and a final
/// `parity: N passed, M failed` to `log` (nullptr: silent). A missing directory is one failure.
RunSummary run_parity_dir(const std::string& dir, std::ostream* log);
/// The fixture directory: $UNROLL_PARITY_DIR if set, else UNROLL_TEST_DATA_DIR "/parity".
std::string default_parity_dir();

/// Tolerance of every comparison: |got - expected| <= kAtol + kRtol * |expected|.
inline constexpr double kAtol = 1e-5, kRtol = 1e-4;

// ---- helpers for builders

/// The float input `name`; std::invalid_argument naming the missing input otherwise.
const Var& input(const FloatInputs& in, const std::string& name);
/// The integer input `name`; std::invalid_argument naming the missing input otherwise.
const IndexTensor& index_input(const IndexInputs& in, const std::string& name);
/// Whether a float input `name` was given (optional inputs such as h0).
inline bool has_input(const FloatInputs& in, const std::string& name) {
  return in.count(name);
}
/// `cfg[key]` converted to T, or `fallback` when the key is absent.
template <class T>
T config_or(const nlohmann::json& cfg, const std::string& key, T fallback) {
  return cfg.contains(key) ? cfg.at(key).get<T>() : fallback;
}
/// A module's named parameters as the map ParityCase::params wants.
std::map<std::string, Var> param_map(const std::vector<std::pair<std::string, Var>>& named);

}  // namespace unroll::parity
