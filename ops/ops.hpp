#pragma once
// Every differentiable op.
#include "ops/activations.hpp"
#include "ops/attention.hpp"
#include "ops/creation.hpp"
#include "ops/dropout.hpp"
#include "ops/elementwise.hpp"
#include "ops/indexing.hpp"
#include "ops/layer_norm.hpp"
#include "ops/linalg.hpp"
#include "ops/losses.hpp"
#include "ops/reductions.hpp"
#include "ops/shape.hpp"
#include "ops/softmax.hpp"
