#!/usr/bin/env bash
# make demo: train a small Chinese CLIP from scratch on Fashion-MNIST with Chinese captions, then evaluate it the
# reference's way (features, top-k both ways, recall, zero-shot) and write a results table and an HTML page.
# Sizes and steps can be changed through the environment (see the defaults below).
set -euo pipefail
CNCLIP=${CNCLIP:-.build/release/cnclip}
OUT=${DEMO_DIR:-.build/demo}
MNIST=${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
CONFIG=${DEMO_CONFIG:-Scripts/demo/fashion-clip.config.json}
TRAIN_COUNT=${DEMO_TRAIN_COUNT:-20000}
VALID_COUNT=${DEMO_VALID_COUNT:-1000}
TEST_COUNT=${DEMO_TEST_COUNT:-10000}
STEPS=${DEMO_STEPS:-1000}
BATCH=${DEMO_BATCH:-128}
LR=${DEMO_LR:-2e-3}
WARMUP=${DEMO_WARMUP:-50}
CONTEXT=16
start=$(date +%s)
stage() { echo "== [$(( $(date +%s) - start ))s] $*" >&2; }

rm -rf "$OUT" && mkdir -p "$OUT/idx"
stage "Fashion-MNIST → the reference's dataset format (base64 PNG TSV + caption JSONL)"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    gzip -dc "$MNIST/$f.gz" > "$OUT/idx/$f"
done
"$CNCLIP" demo prepare --fashion-mnist "$OUT/idx" --output "$OUT/data" \
    --train-count "$TRAIN_COUNT" --valid-count "$VALID_COUNT" --test-count "$TEST_COUNT"
stage "LMDB"
"$CNCLIP" build-lmdb --data_dir "$OUT/data" --splits train,valid > /dev/null

stage "train from scratch ($STEPS steps of $BATCH)"
"$CNCLIP" train --train-data "$OUT/data/lmdb/train" --val-data "$OUT/data/lmdb/valid" --model-config "$CONFIG" \
    --vision-model fashion-vit --text-model fashion-bert --logs "$OUT/logs" --name fashion \
    --batch-size "$BATCH" --valid-batch-size 100 --max-steps "$STEPS" --warmup "$WARMUP" --lr "$LR" \
    --beta1 0.9 --beta2 0.98 --eps 1e-6 --wd 0.1 --context-length "$CONTEXT" --log-interval 50 \
    --report-training-batch-acc --valid-step-interval 200 --save-epoch-frequency 0 --init-seed 1 \
    > "$OUT/train-summary.json"
CKPT="$OUT/logs/fashion/checkpoints/epoch_latest.pt"
train_done=$(date +%s)

stage "features of the validation images and queries"
"$CNCLIP" extract-features --extract-image-feats --extract-text-feats --image-data "$OUT/data/lmdb/valid/imgs" \
    --text-data "$OUT/data/valid_texts.jsonl" --image-feat-output-path "$OUT/data/valid_imgs.img_feat.jsonl" \
    --text-feat-output-path "$OUT/data/valid_texts.txt_feat.jsonl" --model-config "$CONFIG" --resume "$CKPT" \
    --context-length "$CONTEXT" --img-batch-size 250 > /dev/null
stage "top-k both ways and recall"
"$CNCLIP" make-topk-predictions --image-feats "$OUT/data/valid_imgs.img_feat.jsonl" \
    --text-feats "$OUT/data/valid_texts.txt_feat.jsonl" --top-k 10 --output "$OUT/valid_predictions.jsonl" > /dev/null
"$CNCLIP" make-topk-predictions-tr --image-feats "$OUT/data/valid_imgs.img_feat.jsonl" \
    --text-feats "$OUT/data/valid_texts.txt_feat.jsonl" --top-k 10 --output "$OUT/valid_tr_predictions.jsonl" > /dev/null
"$CNCLIP" evaluation "$OUT/data/valid_texts.jsonl" "$OUT/valid_predictions.jsonl" "$OUT/output.json" > /dev/null
"$CNCLIP" transform-ir-annotation-to-tr --input "$OUT/data/valid_texts.jsonl" > /dev/null
"$CNCLIP" evaluation-tr "$OUT/data/valid_texts.tr.jsonl" "$OUT/valid_tr_predictions.jsonl" "$OUT/output_tr.json" > /dev/null
stage "zero-shot classification of the $TEST_COUNT test images"
"$CNCLIP" zeroshot-eval --datapath "$OUT/data/zeroshot/test" --label-file "$OUT/data/label_cn.txt" \
    --dataset fashion-mnist --save-dir "$OUT" --model-config "$CONFIG" --resume "$CKPT" --img-batch-size 500 \
    --context-length "$CONTEXT" > "$OUT/zeroshot.log"
stage "report"
end=$(date +%s)
"$CNCLIP" demo report --text-to-image "$OUT/output.json" --image-to-text "$OUT/output_tr.json" \
    --zeroshot "$OUT/fashion-mnist.json" --zeroshot-data "$OUT/data/zeroshot/test" \
    --texts "$OUT/data/valid_texts.jsonl" --images "$OUT/data/valid_imgs.tsv" --predictions "$OUT/valid_predictions.jsonl" \
    --html "$OUT/demo.html" --log "$(ls "$OUT"/logs/fashion/out_*.log)" --curves "$OUT/curves.png" \
    --note "training: $(cat "$OUT/train-summary.json"), finished $(( train_done - start ))s into the demo" \
    --note "whole demo: $(( end - start ))s on $(nproc) cores; log: $(ls "$OUT"/logs/fashion/out_*.log)" \
    --note "page: $OUT/demo.html" | tee "$OUT/results.txt"
