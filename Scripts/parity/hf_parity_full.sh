#!/usr/bin/env bash
# Full-size Hugging Face / ONNX check (minutes, ~3 GB of files; not in `make test`): a random-weight ViT-B-16 +
# RoBERTa-base ChineseCLIP directory made by transformers, then
#   1. our encode-image / encode-text from the directory against transformers' features,
#   2. `cnclip convert DIR b16.pt` loaded by the reference's `load_from_name` (strict) against transformers,
#   3. `cnclip export-onnx` run by ONNX Runtime (onnx.checker first) against transformers.
# Usage: hf_parity_full.sh CNCLIP HF_VENV REFERENCE_VENV WORKDIR
set -euo pipefail
cnclip=$(realpath "$1"); hf_python=$(realpath "$2")/bin/python; ref_python=$(realpath "$3")/bin/python; work=$4
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
mkdir -p "$work"; cd "$work"
images=("$root/Tests/Fixtures/hf/images/image3.png" "$root/Tests/Fixtures/hf/images/image1.png")
texts=("一只猫" "杰尼龟")
"$hf_python" "$here/hf_parity_full.py" make "$root" "${images[@]}"
"$cnclip" encode-image --resume hf "${images[@]}" > img_ours.jsonl
"$cnclip" encode-text --resume hf "${texts[@]}" > txt_ours.jsonl
"$hf_python" "$here/hf_parity_full.py" ours
"$cnclip" convert hf b16.pt > /dev/null
"$ref_python" "$here/hf_parity_full.py" reference "${images[@]}"
"$cnclip" export-onnx --resume hf --output-dir onnx > /dev/null
"$hf_python" "$here/hf_parity_full.py" onnx
