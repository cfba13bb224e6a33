"""Times the reference's CLIP under a recent PyTorch (its own venv: the PyPI torch, no torchvision), fp32 or with
torch.autocast("cpu", dtype=torch.bfloat16), printing JSON lines like reference_encode.py.

The reference's model code is imported from the reference venv's cn_clip without running its package __init__
(which needs torchvision); only model.py, modeling_bert.py and configuration_bert.py run.
Usage: python torch_encode.py CN_CLIP_DIR --precision fp32|bf16 --threads 2 [--image-batch 8 --text-batch 32]
"""
import argparse
import json
import os
import sys
import time
import types

import torch


def load_reference_model_code(package_dir):
    for name, path in [("cn_clip", os.path.dirname(package_dir)), ("cn_clip.clip", package_dir)]:
        module = types.ModuleType(name)
        module.__path__ = [path]
        sys.modules[name] = module
    sys.modules["cn_clip.clip"]._tokenizer = types.SimpleNamespace(vocab={"[PAD]": 0})
    from cn_clip.clip.model import CLIP
    return CLIP


def merged_config(package_dir, vision, text):
    config = {}
    for name in [vision, text]:
        with open(os.path.join(package_dir, "model_configs", name + ".json")) as f:
            config.update(json.load(f))
    if isinstance(config["vision_layers"], str):
        config["vision_layers"] = json.loads(config["vision_layers"])
    return config


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
    parser.add_argument("package_dir", help="the reference venv's site-packages/cn_clip/clip")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--vision-model", default="ViT-B-16")
    parser.add_argument("--text-model", default="RoBERTa-wwm-ext-base-chinese")
    parser.add_argument("--image-batch", type=int, default=8)
    parser.add_argument("--text-batch", type=int, default=32)
    parser.add_argument("--context-length", type=int, default=52)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    CLIP = load_reference_model_code(args.package_dir)
    config = merged_config(args.package_dir, args.vision_model, args.text_model)
    model = CLIP(**config).float().eval()
    resolution = config["image_resolution"]
    images = torch.randn(args.image_batch, 3, resolution, resolution)
    ids = torch.randint(1000, 8000, (args.text_batch, args.context_length))
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16")
    with torch.inference_mode(), autocast:
        for name, run, items in [("image", lambda: model.encode_image(images), args.image_batch),
                                 ("text", lambda: model.encode_text(ids), args.text_batch)]:
            seconds = timed(run, args.repeats)
            print(json.dumps({"bench": f"torch{torch.__version__.split('+')[0]}-{args.precision}-encode-{name}",
                              "seconds": seconds, "items_per_s": items / seconds}), flush=True)


if __name__ == "__main__":
    main()
