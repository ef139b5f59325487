#pragma once
// The exceptions users can catch. Shape errors are thrown when an op is recorded,
// never later during backward, and name the op and every shape involved.

#include <stdexcept>
#include <string>

namespace unroll {

/// Wrong shapes, ranks, axes or arguments given to an op or module; the message names
/// the op, what came and what was expected.
class ShapeError : public std::invalid_argument {
 public:
  /// `what`: the full message.
  explicit ShapeError(const std::string& what) : std::invalid_argument(what) {}
};

/// Anomaly mode found a NaN/Inf: names the op, its tape position and its input shapes.
class AnomalyError : public std::runtime_error {
 public:
  /// `what`: the full message.
  explicit AnomalyError(const std::string& what) : std::runtime_error(what) {}
};

/// Misuse of the autograd engine (backward of a tensor that needs no gradient, ...).
class AutogradError : public std::logic_error {
 public:
  /// `what`: the full message.
  explicit AutogradError(const std::string& what) : std::logic_error(what) {}
};

}  // namespace unroll
