"""Times ONNX Runtime on the towers export_onnx.py wrote, fp32 or after quantize_dynamic (int8 weights, dynamic
per-tensor u8 activations), and prints one JSON line per tower like reference_encode.py.

Usage (in a venv with onnxruntime and onnx): python ort_encode.py ONNX_DIR --precision fp32|int8 --threads 2
"""
import argparse
import json
import os
import time

import numpy as np
import onnxruntime as ort


def timed(function, repeats):
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def model_path(folder, name, precision):
    path = os.path.join(folder, name + ".onnx")
    if precision == "fp32":
        return path
    quantized = os.path.join(folder, name + ".int8.onnx")
    if not os.path.exists(quantized):
        from onnxruntime.quantization import QuantType, quantize_dynamic
        quantize_dynamic(path, quantized, weight_type=QuantType.QInt8)
    return quantized


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--precision", choices=["fp32", "int8"], default="fp32")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    for name in ["image", "text"]:
        session = ort.InferenceSession(model_path(args.folder, name, args.precision), options,
                                       providers=["CPUExecutionProvider"])
        feed = session.get_inputs()[0]
        if name == "image":
            data = np.random.default_rng(0).standard_normal(feed.shape).astype(np.float32)
        else:
            data = np.random.default_rng(0).integers(1000, 8000, feed.shape).astype(np.int64)
        seconds = timed(lambda: session.run(None, {feed.name: data}), args.repeats)
        print(json.dumps({"bench": f"ort-{args.precision}-encode-{name}", "shape": feed.shape, "seconds": seconds,
                          "items_per_s": feed.shape[0] / seconds}), flush=True)


if __name__ == "__main__":
    main()
