#!/usr/bin/env bash
# Reliability of `unroll train` end to end (ctest `reliability_cli`; docs/reliability.md):
#  1. a diverging run stops with a clear message and a non-zero status, and the checkpoint it
#     leaves is from before the failure and loads with `unroll eval`;
#  2. a process killed in the middle of writing a checkpoint leaves the previous one intact;
#  3. a run killed with SIGKILL and resumed with --resume ends bit for bit where the
#     uninterrupted run ends (parameters, optimizer state, data generator, learning curve),
#     once with a deterministic kill (test hook UNROLL_FAULT_KILL_AT_STEP) and once with an
#     external `kill -9` at whatever moment it lands.
set -u
unroll=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
ok() { echo "ok   $*"; }
fail() {
  echo "FAIL $*"
  failures=$((failures + 1))
}

# The "step" a checkpoint was written at: its metadata, read from the safetensors JSON header.
ckpt_step() { head -c 65536 "$1" | grep -ao '"step":"[0-9]*"' | head -1 | grep -o '[0-9][0-9]*'; }
# The metrics JSON line `unroll train` prints last.
metrics() { grep '^{' "$1" | tail -1; }

# ---- 1. divergence: Adam at lr 1e4 blows up a 3-layer transformer within a few steps
# (checked: the gradient turns non-finite at step 9 of this exact setting, seed 1, 1 thread;
# before the trainer checked gradients, that update was applied and the loss was NaN at 10).
"$unroll" train --task adding --model transformer --layers 3 --hidden 16 --seq-len 10 --batch 8 \
  --steps 40 --lr 1e4 --save-every 4 --save "$work/nan.ckpt" >"$work/nan.out" 2>"$work/nan.err"
status=$?
msg=$(grep 'non-finite' "$work/nan.err")
bad_step=$(grep -o 'non-finite ([A-Za-z/]*) at step [0-9]*' <<<"$msg" | grep -o '[0-9]*$')
kept_step=$(grep -o "$work/nan.ckpt (step [0-9]*)" <<<"$msg" | grep -o '[0-9]*)' | tr -d ')')
if [[ $status -eq 0 || $status -eq 2 || -z $bad_step || -z $kept_step ]] ||
   ! grep -q 'is from before it and was kept. Lower --lr (it is 10000)' <<<"$msg"; then
  fail "divergence: status $status, message: $(cat "$work/nan.err")"
elif ((bad_step <= 4)); then
  fail "divergence came at step $bad_step, before the first checkpoint: the test proves nothing"
elif [[ $(ckpt_step "$work/nan.ckpt") != "$kept_step" ]] || ((kept_step != (bad_step - 1) / 4 * 4)); then
  fail "divergence at step $bad_step: message names step $kept_step, file holds step $(ckpt_step "$work/nan.ckpt")"
elif ! "$unroll" eval --checkpoint "$work/nan.ckpt" --sequences 32 >"$work/nan_eval.out" 2>&1; then
  fail "the checkpoint kept after divergence does not evaluate: $(cat "$work/nan_eval.out")"
else
  ok "divergence (status $status): $msg"
  ok "  kept checkpoint (step $kept_step) evaluates: $(metrics "$work/nan_eval.out")"
fi

# ---- 2. killed while saving: the previous checkpoint stays, bit for bit, and still loads.
small=(train --task adding --model lstm --hidden 8 --seq-len 8 --batch 8)
"$unroll" "${small[@]}" --steps 20 --save "$work/a.ckpt" >/dev/null 2>&1 || fail "first save"
cp "$work/a.ckpt" "$work/a.orig"
UNROLL_FAULT_KILL_DURING_SAVE=1 "$unroll" "${small[@]}" --steps 40 --resume "$work/a.ckpt" \
  --save "$work/a.ckpt" >/dev/null 2>&1
status=$?
leftover=$(ls "$work" | grep -c '^a\.ckpt\.tmp\.')
if [[ $status -ne 137 ]]; then
  fail "kill during save: expected death by SIGKILL (status 137), got $status"
elif ! cmp -s "$work/a.ckpt" "$work/a.orig"; then
  fail "kill during save: the previous checkpoint changed"
elif [[ $leftover -ne 1 ]]; then
  fail "kill during save: expected the half-written temp file, found $leftover"
elif ! "$unroll" eval --checkpoint "$work/a.ckpt" --sequences 32 >/dev/null 2>&1; then
  fail "kill during save: the previous checkpoint does not load"
else
  ok "kill during save: status 137, previous checkpoint identical and loadable, 1 temp file left"
  # The next save removes the dead process's temp file.
  "$unroll" "${small[@]}" --steps 40 --resume "$work/a.ckpt" --save "$work/a.ckpt" >/dev/null 2>&1
  if [[ $(ls "$work" | grep -c '^a\.ckpt\.tmp\.') -eq 0 && $(ckpt_step "$work/a.ckpt") == 40 ]]; then
    ok "  the next save (step 40) removed the stale temp file"
  else
    fail "kill during save: the next save left $(ls "$work" | grep '^a\.ckpt\.tmp\.')"
  fi
fi

# ---- 3a. SIGKILL at a known step, then --resume: the same end state as never stopping.
run=(train --task adding --model lstm --hidden 8 --seq-len 8 --batch 8 --steps 60 --save-every 10 --seed 3)
"$unroll" "${run[@]}" --save "$work/full.ckpt" >"$work/full.out" 2>&1 || fail "uninterrupted run"
UNROLL_FAULT_KILL_AT_STEP=35 "$unroll" "${run[@]}" --save "$work/part.ckpt" >/dev/null 2>&1
status=$?
at=$(ckpt_step "$work/part.ckpt")
"$unroll" "${run[@]}" --resume "$work/part.ckpt" --save "$work/part.ckpt" >"$work/part.out" 2>&1
if [[ $status -ne 137 || $at != 30 ]]; then
  fail "kill at step 35: status $status (expected 137), checkpoint at step $at (expected 30)"
elif ! cmp -s "$work/full.ckpt" "$work/part.ckpt"; then
  fail "kill at step 35 + resume: the final checkpoint differs from the uninterrupted run's"
elif [[ $(metrics "$work/full.out") != "$(metrics "$work/part.out")" ]]; then
  fail "kill at step 35 + resume: metrics $(metrics "$work/part.out") vs $(metrics "$work/full.out")"
else
  ok "kill at step 35, resume from step 30: final checkpoint identical byte for byte, $(metrics "$work/part.out")"
fi

# ---- 3b. an external kill -9 as soon as the first checkpoint exists (it may land mid-save).
long=(train --task adding --model lstm --hidden 8 --seq-len 8 --batch 8 --steps 3000 --save-every 7 --seed 4)
"$unroll" "${long[@]}" --save "$work/ref.ckpt" >"$work/ref.out" 2>&1 || fail "uninterrupted long run"
"$unroll" "${long[@]}" --save "$work/k.ckpt" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 2000); do
  [[ -e "$work/k.ckpt" ]] && break
  sleep 0.005
done
kill -9 "$pid" 2>/dev/null
wait "$pid"
status=$?
if [[ $status -ne 137 ]]; then
  fail "kill -9: the run was not killed (status $status; it finished or failed first)"
else
  at=$(ckpt_step "$work/k.ckpt")
  "$unroll" "${long[@]}" --resume "$work/k.ckpt" --save "$work/k.ckpt" >"$work/k.out" 2>&1
  if ! cmp -s "$work/ref.ckpt" "$work/k.ckpt"; then
    fail "kill -9 after step $at + resume: the final checkpoint differs from the uninterrupted run's"
  elif [[ $(metrics "$work/ref.out") != "$(metrics "$work/k.out")" ]]; then
    fail "kill -9 + resume: metrics $(metrics "$work/k.out") vs $(metrics "$work/ref.out")"
  elif ls "$work" | grep -q '^k\.ckpt\.tmp\.'; then
    fail "kill -9 + resume: a temp file was left behind"
  else
    ok "kill -9 with the checkpoint at step $at, resumed: final checkpoint identical byte for byte"
  fi
fi

echo "reliability_cli: $failures failed"
exit $((failures > 0))
