#!/usr/bin/env bash
# Runs the reference (PyTorch CPU, 2 threads, OpenBLAS pthreads) and cnclip back to back on the same shapes and
# prints items/s for both and the ratio. The pair runs ROUNDS times (default 3), alternating, and the medians are
# compared, so a slow moment of the machine does not decide the ratio. Usage: Scripts/bench/compare-reference.sh
# [encode] (needs `make reference-venv`).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${REFERENCE_VENV:-.venv-ref}
threads=${THREADS:-2}
cnclip=.build/release/cnclip
[[ -x $cnclip ]] || swift build -c release --product cnclip >&2

rounds=${ROUNDS:-3}

ratio() { # name, then alternating reference-json ours-json lines (one pair per round)
    python3 - "$@" <<'PY'
import json, statistics, sys
name, lines = sys.argv[1], [json.loads(line) for line in sys.argv[2:]]
ref = [line['items_per_s'] for line in lines[0::2]]
ours = [line['items_per_s'] for line in lines[1::2]]
r, o = statistics.median(ref), statistics.median(ours)
each = " ".join(f"{b / a:.2f}" for a, b in zip(ref, ours))
print(f"{name:<48} reference {r:9.2f}/s   cnclip {o:9.2f}/s   ratio {o / r:5.2f}x   (median of {len(ref)} rounds; each: {each})")
PY
}

run_encode() { # vision text image-batch text-batch
    local reference ours images=() texts=()
    for _ in $(seq "$rounds"); do
        reference=$(OPENBLAS_NUM_THREADS=$threads OMP_WAIT_POLICY=PASSIVE "$venv/bin/python" Scripts/bench/reference_encode.py \
            --vision-model "$1" --text-model "$2" --image-batch "$3" --text-batch "$4" --threads "$threads")
        ours=$(CNCLIP_NUM_THREADS=$threads $cnclip bench encode --vision-model "$1" --text-model "$2" \
            --image-batch "$3" --text-batch "$4" --json)
        images+=("$(grep encode-image <<<"$reference")" "$(grep encode-image <<<"$ours")")
        texts+=("$(grep encode-text <<<"$reference")" "$(grep encode-text <<<"$ours")")
    done
    ratio "$1 images, batch $3" "${images[@]}"
    ratio "$2 texts, batch $4" "${texts[@]}"
}

case "${1:-encode}" in
    encode)
        run_encode ViT-B-16 RoBERTa-wwm-ext-base-chinese 8 32
        run_encode RN50 RBT3-chinese 8 32
        ;;
    *) echo "unknown comparison: $1 (known: encode)" >&2; exit 2 ;;
esac
