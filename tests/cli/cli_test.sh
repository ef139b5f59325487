#!/usr/bin/env bash
# End-to-end checks of the `unroll` command: bad input exits 2 with one clear line and
# writes nothing; train -> save -> eval round-trips; compare writes its report.
set -u
unroll=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# expect_fail <what> <pattern> -- args...: exit status 2 and a message matching pattern.
expect_fail() {
  local what=$1 pattern=$2
  shift 3
  local out status
  out=$("$unroll" "$@" 2>&1 >/dev/null)
  status=$?
  if [[ $status -ne 2 ]] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL $what: status $status, message: $out"
    failures=$((failures + 1))
  else
    echo "ok   $what: $(head -1 <<<"$out")"
  fi
}

expect_fail "unknown task" "unknown task 'nope'.*known tasks: copy" -- compare --tasks nope --out "$work/a"
expect_fail "unknown model" "unknown model 'mamba'" -- compare --models lstm,mamba --out "$work/b"
expect_fail "non-numeric steps" "steps" -- compare --steps many --out "$work/c"
expect_fail "out-of-range hidden" "hidden" -- compare --hidden 0 --out "$work/d"
expect_fail "negative lr" "lr" -- train --task adding --model lstm --lr -1
expect_fail "unknown flag" "--bogus" -- compare --bogus
expect_fail "missing subcommand" "subcommand" --
touch "$work/file"
expect_fail "unwritable out dir" "--out" -- compare --steps 1 --out "$work/file/sub"
expect_fail "missing text file" "missing.txt" -- train --task charlm --model lstm --steps 1 --text "$work/missing.txt"
printf 'x,y\n1,2\n' > "$work/bad.csv"
expect_fail "bad csv column" "column" -- train --task forecast --model gru --steps 1 --csv "$work/bad.csv" --column z
expect_fail "missing checkpoint" "nope.ckpt" -- eval --checkpoint "$work/nope.ckpt"
for d in a b c d; do
  [[ -e "$work/$d" ]] && { echo "FAIL: '$d' was created despite the error"; failures=$((failures + 1)); }
done

# train -> save -> eval, and a checkpoint of another model is refused.
if "$unroll" train --task adding --model gru --hidden 8 --steps 30 --seq-len 6 --save "$work/m.ckpt" >"$work/train.out" 2>&1 &&
   "$unroll" eval --checkpoint "$work/m.ckpt" --sequences 64 >"$work/eval.out" 2>&1 &&
   grep -q '"mse":' "$work/eval.out"; then
  echo "ok   train/save/eval: $(tail -1 "$work/eval.out")"
else
  echo "FAIL train/save/eval"; cat "$work/train.out" "$work/eval.out"; failures=$((failures + 1))
fi
expect_fail "sample from a non-charlm model" "needs a charlm model" -- sample --checkpoint "$work/m.ckpt"
if "$unroll" train --task charlm --model gru --hidden 16 --steps 20 --seq-len 16 --save "$work/lm.ckpt" >/dev/null 2>&1 &&
   out=$("$unroll" sample --checkpoint "$work/lm.ckpt" --length 40 --prime "the ") && [[ ${#out} -ge 44 && $out == "the "* ]]; then
  echo "ok   charlm sample: $out"
else
  echo "FAIL charlm sample"; failures=$((failures + 1))
fi
expect_fail "resume with another model" "holds a gru" -- train --task adding --model lstm --steps 40 --resume "$work/m.ckpt"

# compare writes the whole report.
if "$unroll" compare --tasks adding --models rnn,transformer --steps 20 --seq-len 6 --out "$work/report" >"$work/cmp.out" 2>&1 &&
   [[ -s "$work/report/results.json" && -s "$work/report/results.csv" && -s "$work/report/report.md" ]] &&
   grep -q "adding" "$work/cmp.out"; then
  echo "ok   compare report: $(ls "$work/report" | tr '\n' ' ')"
else
  echo "FAIL compare report"; cat "$work/cmp.out"; failures=$((failures + 1))
fi
"$unroll" tasks | grep -q '^copy' && echo "ok   tasks" || { echo "FAIL tasks"; failures=$((failures + 1)); }

echo "cli: $failures failed"
exit $((failures > 0))
