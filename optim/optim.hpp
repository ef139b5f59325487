#pragma once
// Every optimizer, gradient clipping, learning-rate schedules and training checkpoints.
#include "optim/adagrad.hpp"
#include "optim/adam.hpp"
#include "optim/checkpoint.hpp"
#include "optim/clip.hpp"
#include "optim/optimizer.hpp"
#include "optim/rmsprop.hpp"
#include "optim/schedule.hpp"
#include "optim/sgd.hpp"
