#!/usr/bin/python3
"""unroll against PyTorch on the training workload of benchmarks/bench_train.cpp.

Input 64, batch 32, sequence 64, one layer, a Linear head to 64 classes at every step, mean
cross-entropy, forward + backward + one Adam step. The two programs alternate `--rounds`
times in one run (the machine is shared: only ratios measured together mean anything); the
table shows medians and the ratio unroll / PyTorch.

    /usr/bin/python3 benchmarks/compare_pytorch.py [--bench build/benchmarks/unroll_bench]
        [--rounds 3] [--threads 1] [--only lstm]
    /usr/bin/python3 benchmarks/compare_pytorch.py --speedup [--rounds 3]

At 1 thread the table also shows issue 7's target for each ratio, and the user-written cell
against the built-in LSTM (the median of the rounds' ratios: each round runs both in one
unroll_bench call). --speedup measures 2 threads against 1 on train/lstm_h512 instead,
alternating the thread counts (no PyTorch needed).

PyTorch comes from Debian's python3-torch; it is optional for everything else in unroll.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

B, T, IN, CLASSES = 32, 64, 64, 64
NAMES = ["lstm_h64", "lstm_h128", "lstm_h256", "lstm_h512", "gru_h256", "rnn_tanh_h256",
         "custom_lstm_h256", "transformer_d128"]


# Issue 7's targets at 1 thread: unroll / PyTorch tokens per second.
TARGETS = {"lstm_h64": 1.6, "lstm_h128": 1.4, "lstm_h256": 1.2, "lstm_h512": 1.1, "gru_h256": 1.2,
           "rnn_tanh_h256": 1.3, "transformer_d128": 1.2}
CUSTOM_TARGET = 0.95  # custom_lstm_h256 / lstm_h256, both unroll
SPEEDUP_TARGET = 1.6  # train/lstm_h512, 2 threads / 1


def verdict(value, target):
    return f">= {target:.2f} {'met' if value >= target else 'NOT met'}"


def torch_models(torch):
    nn = torch.nn

    class UserLSTM(nn.Module):
        """An LSTM cell from primitive ops, as a user writes it (input projection hoisted)."""

        def __init__(self, hidden):
            super().__init__()
            self.x = nn.Linear(IN, 4 * hidden)
            self.h = nn.Linear(hidden, 4 * hidden, bias=False)
            self.hidden = hidden

        def forward(self, seq):
            h = seq.new_zeros(seq.shape[1], self.hidden)
            c = torch.zeros_like(h)
            xp, out = self.x(seq), []
            for t in range(seq.shape[0]):
                i, f, g, o = (xp[t] + self.h(h)).chunk(4, 1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                out.append(h)
            return torch.stack(out)

    class Causal(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.proj = nn.Linear(IN, d)
            self.layer = nn.TransformerEncoderLayer(d, 4, 4 * d, dropout=0.0)
            self.register_buffer("mask", torch.triu(torch.full((T, T), float("-inf")), 1))

        def forward(self, seq):
            return self.layer(self.proj(seq), src_mask=self.mask)

    class Recurrent(nn.Module):
        def __init__(self, core):
            super().__init__()
            self.core = core

        def forward(self, seq):
            return self.core(seq)[0]

    def body(name):
        kind, size = name.rsplit("_", 1)
        width = int(size[1:])
        if kind == "lstm":
            return Recurrent(nn.LSTM(IN, width)), width
        if kind == "gru":
            return Recurrent(nn.GRU(IN, width)), width
        if kind == "rnn_tanh":
            return Recurrent(nn.RNN(IN, width)), width
        if kind == "custom_lstm":
            return UserLSTM(width), width
        return Causal(width), width

    return body


def torch_tokens_per_second(torch, name, min_time):
    body, width = torch_models(torch)(name)
    model = torch.nn.Sequential(body, torch.nn.Linear(width, CLASSES))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.randn(T, B, IN), torch.randint(0, CLASSES, (T * B,))
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x).reshape(T * B, CLASSES), y).backward()
        opt.step()

    for _ in range(2):
        step()
    # As long as unroll_bench's --benchmark_min_time: a few steps alone are too noisy here.
    steps, start = 0, time.perf_counter()
    while steps == 0 or time.perf_counter() - start < min_time:
        step()
        steps += 1
    return B * T * steps / (time.perf_counter() - start)


def unroll_tokens_per_second(bench, pattern, threads, min_time):
    env = dict(os.environ, UNROLL_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    out = subprocess.run([bench, f"--benchmark_filter=^train/({pattern})(/|$)", "--benchmark_format=json",
                          f"--benchmark_min_time={min_time}"], env=env, check=True, capture_output=True, text=True)
    report = json.loads(out.stdout)
    rates = {b["name"].split("/")[1]: b["tokens_per_second"] for b in report["benchmarks"]}
    return rates, report["context"].get("openblas_core", "?"), report["context"].get("gemm", "?")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default="build/benchmarks/unroll_bench")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds per measurement, each side")
    ap.add_argument("--only", default="", help="substring of the workloads to run")
    ap.add_argument("--speedup", action="store_true",
                    help="2 threads against 1 on train/lstm_h512 instead (no PyTorch)")
    a = ap.parse_args()
    if a.rounds < 1 or a.threads < 1 or not a.min_time > 0:
        sys.exit("compare_pytorch: --rounds and --threads must be at least 1, --min-time above 0")
    if not os.access(a.bench, os.X_OK):
        sys.exit(f"compare_pytorch: {a.bench} is not an executable; build first (bash scripts/test.sh)")
    if a.speedup:
        return speedup(a)
    # torch.set_num_threads does not reach the OpenBLAS that Debian's torch calls for its GEMMs:
    # without these, PyTorch's GEMMs took the second core whenever it was idle (a 1.3-1.5x swing
    # between runs) while unroll ran on one. They must be set before OpenBLAS is loaded.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(a.threads)
    try:
        import torch
    except ImportError:
        sys.exit("compare_pytorch: PyTorch is missing; install it with: apt-get install -y python3-torch")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    names = [n for n in NAMES if a.only in n]
    if not names:
        sys.exit(f"compare_pytorch: no workload matches '{a.only}'; workloads: {', '.join(NAMES)}")
    ours, theirs = {n: [] for n in names}, {n: [] for n in names}
    for r in range(a.rounds):
        for n in names:
            theirs[n].append(torch_tokens_per_second(torch, n, a.min_time))
        got, core, gemm = unroll_tokens_per_second(a.bench, "|".join(names), a.threads, a.min_time)
        for n in names:
            ours[n].append(got[n])
        print(f"round {r + 1}/{a.rounds} done", file=sys.stderr)
    print(f"torch {torch.__version__}, {a.threads} thread(s), {a.rounds} alternating rounds, medians")
    # Both sides call the same OpenBLAS, whose kernel choice can be wrong for a CPU newer than
    # it (ops/blas.hpp); OPENBLAS_CORETYPE, when set, overrides the choice for both.
    print(f"OpenBLAS core {core}{' (OPENBLAS_CORETYPE)' if os.environ.get('OPENBLAS_CORETYPE') else ''}; "
          f"unroll GEMMs: {gemm}")
    targets = a.threads == 1
    head = f"| {'benchmark':24s} | {'unroll tok/s':>12s} | {'PyTorch tok/s':>13s} | {'ratio':>5s} |"
    rule = f"| {'-' * 24} | {'-' * 12} | {'-' * 13} | {'-' * 5} |"
    print(head + (f" {'target (issue 7)':16s} |" if targets else ""))
    print(rule + (f" {'-' * 16} |" if targets else ""))
    for n in names:
        u, p = statistics.median(ours[n]), statistics.median(theirs[n])
        goal = verdict(u / p, TARGETS[n]) if targets and n in TARGETS else ""
        print(f"| {'train/' + n:24s} | {u:12.0f} | {p:13.0f} | {u / p:5.2f} |" +
              (f" {goal:16s} |" if targets else ""))
    if targets and "custom_lstm_h256" in names and "lstm_h256" in names:
        per_round = [c / l for c, l in zip(ours["custom_lstm_h256"], ours["lstm_h256"])]
        r = statistics.median(per_round)
        print(f"unroll custom_lstm_h256 / lstm_h256: {r:.2f} (rounds {min(per_round):.2f}-"
              f"{max(per_round):.2f}), target {verdict(r, CUSTOM_TARGET)}")


def speedup(a):
    """train/lstm_h512 on 2 threads against 1, alternating, `rounds` times."""
    ratios = []
    for r in range(a.rounds):
        one = unroll_tokens_per_second(a.bench, "lstm_h512", 1, a.min_time)[0]["lstm_h512"]
        two = unroll_tokens_per_second(a.bench, "lstm_h512", 2, a.min_time)[0]["lstm_h512"]
        ratios.append(two / one)
        print(f"round {r + 1}/{a.rounds}: 1 thread {one:.0f}, 2 threads {two:.0f} tokens/s, "
              f"{two / one:.2f}x")
    m = statistics.median(ratios)
    print(f"train/lstm_h512, 2 threads / 1: median {m:.2f}x over {a.rounds} rounds, "
          f"target {verdict(m, SPEEDUP_TARGET)}")


if __name__ == "__main__":
    main()
