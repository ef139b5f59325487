#pragma once
// Seeded random numbers for initialisers, dropout and data. One engine type everywhere,
// so a run is reproducible from its seed and a checkpoint can save the exact state.

#include <cstdint>
#include <random>
#include <string>

#include "autograd/tensor.hpp"

namespace unroll {

/// A seeded pseudo-random generator (64-bit Mersenne Twister) with tensor fill helpers.
class Generator {
 public:
  /// A generator seeded with `seed` (default: the mt19937_64 default seed).
  explicit Generator(std::uint64_t seed = 5489u) : engine_(seed) {}
  /// Reseeds the engine with `s`.
  void seed(std::uint64_t s) { engine_.seed(s); }
  /// Uniform in [lo, hi).
  float uniform(float lo = 0.0f, float hi = 1.0f);
  /// Normal with the given mean and standard deviation.
  float normal(float mean = 0.0f, float stddev = 1.0f);
  /// Uniform integer in [0, n).
  std::uint64_t below(std::uint64_t n);
  /// A tensor of shape `s` with entries uniform in [lo, hi).
  Tensor uniform_tensor(const Shape& s, float lo = 0.0f, float hi = 1.0f);
  /// A tensor of shape `s` with normal entries.
  Tensor normal_tensor(const Shape& s, float mean = 0.0f, float stddev = 1.0f);
  /// The engine's full state as text, and back (checkpoints).
  std::string state() const;
  /// Restores a state() string.
  void set_state(const std::string& s);
  /// The underlying engine, for std distributions.
  std::mt19937_64& engine() { return engine_; }

 private:
  std::mt19937_64 engine_;
};

/// The process-wide default generator (dropout, initialisers) and its seeding.
Generator& default_generator();
void manual_seed(std::uint64_t seed);

}  // namespace unroll
