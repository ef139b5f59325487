#pragma once
// The fusion ceiling: the LSTM's whole element-wise stage as one hand-written node, as a
// user could write it outside the library with autograd::record_filled and xsimd
// (FusedLSTMCell in workload.hpp steps with it).
//
// It is a measuring stick, not a library op. The library keeps its cells composed from
// ordinary ops (a fusion only the LSTM got would leave every user-written cell behind); this
// cell shows how far any element-wise fusion could take the LSTM rows of the suite: one
// pass over the gates forward, one backward, no chunk copies, no intermediate tensors.
// benchmarks/README.md ("The fusion ceiling") has what it measured.

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "autograd/grad_sink.hpp"
#include "unroll.hpp"

namespace unroll::bench {

namespace fused_detail {
using Batch = xsimd::batch<float>;
inline constexpr std::size_t kLanes = Batch::size;

inline Batch sigmoid(Batch x) {
  return Batch(1.0f) / (Batch(1.0f) + xsimd::exp(-x));
}
inline float sigmoid(float x) {
  return 1.0f / (1.0f + std::exp(-x));
}

// Stores v at p, or adds it to what p holds when the gradient buffer already has one.
template <class V>
inline void put(float* p, V v, bool add) {
  if constexpr (std::is_same_v<V, float>) {
    *p = add ? *p + v : v;
  } else {
    if (add) v += Batch::load_unaligned(p);
    v.store_unaligned(p);
  }
}

// One element (or one SIMD batch) of the forward: gate pre-activations at g (i at g[0],
// f at g[H], g at g[2H], o at g[3H]), c at cp; writes the activations to a (same layout),
// tanh(c') to tc, h' to h and c' to c.
template <class V, class Load, class Store>
inline void forward_lanes(const float* g, const float* cp, float* a, float* tc, float* h, float* c,
                          std::size_t H, Load load, Store store) {
  using std::tanh;
  using xsimd::tanh;
  const V i = sigmoid(load(g)), f = sigmoid(load(g + H)), gg = tanh(load(g + 2 * H)),
          o = sigmoid(load(g + 3 * H));
  const V cn = f * load(cp) + i * gg;
  const V t = tanh(cn);
  store(a, i);
  store(a + H, f);
  store(a + 2 * H, gg);
  store(a + 3 * H, o);
  store(tc, t);
  store(h, o * t);
  store(c, cn);
}

// The matching backward: dh, dc (the gradients of h' and c') -> d gates at dg, d c at dcp.
template <class V, class Load>
inline void backward_lanes(const float* a, const float* tc, const float* cp, const float* dh_p,
                           const float* dc_p, float* dg, float* dcp, std::size_t H, bool add_g,
                           bool add_c, Load load) {
  const V one(1.0f);
  const V i = load(a), f = load(a + H), g = load(a + 2 * H), o = load(a + 3 * H);
  const V t = load(tc), dh = load(dh_p);
  const V dc = load(dc_p) + dh * o * (one - t * t);  // c' feeds h' through tanh
  put(dg, dc * g * i * (one - i), add_g);
  put(dg + H, dc * load(cp) * f * (one - f), add_g);
  put(dg + 2 * H, dc * i * (one - g * g), add_g);
  put(dg + 3 * H, dh * t * o * (one - o), add_g);
  if (dcp) put(dcp, dc * f, add_c);
}
}  // namespace fused_detail

/// The LSTM's element-wise stage as one node: gates [B, 4H] (pre-activations i|f|g|o) and
/// c [B, H] -> [B, 2H] = h' | c', with c' = σ(f) c + σ(i) tanh(g), h' = σ(o) tanh(c').
/// The activations and tanh(c') it keeps for backward are its own buffers, not tape values
/// (tape_bytes_per_token leaves out their 5H floats per row).
inline Var fused_lstm_pointwise(const Var& gates, const Var& c) {
  using namespace fused_detail;
  const Tensor& G = gates.value();
  const Tensor& C = c.value();
  if (G.dimension() != 2 || G.shape()[1] % 4 != 0 || C.dimension() != 2 ||
      C.shape()[0] != G.shape()[0] || C.shape()[1] * 4 != G.shape()[1])
    throw ShapeError("fused_lstm_pointwise: expected gates [B, 4H] and c [B, H], got gates " +
                     shape_str(G) + " and c " + shape_str(C));
  const std::size_t rows = G.shape()[0], H = C.shape()[1], simd_end = H - H % kLanes;
  auto act = std::make_shared<Tensor>(Tensor::from_shape({rows, 4 * H}));
  auto tanh_c = std::make_shared<Tensor>(Tensor::from_shape({rows, H}));
  auto fill = [&](float* out) {
    const auto vload = [](const float* p) { return Batch::load_unaligned(p); };
    const auto vstore = [](float* p, Batch v) { v.store_unaligned(p); };
    const auto sload = [](const float* p) { return *p; };
    const auto sstore = [](float* p, float v) { *p = v; };
    for (std::size_t r = 0; r < rows; ++r) {
      const float* g = G.data() + r * 4 * H;
      const float* cp = C.data() + r * H;
      float* a = act->data() + r * 4 * H;
      float* t = tanh_c->data() + r * H;
      float* h = out + r * 2 * H;
      std::size_t j = 0;
      for (; j < simd_end; j += kLanes)
        forward_lanes<Batch>(g + j, cp + j, a + j, t + j, h + j, h + H + j, H, vload, vstore);
      for (; j < H; ++j)
        forward_lanes<float>(g + j, cp + j, a + j, t + j, h + j, h + H + j, H, sload, sstore);
    }
  };
  auto backward = [act, tanh_c, rows, H, simd_end](const autograd::Node& self,
                                                   autograd::GradSink& sink) {
    const float* cv = self.inputs[1]->value.data();
    const float* d = self.grad.data();
    float beta_g = 0.0f, beta_c = 0.0f;
    // Gates always reach here with a gradient wanted (they come from the cell's GEMM); c may
    // be a constant initial state.
    float* dG = sink.needs(0) ? sink.buffer(0, beta_g).data() : nullptr;
    float* dC = sink.needs(1) ? sink.buffer(1, beta_c).data() : nullptr;
    if (!dG) return;
    const auto vload = [](const float* p) { return Batch::load_unaligned(p); };
    const auto sload = [](const float* p) { return *p; };
    for (std::size_t r = 0; r < rows; ++r) {
      const float* a = act->data() + r * 4 * H;
      const float* t = tanh_c->data() + r * H;
      const float* cp = cv + r * H;
      const float* dh = d + r * 2 * H;
      float* dg = dG + r * 4 * H;
      float* dc = dC ? dC + r * H : nullptr;
      std::size_t j = 0;
      for (; j < simd_end; j += kLanes)
        backward_lanes<Batch>(a + j, t + j, cp + j, dh + j, dh + H + j, dg + j,
                              dc ? dc + j : nullptr, H, beta_g != 0.0f, beta_c != 0.0f, vload);
      for (; j < H; ++j)
        backward_lanes<float>(a + j, t + j, cp + j, dh + j, dh + H + j, dg + j,
                              dc ? dc + j : nullptr, H, beta_g != 0.0f, beta_c != 0.0f, sload);
    }
  };
  // Backward reads c (an input) and its own buffers, not the gates or the output.
  return autograd::record_filled("fused_lstm_pointwise", Shape{rows, 2 * H}, fill,
                                 autograd::VarRefs{gates, c}, std::move(backward),
                                 autograd::Reads{false, 0b10});
}

}  // namespace unroll::bench
