#!/usr/bin/env bash
# Zero-shot top-1 and the mean recalls of the demo's trained Fashion-MNIST model (after `make demo`) at each
# --precision: the demo's own evaluation stages, rerun on its checkpoint and data, one precision after another.
#   Scripts/bench/demo-quality.sh [DEMO_DIR (default .build/demo)] [PRECISIONS (default "fp32 int8")]
set -euo pipefail
cd "$(dirname "$0")/../.."
demo=${1:-.build/demo}
precisions=${2:-fp32 int8}
cnclip=${CNCLIP:-.build/release/cnclip}
config=Scripts/demo/fashion-clip.config.json
ckpt=$demo/logs/fashion/checkpoints/epoch_latest.pt
[[ -f $ckpt && -d $demo/data/zeroshot/test ]] || { echo "no demo run in $demo (make demo first)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
model=(--model-config "$config" --resume "$ckpt" --context-length 16)
for p in $precisions; do
    out=$work/$p
    mkdir -p "$out"
    "$cnclip" extract-features --extract-image-feats --extract-text-feats --image-data "$demo/data/lmdb/valid/imgs" \
        --text-data "$demo/data/valid_texts.jsonl" --image-feat-output-path "$out/img.jsonl" \
        --text-feat-output-path "$out/txt.jsonl" "${model[@]}" --img-batch-size 250 --precision "$p" >/dev/null 2>&1
    "$cnclip" make-topk-predictions --image-feats "$out/img.jsonl" --text-feats "$out/txt.jsonl" --top-k 10 \
        --output "$out/pred.jsonl" >/dev/null
    "$cnclip" make-topk-predictions-tr --image-feats "$out/img.jsonl" --text-feats "$out/txt.jsonl" --top-k 10 \
        --output "$out/pred_tr.jsonl" >/dev/null
    "$cnclip" evaluation "$demo/data/valid_texts.jsonl" "$out/pred.jsonl" "$out/t2i.json" >/dev/null
    "$cnclip" evaluation-tr "$demo/data/valid_texts.tr.jsonl" "$out/pred_tr.jsonl" "$out/i2t.json" >/dev/null
    "$cnclip" zeroshot-eval --datapath "$demo/data/zeroshot/test" --label-file "$demo/data/label_cn.txt" \
        --dataset fashion-mnist --save-dir "$out" "${model[@]}" --img-batch-size 500 --precision "$p" \
        >"$out/zeroshot.log" 2>&1
    top1=$(sed -n 's/^zeroshot-top1: //p' "$out/zeroshot.log")
    t2i=$(python3 -c 'import json,sys; print("%.2f" % json.load(open(sys.argv[1]))["score"])' "$out/t2i.json")
    i2t=$(python3 -c 'import json,sys; print("%.2f" % json.load(open(sys.argv[1]))["score"])' "$out/i2t.json")
    echo "$p: zero-shot top-1 $top1, text->image mean recall $t2i, image->text mean recall $i2t"
done
