// Threads: 2 GEMM threads (oneDNN or OpenBLAS) train to the same parameters as with 1 (within float
// rounding), and two models trained at once on two std::threads do not interfere: each thread
// records on its own tape (current_tape() is thread_local), so concurrent training gives bit for
// bit the results of training the two one after the other. The concurrent test is also the one run
// under ThreadSanitizer (docs/reliability.md, "Threads").

#include <atomic>
#include <thread>

#ifdef UNROLL_HAVE_ONEDNN
#include <omp.h>
#endif

#include "helpers.hpp"
#include "tasks/models.hpp"
#include "tasks/task.hpp"
#include "tasks/trainer.hpp"

using namespace unroll;

namespace {

struct Trained {
  std::vector<Tensor> params;
  std::vector<double> losses;  // the learning curve, every step
};

// `steps` steps of a `kind` model on `task_name` from seed `seed`; small enough for TSan.
Trained train(const std::string& task_name, const std::string& kind, std::uint64_t seed,
              std::size_t hidden, std::size_t batch, std::size_t length, std::size_t steps) {
  auto task = tasks::make_task(task_name);
  tasks::ModelOptions mo;
  mo.kind = kind;
  mo.hidden = hidden;
  Generator init(seed);
  auto model = tasks::make_model(mo, task->spec(), init);
  tasks::TrainConfig tc;
  tc.steps = steps;
  tc.batch = batch;
  tc.length = length;
  tc.seed = seed;
  tc.log_every = 1;
  tc.eval_sequences = 16;
  const tasks::RunResult r = tasks::train_and_evaluate(*task, *model, tc);
  Trained t;
  for (const auto& [n, p] : model->named_parameters()) t.params.push_back(p.value());
  for (const auto& c : r.curve) t.losses.push_back(c.loss);
  return t;
}

// Restores the thread count when the test ends, whatever happens.
struct ThreadCount {
  int saved = num_threads();
  ~ThreadCount() { set_num_threads(saved); }
};

}  // namespace

TEST_CASE("an LSTM trained with 2 GEMM threads matches 1 thread to float rounding",
          "[reliability][threads][blas]") {
  ThreadCount restore;
  // Hidden 64, batch 64: the gate GEMMs are 64 x 256 x 64 (2^20 multiply-adds): oneDNN's in
  // builds with it, else above OpenBLAS's threshold for splitting a GEMM, so 2 threads run.
  set_num_threads(1);
  const Trained one = train("adding", "lstm", 5, 64, 64, 20, 6);
  set_num_threads(2);
  const Trained two = train("adding", "lstm", 5, 64, 64, 20, 6);
  REQUIRE(one.params.size() == two.params.size());
  for (std::size_t k = 0; k < one.params.size(); ++k) {
    const double scale = std::max(1e-3, static_cast<double>(xt::amax(xt::abs(one.params[k]))()));
    INFO("parameter " << k);
    CHECK(test::max_abs_diff(one.params[k], two.params[k]) <= 1e-5 * scale);
  }
  REQUIRE(one.losses.size() == two.losses.size());
  for (std::size_t s = 0; s < one.losses.size(); ++s)
    CHECK(one.losses[s] == Approx(two.losses[s]).epsilon(1e-5));
}

TEST_CASE("two models trained on two threads at once equal the same two trained in turn",
          "[reliability][threads][concurrent]") {
  // Different tasks, kinds and seeds, so a tape or buffer shared by mistake would mix them.
  auto a = [] { return train("adding", "lstm", 1, 16, 8, 10, 12); };
  auto b = [] { return train("copy", "gru", 2, 16, 8, 10, 12); };
  const Trained seq_a = a();
  const Trained seq_b = b();

  for (int round = 0; round < 2; ++round) {
    Trained par_a, par_b;
    std::atomic<int> ready{0};
    auto start = [&] {  // both threads begin training together
      ready.fetch_add(1);
      while (ready.load() < 2) std::this_thread::yield();
    };
    std::thread ta([&] {
      start();
      par_a = a();
    });
    std::thread tb([&] {
      start();
      par_b = b();
    });
    ta.join();
    tb.join();
    INFO("round " << round);
    REQUIRE(par_a.params.size() == seq_a.params.size());
    REQUIRE(par_b.params.size() == seq_b.params.size());
    for (std::size_t k = 0; k < seq_a.params.size(); ++k)
      CHECK(test::max_abs_diff(par_a.params[k], seq_a.params[k]) == 0);
    for (std::size_t k = 0; k < seq_b.params.size(); ++k)
      CHECK(test::max_abs_diff(par_b.params[k], seq_b.params[k]) == 0);
    CHECK(par_a.losses == seq_a.losses);
    CHECK(par_b.losses == seq_b.losses);
  }
}

TEST_CASE("each thread has its own tape: a graph from another thread cannot be walked",
          "[reliability][threads][concurrent]") {
  Var x(Tensor{1.0f, 2.0f}, true);
  Var y = ops::sum(x * x);  // recorded on this thread's tape
  std::string error;
  std::size_t other_size = 99;
  std::thread t([&] {
    other_size = autograd::current_tape().size();  // a fresh, empty tape
    try {
      y.backward();
    } catch (const AutogradError& e) {
      error = e.what();
    }
  });
  t.join();
  CHECK(other_size == 0);
  CHECK(error.find("another TapeScope or on another thread") != std::string::npos);
  y.backward();  // on its own thread it works: d/dx sum(x^2) = 2x
  CHECK(test::max_abs_diff(x.grad(), Tensor{2, 4}) == 0);
  autograd::current_tape().clear();
}

#ifdef UNROLL_HAVE_ONEDNN
TEST_CASE("a thread that records ops runs its oneDNN GEMMs on the set thread count",
          "[reliability][threads]") {
  ThreadCount restore;
  // A count different from OpenMP's default for a new thread (the number of cores), so the
  // check fails unless recording applied it.
  const int want = omp_get_num_procs() == 1 ? 2 : 1;
  set_num_threads(want);
  int seen = 0;
  std::thread t([&] {
    Var x(Tensor{1.0f, 2.0f}, true);
    Var y = x * x;  // the thread's first recorded op
    seen = omp_get_max_threads();
    autograd::current_tape().clear();
  });
  t.join();
  CHECK(seen == want);
}
#endif
