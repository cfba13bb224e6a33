#!/usr/bin/env bash
# docs/search-page.png: the search page over the Fashion-MNIST fixture (Tests/Fixtures/search), as headless Chromium
# renders it after the query in QUERY. Regenerate after changing the page.
set -euo pipefail
CNCLIP=${CNCLIP:-.build/release/cnclip}
QUERY=${QUERY:-深色的T恤}
OUT=${OUT:-docs/search-page.png}
FIXTURE=Tests/Fixtures/search
WORK=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2> /dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
MODEL=(--model-config "$FIXTURE/fashion-clip.config.json" --vision-model fashion-vit --text-model fashion-bert
       --resume "$FIXTURE/fashion-clip.safetensors")
"$CNCLIP" index add --index "$WORK/fashion" "${MODEL[@]}" "$FIXTURE/images" 2> "$WORK/index.log"
"$CNCLIP" serve --index "$WORK/fashion" "${MODEL[@]}" --context-length 16 --port 0 2> "$WORK/serve.log" &
pid=$!
port=""
for _ in $(seq 200); do
  port=$(sed -n 's|.*serving .* on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$WORK/serve.log" | head -1)
  [ -n "$port" ] && break
  sleep 0.2
done
[ -n "$port" ] || { cat "$WORK/serve.log" >&2; exit 1; }
query=$(printf %s "$QUERY" | od -An -tx1 | tr -d ' \n' | sed 's/../%&/g')
mkdir -p "$(dirname "$OUT")"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$WORK/profile" --window-size=1100,820 \
  --virtual-time-budget=10000 --screenshot="$OUT" "http://127.0.0.1:$port/?q=$query" 2> /dev/null
echo "wrote $OUT" >&2
