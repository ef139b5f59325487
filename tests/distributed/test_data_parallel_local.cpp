// The parts of data-parallel training that need no MPI: how a batch is split, the fused
// gradient buffer, the loss-term weighting (checked against the whole batch's gradient on
// one process), and a one-rank group giving exactly the plain training run.
// The multi-rank behaviour is tested under mpirun in tests/mpi/.
#include "distributed/data_parallel.hpp"
#include "helpers.hpp"
#include "tasks/trainer.hpp"

using namespace unroll;
using distributed::BatchSlice;

TEST_CASE("batch_slice: contiguous rows, the first B mod N ranks one more", "[distributed]") {
  // B = 7 on 2 ranks: 4 + 3; B = 10 on 3 ranks: 4 + 3 + 3; B = 6 on 3: 2 each.
  auto s = distributed::batch_slice(7, 0, 2);
  CHECK((s.begin == 0 && s.count == 4));
  s = distributed::batch_slice(7, 1, 2);
  CHECK((s.begin == 4 && s.count == 3));
  const std::size_t begins[] = {0, 4, 7}, counts[] = {4, 3, 3};
  for (int r = 0; r < 3; ++r) {
    s = distributed::batch_slice(10, r, 3);
    CHECK(s.begin == begins[r]);
    CHECK(s.count == counts[r]);
  }
  s = distributed::batch_slice(6, 2, 3);
  CHECK((s.begin == 4 && s.count == 2));
  CHECK_THROWS_WITH(distributed::batch_slice(1, 0, 2), Catch::Contains("smaller than the 2 ranks"));
  CHECK_THROWS_AS(distributed::batch_slice(8, 2, 2), std::invalid_argument);
}

TEST_CASE("slice_batch copies the rows of every batch tensor", "[distributed]") {
  tasks::Batch b;
  b.tokens = test::shaped(IndexTensor{0, 1, 2, 3, 4, 5, 6, 7, 8}, {3, 3});
  b.class_targets = test::shaped(IndexTensor{10, 11, 12, 13, 14, 15, 16, 17, 18}, {3, 3});
  b.features = test::iota({3, 3, 2});  // 0..17
  b.value_mask = test::shaped(std::vector<float>{1, 0, 1, 0, 1, 1, 0, 0, 1}, {3, 3});
  const tasks::Batch s = distributed::slice_batch(b, {1, 2});
  CHECK(s.tokens == test::shaped(IndexTensor{3, 4, 5, 6, 7, 8}, {2, 3}));
  CHECK(s.class_targets == test::shaped(IndexTensor{13, 14, 15, 16, 17, 18}, {2, 3}));
  CHECK(shape_of(s.features) == Shape{2, 3, 2});
  CHECK(s.features(0, 0, 0) == 6.0f);  // row 1 starts at element 1 * 3 * 2
  CHECK(s.features(1, 2, 1) == 17.0f);
  CHECK(s.value_mask == test::shaped(std::vector<float>{0, 1, 1, 0, 0, 1}, {2, 3}));
  CHECK(s.value_targets.dimension() == 0);  // unused field: left as it was
  CHECK(s.batch_size() == 2);
  CHECK_THROWS_AS(distributed::slice_batch(b, {2, 2}), std::invalid_argument);
}

TEST_CASE("fused gradient buffer: scaled gradients, then flags, then one slot", "[distributed]") {
  Var a(Tensor{1.0f, 2.0f}, true), b(test::shaped(std::vector<float>{3.0f}, {1, 1}), true),
      c(Tensor{5.0f}, true);
  ops::sum(a * a * 3.0f + b * 2.0f).backward();  // da = 6a = [6, 12], db = 2 * 2 = 4, c: none
  std::vector<float> buf;
  distributed::flatten_gradients({a, b, c}, 0.5f, buf);
  // [3, 6 | 2 | 0 | flags 1 1 0 | slot 0]
  CHECK(buf == std::vector<float>{3, 6, 2, 0, 1, 1, 0, 0});

  // Back as gradients: a parameter flagged 0 has none afterwards, one flagged > 0 has one.
  buf = {1, 2, 3, 4, 2, 0, 1, 9};
  distributed::unflatten_gradients(buf, {a, b, c});
  CHECK(a.grad() == Tensor{1.0f, 2.0f});
  CHECK_FALSE(b.has_grad());
  REQUIRE(c.has_grad());
  CHECK(c.grad() == Tensor{4.0f});
  buf.pop_back();
  CHECK_THROWS_AS(distributed::unflatten_gradients(buf, {a, b, c}), std::invalid_argument);

  std::vector<float> v = distributed::flatten_values({a, b, c});
  CHECK(v == std::vector<float>{1, 2, 3, 5});
  distributed::unflatten_values({7, 8, 9, 10}, {a, b, c});
  CHECK(a.value() == Tensor{7.0f, 8.0f});
  CHECK(c.value() == Tensor{10.0f});
}

TEST_CASE("weighting by loss terms gives the whole batch's gradient", "[distributed]") {
  // Two "ranks" on one process: each slice's gradient times l_r / L, summed, must equal the
  // gradient of the loss on the whole batch. Rows carry different numbers of targets, so
  // weighting by rows (4/7 and 3/7) would not.
  auto task = tasks::make_task("copy");
  Generator data(3);
  tasks::Batch batch = task->sample(data, 7, 4);
  for (std::size_t i = 0; i < 7; ++i) {
    std::size_t seen = 0;
    for (std::size_t t = 0; t < batch.steps(); ++t)
      if (batch.class_targets(i, t) != tasks::kNoTarget && ++seen > 1 + 2 * i)
        batch.class_targets(i, t) = tasks::kNoTarget;  // row i keeps min(1 + 2i, 10) targets
  }
  // 1 + 3 + 5 + 7 + 9 + 10 + 10 targets, counted by hand.
  CHECK(task->loss_terms(batch) == 45.0);
  tasks::ModelOptions mo;
  mo.hidden = 8;
  Generator init(5);
  auto model = tasks::make_model(mo, task->spec(), init);
  const std::vector<Var> params = model->parameters();
  autograd::Tape tape;
  autograd::TapeScope scope(tape);

  task->loss(model->forward(batch), batch).backward();
  std::vector<float> whole;
  distributed::flatten_gradients(params, 1.0f, whole);
  for (const Var& p : params) p.zero_grad();
  tape.clear();

  std::vector<float> sum(whole.size(), 0.0f), part;
  for (int r = 0; r < 2; ++r) {
    const BatchSlice s = distributed::batch_slice(7, r, 2);
    const tasks::Batch mine = distributed::slice_batch(batch, s);
    task->loss(model->forward(mine), mine).backward();
    distributed::flatten_gradients(
        params, static_cast<float>(task->loss_terms(mine) / task->loss_terms(batch)), part);
    for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += part[i];
    for (const Var& p : params) p.zero_grad();
    tape.clear();
  }
  double worst = 0, largest = 0;
  for (std::size_t i = 0; i + params.size() + 1 < whole.size(); ++i) {
    worst = std::max(worst, double(std::abs(sum[i] - whole[i])));
    largest = std::max(largest, double(std::abs(whole[i])));
  }
  INFO("max |sum of weighted slices - whole| = " << worst << ", max |grad| = " << largest);
  CHECK(largest > 1e-3);
  CHECK(worst <= 1e-6 + 1e-5 * largest);
}

TEST_CASE("Task::loss_terms counts what the loss averages over", "[distributed]") {
  Generator g(1);
  auto copy = tasks::make_task("copy");
  CHECK(copy->loss_terms(copy->sample(g, 5, 7)) == 50.0);  // 10 recall targets per sequence
  auto adding = tasks::make_task("adding");
  CHECK(adding->loss_terms(adding->sample(g, 5, 7)) == 5.0);  // one value per sequence, D = 1
}

TEST_CASE("a one-rank group trains exactly like no group at all", "[distributed]") {
  // l_r / L = 1 and the sums are over one rank, so every number must be bit-identical.
  auto task = tasks::make_task("adding");
  auto run = [&](distributed::Communicator* comm) {
    tasks::ModelOptions mo;
    mo.kind = "gru";
    mo.hidden = 8;
    Generator init(2);
    auto model = tasks::make_model(mo, task->spec(), init);
    tasks::TrainConfig tc;
    tc.steps = 12;
    tc.batch = 5;
    tc.length = 6;
    tc.log_every = 4;
    tc.eval_sequences = 32;
    tc.communicator = comm;
    tasks::RunResult r = tasks::train_and_evaluate(*task, *model, tc);
    return std::make_pair(r, distributed::flatten_values(model->parameters()));
  };
  distributed::LocalCommunicator one;
  const auto [plain, plain_params] = run(nullptr);
  const auto [grouped, grouped_params] = run(&one);
  CHECK(plain_params == grouped_params);
  REQUIRE(plain.curve.size() == grouped.curve.size());
  for (std::size_t i = 0; i < plain.curve.size(); ++i) {
    CHECK(plain.curve[i].loss == grouped.curve[i].loss);
    CHECK(plain.curve[i].metric == grouped.curve[i].metric);
  }
  CHECK(plain.eval.at(6) == grouped.eval.at(6));
}
