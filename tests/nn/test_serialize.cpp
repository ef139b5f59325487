#include <cstdio>
#include <filesystem>
#include <fstream>

#include "helpers.hpp"
#include "nn/layers.hpp"
#include "nn/recurrent.hpp"
#include "nn/serialize.hpp"

using namespace unroll;
namespace fs = std::filesystem;

namespace {
fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("unroll_serialize_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}
}  // namespace

TEST_CASE("module parameters round-trip through safetensors under state_dict names",
          "[serialize]") {
  const fs::path dir = temp_dir();
  nn::RNNOptions o;
  o.num_layers = 2;
  Generator g1(1), g2(2);
  nn::LSTM a(3, 4, o, g1), b(3, 4, o, g2);
  nn::save(a, (dir / "lstm.safetensors").string(), {{"note", "test"}});
  const nn::SafetensorsFile f = nn::load_safetensors((dir / "lstm.safetensors").string());
  CHECK(f.contains("weight_ih_l1"));
  CHECK(f.meta("note") == "test");
  nn::LoadReport r = nn::load(b, (dir / "lstm.safetensors").string());
  CHECK(r.clean());
  CHECK(r.loaded.size() == 8);
  for (auto& [n, p] : a.named_parameters()) {
    const bool same = p.value() == b.parameter(n).value();
    CHECK(same);
  }
  fs::remove_all(dir);
}

TEST_CASE("strict load lists every missing, unexpected and mismatched tensor and changes nothing",
          "[serialize]") {
  const fs::path dir = temp_dir();
  const std::string path = (dir / "bad.safetensors").string();
  nn::save_safetensors(path, {{"weight", xt::zeros<float>({2, 5})},  // wrong shape
                              {"extra", xt::zeros<float>({1})}});    // unexpected; bias missing
  nn::Linear lin(3, 2);
  const Tensor before = lin.weight.value();
  try {
    nn::load(lin, path);
    FAIL("strict load should throw");
  } catch (const nn::StateDictError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("bias") != std::string::npos);
    CHECK(msg.find("extra") != std::string::npos);
    CHECK(msg.find("weight: file [2, 5] vs module [2, 3]") != std::string::npos);
    CHECK(e.report.missing == std::vector<std::string>{"bias"});
    CHECK(e.report.unexpected == std::vector<std::string>{"extra"});
    CHECK(e.report.mismatched.size() == 1);
  }
  const bool unchanged = lin.weight.value() == before;
  CHECK(unchanged);
  // Non-strict: applies what matches and reports the rest.
  nn::save_safetensors(path,
                       {{"weight", xt::ones<float>({2, 3})}, {"extra", xt::zeros<float>({1})}});
  nn::LoadReport r = nn::load(lin, path, false);
  CHECK(r.loaded == std::vector<std::string>{"weight"});
  CHECK(r.missing == std::vector<std::string>{"bias"});
  CHECK(lin.weight.value()(1, 2) == 1.0f);
  fs::remove_all(dir);
}
