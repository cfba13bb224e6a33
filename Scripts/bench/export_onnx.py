"""Exports the reference's towers (random weights, as reference_encode.py builds them) to ONNX at fixed batch sizes.

Usage (in the reference venv, Debian torch): python export_onnx.py OUT_DIR --vision-model ViT-B-16
       --text-model RoBERTa-wwm-ext-base-chinese --image-batch 8 --text-batch 32
Writes OUT_DIR/image.onnx and OUT_DIR/text.onnx (fp32); ort_encode.py quantises them to int8.
"""
import argparse
import os

import torch

from cn_clip.clip.model import CLIP
from reference_common import merged_config


class Tower(torch.nn.Module):
    def __init__(self, model, image):
        super().__init__()
        self.model, self.image = model, image

    def forward(self, x):
        return self.model.encode_image(x) if self.image else self.model.encode_text(x)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--vision-model", default="ViT-B-16")
    parser.add_argument("--text-model", default="RoBERTa-wwm-ext-base-chinese")
    parser.add_argument("--image-batch", type=int, default=8)
    parser.add_argument("--text-batch", type=int, default=32)
    parser.add_argument("--context-length", type=int, default=52)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    config = merged_config(args.vision_model, args.text_model)
    model = CLIP(**config).float().eval()
    resolution = config["image_resolution"]
    images = torch.randn(args.image_batch, 3, resolution, resolution)
    ids = torch.randint(1000, 8000, (args.text_batch, args.context_length))
    with torch.no_grad():
        torch.onnx.export(Tower(model, True), (images,), os.path.join(args.out, "image.onnx"), opset_version=14,
                          input_names=["images"], output_names=["features"])
        torch.onnx.export(Tower(model, False), (ids,), os.path.join(args.out, "text.onnx"), opset_version=14,
                          input_names=["ids"], output_names=["features"])


if __name__ == "__main__":
    main()
