#!/usr/bin/env bash
# One fp32 training step of the reference (PyTorch CPU, 2 threads) and of cnclip on the same shapes, back to back:
# seconds per step, pairs/s, peak resident memory, and the speed ratio. Each configuration runs in its own
# processes so peak memory is per configuration. Usage: Scripts/bench/compare-train.sh (needs `make reference-venv`).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${REFERENCE_VENV:-.venv-ref}
threads=${THREADS:-2}
repeats=${REPEATS:-3}
cnclip=.build/release/cnclip
[[ -x $cnclip ]] || swift build -c release --product cnclip >&2

compare() { # label reference-json ours-json
    python3 - "$1" "$2" "$3" <<'PY'
import json, sys
name, ref, ours = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
print(f"{name:<58} reference {ref['seconds']:7.2f} s/step {ref['peak_mb']:6d} MB   "
      f"cnclip {ours['seconds']:7.2f} s/step {ours['peak_mb']:6d} MB   speed-up {ref['seconds'] / ours['seconds']:5.2f}x")
PY
}

run() { # vision text batch [flags...]
    local vision=$1 text=$2 batch=$3 reference ours
    shift 3
    reference=$(OPENBLAS_NUM_THREADS=$threads OMP_WAIT_POLICY=PASSIVE "$venv/bin/python" Scripts/bench/reference_train.py \
        --vision-model "$vision" --text-model "$text" --batch "$batch" --threads "$threads" --repeats "$repeats" "$@")
    ours=$(CNCLIP_NUM_THREADS=$threads $cnclip bench train --vision-model "$vision" --text-model "$text" \
        --batch "$batch" --repetitions "$repeats" --warmup 1 --json "$@")
    compare "$vision + $text, batch $batch $*" "$reference" "$ours"
}

echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2
run ViT-B-16 RoBERTa-wwm-ext-base-chinese 8
run ViT-B-16 RoBERTa-wwm-ext-base-chinese 8 --grad-checkpointing
run ViT-B-16 RoBERTa-wwm-ext-base-chinese 8 --freeze-vision
run RN50 RBT3-chinese 16
