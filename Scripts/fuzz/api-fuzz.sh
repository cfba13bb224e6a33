#!/usr/bin/env bash
# `make test-api-fuzz`: schemathesis (PyPI, in a git-ignored venv) generates requests from the service's own
# /openapi.json against a live `cnclip serve` (tiny fixture model, fixture images indexed in a temporary folder) and
# fails on any 5xx; then the server must still answer /health. Bounded by API_FUZZ_EXAMPLES per operation.
set -euo pipefail
CNCLIP=${CNCLIP:-.build/release/cnclip}
VENV=${FUZZ_VENV:-.venv-fuzz}
EXAMPLES=${API_FUZZ_EXAMPLES:-60}
if [ ! -x "$VENV/bin/schemathesis" ]; then
  python3 -m venv --system-site-packages "$VENV"
  "$VENV/bin/pip" install -q schemathesis==4.32.5
fi
WORK=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2> /dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
MODEL=(--model-config Tests/Fixtures/models/tiny-vit-bert2.config.json --vision-model tiny-vit --text-model tiny-bert
       --resume Tests/Fixtures/models/tiny-vit-bert2.fp32.pt)
"$CNCLIP" index add --index "$WORK/index" "${MODEL[@]}" Tests/Fixtures/imaging/images 2> "$WORK/index.log"
"$CNCLIP" serve --index "$WORK/index" "${MODEL[@]}" --port 0 --max-upload-bytes 2000000 --request-timeout 5 \
  2> "$WORK/serve.log" &
pid=$!
port=""
for _ in $(seq 200); do
  port=$(sed -n 's|.*serving .* on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$WORK/serve.log" | head -1)
  [ -n "$port" ] && break
  kill -0 "$pid" 2> /dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
  sleep 0.2
done
[ -n "$port" ] || { echo "cnclip serve did not start" >&2; exit 1; }
start=$(date +%s)
status=0
"$VENV/bin/schemathesis" run "http://127.0.0.1:$port/openapi.json" --checks not_a_server_error \
  --max-examples "$EXAMPLES" --workers 2 --request-timeout 30 --generation-deterministic --no-color || status=$?
echo "schemathesis: exit $status after $(( $(date +%s) - start )) s" >&2
curl -fsS "http://127.0.0.1:$port/health" > /dev/null || { echo "the server no longer answers /health" >&2; exit 1; }
grep -E "(error|Fatal|crash)" "$WORK/serve.log" >&2 || true
exit $status
