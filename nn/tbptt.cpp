#include "nn/tbptt.hpp"

#include <xtensor/xview.hpp>

#include "autograd/tape.hpp"

namespace unroll::nn {

std::vector<float> train_truncated_bptt(RecurrentLayer& layer, const Tensor& stream, std::size_t k,
                                        const ChunkLoss& loss_fn,
                                        const std::function<void()>& update) {
  if (k == 0) throw ShapeError("train_truncated_bptt: chunk length k must be >= 1");
  if (stream.dimension() != 3)
    throw ShapeError("train_truncated_bptt: stream must be 3-D, got " + shape_str(stream));
  const bool bf = layer.options().batch_first;
  const std::size_t T = stream.shape()[bf ? 1 : 0];
  std::vector<float> losses;
  State carried;
  autograd::Tape& tape = autograd::current_tape();
  for (std::size_t start = 0; start < T; start += k) {
    const std::size_t len = std::min(k, T - start);
    Tensor chunk =
        bf ? Tensor(xt::view(stream, xt::all(), xt::range(start, start + len), xt::all()))
           : Tensor(xt::view(stream, xt::range(start, start + len), xt::all(), xt::all()));
    RecurrentOutput out = layer.forward(Var(std::move(chunk)), carried);
    Var loss = loss_fn(out.output, start);
    loss.backward();
    losses.push_back(loss.item());
    update();
    carried = detach(out.final_state);  // the chunk boundary: no gradient flows past it
    tape.clear();
  }
  return losses;
}

}  // namespace unroll::nn
