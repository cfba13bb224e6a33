/// Which tensors the reference's `convert_weights` stores in fp16 (§1.6), decided from the state-dict key
/// (a leading `module.` is ignored): every floating tensor of the BERT tower; weight and bias of every Conv and
/// Linear layer (ViT `conv1`, attention `out_proj`, MLP `c_fc`/`c_proj`; RN50 `conv1…3`, `downsample.0`, the
/// attention pool's `k/q/v/c_proj`); attention `in_proj_weight`/`in_proj_bias`; `visual.proj`; `text_projection`.
/// Everything else (`logit_scale`, embeddings of the ViT, LayerNorm and BatchNorm tensors) stays fp32.
public enum ReferencePrecision {
    private static let convOrLinearModules: Set<String> = [
        "conv1", "conv2", "conv3", "out_proj", "c_fc", "c_proj", "k_proj", "q_proj", "v_proj",
    ]
    private static let attentionTensors: Set<String> = [
        "in_proj_weight", "in_proj_bias", "q_proj_weight", "k_proj_weight", "v_proj_weight", "bias_k", "bias_v",
    ]

    /// True when the reference keeps `key`'s tensor in fp16 after `convert_weights`.
    public static func isHalf(_ key: String) -> Bool {
        let name = key.hasPrefix("module.") ? String(key.dropFirst(7)) : key
        if name.hasPrefix("bert.") { return true }
        let parts = name.split(separator: ".").map(String.init)
        guard let last = parts.last else { return false }
        if last == "proj" || last == "text_projection" || attentionTensors.contains(last) { return true }
        guard last == "weight" || last == "bias", parts.count >= 2 else { return false }
        let module = parts[parts.count - 2]
        if convOrLinearModules.contains(module) { return true }
        return module == "0" && parts.count >= 3 && parts[parts.count - 3] == "downsample"
    }

    /// `stateDict` with the tensors `isHalf` names converted from fp32 to fp16, the rest unchanged.
    public static func halved(_ stateDict: StateDict) throws -> StateDict {
        try stateDict.mapTensors { key, tensor in
            guard tensor.dtype == .float32, isHalf(key) else { return tensor }
            do { return try tensor.converted(to: .float16) } catch {
                throw CheckpointError.unsupportedConversion(key: key, reason: "\(error)")
            }
        }
    }
}
