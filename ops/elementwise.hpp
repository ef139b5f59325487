#pragma once
// Element-wise arithmetic with numpy broadcasting. Shapes: a [...], b [...] broadcast
// to the output shape; the tape reduces each gradient back to its input's shape.

#include "autograd/var.hpp"

namespace unroll::ops {

/// add(a, b) = a + b, broadcast.
Var add(const Var& a, const Var& b);
/// sub(a, b) = a - b, broadcast.
Var sub(const Var& a, const Var& b);
/// mul(a, b) = a * b, broadcast.
Var mul(const Var& a, const Var& b);
/// div(a, b) = a / b, broadcast.
Var div(const Var& a, const Var& b);
/// neg(a) = -a.
Var neg(const Var& a);

/// add(a, s) = a + s.
Var add(const Var& a, float s);
/// mul(a, s) = a * s.
Var mul(const Var& a, float s);
/// rsub(s, a) = s - a.
Var rsub(float s, const Var& a);
/// rdiv(s, a) = s / a.
Var rdiv(float s, const Var& a);

/// pow(a, p) = a^p for a scalar exponent.
Var pow(const Var& a, float p);
/// pow(a, b) = a^b element-wise, broadcast (a > 0 where b is not an integer).
Var pow(const Var& a, const Var& b);
/// exp(a) = e^a.
Var exp(const Var& a);
/// log(a) = ln a.
Var log(const Var& a);
/// sqrt(a) = a^(1/2).
Var sqrt(const Var& a);
/// abs(a) = |a| (gradient 0 at 0, as PyTorch).
Var abs(const Var& a);
/// clamp(a, lo, hi) = min(max(a, lo), hi); gradient 1 where lo <= a <= hi.
Var clamp(const Var& a, float lo, float hi);
/// maximum(a, b) element-wise, broadcast; ties split the gradient equally (PyTorch).
Var maximum(const Var& a, const Var& b);
/// minimum(a, b) element-wise, broadcast; ties split the gradient equally (PyTorch).
Var minimum(const Var& a, const Var& b);

}  // namespace unroll::ops

namespace unroll {
/// Operators on Var: the element-wise ops above.
inline Var operator+(const Var& a, const Var& b) {
  return ops::add(a, b);
}
inline Var operator-(const Var& a, const Var& b) {
  return ops::sub(a, b);
}
inline Var operator*(const Var& a, const Var& b) {
  return ops::mul(a, b);
}
inline Var operator/(const Var& a, const Var& b) {
  return ops::div(a, b);
}
inline Var operator-(const Var& a) {
  return ops::neg(a);
}
inline Var operator+(const Var& a, float s) {
  return ops::add(a, s);
}
inline Var operator+(float s, const Var& a) {
  return ops::add(a, s);
}
inline Var operator-(const Var& a, float s) {
  return ops::add(a, -s);
}
inline Var operator-(float s, const Var& a) {
  return ops::rsub(s, a);
}
inline Var operator*(const Var& a, float s) {
  return ops::mul(a, s);
}
inline Var operator*(float s, const Var& a) {
  return ops::mul(a, s);
}
inline Var operator/(const Var& a, float s) {
  return ops::mul(a, 1.0f / s);
}
inline Var operator/(float s, const Var& a) {
  return ops::rdiv(s, a);
}
}  // namespace unroll
