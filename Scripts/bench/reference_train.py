"""Times one fp32 training step of the reference on CPU (random weights, random batch) and prints one JSON line.

A step is what cn_clip/training/train.py does per batch with accum-freq 1 and precision fp32: zero_grad, the
forward pass and `get_loss` (single process, `--skip-aggregate`), backward, AdamW with main.py's parameter groups,
and the logit-scale clamp. Peak memory is the process's maximum resident set size.

Usage: OPENBLAS_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE python reference_train.py --vision-model ViT-B-16
       --text-model RoBERTa-wwm-ext-base-chinese --batch 8 [--freeze-vision] [--grad-checkpointing] [--threads 2]
"""
import argparse
import json
import resource
import time
import types

import torch
import torch.nn as nn

from cn_clip.clip.model import CLIP
from reference_common import merged_config
from cn_clip.training.train import get_loss

DEFAULTS = {"RN50": (0.9, 0.999, 1e-8)}  # params.py; the ViTs use (0.9, 0.98, 1e-6)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vision-model", default="ViT-B-16")
    parser.add_argument("--text-model", default="RoBERTa-wwm-ext-base-chinese")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--context-length", type=int, default=52)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--freeze-vision", action="store_true")
    parser.add_argument("--grad-checkpointing", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.Tensor.cuda = lambda self, *a, **k: self  # get_loss moves its labels with .cuda()
    config = merged_config(args.vision_model, args.text_model)
    model = CLIP(**config).float()
    if args.grad_checkpointing:
        model.set_grad_checkpointing()
    if args.freeze_vision:
        for _, p in model.visual.named_parameters():
            p.requires_grad = False
    exclude = lambda n: "bn" in n or "ln" in n or "bias" in n or "logit_scale" in n  # noqa: E731
    named = [("module." + n, p) for n, p in model.named_parameters()]
    beta1, beta2, eps = DEFAULTS.get(args.vision_model, (0.9, 0.98, 1e-6))
    optimizer = torch.optim.AdamW(
        [{"params": [p for n, p in named if exclude(n) and p.requires_grad], "weight_decay": 0.},
         {"params": [p for n, p in named if not exclude(n) and p.requires_grad], "weight_decay": 0.2}],
        lr=5e-4, betas=(beta1, beta2), eps=eps)
    loss_args = types.SimpleNamespace(accum_freq=1, mask_ratio=0, distillation=False, aggregate=False,
                                      local_device_rank=0, report_training_batch_acc=False)
    resolution = config["image_resolution"]
    images = torch.randn(args.batch, 3, resolution, resolution)
    ids = torch.randint(1000, 8000, (args.batch, args.context_length))

    def step():
        model.train()
        if args.freeze_vision and isinstance(config["vision_layers"], list):
            for m in model.visual.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.eval()
        optimizer.zero_grad()
        loss, _ = get_loss(model, images, ids, nn.CrossEntropyLoss(), nn.CrossEntropyLoss(), loss_args)
        loss.backward()
        optimizer.step()
        model.logit_scale.data = torch.clamp(model.logit_scale.data, 0, 4.6052)

    step()
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    seconds = sorted(times)[len(times) // 2]
    print(json.dumps({"bench": "reference-train", "vision": args.vision_model, "text": args.text_model,
                      "batch": args.batch, "freeze_vision": args.freeze_vision,
                      "grad_checkpointing": args.grad_checkpointing, "seconds": seconds,
                      "items_per_s": args.batch / seconds,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}), flush=True)


if __name__ == "__main__":
    main()
