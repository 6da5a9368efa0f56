#!/usr/bin/env bash
# The test command. On a fresh machine it installs what the tests need (a venv with moto,
# pyarrow, DuckDB, cargo-lambda and cfn-lint), starts moto in server mode on 127.0.0.1, runs
# every check and test, and stops moto again.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv=${LOGLAKE_VENV:-$root/.venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
step() { printf '\n== %s\n' "$*"; }

step "python venv ($venv)"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
export PATH="$venv/bin:$PATH"

step "static checks: rustfmt, module graph, clippy, sample events, cfn-lint (informational checks too)"
cargo fmt --all -- --check
python scripts/check_modules.py
cargo clippy --quiet --workspace --all-targets -- -D warnings
python events/generate.py --check
python scripts/make_kpl_fixtures.py --check
cfn-lint --include-checks I -- template.yaml

step "the template as deployed: sam validate --lint, checkov on the SAM-expanded template"
template_venv=${LOGLAKE_TEMPLATE_VENV:-$venv-template}
[ -x "$template_venv/bin/python" ] || python3 -m venv "$template_venv"
"$template_venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-template.txt
PATH="$template_venv/bin:$PATH" "$template_venv/bin/python" scripts/check_template.py

step "moto server"
port=$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
moto_log=$(mktemp)
moto_server -H 127.0.0.1 -p "$port" >"$moto_log" 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null || true' EXIT
up() { python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "http://127.0.0.1:$port/moto-api/" 2>/dev/null; }
for _ in $(seq 1 100); do
  up && break
  sleep 0.2
done
up || { echo "moto did not start:"; cat "$moto_log"; exit 1; }
echo "moto on 127.0.0.1:$port"
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
  AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
  LOGLAKE_S3_FORCE_PATH_STYLE=true LOGLAKE_TEST_PYTHON="$venv/bin/python" LOGLAKE_REQUIRE_INTEGRATION=1
unset AWS_PROFILE AWS_SESSION_TOKEN

# Real samples written by others, beside the checkout (never copied into the project).
if [ -d "$root/../shared/corpus" ]; then
  export LOGLAKE_CORPUS="$root/../shared/corpus" LOGLAKE_REQUIRE_CORPUS=1
else
  echo "note: no ../shared/corpus beside the checkout: the corpus check is skipped"
fi

step "cargo tests (unit, pipeline, robustness, corpus, moto integration, schema)"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi

step "loglake demo, read back with DuckDB"
demo=$(mktemp -d)
# The binary the tests built (`cargo run -p loglake-cli` resolves features for the CLI alone and
# would build DataFusion a second time; the README measures that command from a fresh clone).
loglake="$CARGO_TARGET_DIR/debug/loglake"
[ -x "$loglake" ] || cargo build --quiet -p loglake-cli
"$loglake" demo --lake "$demo/lake"
"$loglake" schema --table logs-all --lake "$demo/lake" >"$demo/logs_all.sql"
python scripts/check_demo.py "$demo/lake" "$demo/logs_all.sql"

step "the functions through the Lambda runtime API (cargo lambda watch + invoke)"
scripts/lambda_runtime_test.sh

step "fuzz smoke: every fuzz target for 10 s, after replaying its kept inputs (scripts/fuzz.sh)"
scripts/fuzz.sh smoke 10

step "all checks passed"
