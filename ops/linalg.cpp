#include "ops/linalg.hpp"

#include "ops/blas.hpp"

#include "autograd/tape.hpp"

namespace unroll::ops {

using autograd::GradSink;
using autograd::Node;
using autograd::record;

namespace {

using blas::gemm;

// dW [out, in] (+)= G^T [out, rows] . X [rows, in] (linear's weight gradient).
void weight_grad_gemm(const float* G, const float* X, std::size_t rows, std::size_t out,
                      std::size_t in, float beta, float* dW) {
  gemm(true, false, out, in, rows, G, X, beta, dW);
}

[[noreturn]] void mm_error(const Var& a, const Var& b, bool ta, bool tb, const std::string& why) {
  throw ShapeError("matmul: cannot multiply " + shape_str(a.value()) + (ta ? "^T" : "") + " by " +
                   shape_str(b.value()) + (tb ? "^T" : "") + ": " + why);
}

}  // namespace

Var matmul(const Var& a, const Var& b, bool ta, bool tb) {
  const std::size_t ra = a.ndim(), rb = b.ndim();
  if (!((ra == 2 && rb == 2) || (ra == 3 && (rb == 3 || rb == 2))))
    mm_error(a, b, ta, tb, "expected 2-D x 2-D, 3-D x 3-D or 3-D x 2-D operands");
  const auto& sa = a.value().shape();
  const auto& sb = b.value().shape();
  const std::size_t batch = ra == 3 ? sa[0] : 1;
  const std::size_t M = ta ? sa[ra - 1] : sa[ra - 2];
  const std::size_t K = ta ? sa[ra - 2] : sa[ra - 1];
  const std::size_t Kb = tb ? sb[rb - 1] : sb[rb - 2];
  const std::size_t N = tb ? sb[rb - 2] : sb[rb - 1];
  if (K != Kb)
    mm_error(a, b, ta, tb,
             "inner dimensions " + std::to_string(K) + " and " + std::to_string(Kb) + " differ");
  if (rb == 3 && sb[0] != batch)
    mm_error(a, b, ta, tb,
             "batch sizes " + std::to_string(batch) + " and " + std::to_string(sb[0]) + " differ");
  const bool shared_b = ra == 3 && rb == 2;
  // a [B,M,K] x b [K,N] with no transpose on a is one GEMM over B*M rows.
  const bool flatten = shared_b && !ta;

  const std::size_t sA = M * K, sB = rb == 3 ? K * N : 0, sC = M * N;
  auto product = [&](float* y) {
    if (flatten) {
      gemm(false, tb, batch * M, N, K, a.value().data(), b.value().data(), 0.0f, y);
    } else {
      for (std::size_t i = 0; i < batch; ++i)
        gemm(ta, tb, M, N, K, a.value().data() + i * sA, b.value().data() + i * sB, 0.0f,
             y + i * sC);
    }
  };

  return autograd::record_filled(
      "matmul", ra == 3 ? Shape{batch, M, N} : Shape{M, N}, product, {a, b},
      [=](const Node& n, GradSink& g) {
        const float* A = n.inputs[0]->value.data();
        const float* B = n.inputs[1]->value.data();
        const float* G = n.grad.data();
        if (g.needs(0)) {
          float beta;
          float* dA = g.buffer(0, beta).data();
          if (flatten) {  // dA [B*M, K] = G [B*M, N] . op(B)^T
            gemm(false, !tb, batch * M, K, N, G, B, beta, dA);
          } else {
            for (std::size_t i = 0; i < batch; ++i) {
              if (!ta)  // dA [M,K] = G . op(B)^T
                gemm(false, !tb, M, K, N, G + i * sC, B + i * sB, beta, dA + i * sA);
              else  // dA [K,M] = op(B) . G^T
                gemm(tb, true, K, M, N, B + i * sB, G + i * sC, beta, dA + i * sA);
            }
          }
        }
        if (g.needs(1)) {
          float beta;
          float* dB = g.buffer(1, beta).data();
          if (flatten) {  // dB = A_flat^T . G_flat, summed over the batch by the GEMM
            if (!tb)
              gemm(true, false, K, N, batch * M, A, G, beta, dB);
            else
              gemm(true, false, N, K, batch * M, G, A, beta, dB);
          } else {
            for (std::size_t i = 0; i < batch; ++i) {
              // A shared b accumulates every batch entry into one buffer.
              const float bi = (shared_b && i > 0) ? 1.0f : beta;
              if (!tb)  // dB [K,N] = op(A)^T . G
                gemm(!ta, false, K, N, M, A + i * sA, G + i * sC, bi, dB + i * sB);
              else  // dB [N,K] = G^T . op(A)
                gemm(true, ta, N, K, M, G + i * sC, A + i * sA, bi, dB + i * sB);
            }
          }
        }
      },
      autograd::kReadsInputs);
}

namespace {
// What linear's third operand is: none, a bias row [out] added to every output row, or a
// tensor of the output's own shape [..., out] (add_linear) that the product is added onto.
enum class Addend { None, Row, Full };

Var linear_impl(const char* op, const Var& x, const Var& weight, const Var& c, Addend kind) {
  // Every linear error names all three operands: the fix is usually in one of the others.
  auto fail = [&](const std::string& why) {
    throw ShapeError(std::string(op) + ": input " + shape_str(x.value()) + ", weight " +
                     shape_str(weight.value()) +
                     (kind == Addend::Row    ? ", bias " + shape_str(c.value())
                      : kind == Addend::Full ? ", addend " + shape_str(c.value())
                                             : std::string()) +
                     ": " + why);
  };
  if (weight.ndim() != 2) fail("weight must be 2-D [out_features, in_features]");
  const std::size_t out = weight.dim(0), inf = weight.dim(1);
  if (x.ndim() < 1 || x.dim(x.ndim() - 1) != inf)
    fail("input must end in in_features = " + std::to_string(inf));
  if (kind == Addend::Row && (c.ndim() != 1 || c.dim(0) != out))
    fail("bias must be [out_features] = [" + std::to_string(out) + "]");
  const std::size_t rows = x.size() / inf;
  Shape ys = x.shape();
  ys.back() = out;
  if (kind == Addend::Full && c.shape() != ys)
    fail("addend must have the output's shape " + shape_str(ys));
  // While a tape records, the weight cannot change until the tape is cleared or a leaf is
  // modified (mutable_value): the GEMM library may keep it packed across the T steps.
  const autograd::Tape* tape = autograd::detail::recording_tape({x, weight});
  const blas::FixedOperand fixed =
      tape ? blas::FixedOperand{weight.node(), tape->epoch(), autograd::leaf_value_generation()}
           : blas::FixedOperand{};
  auto product = [&](float* y) {
    if (kind == Addend::Full) {  // the GEMM reads c as it writes y: the sum costs no pass
      blas::gemm_add(false, true, rows, out, inf, x.value().data(), weight.value().data(),
                     c.value().data(), y, fixed);
    } else {
      blas::gemm_bias(false, true, rows, out, inf, x.value().data(), weight.value().data(),
                      kind == Addend::Row ? c.value().data() : nullptr, y, fixed);
    }
  };

  auto backward = [rows, out, inf, kind](const Node& n, GradSink& g) {
    const float* X = n.inputs[0]->value.data();
    const float* W = n.inputs[1]->value.data();
    const float* G = n.grad.data();
    float beta;
    if (g.needs(0)) {  // dx [rows, in] = G [rows, out] . W [out, in]
      float* dx = g.buffer(0, beta).data();
      // Backward walks the tape the op was recorded on, which is current.
      const blas::FixedOperand fixed{n.inputs[1], autograd::current_tape().epoch(),
                                     autograd::leaf_value_generation()};
      gemm(false, false, rows, inf, out, G, W, beta, dx, fixed);
    }
    // dW [out, in] = G^T . x; a per-step product joins one GEMM at the end of the walk.
    if (g.needs(1) && !g.defer_weight_grad(1, G, X, rows, out, inf, weight_grad_gemm)) {
      float* dW = g.buffer(1, beta).data();
      weight_grad_gemm(G, X, rows, out, inf, beta, dW);
    }
    if (kind == Addend::Full) {
      g.add(2, n.grad);  // dc = G (handed over, not copied, when G is not needed after)
    } else if (kind == Addend::Row && g.needs(2)) {  // db [out] = sum of G's rows
      float* db = g.buffer(2, beta).data();
      if (beta == 0.0f) std::fill(db, db + out, 0.0f);
      for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < out; ++j) db[j] += G[r * out + j];
    }
  };
  // Backward reads x and W; the bias or addend only by shape (c is often a per-step
  // slice that need not be kept).
  if (kind != Addend::None)
    return autograd::record_filled(op, ys, product, {x, weight, c}, backward,
                                   autograd::Reads{false, 0b011});
  return autograd::record_filled(op, ys, product, {x, weight}, backward, autograd::kReadsInputs);
}
}  // namespace

Var linear(const Var& x, const Var& weight, const Var& bias) {
  return linear_impl("linear", x, weight, bias, bias.defined() ? Addend::Row : Addend::None);
}

Var add_linear(const Var& c, const Var& x, const Var& weight) {
  if (!c.defined()) throw std::invalid_argument("add_linear: the addend c is undefined");
  return linear_impl("add_linear", x, weight, c, Addend::Full);
}

}  // namespace unroll::ops
