#pragma once
// unroll: one tape-based reverse-mode engine; every layer is composed from its ops.
#include "autograd/errors.hpp"
#include "autograd/function.hpp"
#include "autograd/gradcheck.hpp"
#include "autograd/random.hpp"
#include "autograd/tape.hpp"
#include "autograd/tensor.hpp"
#include "autograd/threads.hpp"
#include "autograd/var.hpp"
#include "ops/ops.hpp"
