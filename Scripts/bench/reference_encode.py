"""Times the reference's encode_image / encode_text on random weights, CPU fp32, and prints one JSON line each.

Usage: OPENBLAS_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE python reference_encode.py --vision-model ViT-B-16
       --text-model RoBERTa-wwm-ext-base-chinese --image-batch 8 --text-batch 32 [--threads 2] [--repeats 5]
"""
import argparse
import json
import time

import torch

from cn_clip.clip.model import CLIP
from reference_common import merged_config


def timed(function, repeats):
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vision-model", default="ViT-B-16")
    parser.add_argument("--text-model", default="RoBERTa-wwm-ext-base-chinese")
    parser.add_argument("--image-batch", type=int, default=8)
    parser.add_argument("--text-batch", type=int, default=32)
    parser.add_argument("--context-length", type=int, default=52)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-image", action="store_true")
    parser.add_argument("--skip-text", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = merged_config(args.vision_model, args.text_model)
    model = CLIP(**config).float().eval()
    resolution = config["image_resolution"]
    with torch.no_grad():
        if not args.skip_image:
            images = torch.randn(args.image_batch, 3, resolution, resolution)
            seconds = timed(lambda: model.encode_image(images), args.repeats)
            print(json.dumps({"bench": "reference-encode-image", "model": args.vision_model,
                              "shape": [args.image_batch, 3, resolution, resolution], "seconds": seconds,
                              "items_per_s": args.image_batch / seconds}), flush=True)
        if not args.skip_text:
            ids = torch.randint(1000, 8000, (args.text_batch, args.context_length))
            seconds = timed(lambda: model.encode_text(ids), args.repeats)
            print(json.dumps({"bench": "reference-encode-text", "model": args.text_model,
                              "shape": [args.text_batch, args.context_length], "seconds": seconds,
                              "items_per_s": args.text_batch / seconds}), flush=True)


if __name__ == "__main__":
    main()
