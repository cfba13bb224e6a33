"""Steps of hf_parity_full.sh, each run in the venv that has its library; prints each maximum difference and
fails above the tolerance (1e-4; 2e-4 for the reference's fp16-rounded load_from_name weights)."""
import json
import os
import shutil
import sys

import numpy as np

TEXTS = ["一只猫", "杰尼龟"]


def check(label, difference, tolerance):
    print(f"{label}: max abs difference {difference:.3g} (tolerance {tolerance:g})")
    if not difference <= tolerance:
        sys.exit(f"{label} exceeds {tolerance}")


def make(root, images):
    import torch
    from PIL import Image
    from transformers import (BertTokenizer, ChineseCLIPConfig, ChineseCLIPImageProcessor, ChineseCLIPModel,
                              ChineseCLIPProcessor)
    torch.manual_seed(0)
    config = ChineseCLIPConfig(
        text_config={"vocab_size": 21128, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
                     "intermediate_size": 3072},
        vision_config={"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
                       "num_attention_heads": 12, "patch_size": 16, "image_size": 224, "projection_dim": 512},
        projection_dim=512)
    model = ChineseCLIPModel(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "logit_scale":
                continue
            p.copy_(1 + 0.05 * torch.randn(p.shape) if "norm" in name and name.endswith("weight")
                    else 0.02 * torch.randn(p.shape))
    shutil.rmtree("hf", ignore_errors=True)
    os.makedirs("hf")
    shutil.copy(os.path.join(root, "Sources", "Tokenizer", "Resources", "vocab.txt"), "hf")
    squash = ChineseCLIPImageProcessor(size={"height": 224, "width": 224}, do_center_crop=False,
                                       crop_size={"height": 224, "width": 224})
    processor = ChineseCLIPProcessor(image_processor=squash, tokenizer=BertTokenizer("hf/vocab.txt"))
    processor.save_pretrained("hf")
    model.save_pretrained("hf", safe_serialization=True)
    pixels = processor(images=[Image.open(p).convert("RGB") for p in images], return_tensors="pt")["pixel_values"]
    encoded = processor.tokenizer(TEXTS, padding="max_length", max_length=52, return_tensors="pt")
    with torch.no_grad():
        image = model.get_image_features(pixel_values=pixels)
        text = model.get_text_features(input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"])
    np.save("image_raw.npy", image.numpy())
    np.save("image.npy", (image / image.norm(dim=-1, keepdim=True)).numpy())
    np.save("text.npy", (text / text.norm(dim=-1, keepdim=True)).numpy())
    np.save("pixels.npy", pixels.numpy())
    np.save("ids.npy", encoded["input_ids"].numpy())


def ours():
    for path, name in (("img_ours.jsonl", "image"), ("txt_ours.jsonl", "text")):
        features = np.array([json.loads(line)["feature"] for line in open(path)], dtype=np.float32)
        check(f"cnclip {name} features from the HF directory vs transformers", np.abs(features - np.load(f"{name}.npy")).max(), 1e-4)


def reference(images):
    import torch
    from PIL import Image
    import cn_clip.clip as clip
    model, preprocess = clip.load_from_name("b16.pt", device="cpu", vision_model_name="ViT-B-16",
                                            text_model_name="RoBERTa-wwm-ext-base-chinese", input_resolution=224)
    model.eval()
    with torch.no_grad():
        image = model.encode_image(torch.stack([preprocess(Image.open(p)) for p in images])).float()
        text = model.encode_text(clip.tokenize(TEXTS)).float()
    image = image / image.norm(dim=-1, keepdim=True)
    text = text / text.norm(dim=-1, keepdim=True)
    check("reference load_from_name(converted .pt) image vs transformers", np.abs(image.numpy() - np.load("image.npy")).max(), 2e-4)
    check("reference load_from_name(converted .pt) text vs transformers", np.abs(text.numpy() - np.load("text.npy")).max(), 2e-4)


def onnx_runtime():
    import onnx
    import onnxruntime
    for name in ("vision", "text"):
        onnx.checker.check_model(f"onnx/{name}.onnx")
    vision = onnxruntime.InferenceSession("onnx/vision.onnx", providers=["CPUExecutionProvider"])
    text = onnxruntime.InferenceSession("onnx/text.onnx", providers=["CPUExecutionProvider"])
    image = vision.run(None, {"image": np.load("pixels.npy")})[0]
    check("ONNX Runtime vision.onnx vs transformers", np.abs(image - np.load("image_raw.npy")).max(), 1e-4)
    features = text.run(None, {"input_ids": np.load("ids.npy")})[0]
    features = features / np.linalg.norm(features, axis=-1, keepdims=True)
    check("ONNX Runtime text.onnx vs transformers (normalised)", np.abs(features - np.load("text.npy")).max(), 1e-4)


if __name__ == "__main__":
    step = sys.argv[1]
    if step == "make":
        make(sys.argv[2], sys.argv[3:])
    elif step == "ours":
        ours()
    elif step == "reference":
        reference(sys.argv[2:])
    else:
        onnx_runtime()
