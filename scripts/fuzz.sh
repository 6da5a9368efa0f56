#!/usr/bin/env bash
# Fuzzing the decoders (fuzz/, cargo-fuzz on the nightly toolchain).
#
#   scripts/fuzz.sh smoke [SECONDS]   every target for SECONDS (default 15) after replaying the
#                                     kept regression inputs: CI runs this
#   scripts/fuzz.sh campaign RUNS     every target for RUNS executions (RELIABILITY.md's figures)
#   scripts/fuzz.sh MODE N TARGET...  only those targets
#
# FUZZ_SANITIZER=none builds without AddressSanitizer (cargo-fuzz's default is address): about
# twice the executions a second, for a long campaign of a slow target. loglake has no unsafe code; what
# the targets find are panics and broken properties, which need no sanitizer. The smoke keeps it.
#
# Seeds come from events/ and the queries (scripts/fuzz_seeds.py); dictionaries of each format's
# tokens from fuzz/dictionaries/. An input that fails a target
# is left in fuzz/artifacts/<target>/; once fixed, copy it to fuzz/regressions/<target>/ so that
# every smoke replays it. Prints one line per target: executions, seconds, and the outcome.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-smoke}
targets=(cloudwatch_payload stream_record firehose_batch kpl line multiline query_file s3_object staging_parquet)
if [ $# -gt 2 ]; then targets=("${@:3}"); fi
target_dir="${CARGO_TARGET_DIR:-$PWD/target}/fuzz"
sanitizer=(--sanitizer "${FUZZ_SANITIZER:-address}")

# cargo-fuzz builds with sanitizers, which need the nightly toolchain.
if ! cargo +nightly --version >/dev/null 2>&1; then
  rustup toolchain install nightly --profile minimal
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo +nightly install cargo-fuzz --version 0.13.2 --locked
fi
python3 scripts/fuzz_seeds.py

case "$mode" in
  smoke) budget=(-max_total_time="${2:-15}") ;;
  campaign) budget=(-runs="${2:?campaign needs a number of executions}") ;;
  *) echo "usage: $0 smoke [SECONDS] | campaign RUNS" >&2; exit 2 ;;
esac

failed=0
for target in "${targets[@]}"; do
  regressions="fuzz/regressions/$target"
  # A target without seeds (staging_parquet edits a file it builds itself) starts from nothing.
  mkdir -p "$regressions" "fuzz/artifacts/$target" "fuzz/corpus/$target"
  log="$target_dir/$target.log"
  mkdir -p "$target_dir"
  # Replay every kept input first: -runs=0 runs each file of the folders once.
  if ! (cd fuzz && cargo +nightly fuzz run "${sanitizer[@]}" --target-dir "$target_dir" "$target" "../$regressions" -- -runs=0) >"$log" 2>&1; then
    echo "$target: a kept regression input fails (log: $log)"; tail -30 "$log"; failed=1; continue
  fi
  # A dictionary of the tokens the target's decoder branches on (fuzz/dictionaries/).
  case "$target" in
    kpl|query_file) dict=(-dict="dictionaries/$target.dict") ;;
    staging_parquet) dict=() ;;
    *) dict=(-dict=dictionaries/formats.dict) ;;
  esac
  start=$(date +%s)
  if (cd fuzz && cargo +nightly fuzz run "${sanitizer[@]}" --target-dir "$target_dir" "$target" "corpus/$target" -- \
        -rss_limit_mb=2048 -timeout=10 -max_len=65536 "${dict[@]}" "${budget[@]}") >"$log" 2>&1; then
    outcome=ok
  else
    outcome="FAILED: input in fuzz/artifacts/$target/ (log: $log)"; failed=1
    grep -E "panicked|ERROR|SUMMARY" "$log" | head -5
  fi
  runs=$(grep -oE 'Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' | tail -1 || true)
  if [ -z "$runs" ]; then runs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true); fi
  echo "$target: ${runs:-?} executions in $(( $(date +%s) - start )) s: $outcome"
done
exit $failed
