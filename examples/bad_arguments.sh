#!/bin/sh
# Each example, given a user mistake, must print a one-line message and exit with status 2
# before doing any work. $1: the directory holding the example programs.
dir=$1
check() {
  out=$("$@" 2>&1 >/dev/null)
  rc=$?
  lines=$(printf '%s\n' "$out" | wc -l)
  echo "exit $rc, $lines line(s): $*"
  [ "$rc" = 2 ] && [ "$lines" = 1 ] || { echo "FAILED: $*: $out"; exit 1; }
}
check "$dir/simple_rnn" --steps x
check "$dir/sentiment" "the movie was fantastic"
check "$dir/sentiment" --bogus
check "$dir/char_rnn" --text /nonexistent/file
check "$dir/char_rnn" --model gpt
check "$dir/char_rnn" --temperature 0
check "$dir/forecast" --column load
check "$dir/forecast" --steps
check "$dir/gradient_flow" --length 1
echo "all exited with status 2"
