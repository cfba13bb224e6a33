#!/usr/bin/env bash
# Load test of `cnclip serve` with wrk on galleries of random features (Scripts/bench/serve.sh [ROWS...]):
# text queries at 1 and at $CONNECTIONS connections for $DURATION (p50/p99 latency, queries/s, errors), image
# queries on one connection, and the server's peak RSS against checkpoint + feature bytes. One JSON line per
# measurement on stdout; progress on stderr. Model: $VISION + $TEXT with random weights (a full-size checkpoint
# is written once under $BENCH_DIR); $PRECISION (fp32, int8, bf16) is passed to `cnclip serve --precision`.
set -euo pipefail
CNCLIP=${CNCLIP:-.build/release/cnclip}
VISION=${VISION:-ViT-B-16}
TEXT=${TEXT:-RoBERTa-wwm-ext-base-chinese}
DURATION=${DURATION:-60s}
CONNECTIONS=${CONNECTIONS:-64}
IMAGE_DURATION=${IMAGE_DURATION:-20s}
PRECISION=${PRECISION:-fp32}
export IMAGE=${IMAGE:-Tests/Fixtures/imaging/images/jpeg_baseline_320x240.jpg}
WORK=${BENCH_DIR:-${TMPDIR:-/tmp}/cnclip-bench-serve}
HERE=$(cd "$(dirname "$0")" && pwd)
command -v wrk > /dev/null || { echo "wrk is not installed (Debian package wrk; make deps installs it)" >&2; exit 1; }
mkdir -p "$WORK"
CHECKPOINT="$WORK/random-$VISION-$TEXT.safetensors"
MODEL_FLAGS=(--vision-model "$VISION" --text-model "$TEXT")

for rows in "${@:-10000 100000 1000000}"; do
  for n in $rows; do
    index="$WORK/gallery-$VISION-$n"
    if [ ! -d "$index" ]; then
      echo "== building a gallery of $n random rows" >&2
      "$CNCLIP" bench serve-gallery "${MODEL_FLAGS[@]}" --rows "$n" --index "$index" --checkpoint-out "$CHECKPOINT" >&2
    fi
    log="$WORK/serve-$n.log"
    "$CNCLIP" serve --index "$index" "${MODEL_FLAGS[@]}" --resume "$CHECKPOINT" --port 0 --reload-interval 0 --precision "$PRECISION" 2> "$log" &
    pid=$!
    trap 'kill $pid 2> /dev/null || true' EXIT
    port=""
    for _ in $(seq 600); do
      port=$(sed -n 's|.*serving .* on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$log" | head -1)
      [ -n "$port" ] && break
      kill -0 $pid 2> /dev/null || { cat "$log" >&2; exit 1; }
      sleep 0.5
    done
    [ -n "$port" ] || { echo "the server did not start" >&2; exit 1; }
    url="http://127.0.0.1:$port"
    echo "== $n rows: serving on $url" >&2
    wrk -t1 -c1 -d5s -s "$HERE/serve_text.lua" "$url" > /dev/null     # warm-up
    measure() {  # name, wrk arguments...
      local name=$1; shift
      local line
      line=$(wrk "$@" "$url" | tail -1)
      echo "{\"bench\": \"$name\", \"rows\": $n, \"model\": \"$VISION+$TEXT\", \"precision\": \"$PRECISION\", ${line#\{}"
    }
    measure text-c1 -t1 -c1 -d"$DURATION" --timeout 30s -s "$HERE/serve_text.lua"
    measure "text-c$CONNECTIONS" -t2 -c"$CONNECTIONS" -d"$DURATION" --timeout 30s -s "$HERE/serve_text.lua"
    measure image-c1 -t1 -c1 -d"$IMAGE_DURATION" --timeout 30s -s "$HERE/serve_image.lua"
    peak=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
    resident=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
    model_bytes=$(stat -c %s "$CHECKPOINT")
    feature_bytes=$(stat -c %s "$index"/features.f32)
    echo "{\"bench\": \"memory\", \"rows\": $n, \"precision\": \"$PRECISION\", \"peak_rss_mb\": $((peak / 1024)), \"rss_after_mb\": $((resident / 1024)), \"checkpoint_mb\": $((model_bytes / 1048576)), \"features_mb\": $((feature_bytes / 1048576)), \"over_model_plus_features_mb\": $(((peak * 1024 - model_bytes - feature_bytes) / 1048576))}"
    kill $pid
    wait $pid 2> /dev/null || true
    trap - EXIT
  done
done
