#!/usr/bin/env bash
# Bad input to the `unroll` command (docs/reliability.md, "Bad input"): bad flags and values,
# unreadable, empty, binary and malformed --text and --csv files, and hand-made malformed or
# mismatched checkpoints for eval, sample and --resume. Every case must exit with status 2,
# print one "unroll: error:" message naming the problem, print nothing on stdout, and leave
# nothing behind: no --out directory, no --save checkpoint, no temporary file.
# Usage: bad_input_test.sh path/to/unroll
set -u
unroll=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
cases=0

# expect_fail <what> <pattern> -- args...: status 2, one error matching pattern, empty stdout,
# and $work/left (the --out/--save target of every case) absent afterwards.
expect_fail() {
  local what=$1 pattern=$2
  shift 3
  cases=$((cases + 1))
  rm -rf "$work/left" "$work"/left.*
  "$unroll" "$@" >"$work/stdout" 2>"$work/stderr"
  local status=$? err
  err=$(cat "$work/stderr")
  local problems=""
  [[ $status -eq 2 ]] || problems+=" status $status;"
  grep -qE -- "$pattern" <<<"$err" || problems+=" message does not match '$pattern';"
  [[ $(grep -c '^unroll: error:' <<<"$err") -eq 1 ]] || problems+=" not exactly one error line;"
  [[ -s $work/stdout ]] && problems+=" wrote to stdout: $(head -c 200 "$work/stdout");"
  compgen -G "$work/left*" >/dev/null && problems+=" left behind: $(ls -d "$work"/left*);"
  if [[ -n $problems ]]; then
    echo "FAIL $what:$problems"
    echo "     stderr: $(head -c 400 <<<"$err")"
    failures=$((failures + 1))
  else
    echo "ok   $what: $(head -1 <<<"$err")"
  fi
}

# le64 N: N as 8 little-endian bytes.
le64() {
  local s="" i
  for i in 0 1 2 3 4 5 6 7; do s+=$(printf '\\x%02x' $((($1 >> (8 * i)) & 255))); done
  printf "$s"
}
# rewrite IN OUT SED: the safetensors file IN with its JSON header edited by SED, its length
# prefix updated and its data section unchanged, written to OUT.
rewrite() {
  local n h
  n=$(od -An -t u8 -N 8 "$1" | tr -d ' ')
  h=$(tail -c +9 "$1" | head -c "$n" | LC_ALL=C sed -e "$3")
  { le64 ${#h}; printf '%s' "$h"; tail -c +$((9 + n)) "$1"; } >"$2"
}

out=(--out "$work/left")
save=(--save "$work/left")
quick=(--steps 2 --hidden 8 --seq-len 6 --batch 4)

echo "== flags and values"
expect_fail "unknown flag" "--bogus" -- compare --bogus 1 "${out[@]}"
expect_fail "unknown subcommand" "unknown subcommand 'evaluate'" -- evaluate --checkpoint x
expect_fail "negative steps" "--steps: expected an integer from 1 to 10000000, got '-5'" -- compare --steps -5 "${out[@]}"
expect_fail "zero steps" "--steps: .*got '0'" -- train --task adding --model lstm --steps 0 "${save[@]}"
expect_fail "non-numeric steps" "--steps: .*got 'ten'" -- compare --steps ten "${out[@]}"
expect_fail "fractional steps" "--steps: .*got '2.5'" -- compare --steps 2.5 "${out[@]}"
expect_fail "steps in exponent form" "--steps: .*got '1e3'" -- compare --steps 1e3 "${out[@]}"
expect_fail "steps out of range" "--steps: .*got '99999999999999999999999'" -- compare --steps 99999999999999999999999 "${out[@]}"
expect_fail "zero batch" "--batch: expected an integer from 1 to 100000, got '0'" -- train --task adding --model gru --batch 0 "${save[@]}"
expect_fail "hidden too large" "--hidden: expected an integer from 1 to 4096, got '5000'" -- compare --hidden 5000 "${out[@]}"
expect_fail "negative seq-len" "--seq-len: .*got '-3'" -- train --task adding --model gru --seq-len -3 "${save[@]}"
expect_fail "non-numeric eval length" "--eval-lengths: .*got 'x'" -- compare --eval-lengths 10,x "${out[@]}"
expect_fail "zero threads" "--threads: .*got '0'" -- compare --threads 0 "${out[@]}"
expect_fail "negative seed" "--seed: expected an integer from 0 to 18446744073709551615, got '-1'" -- train --task adding --model gru --seed -1 "${save[@]}"
expect_fail "--lr nan" "--lr: expected a number > 0 and < 1e6, got 'nan'" -- train --task adding --model gru --lr nan "${save[@]}"
expect_fail "--lr inf" "--lr: .*got 'inf'" -- compare --lr inf "${out[@]}"
expect_fail "--lr negative" "--lr: .*got '-0.1'" -- compare --lr -0.1 "${out[@]}"
expect_fail "--lr zero" "--lr: .*got '0'" -- compare --lr 0 "${out[@]}"
expect_fail "--lr too large" "--lr: .*got '1e7'" -- compare --lr 1e7 "${out[@]}"
expect_fail "--lr not a number" "--lr: .*got '3e-3x'" -- compare --lr 3e-3x "${out[@]}"
expect_fail "unknown task (compare)" "--tasks: unknown task 'copying'; known tasks: copy" -- compare --tasks adding,copying "${out[@]}"
expect_fail "unknown task (train)" "--task: unknown task 'nope'" -- train --task nope --model lstm "${save[@]}"
expect_fail "unknown model (train)" "--model: unknown model 'mamba'; known models: rnn, lstm, gru, transformer" -- train --task adding --model mamba "${save[@]}"
expect_fail "empty model list" "--models: unknown model ''" -- compare --models "" "${out[@]}"
expect_fail "transformer length past its positions" "length 6000 .* longer than the transformer's 4096 positions" -- compare --tasks adding --models transformer --seq-len 3000 "${out[@]}"
expect_fail "gradflow of a transformer" "gradflow needs a recurrent model" -- gradflow --models transformer "${out[@]}"
expect_fail "gradflow hidden 0" "--hidden: .*got '0'" -- gradflow --hidden 0 "${out[@]}"
expect_fail "zero temperature" "--temperature" -- sample --checkpoint "$work/none" --temperature 0
expect_fail "zero eval sequences" "--sequences: .*got '0'" -- eval --checkpoint "$work/none" --sequences 0
expect_fail "eval without --checkpoint" "--checkpoint is required" -- eval

echo "== charlm --text"
mkdir -p "$work/dir"
: >"$work/empty.txt"
printf 'x' >"$work/one.txt"
printf '\x89PNG\r\n\x1a\n\0\0\0\rIHDR' >"$work/image.png"
printf 'short text.\n' >"$work/short.txt"
charlm=(--tasks charlm --models gru "${quick[@]}")
expect_fail "text is a directory" "charlm: text path '.*/dir' is not a regular file" -- compare "${charlm[@]}" --text "$work/dir" "${out[@]}"
expect_fail "text does not exist" "charlm: text file '.*/missing.txt' does not exist" -- compare "${charlm[@]}" --text "$work/missing.txt" "${out[@]}"
expect_fail "text is /dev/null" "charlm: text path '/dev/null' is not a regular file" -- train --task charlm --model gru --text /dev/null "${save[@]}"
expect_fail "empty text" "charlm: text file '.*/empty.txt' is empty" -- compare "${charlm[@]}" --text "$work/empty.txt" "${out[@]}"
expect_fail "one-character text" "has 1 character; at least 2 are needed" -- compare "${charlm[@]}" --text "$work/one.txt" "${out[@]}"
expect_fail "binary text (PNG)" "contains a NUL byte at offset 8 \(is it a binary file\?\)" -- compare "${charlm[@]}" --text "$work/image.png" "${out[@]}"
expect_fail "text shorter than an evaluation window" "length 20 needs 21 characters but the text file '.*/short.txt' has 12" -- compare --tasks charlm --models gru --seq-len 10 --text "$work/short.txt" "${out[@]}"
# Latin-1 (not UTF-8) is accepted: bytes are the tokens (docs/tasks.md), so it trains.
printf 'caf\xe9 na\xefve \xe0 la r\xe9sum\xe9. %.0s' {1..20} >"$work/latin1.txt"
cases=$((cases + 1))
if "$unroll" train --task charlm --model gru "${quick[@]}" --text "$work/latin1.txt" --save "$work/latin1.ckpt" >/dev/null 2>&1 &&
   [[ -s $work/latin1.ckpt ]]; then
  echo "ok   non-UTF-8 (Latin-1) text trains byte by byte"
else
  echo "FAIL non-UTF-8 (Latin-1) text"; failures=$((failures + 1))
fi

echo "== forecast --csv"
rows() { local i; for ((i = 0; i < 40; i++)); do echo "$i,$((i % 7))"; done; }
: >"$work/empty.csv"
echo "t,load" >"$work/header.csv"
{ echo "t,load"; rows; echo "40,high"; } >"$work/text.csv"
{ echo "t,load"; rows; echo "40,nan"; } >"$work/nan.csv"
{ echo "t,load"; rows; echo "40,inf"; } >"$work/inf.csv"
{ echo "t,load"; rows; echo "40,3,9"; } >"$work/extra.csv"
{ echo "t,load"; rows; echo "40"; } >"$work/short.csv"
{ echo "t,load"; rows; } >"$work/ok.csv"
printf 't,load\n1,\0\0\xff\n' >"$work/binary.csv"
forecast=(--tasks forecast --models gru "${quick[@]}")
expect_fail "csv does not exist" "forecast: cannot open CSV file '.*/missing.csv'" -- compare "${forecast[@]}" --csv "$work/missing.csv" --column load "${out[@]}"
expect_fail "csv is a directory" "forecast: CSV path '.*/dir' is not a regular file" -- compare "${forecast[@]}" --csv "$work/dir" --column load "${out[@]}"
expect_fail "empty csv" "forecast: CSV file '.*/empty.csv' is empty" -- compare "${forecast[@]}" --csv "$work/empty.csv" --column load "${out[@]}"
expect_fail "header only" "has 0 values; at least 26 are needed" -- compare "${forecast[@]}" --csv "$work/header.csv" --column load "${out[@]}"
expect_fail "non-numeric cell" "line 42, column 'load': 'high' is not a number" -- compare "${forecast[@]}" --csv "$work/text.csv" --column load "${out[@]}"
expect_fail "NaN cell" "line 42, column 'load': 'nan' is not a finite number" -- compare "${forecast[@]}" --csv "$work/nan.csv" --column load "${out[@]}"
expect_fail "inf cell" "line 42, column 'load': 'inf' is not a finite number" -- train --task forecast --model gru --csv "$work/inf.csv" --column load "${save[@]}"
expect_fail "ragged row, extra field" "line 42, column 'load': the row has 3 fields but the header has 2" -- compare "${forecast[@]}" --csv "$work/extra.csv" --column load "${out[@]}"
expect_fail "ragged row, missing field" "line 42, column 'load': the row has only 1 fields" -- compare "${forecast[@]}" --csv "$work/short.csv" --column load "${out[@]}"
expect_fail "missing column" "column 'price' not found in CSV file '.*/ok.csv'; its columns are 't', 'load'" -- compare "${forecast[@]}" --csv "$work/ok.csv" --column price "${out[@]}"
expect_fail "no --column, several columns" "has several columns; choose one with --column \('t', 'load'\)" -- compare "${forecast[@]}" --csv "$work/ok.csv" "${out[@]}"
expect_fail "--column without --csv" "a column \('load'\) needs a CSV file" -- compare "${forecast[@]}" --column load "${out[@]}"
expect_fail "binary csv" "contains a NUL byte at offset 9 \\(is it a binary file\\?\\)" -- compare "${forecast[@]}" --csv "$work/binary.csv" --column load "${out[@]}"

echo "== checkpoints"
good=$work/good.ckpt
if ! "$unroll" train --task adding --model gru "${quick[@]}" --save "$good" >/dev/null 2>&1; then
  echo "FAIL cannot write the good checkpoint"; exit 1
fi
size=$(stat -c %s "$good")
head -c 5 "$good" >"$work/c_5bytes"
head -c 100 "$good" >"$work/c_header_cut"
head -c $((size - 10)) "$good" >"$work/c_data_cut"
: >"$work/c_empty"
echo "this is a text file, not a checkpoint" >"$work/c_text"
{ le64 $(((1 << 63) + 5)); tail -c +9 "$good"; } >"$work/c_negative_len"
{ le64 $((1 << 40)); tail -c +9 "$good"; } >"$work/c_huge_len"
rewrite "$good" "$work/c_bad_json" 's/^{/{nope/'
rewrite "$good" "$work/c_array" 's/.*/[1,2]/'
rewrite "$good" "$work/c_i32" '0,/"F32"/s//"I32"/'
rewrite "$good" "$work/c_f16" '0,/"F32"/s//"F16"/'
rewrite "$good" "$work/c_shape" '0,/"shape":\[1,8\]/s//"shape":[8,1]/'
rewrite "$good" "$work/c_format" 's/unroll-checkpoint-1/unroll-checkpoint-9/'
rewrite "$good" "$work/c_hidden9" 's/"extra.hidden":"8"/"extra.hidden":"9"/'
rewrite "$good" "$work/c_hidden_text" 's/"extra.hidden":"8"/"extra.hidden":"eight"/'
rewrite "$good" "$work/c_hidden_huge" 's/"extra.hidden":"8"/"extra.hidden":"99999999999"/'
rewrite "$good" "$work/c_hidden_neg" 's/"extra.hidden":"8"/"extra.hidden":"-8"/'
rewrite "$good" "$work/c_seq_huge" 's/"extra.seq_len":"6"/"extra.seq_len":"99999999999999"/'
rewrite "$good" "$work/c_model" 's/"extra.model":"gru"/"extra.model":"mamba"/'
rewrite "$good" "$work/c_model_rnn" 's/"extra.model":"gru"/"extra.model":"rnn"/'
rewrite "$good" "$work/c_task" 's/"extra.task":"adding"/"extra.task":"nosuch"/'
rewrite "$good" "$work/c_no_setting" 's/"extra.seq_len":"6",//'
rewrite "$good" "$work/c_text_gone" 's/"extra.text":""/"extra.text":"\/nonexistent\/book.txt"/; s/"extra.task":"adding"/"extra.task":"charlm"/'
expect_fail "checkpoint does not exist" "load_safetensors: '.*/nope.ckpt' does not exist" -- eval --checkpoint "$work/nope.ckpt"
expect_fail "checkpoint is a directory" "'.*/dir' is not a regular file" -- eval --checkpoint "$work/dir"
expect_fail "empty checkpoint" "is 0 bytes, shorter than the 8-byte little-endian header length" -- eval --checkpoint "$work/c_empty"
expect_fail "5-byte checkpoint" "is 5 bytes, shorter than the 8-byte" -- eval --checkpoint "$work/c_5bytes"
expect_fail "truncated in the header" "header length [0-9]+ is larger than the 92 bytes after the length prefix" -- eval --checkpoint "$work/c_header_cut"
expect_fail "truncated in the data" "run past the data section of" -- eval --checkpoint "$work/c_data_cut"
expect_fail "wrong magic (a text file)" "header length [0-9]+ exceeds the 104857600-byte limit" -- eval --checkpoint "$work/c_text"
expect_fail "negative header length" "header length 9223372036854775813 exceeds" -- eval --checkpoint "$work/c_negative_len"
expect_fail "huge header length" "header length 1099511627776 exceeds" -- eval --checkpoint "$work/c_huge_len"
expect_fail "bad JSON header" "header is not valid JSON" -- eval --checkpoint "$work/c_bad_json"
expect_fail "header not an object" "header is a JSON array, expected an object" -- eval --checkpoint "$work/c_array"
expect_fail "wrong dtype (I32 parameter)" "model parameter 'model.rnn.weight_ih_l0' has dtype I32, expected a float dtype" -- eval --checkpoint "$work/c_i32"
expect_fail "dtype size vs offsets (F16)" "has 192 bytes in data_offsets \[0, 192\], expected 96" -- eval --checkpoint "$work/c_f16"
expect_fail "tensor shape not the model's" "'model.head.weight': checkpoint \[8, 1\] vs model \[1, 8\]" -- eval --checkpoint "$work/c_shape"
expect_fail "unknown format" "metadata 'format' is 'unroll-checkpoint-9', expected 'unroll-checkpoint-1'" -- eval --checkpoint "$work/c_format"
expect_fail "settings not the tensors' (hidden 9)" "checkpoint \[24, 8\] vs model \[27, 9\]" -- eval --checkpoint "$work/c_hidden9"
expect_fail "settings not the tensors' (rnn)" "checkpoint \[24, 2\] vs model \[8, 2\]" -- eval --checkpoint "$work/c_model_rnn"
expect_fail "setting not a number" "setting 'hidden': expected an integer from 1 to 4096, got 'eight'" -- eval --checkpoint "$work/c_hidden_text"
expect_fail "setting out of range" "setting 'hidden': .*got '99999999999'" -- eval --checkpoint "$work/c_hidden_huge"
expect_fail "negative setting" "setting 'hidden': .*got '-8'" -- eval --checkpoint "$work/c_hidden_neg"
expect_fail "huge seq_len setting" "setting 'seq_len': expected an integer from 1 to 1000000" -- eval --checkpoint "$work/c_seq_huge"
expect_fail "unknown model in checkpoint" "checkpoint '.*/c_model': unknown model 'mamba'" -- eval --checkpoint "$work/c_model"
expect_fail "unknown task in checkpoint" "checkpoint '.*/c_task': unknown task 'nosuch'" -- eval --checkpoint "$work/c_task"
expect_fail "missing setting" "was not written by .unroll train. \(no 'seq_len' setting\)" -- eval --checkpoint "$work/c_no_setting"
expect_fail "checkpoint's text file gone" "charlm: text file '/nonexistent/book.txt' does not exist" -- eval --checkpoint "$work/c_text_gone"
expect_fail "eval on another task" "missing model parameter 'model.embedding.weight'" -- eval --checkpoint "$good" --task copy
expect_fail "sample from a truncated checkpoint" "run past the data section" -- sample --checkpoint "$work/c_data_cut"
expect_fail "resume from a truncated checkpoint" "header length [0-9]+ is larger than" -- train --task adding --model gru "${quick[@]}" --resume "$work/c_header_cut" "${save[@]}"
expect_fail "resume from a mismatched checkpoint" "--resume: load_checkpoint: .*/c_hidden9 does not match \\(nothing was loaded\\)" -- train --task adding --model gru "${quick[@]}" --resume "$work/c_hidden9" "${save[@]}"
# The untouched checkpoint still evaluates (the failures above are the edits').
cases=$((cases + 1))
if "$unroll" eval --checkpoint "$good" --sequences 16 2>&1 | grep -q '"mse":'; then
  echo "ok   the good checkpoint evaluates"
else
  echo "FAIL the good checkpoint does not evaluate"; failures=$((failures + 1))
fi

echo "bad input: $cases cases, $failures failed"
exit $((failures > 0))
