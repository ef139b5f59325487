#include "autograd/random.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace unroll {

// Distributions are written out here rather than taken from <random>: the standard leaves
// their algorithms to the library, and a seed must mean the same numbers everywhere.
float Generator::uniform(float lo, float hi) {
  const double u = static_cast<double>(engine_() >> 11) * 0x1.0p-53;  // [0, 1)
  return static_cast<float>(lo + (hi - lo) * u);
}

float Generator::normal(float mean, float stddev) {
  // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
  const double u1 = 1.0 - static_cast<double>(engine_() >> 11) * 0x1.0p-53;
  const double u2 = static_cast<double>(engine_() >> 11) * 0x1.0p-53;
  const double r = std::sqrt(-2.0 * std::log(u1));
  return static_cast<float>(mean + stddev * r * std::cos(6.283185307179586 * u2));
}

std::uint64_t Generator::below(std::uint64_t n) {
  return n == 0 ? 0 : engine_() % n;
}

Tensor Generator::uniform_tensor(const Shape& s, float lo, float hi) {
  Tensor t = xt::empty<float>(s);
  for (auto& v : t) v = uniform(lo, hi);
  return t;
}

Tensor Generator::normal_tensor(const Shape& s, float mean, float stddev) {
  Tensor t = xt::empty<float>(s);
  for (auto& v : t) v = normal(mean, stddev);
  return t;
}

std::string Generator::state() const {
  std::ostringstream os;
  os << engine_;
  return os.str();
}

void Generator::set_state(const std::string& s) {
  std::istringstream is(s);
  is >> engine_;
  if (!is) throw std::invalid_argument("Generator::set_state: malformed generator state");
}

Generator& default_generator() {
  static Generator g(20261125u);
  return g;
}

void manual_seed(std::uint64_t seed) {
  default_generator().seed(seed);
}

}  // namespace unroll
