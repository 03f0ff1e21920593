#!/usr/bin/env bash
# Fuzzes the live HTTP APIs from their own descriptions: starts the services named (default:
# platform gateway proxy) on free loopback ports over
# temporary data (scripts/fuzz-services.ts), runs schemathesis against each `/openapi.json` with
# that service's credential (admin token / instance token / proxy token), and fails on any 5xx
# (`not_a_server_error`) or any answer its schema does not allow (`response_schema_conformance`).
# Instance traffic routed by the platform (tag `instance-traffic`) is the gateway's, fuzzed there;
# streams that end only when something happens (tag `event-stream`) are described, not fuzzed;
# nor is the jobs repo's sync, which goes to whatever remote the fuzz set (off this machine; its
# answers are tested against a real git server in packages/gateway/src/jobs/sync.test.ts).
#
#   bash scripts/fuzz-api.sh [platform] [gateway] [proxy]
#   FUZZ_EXAMPLES (per operation, 15), FUZZ_SEED (random), FUZZ_TIME (seconds per service: 60 platform, 40 others),
#   FUZZ_WORKERS (1), FUZZ_CHECKS (schemathesis checks; the two above by default), FUZZ_REPORT_DIR (keeps the output),
#   FUZZ_WARNINGS (schemathesis warnings to show: off), FUZZ_ARGS (more schemathesis options)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
SCHEMATHESIS_VERSION=4.32.0
venv="$root/.tools/venv"
services=("$@")
[ ${#services[@]} -gt 0 ] || services=(platform gateway)
examples=${FUZZ_EXAMPLES:-15}

if [ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
  echo "[fuzz] installing schemathesis $SCHEMATHESIS_VERSION into .tools/venv ..." >&2
  if [ ! -x "$venv/bin/pip" ] && ! python3 -m venv "$venv" >/dev/null 2>&1; then
    # Debian's own python3 makes venvs only with python3-venv.
    command -v apt-get >/dev/null || { echo "[fuzz] python3 cannot make a venv (install python3-venv)" >&2; exit 1; }
    rm -rf "$venv"
    apt-get install -y -q python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/matrixos-fuzz-XXXXXX")
launcher=""
stop() {
  if [ -n "$launcher" ] && kill -0 "$launcher" 2>/dev/null; then
    kill -TERM "$launcher"
    wait "$launcher" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop EXIT

echo "[fuzz] starting: ${services[*]}" >&2
bash scripts/node24.sh node scripts/fuzz-services.ts "${services[@]}" >"$work/services.json" 2>"$work/services.log" &
launcher=$!
for _ in $(seq 1 600); do
  [ -s "$work/services.json" ] && break
  kill -0 "$launcher" 2>/dev/null || break
  sleep 0.1
done
if [ ! -s "$work/services.json" ]; then
  echo "[fuzz] the services did not start:" >&2
  tail -30 "$work/services.log" >&2
  exit 1
fi

field() { python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))[sys.argv[2]]; print(s[sys.argv[3]] if sys.argv[3] != "headers" else "\n".join(f"{k}: {v}" for k, v in s["headers"].items()))' "$work/services.json" "$@"; }

# Every service must describe itself before any is fuzzed: a missing spec is a failure, not a skip.
for name in "${services[@]}"; do
  url=$(field "$name" url)
  status=$(curl -s -o "$work/$name.openapi.json" -w '%{http_code}' "$url/openapi.json" || true)
  if [ "$status" != 200 ] || ! python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["openapi"].startswith("3.")' "$work/$name.openapi.json" 2>/dev/null; then
    echo "[fuzz] FAIL: $name serves no OpenAPI description at $url/openapi.json (HTTP $status)" >&2
    exit 1
  fi
done

failed=()
summary=()
for name in "${services[@]}"; do
  url=$(field "$name" url)
  headers=(-H "Authorization: $(field "$name" auth)")
  while IFS= read -r h; do [ -n "$h" ] && headers+=(-H "$h"); done < <(field "$name" headers)
  seed=${FUZZ_SEED:-$RANDOM$RANDOM}
  # The platform's provision, start and pause wait for a real instance: it gets the most time.
  # All three together stay under 3 minutes on 2 cores.
  case $name in platform) max_time=${FUZZ_TIME:-60} ;; *) max_time=${FUZZ_TIME:-40} ;; esac
  echo "[fuzz] $name: schemathesis on $url/openapi.json (seed $seed, $examples examples per operation, $max_time s)" >&2
  set +e
  # From the work directory: schemathesis keeps its cache (.schemathesis/) in the current one.
  # One worker by default: with two, hypothesis's concurrent `ast.parse` hits CPython 3.11's
  # "AST constructor recursion depth mismatch" (a SystemError in the fuzzer, not in our services).
  (cd "$work" && "$venv/bin/schemathesis" run "$url/openapi.json" \
    --checks "${FUZZ_CHECKS:-not_a_server_error,response_schema_conformance}" \
    --exclude-tag instance-traffic --exclude-tag instance-api --exclude-tag event-stream --exclude-path /api/jobs/repo/sync ${FUZZ_ARGS:-} \
    --max-examples "$examples" --max-time "$max_time" --seed "$seed" \
    --workers "${FUZZ_WORKERS:-1}" --request-timeout 30 --no-color --warnings "${FUZZ_WARNINGS:-off}" ${FUZZ_REPORT_DIR:+--report ndjson --report-dir "$FUZZ_REPORT_DIR"} \
    "${headers[@]}") >"$work/$name.out" 2>&1
  rc=$?
  set -e
  [ -z "${FUZZ_REPORT_DIR:-}" ] || { mkdir -p "$FUZZ_REPORT_DIR"; cp "$work/$name.out" "$FUZZ_REPORT_DIR/"; }
  cases=$(grep -oE '[0-9]+ generated' "$work/$name.out" | grep -oE '[0-9]+' | tail -1 || true)
  selected=$(sed -nE 's/^  Selected: ([0-9]+)\/.*/\1/p' "$work/$name.out" | head -1)
  tested=$(sed -nE 's/^  Tested: ([0-9]+)$/\1/p' "$work/$name.out" | head -1)
  # schemathesis passes an empty run: a fuzz that ran out of time before an operation proves nothing.
  if [ $rc -eq 0 ] && { [ -z "$cases" ] || [ "${tested:-0}" != "${selected:-?}" ]; }; then
    echo "[fuzz] $name: only ${tested:-0} of ${selected:-?} operations were tested within $max_time s" >&2
    rc=1
  fi
  if [ $rc -ne 0 ]; then
    failed+=("$name")
    cat "$work/$name.out" >&2
    summary+=("$name: ${cases:-0} cases, FAILED (seed $seed)")
  else
    summary+=("$name: $cases cases over $tested operations, no 5xx, every answer matches its schema")
  fi
done
grep -h '5[0-9][0-9]\|unhandled' "$work/services.log" | head -20 >&2 || true

printf '[fuzz] %s\n' "${summary[@]}" >&2
if [ ${#failed[@]} -gt 0 ]; then
  echo "[fuzz] FAIL: ${failed[*]}" >&2
  exit 1
fi
