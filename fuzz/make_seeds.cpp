// Writes the fuzzers' starting inputs: small valid safetensors files of every dtype the
// loader accepts, and real checkpoints of every optimizer x schedule pair the checkpoint
// target builds. Usage: make_seeds <safetensors dir> <checkpoint dir>.
// Valid inputs let the fuzzer start from the deep paths (conversion, state validation,
// loading) instead of having to discover the format from nothing.
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "fuzz/checkpoint_target.hpp"

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

void write(const fs::path& p, const std::string& header, const Bytes& data) {
  const std::uint64_t n = header.size();
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header;
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  if (!out) throw std::runtime_error("make_seeds: cannot write " + p.string());
}

/// One tensor "t" of `dtype` and shape [2, 3] whose element bytes are 0, 1, 2, ... (BOOL: 0/1).
void dtype_seed(const fs::path& dir, const std::string& dtype, std::size_t elem) {
  Bytes data(6 * elem);
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = dtype == "BOOL" ? static_cast<std::uint8_t>(i % 2) : static_cast<std::uint8_t>(i);
  const std::string header = "{\"__metadata__\":{\"format\":\"pt\"},\"t\":{\"dtype\":\"" + dtype +
                             "\",\"shape\":[2,3],\"data_offsets\":[0," +
                             std::to_string(data.size()) + "]}}";
  write(dir / ("dtype_" + dtype + ".safetensors"), header, data);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: make_seeds <safetensors dir> <checkpoint dir>\n";
    return 2;
  }
  const fs::path st_dir = argv[1], ck_dir = argv[2];
  fs::create_directories(st_dir);
  fs::create_directories(ck_dir);

  const std::pair<const char*, std::size_t> dtypes[] = {
      {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"F64", 8}, {"I64", 8}, {"I32", 4}, {"I16", 2},
      {"I8", 1},  {"U64", 8}, {"U32", 4},  {"U16", 2}, {"U8", 1},  {"BOOL", 1}};
  for (const auto& [d, size] : dtypes) dtype_seed(st_dir, d, size);
  // Two tensors, a scalar and an empty one, as save_safetensors writes them.
  unroll::nn::save_safetensors((st_dir / "saved.safetensors").string(),
                               {{"a", unroll::Tensor({{1.f, 2.f}, {3.f, 4.f}})},
                                {"s", unroll::Tensor(5.f)},
                                {"e", unroll::Tensor::from_shape({0, 3})}},
                               {{"k", "v"}});

  // Every optimizer x schedule pair, after two steps (state present) and, for one pair,
  // before any step (state absent).
  int n = 0;
  for (const char* o : {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad"})
    for (const char* s :
         {"StepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR", "ReduceLROnPlateau"}) {
      unroll::fuzz::CheckpointTarget t({{"optim.type", o}, {"schedule.type", s}});
      const int steps = n++ == 0 ? 0 : 2;
      for (int k = 0; k < steps; ++k) t.train_step();
      t.step = steps;
      t.extra = {{"run", std::string(o) + "+" + s}};
      unroll::optim::save_checkpoint((ck_dir / (std::string(o) + "_" + s + ".ckpt")).string(),
                                     t.state());
    }
  std::cout << "make_seeds: " << std::size(dtypes) + 1 << " safetensors, " << n << " checkpoints\n";
  return 0;
}
