"""Full-size parity: random-weight ViT-B-16 + RoBERTa-base and RN50 + RBT3 checkpoints made by the reference,
their features computed by the reference (exact fp32 weights, as extract_features.py loads them), then
`cnclip encode-image` / `encode-text` on the same files; prints the max abs differences and fails above 1e-4.
Then one ViT-B-16 + RoBERTa-base training step (train_step_parity.py): loss, sampled gradients and the parameters
after AdamW against `cnclip train-step-dump`.

Usage: python parity_full.py CNCLIP_BINARY WORK_DIR   (run by `make parity-full`)
"""
import json
import os
import subprocess
import sys

import torch
from PIL import Image

from cn_clip.clip import tokenize
from cn_clip.clip.model import CLIP
from cn_clip.clip.utils import image_transform

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))
from reference_common import merged_config  # noqa: E402
import train_step_parity  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IMAGES = [os.path.join(ROOT, "Tests", "Fixtures", "imaging", "images", name) for name in (
    "jpeg_baseline_320x240.jpg", "png_palette_trns_80x80.png", "png_rgba_180x120.png", "webp_lossy_200x150.webp",
    "jpeg_gray_200x300.jpg")]
TEXTS = ["杰尼龟", "一件黑色的套头衫", "“双引号”里的 Hello World", "运动鞋 白色 2023新款"]
PAIRS = [("ViT-B-16", "RoBERTa-wwm-ext-base-chinese"), ("RN50", "RBT3-chinese")]
TOLERANCE = 1e-4


def randomise(model, generator):
    """Non-trivial weights everywhere (the default init zeroes RN50's bn3 and leaves BN statistics at 0/1)."""
    with torch.no_grad():
        for name, tensor in list(model.named_parameters()) + list(model.named_buffers()):
            if name.endswith("num_batches_tracked"):
                continue
            if name.endswith("running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) * 0.5 + 0.75)
            elif name.endswith("running_mean") or name.endswith("bn3.weight"):
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.05)


def features_of(ours_binary, kind, flags, items):
    out = subprocess.run([ours_binary, kind, *flags, "--", *items] if kind == "encode-text" else
                         [ours_binary, kind, *flags, *items], check=True, capture_output=True, text=True).stdout
    return torch.tensor([json.loads(line)["feature"] for line in out.splitlines()])


def main():
    binary, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    worst = 0.0
    texts = [t.lower().replace("“", "\"").replace("”", "\"") for t in TEXTS]
    for index, (vision, text) in enumerate(PAIRS):
        generator = torch.Generator().manual_seed(7 + index)
        torch.manual_seed(7 + index)
        model = CLIP(**merged_config(vision, text))
        randomise(model, generator)
        model.eval()
        path = os.path.join(work, f"{vision}.pt")
        torch.save({"epoch": 1, "step": 1, "state_dict": {"module." + k: v for k, v in model.state_dict().items()}}, path)
        transform = image_transform(model.visual.input_resolution)
        with torch.no_grad():
            images = torch.stack([transform(Image.open(p)) for p in IMAGES])
            image_ref = model.encode_image(images)
            ids = tokenize(texts, context_length=52)
            text_ref = model.encode_text(ids)
        image_ref = image_ref / image_ref.norm(dim=-1, keepdim=True)
        text_ref = text_ref / text_ref.norm(dim=-1, keepdim=True)
        flags = ["--vision-model", vision, "--text-model", text, "--resume", path]
        image_ours = features_of(binary, "encode-image", flags, IMAGES)
        text_ours = features_of(binary, "encode-text", flags, TEXTS)
        image_diff = float((image_ours - image_ref).abs().max())
        text_diff = float((text_ours - text_ref).abs().max())
        print(f"{vision}@{text}: image features max |diff| {image_diff:.3g}, text features max |diff| {text_diff:.3g}")
        worst = max(worst, image_diff, text_diff)
        os.remove(path)
    print("features:", "passed" if worst <= TOLERANCE else "FAILED", f"(max {worst:.3g}, tolerance {TOLERANCE})")
    step_ok = train_step_parity.check(binary, work, IMAGES, texts)
    print("train step:", "passed" if step_ok else "FAILED")
    passed = worst <= TOLERANCE and step_ok
    print("parity-full:", "passed" if passed else "FAILED")
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
