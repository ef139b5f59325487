#include "nn/positional.hpp"

#include <cmath>
#include <string>

#include "autograd/random.hpp"
#include "nn/init.hpp"
#include "ops/ops.hpp"

namespace unroll::nn {

void PositionalEncoding::check(const Var& x, std::size_t offset, const char* who) const {
  const bool ok = (x.ndim() == 3 || x.ndim() == 2) && x.dim(x.ndim() - 1) == d_model_;
  if (!ok)
    throw ShapeError(
        std::string(who) + ": input " + shape_str(x.shape()) +
        " must be [B, T, d_model] or [B, d_model] with d_model = " + std::to_string(d_model_));
  const std::size_t T = x.ndim() == 3 ? x.dim(1) : 1;
  if (offset + T > max_len_)
    throw ShapeError(std::string(who) + ": positions " + std::to_string(offset) + ".." +
                     std::to_string(offset + T - 1) + " of input " + shape_str(x.shape()) +
                     " exceed max_len " + std::to_string(max_len_));
}

SinusoidalPositionalEncoding::SinusoidalPositionalEncoding(std::size_t d_model, std::size_t max_len)
    : PositionalEncoding(d_model, max_len), table_(xt::zeros<float>(Shape{max_len, d_model})) {
  if (d_model == 0 || max_len == 0)
    throw ShapeError("SinusoidalPositionalEncoding: d_model and max_len must be > 0");
  for (std::size_t p = 0; p < max_len; ++p)
    for (std::size_t i = 0; 2 * i < d_model; ++i) {
      // Computed in double: positions in the thousands times small frequencies.
      const double div = std::exp(static_cast<double>(2 * i) * (-std::log(10000.0) / d_model));
      const double a = static_cast<double>(p) * div;
      table_(p, 2 * i) = static_cast<float>(std::sin(a));
      if (2 * i + 1 < d_model) table_(p, 2 * i + 1) = static_cast<float>(std::cos(a));
    }
}

Var SinusoidalPositionalEncoding::forward(const Var& x, std::size_t offset) {
  check(x, offset, "SinusoidalPositionalEncoding");
  const std::size_t T = x.ndim() == 3 ? x.dim(1) : 1;
  Tensor rows = xt::empty<float>(x.ndim() == 3 ? Shape{T, d_model()} : Shape{1, d_model()});
  std::copy(table_.data() + offset * d_model(), table_.data() + (offset + T) * d_model(),
            rows.data());
  return x + ops::constant(std::move(rows));
}

LearnedPositionalEmbedding::LearnedPositionalEmbedding(std::size_t max_len, std::size_t d_model,
                                                       Generator& gen)
    : PositionalEncoding(d_model, max_len) {
  if (d_model == 0 || max_len == 0)
    throw ShapeError("LearnedPositionalEmbedding: d_model and max_len must be > 0");
  weight = register_parameter("weight", init::normal({max_len, d_model}, 0.0f, 0.02f, gen));
}

Var LearnedPositionalEmbedding::forward(const Var& x, std::size_t offset) {
  check(x, offset, "LearnedPositionalEmbedding");
  const std::size_t T = x.ndim() == 3 ? x.dim(1) : 1;
  return x + ops::narrow(weight, 0, offset, T);
}

}  // namespace unroll::nn
