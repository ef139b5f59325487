// unroll_soak: long runs in bounded memory (docs/reliability.md, "Long runs").
//   train   N steps of the reference workload (workload.hpp: LSTM H=256, input 64, batch 32,
//           T=64, Linear head, cross-entropy, Adam); resident memory sampled after warm-up and
//           at the end must not grow by more than --max-growth-mb.
//   tbptt   one stream of N time steps through nn::train_truncated_bptt (LSTM H=32, chunks
//           of 50, Adam); RSS at N/10 steps and at N steps must agree within the same bound.
//   unroll  one graph of N LSTM steps (H=8) built, backpropagated and freed on a thread with
//           a 1 MiB stack: recursion over the graph (in backward or in freeing the nodes)
//           would overflow it long before N = 20,000 steps.
// Prints one table and exits 0 if every check passed, 1 if one failed, 2 for bad flags.
//   unroll_soak                                     # full sizes (bash scripts/soak.sh)
//   unroll_soak --steps 60 --warmup 20 --tbptt-steps 20000 --unroll-steps 20000  # soak_short
#include <pthread.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <xtensor/xview.hpp>

#include "autograd/threads.hpp"
#include "nn/tbptt.hpp"
#include "unroll.hpp"
#include "workload.hpp"

namespace {

using namespace unroll;

// Resident set size in MiB, from /proc/self/statm (pages).
double rss_mib() {
  std::ifstream statm("/proc/self/statm");
  std::size_t size = 0, resident = 0;
  statm >> size >> resident;
  return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) /
         (1024.0 * 1024.0);
}

// Peak resident set size of the process so far in MiB (VmHWM in /proc/self/status).
double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string key;
  double kib = 0;
  while (status >> key)
    if (key == "VmHWM:" && status >> kib) break;
  return kib / 1024.0;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One row of the report.
struct Row {
  std::string check, size;
  double rss_start = 0, rss_warm = 0, rss_end = 0, limit = 0, seconds = 0;
  std::string note;
  bool ok = false;
};

void print(const std::vector<Row>& rows) {
  std::printf("%-40s %-12s %9s %9s %9s %8s %8s %9s  %s\n", "check", "size", "RSS start", "warm MiB",
              "end MiB", "growth", "limit", "time s", "result");
  std::printf("%s\n", std::string(132, '-').c_str());
  for (const Row& r : rows) {
    const std::string limit = std::isnan(r.limit) ? "-" : std::to_string(r.limit).substr(0, 5);
    std::printf("%-40s %-12s %9.1f %9.1f %9.1f %8.1f %8s %9.1f  %s%s%s\n", r.check.c_str(),
                r.size.c_str(), r.rss_start, r.rss_warm, r.rss_end, r.rss_end - r.rss_warm,
                limit.c_str(), r.seconds, r.ok ? "ok" : "FAIL", r.note.empty() ? "" : ": ",
                r.note.c_str());
  }
}

// (a) The reference workload for `steps` steps; RSS after `warmup` steps and at the end.
Row soak_train(std::size_t steps, std::size_t warmup, double limit) {
  Row r{"train: LSTM H=256 workload, Adam", std::to_string(steps) + " steps"};
  r.limit = limit;
  r.rss_start = rss_mib();
  const auto t0 = std::chrono::steady_clock::now();
  Generator gen(0);
  bench::TrainingRun run("lstm_h256", 64, gen);
  autograd::Tape tape;
  autograd::TapeScope scope(tape);
  float first = 0, last = 0;
  for (std::size_t s = 1; s <= steps; ++s) {
    Var loss = run.loss();
    loss.backward();
    run.update();
    last = loss.item();
    if (s == 1) first = last;
    tape.clear();
    if (s == warmup) r.rss_warm = rss_mib();
    if (s % std::max<std::size_t>(1, steps / 10) == 0)
      std::fprintf(stderr, "train %zu/%zu loss %.4f rss %.1f MiB %.0fs\n", s, steps, last,
                   rss_mib(), seconds_since(t0));
  }
  r.rss_end = rss_mib();
  r.seconds = seconds_since(t0);
  char note[96];
  std::snprintf(note, sizeof note, "loss %.3f -> %.3f", first, last);
  r.note = note;
  // Memory flat, and the run did train (one fixed batch: the loss must fall).
  r.ok = r.rss_end - r.rss_warm <= limit && std::isfinite(last) && last < first;
  if (!(last < first)) r.note += " (loss did not fall)";
  return r;
}

// (b) One stream of `steps` time steps through truncated BPTT in chunks of `k`.
Row soak_tbptt(std::size_t steps, std::size_t k, double limit) {
  Row r{"tbptt: LSTM H=32, chunks of " + std::to_string(k), std::to_string(steps) + " steps"};
  r.limit = limit;
  r.rss_start = rss_mib();
  const auto t0 = std::chrono::steady_clock::now();
  constexpr std::size_t kBatch = 4, kIn = 8, kHidden = 32;
  Generator gen(1);
  nn::LSTM lstm(kIn, kHidden, {}, gen);
  nn::Linear head(kHidden, kIn, true, gen);
  std::vector<Var> params = lstm.parameters();
  for (const Var& p : head.parameters()) params.push_back(p);
  optim::Adam adam(params, optim::AdamOptions{.lr = 1e-3});
  // The task: predict the next input of a noisy sine stream. The stream is made in full up
  // front, so its memory is in the RSS from the start and does not count as growth.
  Tensor stream = Tensor::from_shape({steps, kBatch, kIn});
  for (std::size_t t = 0; t < steps; ++t)
    for (std::size_t b = 0; b < kBatch; ++b)
      for (std::size_t i = 0; i < kIn; ++i)
        stream(t, b, i) = std::sin(0.05f * static_cast<float>(t) + static_cast<float>(b + i)) +
                          0.1f * gen.normal();
  autograd::Tape tape;
  autograd::TapeScope scope(tape);
  const std::size_t warm_at = std::max(k, steps / 10);
  std::size_t done = 0;  // time steps finished (chunks already backpropagated)
  auto loss = [&](const Var& out, std::size_t start) {
    // Predict x[t+1] from h_t inside the chunk: outputs [0, len-1) against inputs [1, len).
    const std::size_t len = out.dim(0);
    const Tensor target = xt::view(stream, xt::range(start + 1, start + len), xt::all(), xt::all());
    done = start + len;
    if (len < 2)
      return ops::mean(out) * 0.0f;  // a last chunk of one step has no pair:
                                     // a zero loss (the losses are averaged)
    return ops::mse_loss(head(ops::narrow(out, 0, 0, len - 1)), Var(target));
  };
  auto update = [&] {
    adam.step();
    adam.zero_grad();
    if (done >= warm_at && r.rss_warm == 0) r.rss_warm = rss_mib();
  };
  const std::vector<float> losses = nn::train_truncated_bptt(lstm, stream, k, loss, update);
  r.rss_end = rss_mib();
  r.seconds = seconds_since(t0);
  // Mean chunk loss over the first and the last tenth of the stream.
  const std::size_t tenth = std::max<std::size_t>(1, losses.size() / 10);
  double head_loss = 0, tail_loss = 0;
  for (std::size_t i = 0; i < tenth; ++i) {
    head_loss += losses[i] / static_cast<double>(tenth);
    tail_loss += losses[losses.size() - 1 - i] / static_cast<double>(tenth);
  }
  char note[128];
  std::snprintf(note, sizeof note, "RSS at step %zu vs %zu; loss %.3f -> %.3f", warm_at, steps,
                head_loss, tail_loss);
  r.note = note;
  r.ok = r.rss_end - r.rss_warm <= limit && std::isfinite(tail_loss) &&
         losses.size() == (steps + k - 1) / k;
  return r;
}

// (c) One graph of `steps` LSTM steps, backward and freed, on a thread with a small stack.
struct UnrollResult {
  bool finite = false;
  double grad_norm = 0;
  std::size_t tape_ops = 0;
};

Row soak_unroll(std::size_t steps) {
  Row r{"unroll: one graph, LSTM H=8, 1 MiB stack", std::to_string(steps) + " steps"};
  r.rss_start = r.rss_warm = rss_mib();
  const auto t0 = std::chrono::steady_clock::now();
  UnrollResult out;
  std::function<void()> work = [&] {
    Generator gen(2);
    nn::LSTMCell cell(4, 8, true, gen);
    Var x(gen.normal_tensor({steps, std::size_t{1}, std::size_t{4}}));
    autograd::Tape tape;
    autograd::TapeScope scope(tape);
    {
      nn::UnrollResult u = nn::unroll(cell, x);
      Var loss = ops::mean(u.outputs);  // every step contributes: the gradient crosses all
      out.tape_ops = tape.size();
      loss.backward();
    }  // the graph's Vars go here; the tape's nodes when it is cleared
    tape.clear();
    double sq = 0;
    out.finite = true;
    for (const Var& p : cell.parameters())
      for (float g : p.grad()) {
        out.finite = out.finite && std::isfinite(g);
        sq += static_cast<double>(g) * g;
      }
    out.grad_norm = std::sqrt(sq);
  };
  // A 1 MiB stack: plenty for iterative code, far too small for one frame per op (the graph
  // holds ~15 ops per step, 300,000 for 20,000 steps).
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 1 << 20);
  pthread_t thread;
  auto run = [](void* f) -> void* {
    (*static_cast<std::function<void()>*>(f))();
    return nullptr;
  };
  const bool started = pthread_create(&thread, &attr, run, &work) == 0;
  pthread_attr_destroy(&attr);
  if (started) pthread_join(thread, nullptr);
  r.rss_end = rss_mib();
  r.seconds = seconds_since(t0);
  char note[160];
  std::snprintf(note, sizeof note, "%zu ops on the tape, |grad| = %.3g, peak RSS %.1f MiB",
                out.tape_ops, out.grad_norm, peak_rss_mib());
  r.note = started ? note : "could not start the thread";
  r.limit = NAN;
  r.ok = started && out.finite && out.grad_norm > 0 && out.tape_ops >= steps;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"unroll_soak: long training runs, long TBPTT streams and long unrolled graphs"};
  std::size_t steps = 10000, warmup = 0, tbptt_steps = 100000, chunk = 50, unroll_steps = 20000;
  double growth = 16.0;
  app.add_option("--steps", steps, "training steps of the LSTM H=256 workload (0: skip)")
      ->capture_default_str();
  app.add_option("--warmup", warmup, "steps before the RSS baseline (default: steps / 10, >= 20)");
  app.add_option("--tbptt-steps", tbptt_steps, "time steps of the TBPTT stream (0: skip)")
      ->capture_default_str();
  app.add_option("--chunk", chunk, "TBPTT chunk length")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--unroll-steps", unroll_steps, "steps of the single unrolled graph (0: skip)")
      ->capture_default_str();
  app.add_option("--max-growth-mb", growth, "allowed RSS growth after warm-up, MiB")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e6));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (warmup == 0) warmup = std::max<std::size_t>(20, steps / 10);
  if (steps && warmup >= steps) {
    std::fprintf(stderr, "unroll_soak: --warmup %zu must be below --steps %zu\n", warmup, steps);
    return 2;
  }
  if (tbptt_steps && tbptt_steps < 10 * chunk) {
    std::fprintf(stderr, "unroll_soak: --tbptt-steps %zu must be at least 10 chunks (%zu)\n",
                 tbptt_steps, 10 * chunk);
    return 2;
  }
  set_num_threads(1);
  std::vector<Row> rows;
  if (steps) rows.push_back(soak_train(steps, warmup, growth));
  if (tbptt_steps) rows.push_back(soak_tbptt(tbptt_steps, chunk, growth));
  if (unroll_steps) rows.push_back(soak_unroll(unroll_steps));
  print(rows);
  for (const Row& r : rows)
    if (!r.ok) return 1;
  return 0;
}
