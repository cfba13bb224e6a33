#!/usr/bin/env bash
# ViT-B-16 (batch 8) and RoBERTa-base (batch 32) on random weights through every engine a user could pick on this
# CPU, alternating in each of ROUNDS rounds (default 3), with the median items/s and ratios:
#   the reference (Debian torch, .venv-ref), a recent PyTorch (PyPI, .venv-torch) fp32 and bf16 autocast,
#   ONNX Runtime (PyPI, .venv-peers) on the reference's towers exported to ONNX, fp32 and quantize_dynamic int8,
#   and cnclip --precision fp32 / int8 / bf16 (bf16 rows only where the CPU has AVX512_BF16 or AMX).
# Setup once: make reference-venv; python3 -m venv --system-site-packages .venv-torch && .venv-torch/bin/pip install
#   torch; python3 -m venv --system-site-packages .venv-peers && .venv-peers/bin/pip install onnxruntime onnx ml_dtypes
#   (ml_dtypes: onnxruntime.quantization needs it and does not pull it in).
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=${THREADS:-2}
rounds=${ROUNDS:-3}
ref=$(realpath "${REFERENCE_VENV:-.venv-ref}")  # absolute: the scripts below run in Scripts/bench
cnclip=.build/release/cnclip
[[ -x $cnclip ]] || swift build -c release --product cnclip >&2
onnx=${ONNX_DIR:-.build/peers-onnx}
package=$("$ref/bin/python" -c "import cn_clip.clip, os; print(os.path.dirname(cn_clip.clip.__file__))")
[[ -f $onnx/text.onnx ]] || (cd Scripts/bench && "$ref/bin/python" export_onnx.py "../../$onnx")
bf16=(); grep -qE 'avx512_bf16|amx_bf16' /proc/cpuinfo && bf16=(bf16)
export OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=$threads
log=$(mktemp)
for round in $(seq "$rounds"); do
    echo "round $round/$rounds" >&2
    (cd Scripts/bench && "$ref/bin/python" reference_encode.py --threads "$threads") | sed 's/^/reference /' >>"$log"
    for p in fp32 "${bf16[@]}"; do
        .venv-torch/bin/python Scripts/bench/torch_encode.py "$package" --precision "$p" --threads "$threads" \
            | sed "s/^/torch-$p /" >>"$log"
    done
    for p in fp32 int8; do
        .venv-peers/bin/python Scripts/bench/ort_encode.py "$onnx" --precision "$p" --threads "$threads" \
            | sed "s/^/ort-$p /" >>"$log"
    done
    for p in fp32 int8 "${bf16[@]}"; do
        CNCLIP_NUM_THREADS=$threads $cnclip bench encode --precision "$p" --json 2>/dev/null | sed "s/^/cnclip-$p /" >>"$log"
    done
done
lscpu | grep 'Model name' | sed 's/  */ /g'
echo "threads: $threads, rounds: $rounds"
python3 - "$log" <<'PY'
import json, statistics, sys
rates = {}
for line in open(sys.argv[1]):
    engine, payload = line.split(" ", 1)
    record = json.loads(payload)
    tower = "image" if "image" in record["bench"] else "text"
    rates.setdefault((engine, tower), []).append(record["items_per_s"])
for tower, label in [("image", "ViT-B-16 images/s, batch 8"), ("text", "RoBERTa-base texts/s, batch 32")]:
    print(label)
    ref = statistics.median(rates[("reference", tower)])
    ours = statistics.median(rates.get(("cnclip-fp32", tower), [float("nan")]))
    for (engine, t), values in rates.items():
        if t != tower:
            continue
        median = statistics.median(values)
        print(f"  {engine:<14} {median:8.2f}   x reference {median / ref:5.2f}   x cnclip-fp32 {median / ours:5.2f}"
              f"   (each: {' '.join(f'{v:.2f}' for v in values)})")
PY
rm -f "$log"
