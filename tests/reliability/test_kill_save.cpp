// Nothing lost, part 1: a process killed (SIGKILL) in the middle of writing a checkpoint
// leaves the previous checkpoint intact bit for bit and loadable, and the half-written temp
// file it leaves behind is removed by the next successful save. The kill is real: a forked
// child saves with the test hook UNROLL_FAULT_KILL_DURING_SAVE=1 (nn/safetensors.hpp), which
// makes it write half of the temp file, fsync it and raise(SIGKILL).

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "helpers.hpp"
#include "optim/optim.hpp"

using namespace unroll;
namespace fs = std::filesystem;

namespace {

std::vector<char> bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> v;
  for (const auto& e : fs::directory_iterator(dir)) v.push_back(e.path().filename().string());
  std::sort(v.begin(), v.end());
  return v;
}

// A small model with Adam state: a checkpoint of a few KB holding parameters, moments,
// the step count and a generator state.
struct Trained {
  Generator init{11}, data{12};
  nn::Sequential model;
  std::unique_ptr<optim::Adam> opt;
  Trained() {
    model.add(std::make_shared<nn::Linear>(4, 16, true, init))
        .add(nn::Tanh())
        .add(std::make_shared<nn::Linear>(16, 2, true, init));
    optim::AdamOptions o;
    o.lr = 0.01;
    opt = std::make_unique<optim::Adam>(model.parameters(), o);
  }
  void train(int steps) {
    for (int k = 0; k < steps; ++k) {
      autograd::Tape tape;
      autograd::TapeScope scope(tape);
      const Tensor x = data.normal_tensor({8, 4});
      ops::mse_loss(model(Var(x)), Var(Tensor(xt::zeros<float>({8, 2})))).backward();
      opt->step();
      opt->zero_grad();
    }
  }
  optim::TrainingState state(std::int64_t step) {
    return {&model, opt.get(), nullptr, {{"data", &data}}, step, {{"note", "x"}}};
  }
};

}  // namespace

TEST_CASE("a save killed halfway leaves the previous checkpoint intact; the next save cleans up",
          "[reliability][checkpoint]") {
  const fs::path dir =
      fs::temp_directory_path() / ("unroll_kill_save_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path path = dir / "run.ckpt";

  Trained run;
  run.train(3);
  optim::save_checkpoint(path.string(), run.state(3));
  const std::vector<char> good = bytes_of(path);
  REQUIRE(good.size() > 1000);
  std::vector<Tensor> good_params;
  for (const auto& [n, p] : run.model.named_parameters()) good_params.push_back(p.value());

  run.train(2);  // the parameters move on: the second save would write different bytes
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::setenv("UNROLL_FAULT_KILL_DURING_SAVE", "1", 1);
    try {
      optim::save_checkpoint(path.string(), run.state(5));
    } catch (...) {
    }
    ::_exit(3);  // reached only if the hook did not fire
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);

  // The killed save left its temp file, half written, beside the untouched checkpoint.
  const fs::path tmp = dir / ("run.ckpt.tmp." + std::to_string(child));
  REQUIRE(fs::exists(tmp));
  const auto half_written = fs::file_size(tmp);
  CHECK(bytes_of(path) == good);

  // The checkpoint loads, into a fresh model, to the parameters of step 3 exactly.
  Trained fresh;
  auto st = fresh.state(0);
  optim::load_checkpoint(path.string(), st);
  CHECK(st.step == 3);
  const auto loaded = fresh.model.named_parameters();
  REQUIRE(loaded.size() == good_params.size());
  for (std::size_t k = 0; k < loaded.size(); ++k)
    CHECK(test::max_abs_diff(loaded[k].second.value(), good_params[k]) == 0);

  // The next (successful) save replaces the checkpoint and removes the dead process's temp
  // file: only the checkpoint is left.
  optim::save_checkpoint(path.string(), run.state(5));
  CHECK(entries(dir) == std::vector<std::string>{"run.ckpt"});
  CHECK(half_written == fs::file_size(path) / 2);  // the killed save did write half of it
  Trained again;
  auto st2 = again.state(0);
  optim::load_checkpoint(path.string(), st2);
  CHECK(st2.step == 5);
  fs::remove_all(dir);
}
