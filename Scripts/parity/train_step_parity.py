"""One full-size ViT-B-16 + RoBERTa-base fp32 training step, reference against `cnclip train-step-dump`.

The reference side follows Scripts/fixtures/gen_training.py: the reference's `get_loss` on a single-process gloo
group (the default aggregate path), the model wrapped in DistributedDataParallel, main.py's two AdamW groups,
`cosine_lr` during warm-up, the logit-scale clamp. Dropout probabilities are set to 0 (our side: dropout off).
The batch is 4 fixture images through the evaluation transform and 4 tokenized texts.

Compared: the loss and both in-batch accuracies, the gradients of a sample of named parameters across both
towers, the projections and logit_scale (‖Δg‖/‖g‖), and the same parameters after the AdamW step, both as
values (‖Δp‖/‖p‖) and as the step's update p_after − p_before (‖Δu‖/‖u‖).
"""
import math
import os
import subprocess
import tempfile
import types

import torch
import torch.distributed as dist
import torch.nn as nn
from PIL import Image

from cn_clip.clip import tokenize
from cn_clip.clip.model import CLIP
from cn_clip.clip.utils import image_transform
from cn_clip.training.scheduler import cosine_lr
from cn_clip.training.train import get_loss

from reference_common import merged_config

VISION, TEXT = "ViT-B-16", "RoBERTa-wwm-ext-base-chinese"
LR, BETAS, WD, WARMUP, TOTAL = 5e-4, (0.9, 0.98, 1e-6), 0.2, 5, 100
SAMPLE = [
    "visual.class_embedding", "visual.positional_embedding", "visual.conv1.weight", "visual.ln_pre.weight",
    "visual.transformer.resblocks.0.attn.in_proj_weight", "visual.transformer.resblocks.0.ln_1.bias",
    "visual.transformer.resblocks.5.mlp.c_fc.weight", "visual.transformer.resblocks.5.mlp.c_proj.bias",
    "visual.transformer.resblocks.11.attn.out_proj.weight", "visual.ln_post.weight", "visual.proj",
    "bert.embeddings.word_embeddings.weight", "bert.embeddings.position_embeddings.weight",
    "bert.embeddings.LayerNorm.weight", "bert.encoder.layer.0.attention.self.query.weight",
    "bert.encoder.layer.3.attention.self.value.bias", "bert.encoder.layer.6.intermediate.dense.weight",
    "bert.encoder.layer.11.output.dense.weight", "bert.encoder.layer.11.output.LayerNorm.bias",
    "text_projection", "logit_scale",
]
GRADIENT_TOLERANCE = 1e-4   # ‖Δg‖/‖g‖ per tensor (as TrainingParityTests)
# ‖Δp‖/‖p‖ after the step. Zero-initialised biases are their first update, lr·m̂/(√v̂+ε) ≈ ±lr per element, where
# elements with |g| ~ ε turn a 1e-5 gradient difference into ~1e-4 (measured 7.6e-5), hence the margin.
PARAMETER_TOLERANCE = 5e-4
UPDATE_TOLERANCE = 1e-3     # ‖Δu‖/‖u‖ of the step's update per tensor
LOSS_TOLERANCE = 1e-5       # relative


def relative(ours, reference):
    norm = float(reference.double().norm())
    difference = float((ours.double() - reference.double()).norm())
    return difference / norm if norm > 0 else difference


def reference_step(model, images, ids):
    """The reference's step 0: gradients of the sample, then the parameters after AdamW and the clamp."""
    torch.Tensor.cuda = lambda self, *args, **kwargs: self  # get_loss moves labels with .cuda(); CPU here
    store = tempfile.NamedTemporaryFile(delete=False)
    dist.init_process_group("gloo", init_method=f"file://{store.name}", rank=0, world_size=1)
    try:
        ddp = nn.parallel.DistributedDataParallel(model)
        exclude = lambda n: "bn" in n or "ln" in n or "bias" in n or "logit_scale" in n  # noqa: E731  (main.py)
        named = list(ddp.named_parameters())
        optimizer = torch.optim.AdamW(
            [{"params": [p for n, p in named if exclude(n)], "weight_decay": 0.},
             {"params": [p for n, p in named if not exclude(n)], "weight_decay": WD}],
            lr=LR, betas=BETAS[:2], eps=BETAS[2])
        scheduler = cosine_lr(optimizer, LR, WARMUP, TOTAL)
        args = types.SimpleNamespace(accum_freq=1, mask_ratio=0, distillation=False, aggregate=True,
                                     gather_with_grad=False, local_device_rank=0, report_training_batch_acc=True)
        ddp.train()
        lr = scheduler(0)
        optimizer.zero_grad()
        loss, acc = get_loss(ddp, images, ids, nn.CrossEntropyLoss(), nn.CrossEntropyLoss(), args)
        loss.backward()
        parameters = dict(model.named_parameters())
        grads = {name: parameters[name].grad.detach().clone() for name in SAMPLE}
        optimizer.step()
        model.logit_scale.data = torch.clamp(model.logit_scale.data, 0, 4.6052)
        finals = {name: parameters[name].detach().clone() for name in SAMPLE}
        return float(loss), float(acc["i2t"]), float(acc["t2i"]), lr, grads, finals
    finally:
        dist.destroy_process_group()
        os.unlink(store.name)


def check(binary, work, image_paths, texts):
    """Runs both sides; prints the differences; returns True when every one is within its tolerance."""
    config = merged_config(VISION, TEXT)
    config["text_hidden_dropout_prob"] = config["text_attention_probs_dropout_prob"] = 0.0
    torch.manual_seed(11)
    model = CLIP(**config)
    initial = {name: p.detach().clone() for name, p in model.named_parameters() if name in SAMPLE}
    checkpoint = os.path.join(work, "train-step-init.pt")
    torch.save({"epoch": 0, "step": 0, "state_dict": {"module." + k: v for k, v in model.state_dict().items()}},
               checkpoint)
    transform = image_transform(model.visual.input_resolution)
    images = torch.stack([transform(Image.open(p)) for p in image_paths[:4]])
    ids = tokenize(texts[:4], context_length=52)
    batch = os.path.join(work, "train-step-batch.pt")
    torch.save({"state_dict": {"images": images, "ids": ids}}, batch)

    loss, i2t, t2i, lr, grads, finals = reference_step(model, images, ids)

    dump = os.path.join(work, "train-step-ours.pt")
    command = [binary, "train-step-dump", "--vision-model", VISION, "--text-model", TEXT, "--resume", checkpoint,
               "--batch", batch, "--output", dump, "--lr", str(LR), "--beta1", str(BETAS[0]), "--beta2",
               str(BETAS[1]), "--eps", str(BETAS[2]), "--wd", str(WD), "--warmup", str(WARMUP),
               "--max-steps", str(TOTAL), "--step", "0"]
    for name in SAMPLE:
        command += ["--tensor", name]
    subprocess.run(command, check=True)
    ours = torch.load(dump)

    loss_error = abs(float(ours["loss"][0]) - loss) / abs(loss)
    print(f"train step {VISION}@{TEXT} batch {len(images)}: loss ours {float(ours['loss'][0]):.7f} "
          f"reference {loss:.7f} (relative diff {loss_error:.3g}); lr {lr:.3g}; "
          f"acc i2t {float(ours['acc_i2t'][0])}/{i2t}, t2i {float(ours['acc_t2i'][0])}/{t2i}")
    ok = loss_error <= LOSS_TOLERANCE and float(ours["acc_i2t"][0]) == i2t and float(ours["acc_t2i"][0]) == t2i
    ok = ok and math.isclose(float(ours["lr"][0]), lr, rel_tol=1e-6)
    worst = {"gradient": 0.0, "parameter": 0.0, "update": 0.0}
    for name in SAMPLE:
        errors = {
            "gradient": relative(ours["grad." + name], grads[name]),
            "parameter": relative(ours["final." + name], finals[name]),
            "update": relative(ours["final." + name] - initial[name], finals[name] - initial[name]),
        }
        print(f"  {name:58s} grad {errors['gradient']:.2e}  param {errors['parameter']:.2e}  "
              f"update {errors['update']:.2e}")
        for kind, error in errors.items():
            worst[kind] = max(worst[kind], error)
    ok = ok and worst["gradient"] <= GRADIENT_TOLERANCE and worst["parameter"] <= PARAMETER_TOLERANCE
    ok = ok and worst["update"] <= UPDATE_TOLERANCE
    print(f"train step: max relative diff gradients {worst['gradient']:.3g} (tolerance {GRADIENT_TOLERANCE}), "
          f"parameters {worst['parameter']:.3g} ({PARAMETER_TOLERANCE}), updates {worst['update']:.3g} "
          f"({UPDATE_TOLERANCE}) over {len(SAMPLE)} tensors")
    for path in (checkpoint, batch, dump):
        os.remove(path)
    return ok
