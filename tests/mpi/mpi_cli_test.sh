#!/usr/bin/env bash
# `unroll` under mpirun with 2 ranks: train and compare give the one-process results (within
# the 6 digits they print), only rank 0 prints and writes, a checkpoint resumes on another
# number of ranks, and a failing rank ends the job with "rank R: ..." instead of a hang.
# Every mpirun runs under `timeout 60`: status 124 means the job hung, and fails the test.
# Usage: mpi_cli_test.sh UNROLL TEST_DATA_PARALLEL MPIRUN
set -u
unroll=$1 dp_test=$2 mpirun=$3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 UNROLL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
mpi=(timeout 60 "$mpirun" --allow-run-as-root --oversubscribe)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0 passed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failures=$((failures + 1)); }

# same_numbers A B: every number in A's line equals B's within 1e-4 relative (+1e-6).
same_numbers() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    na = split(a, x, /[^0-9eE.+-]+/); nb = split(b, y, /[^0-9eE.+-]+/)
    if (na != nb) exit 1
    for (i = 1; i <= na; i++) {
      if (x[i] == "" && y[i] == "") continue
      d = x[i] - y[i]; if (d < 0) d = -d
      m = y[i] < 0 ? -y[i] : y[i]
      if (d > 1e-6 + 1e-4 * m) exit 1
    }
  }'
}

args=(--task copy --model lstm --hidden 16 --steps 40 --batch 7 --seq-len 6)

# 1. train: 2 ranks (started by mpirun, no flag needed) = 1 process; one table only.
"$unroll" train "${args[@]}" >"$work/one.out" 2>/dev/null
"${mpi[@]}" -np 2 "$unroll" train "${args[@]}" >"$work/two.out" 2>"$work/two.err"
status=$?
one=$(tail -1 "$work/one.out") two=$(tail -1 "$work/two.out")
if [[ $status -eq 0 ]] && same_numbers "$two" "$one" && [[ $(grep -c '^task ' "$work/two.out") -eq 1 ]]; then
  ok "train on 2 ranks = 1 process: $two"
else
  fail "train on 2 ranks (status $status): '$two' vs '$one'"; cat "$work/two.out" "$work/two.err"
fi

# 2. --data-parallel, a checkpoint written by 1 process resumed on 2 ranks, and the
#    2-rank checkpoint evaluated by 1 process: the same as 40 uninterrupted steps.
"$unroll" train "${args[@]/#40/20}" --save "$work/half.ckpt" >/dev/null 2>&1
"${mpi[@]}" -np 2 "$unroll" train "${args[@]}" --data-parallel --resume "$work/half.ckpt" \
  --save "$work/full.ckpt" >"$work/resumed.out" 2>"$work/resumed.err"
status=$?
resumed=$(tail -2 "$work/resumed.out" | head -1)
if [[ $status -eq 0 ]] && same_numbers "$resumed" "$one" && [[ -s "$work/full.ckpt" ]] &&
   "$unroll" eval --checkpoint "$work/full.ckpt" --sequences 64 >/dev/null 2>&1; then
  ok "1-process checkpoint resumed on 2 ranks = uninterrupted: $resumed"
else
  fail "resume on 2 ranks (status $status): '$resumed' vs '$one'"; cat "$work/resumed.out" "$work/resumed.err"
fi

# 3. compare: the report of 2 ranks has the numbers of 1 process (all but time and speed).
cmp=(compare --tasks adding --models transformer,gru --steps 20 --seq-len 6 --batch 8)
"$unroll" "${cmp[@]}" --out "$work/cmp1" >/dev/null 2>&1
"${mpi[@]}" -np 2 "$unroll" "${cmp[@]}" --out "$work/cmp2" >"$work/cmp2.out" 2>&1
status=$?
strip() { cut -d, -f1-10,13 "$1"; }  # drop train_seconds and tokens_per_second
if [[ $status -eq 0 && -s "$work/cmp2/report.md" ]] &&
   same_numbers "$(strip "$work/cmp2/results.csv" | tr '\n' ' ')" "$(strip "$work/cmp1/results.csv" | tr '\n' ' ')"; then
  ok "compare on 2 ranks = 1 process ($(wc -l <"$work/cmp2/results.csv") csv lines)"
else
  fail "compare on 2 ranks (status $status)"; cat "$work/cmp2.out"; diff "$work/cmp1/results.csv" "$work/cmp2/results.csv"
fi

# expect_abort <what> <pattern> -- command...: non-zero status, no hang, message on stderr.
expect_abort() {
  local what=$1 pattern=$2
  shift 3
  local out status
  out=$("$@" 2>&1 >/dev/null)
  status=$?
  if [[ $status -ne 0 && $status -ne 124 ]] && grep -qE -- "$pattern" <<<"$out"; then
    ok "$what: status $status, $(grep -m1 -E -- "$pattern" <<<"$out")"
  else
    fail "$what: status $status (124: hung), stderr: $out"
  fi
}

# 4. A rank that fails ends the job: bad input on rank 1 only (MPMD: rank 1 gets other
#    arguments), ranks started with different settings, an exception on rank 1 mid-training.
expect_abort "bad input on rank 1" "rank 1: unroll: error: .*unknown task 'nope'" -- \
  "${mpi[@]}" -np 1 "$unroll" train "${args[@]}" : -np 1 "$unroll" train --task nope --model lstm
expect_abort "ranks with different settings" "rank [01]: unroll: error: .*ranks disagree on the number of parameters \(from 746 to 2506" -- \
  "${mpi[@]}" -np 1 "$unroll" train "${args[@]}" : -np 1 "$unroll" train "${args[@]/#16/8}"
expect_abort "bad flag on rank 1 (before MPI starts)" "unroll: error: .*--bogus" -- \
  "${mpi[@]}" -np 1 "$unroll" train "${args[@]}" : -np 1 "$unroll" train "${args[@]}" --bogus
expect_abort "exception on rank 1 at step 3" "rank 1: injected failure at step 3" -- \
  "${mpi[@]}" -np 2 "$dp_test" --fail-on-rank 1
expect_abort "batch smaller than the ranks" "batch of 1 sequences is smaller than the 2 ranks" -- \
  "${mpi[@]}" -np 2 "$unroll" train --task adding --model gru --batch 1 --steps 2

echo "$passed passed, $failures failed"
[[ $failures -eq 0 ]]
