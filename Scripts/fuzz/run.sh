#!/usr/bin/env bash
# Runs the checkpoint fuzzer for SECONDS (default 300) on a corpus seeded from Tests/Fixtures/checkpoint.
# Usage: Scripts/fuzz/run.sh [SECONDS] [extra libFuzzer flags]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_TO_RUN=${1:-300}
shift || true
BINARY=$(Scripts/fuzz/build.sh | tail -1)
CORPUS=.build/fuzz/corpus
mkdir -p "$CORPUS"
# Seeds: each fixture behind its mode byte (0: .pt, 1: bare data.pkl, 2: .safetensors).
for file in Tests/Fixtures/checkpoint/*.pt; do
    { printf '\x00'; cat "$file"; } > "$CORPUS/pt-$(basename "$file")"
    python3 - "$file" "$CORPUS/pkl-$(basename "$file")" <<'PY'
import sys, zipfile
try:
    with zipfile.ZipFile(sys.argv[1]) as z:
        name = next(n for n in z.namelist() if n.endswith("/data.pkl"))
        open(sys.argv[2], "wb").write(b"\x01" + z.read(name))
except Exception:
    pass  # the broken fixtures have no readable data.pkl
PY
done
{ printf '\x02'; cat Tests/Fixtures/checkpoint/state_dict.safetensors; } > "$CORPUS/st-state_dict.safetensors"
mkdir -p .build/fuzz/artifacts
"$BINARY" "$CORPUS" -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix=.build/fuzz/artifacts/ "$@"
