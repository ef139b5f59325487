#pragma once
// Every differentiable op.
#include "ops/activations.hpp"
#include "ops/creation.hpp"
#include "ops/elementwise.hpp"
#include "ops/linalg.hpp"
