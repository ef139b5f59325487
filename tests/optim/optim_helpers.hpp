#pragma once
// Helpers for the optim tests: give a parameter an exact gradient through the public API.

#include "helpers.hpp"

namespace unroll::test {

/// Sets p.grad() = g exactly: backward of sum(p * g) (d/dp = g).
inline void set_grad(const Var& p, const Tensor& g) {
  p.zero_grad();
  autograd::Tape tape;
  autograd::TapeScope scope(tape);
  ops::sum(p * Var(g)).backward();
}

}  // namespace unroll::test
