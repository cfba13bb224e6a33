#!/usr/bin/env bash
# Runs the reference (PyTorch CPU, 2 threads, OpenBLAS pthreads) and cnclip back to back on the same shapes and
# prints items/s for both and the ratio. Usage: Scripts/bench/compare-reference.sh [encode] (needs `make reference-venv`).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${REFERENCE_VENV:-.venv-ref}
threads=${THREADS:-2}
cnclip=.build/release/cnclip
[[ -x $cnclip ]] || swift build -c release --product cnclip >&2

ratio() { # name reference-json ours-json
    python3 - "$1" "$2" "$3" <<'PY'
import json, sys
name, ref, ours = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
print(f"{name:<48} reference {ref['items_per_s']:9.2f}/s   cnclip {ours['items_per_s']:9.2f}/s   ratio {ours['items_per_s'] / ref['items_per_s']:5.2f}x")
PY
}

run_encode() { # vision text image-batch text-batch
    local reference ours
    reference=$(OPENBLAS_NUM_THREADS=$threads OMP_WAIT_POLICY=PASSIVE "$venv/bin/python" Scripts/bench/reference_encode.py \
        --vision-model "$1" --text-model "$2" --image-batch "$3" --text-batch "$4" --threads "$threads")
    ours=$(CNCLIP_NUM_THREADS=$threads $cnclip bench encode --vision-model "$1" --text-model "$2" \
        --image-batch "$3" --text-batch "$4" --json)
    ratio "$1 images, batch $3" "$(grep encode-image <<<"$reference")" "$(grep encode-image <<<"$ours")"
    ratio "$2 texts, batch $4" "$(grep encode-text <<<"$reference")" "$(grep encode-text <<<"$ours")"
}

case "${1:-encode}" in
    encode)
        run_encode ViT-B-16 RoBERTa-wwm-ext-base-chinese 8 32
        run_encode RN50 RBT3-chinese 8 32
        ;;
    *) echo "unknown comparison: $1 (known: encode)" >&2; exit 2 ;;
esac
