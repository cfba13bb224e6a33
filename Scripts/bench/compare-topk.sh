#!/usr/bin/env bash
# Times the reference's make_topk_predictions.py algorithm (on the CPU) against `cnclip make-topk-predictions` on the
# same generated feature files, checks that both write the same predictions, and prints the speed ratio.
#
#   Scripts/bench/compare-topk.sh [IMAGES [TEXTS [DIM]]]      (default 30000 5000 512)
#
# The reference script calls .cuda() on every tensor; a copy with those calls removed by sed runs from a throwaway
# directory under /tmp (the repository and the reference venv stay untouched). Needs `swift build -c release` and
# the reference venv (.venv-ref, see `make reference-venv`; override with REFERENCE_PYTHON).
set -euo pipefail
IMAGES=${1:-30000}
TEXTS=${2:-5000}
DIM=${3:-512}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PYTHON=${REFERENCE_PYTHON:-$ROOT/.venv-ref/bin/python}
CNCLIP=$ROOT/.build/release/cnclip
WORK=$(mktemp -d /tmp/compare-topk.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

"$CNCLIP" bench topk --images "$IMAGES" --texts "$TEXTS" --dim "$DIM" --write-features "$WORK"
REFERENCE_SCRIPT=$("$PYTHON" -c 'import cn_clip.eval, os; print(os.path.join(os.path.dirname(cn_clip.eval.__file__), "make_topk_predictions.py"))')
sed 's/\.cuda()//g' "$REFERENCE_SCRIPT" > "$WORK/make_topk_predictions_cpu.py"
if grep -q 'cuda' "$WORK/make_topk_predictions_cpu.py"; then echo "a CUDA call survived the sed" >&2; exit 1; fi

FILES=(--image-feats "$WORK/bench.img_feat.jsonl" --text-feats "$WORK/bench.txt_feat.jsonl" --top-k 10)
now() { date +%s.%N; }
start=$(now)
"$PYTHON" "$WORK/make_topk_predictions_cpu.py" "${FILES[@]}" --output "$WORK/reference.jsonl" > /dev/null 2> "$WORK/reference.log"
middle=$(now)
"$CNCLIP" make-topk-predictions "${FILES[@]}" --output "$WORK/ours.jsonl" > /dev/null 2> "$WORK/ours.log"
end=$(now)

reference=$(echo "$middle - $start" | bc -l)
ours=$(echo "$end - $middle" | bc -l)
echo "queries: $TEXTS, gallery: $IMAGES x $DIM, top-10, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf 'reference make_topk_predictions.py (CPU): %8.2f s\n' "$reference"
printf 'cnclip make-topk-predictions:             %8.2f s\n' "$ours"
printf 'speed-up: %.1fx (whole commands, JSON parsing included)\n' "$(echo "$reference / $ours" | bc -l)"
if cmp -s "$WORK/reference.jsonl" "$WORK/ours.jsonl"; then
    echo "predictions: identical"
else
    echo "predictions: DIFFER ($(diff "$WORK/reference.jsonl" "$WORK/ours.jsonl" | grep -c '^<') lines)"
    exit 1
fi
