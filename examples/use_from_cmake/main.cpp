// A separate project using the installed library: find_package(unroll), link unroll::unroll.
#include <cstdio>

#include <unroll.hpp>

int main() {
  unroll::nn::LSTM lstm(3, 4);
  unroll::Var x(unroll::Generator(1).normal_tensor({5, 2, 3}));
  unroll::ops::sum(lstm.forward(x).output).backward();
  std::printf("use_from_cmake: LSTM with %zu parameters trained one backward pass\n",
              lstm.num_parameters());
  return lstm.parameter("weight_hh_l0").has_grad() ? 0 : 1;
}
