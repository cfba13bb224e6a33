"""Helpers shared by the scripts that run the reference: its merged model configs."""
import json
import os


def merged_config(vision, text):
    """The reference's `vision@text` config: the vision JSON with the text JSON's keys copied over it."""
    import cn_clip.clip as package
    root = os.path.join(os.path.dirname(package.__file__), "model_configs")
    with open(os.path.join(root, vision + ".json")) as f:
        config = json.load(f)
    with open(os.path.join(root, text + ".json")) as f:
        config.update(json.load(f))
    if isinstance(config["vision_layers"], str):
        config["vision_layers"] = json.loads(config["vision_layers"])
    return config
