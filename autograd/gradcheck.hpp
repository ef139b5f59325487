#pragma once
// Finite-difference gradient checking for ops, cells and whole modules.

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "autograd/var.hpp"

namespace unroll::autograd {

/// Step size, tolerances and seed of gradcheck().
struct GradCheckOptions {
  double eps = 1e-2;   ///< step h: Richardson-extrapolated central differences at h and h/2
  double atol = 1e-4;  ///< an element passes when |analytic - numeric| <= atol + rtol*|numeric|
  double rtol = 4e-3;  ///< tight enough to catch a 1% error in one element
  std::uint64_t seed = 20261125;  ///< for the random upstream gradient
};

/// Outcome of gradcheck(): pass/fail and the worst element found.
struct GradCheckResult {
  /// Every element within tolerance.
  bool ok = true;
  std::string where;               ///< "input 1" or "parameter weight_hh"
  Shape shape;                     ///< shape of that tensor
  std::vector<std::size_t> index;  ///< worst element's multi-index
  /// Worst element's backward() gradient.
  double analytic = 0, numeric = 0, error = 0, tolerance = 0;
  /// \var numeric
  /// Worst element's finite-difference gradient.
  /// \var error
  /// |analytic - numeric| of that element.
  /// \var tolerance
  /// atol + rtol*|numeric| for that element.
  std::size_t checked = 0;  ///< number of elements compared
  /// One line: pass/fail, the worst element with its index, analytic and numeric values.
  std::string report() const;
};

using GradCheckFn = std::function<Var(const std::vector<Var>& inputs)>;
using NamedVars = std::vector<std::pair<std::string, Var>>;

/// Compare backward() with (Richardson-extrapolated) central finite differences of L =
/// sum(f(inputs) * seed), seed random, over every element of every input and every parameter. `f`
/// must be deterministic. Parameter gradients are zeroed before and after. Runs on its own tape.
GradCheckResult gradcheck(const GradCheckFn& f, const std::vector<Tensor>& inputs,
                          const NamedVars& params = {}, const GradCheckOptions& options = {});
/// Same, with unnamed parameters (reported as "parameter <i>").
GradCheckResult gradcheck(const GradCheckFn& f, const std::vector<Tensor>& inputs,
                          const std::vector<Var>& params, const GradCheckOptions& options = {});

}  // namespace unroll::autograd
