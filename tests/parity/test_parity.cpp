#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "helpers.hpp"
#include "nn/safetensors.hpp"
#include "parity/parity_runner.hpp"

using namespace unroll;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

TEST_CASE("every PyTorch parity fixture matches", "[parity]") {
  const std::string dir = parity::default_parity_dir();
  INFO("fixture directory " << dir);
  const auto summary = parity::run_parity_dir(dir, &std::cout);
  for (const auto& c : summary.cases)
    if (!c.ok) FAIL_CHECK(c.file << ": " << c.reason);
  CHECK(summary.failed == 0);
  CHECK(summary.passed > 0);
}

// ---- the runner itself, on crafted fixtures with hand-computed expectations

namespace {

// A test-only module: output = input * weight * factor, one parameter "weight".
parity::ParityCase build_test_scale(const nlohmann::json& cfg) {
  const float factor = cfg.at("factor").get<float>();
  parity::ParityCase c;
  c.config_keys = {"factor"};
  c.params = {{"weight", Var::parameter(Tensor{0, 0, 0})}};
  Var w = c.params.at("weight");
  c.forward = [w, factor](const parity::FloatInputs& in, const parity::IndexInputs&) {
    return parity::Outputs{{"output", parity::input(in, "input") * w * factor}};
  };
  return c;
}
const parity::Registrar reg_scale("test_scale", build_test_scale);

// A test-only optimizer: p -= lr * grad.
parity::OptimizerCase build_test_sgd(const nlohmann::json& cfg, const std::vector<Var>& params) {
  const float lr = cfg.at("lr").get<float>();
  parity::OptimizerCase c;
  c.config_keys = {"lr"};
  c.step = [params, lr] {
    for (Var p : params)
      p.mutable_value() = p.value() - lr * p.grad();  // Var copies share the node
  };
  return c;
}
const parity::Registrar reg_sgd("test_sgd", build_test_sgd);

using Tensors = std::vector<std::pair<std::string, Tensor>>;
using Meta = std::map<std::string, std::string>;

struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("unroll_parity_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// input [1, -2, 3], weight [0.5, 2, -1], factor 2, seed [1, 1, 2]:
// output = x*w*2 = [1, -8, -6]; grad.input = seed*w*2 = [1, 4, -4]; grad.weight = seed*x*2 =
// [2, -4, 12].
Tensors scale_tensors() {
  return {{"in.input", Tensor{1, -2, 3}},    {"param.weight", Tensor{0.5f, 2, -1}},
          {"out.output", Tensor{1, -8, -6}}, {"seed.output", Tensor{1, 1, 2}},
          {"grad.input", Tensor{1, 4, -4}},  {"grad.weight", Tensor{2, -4, 12}}};
}
Meta scale_meta() {
  return {{"format", "unroll-parity-1"},    {"kind", "module"},  {"module", "test_scale"},
          {"config", R"({"factor": 2.0})"}, {"inputs", "input"}, {"outputs", "output"}};
}
void set_tensor(Tensors& ts, const std::string& name, Tensor v) {
  for (auto& [n, t] : ts)
    if (n == name) t = std::move(v);
}
void drop_tensor(Tensors& ts, const std::string& name) {
  std::erase_if(ts, [&](const auto& p) { return p.first == name; });
}

parity::CaseResult run(const TempDir& d, const Tensors& ts, const Meta& m) {
  const std::string f = d.file("case.safetensors");
  nn::save_safetensors(f, ts, m);
  return parity::run_parity_file(f);
}

}  // namespace

TEST_CASE("parity runner passes a correct crafted module case", "[parity]") {
  TempDir d;
  const auto r = run(d, scale_tensors(), scale_meta());
  INFO(r.reason);
  CHECK(r.ok);
  CHECK(r.max_abs_err == 0.0);
  CHECK(r.file == "case.safetensors");
}

TEST_CASE("parity runner fails (never skips) on every kind of mismatch", "[parity]") {
  TempDir d;
  Tensors ts = scale_tensors();
  Meta m = scale_meta();
  std::string expect;
  SECTION("unknown module") {
    m["module"] = "NoSuchModule";
    expect = "no parity builder registered for module 'NoSuchModule'";
  }
  SECTION("unknown config key") {
    m["config"] = R"({"factor": 2.0, "bogus": 1})";
    expect = "config key 'bogus'";
  }
  SECTION("a kind the runner cannot run") {
    m["kind"] = "dataset";
    expect = "kind 'dataset' cannot be run";
  }
  SECTION("wrong format tag") {
    m["format"] = "unroll-parity-9";
    expect = "expected 'unroll-parity-1'";
  }
  SECTION("output off by more than 1e-5 + 1e-4 |b|") {
    set_tensor(ts, "out.output", Tensor{1, -7.999f, -6});  // |diff| 1e-3 > 8.1e-4
    expect = "out.output: 1 of 3 elements outside tolerance; worst at [1]";
  }
  SECTION("gradient of an input wrong") {
    set_tensor(ts, "grad.input", Tensor{1, 4, 4});
    expect = "grad.input";
  }
  SECTION("gradient of a parameter wrong") {
    set_tensor(ts, "grad.weight", Tensor{2, -4, 11});
    expect = "grad.weight";
  }
  SECTION("output shape differs") {
    set_tensor(ts, "out.output", Tensor{{1, -8, -6}});
    set_tensor(ts, "seed.output", Tensor{{1, 1, 2}});
    expect = "out.output has shape [3], expected [1, 3]";
  }
  SECTION("missing param") {
    drop_tensor(ts, "param.weight");
    expect = "has no param.weight";
  }
  SECTION("param the module does not own") {
    ts.push_back({"param.bias", Tensor{0}});
    expect = "fixture has param.bias";
  }
  SECTION("param of the wrong shape") {
    set_tensor(ts, "param.weight", Tensor{1, 2});
    expect = "parameter 'weight' has shape [3] but param.weight has shape [2]";
  }
  SECTION("missing gradient of a parameter") {
    drop_tensor(ts, "grad.weight");
    expect = "no expected gradient grad.weight";
  }
  SECTION("gradient matching nothing") {
    ts.push_back({"grad.other", Tensor{0}});
    expect = "grad.other matches no float input and no parameter";
  }
  SECTION("listed output the module does not return") {
    ts.push_back({"out.extra", Tensor{0}});
    ts.push_back({"seed.extra", Tensor{0}});
    m["outputs"] = "output,extra";
    expect = "forward returned no output 'extra'";
  }
  SECTION("missing seed") {
    drop_tensor(ts, "seed.output");
    expect = "no seed.output";
  }
  SECTION("listed input without a tensor") {
    m["inputs"] = "input,hx";
    expect = "lists 'hx' but there is no tensor in.hx";
  }
  SECTION("tensor with an unknown role") {
    ts.push_back({"weird.thing", Tensor{0}});
    expect = "no known role prefix";
  }
  SECTION("config without a required key makes the builder throw") {
    m["config"] = "{}";
    expect = "builder for 'test_scale' threw";
  }
  SECTION("config that is not JSON") {
    m["config"] = "{factor: 2";
    expect = "'config' is not valid JSON";
  }
  const auto r = run(d, ts, m);
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.reason, Contains(expect));
}

TEST_CASE("parity tolerance is |a - b| <= 1e-5 + 1e-4 |b|", "[parity]") {
  TempDir d;
  Tensors ts = scale_tensors();
  set_tensor(ts, "out.output", Tensor{1, -8.0005f, -6});  // |diff| 5e-4 <= 8.1e-4
  const auto r = run(d, ts, scale_meta());
  INFO(r.reason);
  CHECK(r.ok);
  CHECK(r.max_abs_err == Approx(5e-4).epsilon(1e-3));
}

TEST_CASE("parity runner drives optimizer cases step by step", "[parity]") {
  TempDir d;
  // p0 = [1, 2], lr 0.5: grad [2, -2] -> [0, 3]; grad [1, 1] -> [-0.5, 2.5].
  Tensors ts = {{"param.p0", Tensor{1, 2}},
                {"grad.step1.p0", Tensor{2, -2}},
                {"out.step1.p0", Tensor{0, 3}},
                {"grad.step2.p0", Tensor{1, 1}},
                {"out.step2.p0", Tensor{-0.5f, 2.5f}}};
  Meta m = {{"kind", "optimizer"},
            {"module", "test_sgd"},
            {"config", R"({"lr": 0.5})"},
            {"steps", "2"},
            {"params", "1"}};
  SECTION("correct") {
    const auto r = run(d, ts, m);
    INFO(r.reason);
    CHECK(r.ok);
  }
  SECTION("a wrong step fails") {
    set_tensor(ts, "out.step2.p0", Tensor{-0.5f, 2.4f});
    const auto r = run(d, ts, m);
    CHECK_FALSE(r.ok);
    CHECK_THAT(r.reason, Contains("out.step2.p0"));
  }
  SECTION("an unknown optimizer fails") {
    m["module"] = "Lion";
    const auto r = run(d, ts, m);
    CHECK_FALSE(r.ok);
    CHECK_THAT(r.reason, Contains("no parity optimizer registered for 'Lion'"));
  }
  SECTION("an unknown optimizer config key fails") {
    m["config"] = R"({"lr": 0.5, "momentum": 0.9})";
    const auto r = run(d, ts, m);
    CHECK_FALSE(r.ok);
    CHECK_THAT(r.reason, Contains("config key 'momentum'"));
  }
}

TEST_CASE("parity directory run: sorted, one line per file, env override, failures counted",
          "[parity]") {
  TempDir d;
  nn::save_safetensors(d.file("b_good.safetensors"), scale_tensors(), scale_meta());
  Meta unknown = scale_meta();
  unknown["module"] = "NoSuchModule";
  nn::save_safetensors(d.file("a_unknown_module.safetensors"), scale_tensors(), unknown);
  Meta badkey = scale_meta();
  badkey["config"] = R"({"factor": 2.0, "bogus": 1})";
  nn::save_safetensors(d.file("c_unknown_key.safetensors"), scale_tensors(), badkey);
  {
    std::ofstream junk(d.file("d_corrupt.safetensors"), std::ios::binary);
    junk << "xyz";
  }
  std::ofstream(d.file("ignored.txt")) << "not a fixture";

  const char* old = std::getenv("UNROLL_PARITY_DIR");
  const std::string saved = old ? old : "";
  ::setenv("UNROLL_PARITY_DIR", d.path.c_str(), 1);
  const std::string dir = parity::default_parity_dir();
  if (old)
    ::setenv("UNROLL_PARITY_DIR", saved.c_str(), 1);
  else
    ::unsetenv("UNROLL_PARITY_DIR");
  CHECK(dir == d.path.string());

  std::ostringstream log;
  const auto s = parity::run_parity_dir(dir, &log);
  INFO(log.str());
  CHECK(s.passed == 1);
  CHECK(s.failed == 3);
  REQUIRE(s.cases.size() == 4);
  CHECK(s.cases[0].file == "a_unknown_module.safetensors");
  CHECK(s.cases[1].file == "b_good.safetensors");
  CHECK(s.cases[3].file == "d_corrupt.safetensors");
  CHECK_THAT(s.cases[3].reason, Contains("shorter than the 8-byte"));
  CHECK_THAT(log.str(), Contains("parity a_unknown_module.safetensors: FAILED: no parity builder"));
  CHECK_THAT(log.str(), Contains("parity b_good.safetensors: ok, max abs err 0\n"));
  CHECK_THAT(log.str(), Contains("parity c_unknown_key.safetensors: FAILED: config key 'bogus'"));
  CHECK_THAT(log.str(), Contains("parity: 1 passed, 3 failed"));

  TempDir empty;
  const auto none = parity::run_parity_dir(empty.path.string(), nullptr);
  CHECK(none.passed == 0);
  CHECK(none.failed == 0);
  const auto missing = parity::run_parity_dir((empty.path / "nope").string(), nullptr);
  CHECK(missing.failed == 1);
}
