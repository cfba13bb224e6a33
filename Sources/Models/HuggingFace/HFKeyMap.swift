import Checkpoint

/// The one table between this model's state-dict names (the reference's, unprefixed) and transformers'
/// `ChineseCLIPModel` names, used in both directions.
///
/// Most tensors only change name; three kinds change layout, keeping every element's bits:
/// the two projections are stored transposed (transformers keeps them as `nn.Linear` weights `[out, in]`), and a
/// ViT block's packed `attn.in_proj_weight`/`in_proj_bias` are transformers' `q_proj`, `k_proj`, `v_proj` stacked
/// along dimension 0 in that order.
///
/// Keys transformers may carry that the features never use are accepted and ignored (`isIgnoredHFKey`): the BERT
/// pooler (a `ChineseCLIPTextModel` built with its pooling layer), and the `position_ids` / `token_type_ids`
/// buffers older versions saved (they hold `arange` and zeros, which this model computes itself).
public enum HFKeyMap {
    /// How one of our tensors is made from transformers' tensors.
    public enum Relation: Sendable, Equatable {
        /// The same tensor under another name.
        case same
        /// Ours is the transpose of transformers' (a 2-D tensor).
        case transposed
        /// Ours stacks transformers' tensors along dimension 0, in the order listed.
        case stackedRows
    }

    /// One of our tensors and the transformers tensors it corresponds to.
    public struct Mapping: Sendable, Equatable {
        public let ours: String
        public let theirs: [String]
        public let relation: Relation
    }

    /// Whole-name renames outside the repeated blocks.
    private static let topLevel: [String: (String, Relation)] = [
        "text_projection": ("text_projection.weight", .transposed),
        "logit_scale": ("logit_scale", .same),
        "visual.class_embedding": ("vision_model.embeddings.class_embedding", .same),
        "visual.positional_embedding": ("vision_model.embeddings.position_embedding.weight", .same),
        "visual.proj": ("visual_projection.weight", .transposed),
        "visual.conv1.weight": ("vision_model.embeddings.patch_embedding.weight", .same),
        "visual.ln_pre.weight": ("vision_model.pre_layrnorm.weight", .same),
        "visual.ln_pre.bias": ("vision_model.pre_layrnorm.bias", .same),
        "visual.ln_post.weight": ("vision_model.post_layernorm.weight", .same),
        "visual.ln_post.bias": ("vision_model.post_layernorm.bias", .same),
    ]

    /// Names inside one ViT residual block (after `visual.transformer.resblocks.<i>.` ⇄ `vision_model.encoder.layers.<i>.`).
    private static let visionBlock: [String: [String]] = [
        "attn.in_proj_weight": ["self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight"],
        "attn.in_proj_bias": ["self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias"],
        "attn.out_proj.weight": ["self_attn.out_proj.weight"],
        "attn.out_proj.bias": ["self_attn.out_proj.bias"],
        "ln_1.weight": ["layer_norm1.weight"],
        "ln_1.bias": ["layer_norm1.bias"],
        "mlp.c_fc.weight": ["mlp.fc1.weight"],
        "mlp.c_fc.bias": ["mlp.fc1.bias"],
        "mlp.c_proj.weight": ["mlp.fc2.weight"],
        "mlp.c_proj.bias": ["mlp.fc2.bias"],
        "ln_2.weight": ["layer_norm2.weight"],
        "ln_2.bias": ["layer_norm2.bias"],
    ]

    private static let ourBlockPrefix = "visual.transformer.resblocks."
    private static let theirBlockPrefix = "vision_model.encoder.layers."
    /// The BERT tower keeps BERT's own names in both: `bert.X` ⇄ `text_model.X`.
    private static let ourTextPrefix = "bert."
    private static let theirTextPrefix = "text_model."

    /// The transformers tensors that make our tensor `name`; nil for a name with no transformers counterpart
    /// (the ModifiedResNet's, which `ChineseCLIPModel` cannot hold).
    public static func mapping(for name: String) -> Mapping? {
        if let (theirs, relation) = topLevel[name] { return Mapping(ours: name, theirs: [theirs], relation: relation) }
        if name.hasPrefix(ourTextPrefix) {
            return Mapping(ours: name, theirs: [theirTextPrefix + name.dropFirst(ourTextPrefix.count)], relation: .same)
        }
        guard name.hasPrefix(ourBlockPrefix) else { return nil }
        let rest = name.dropFirst(ourBlockPrefix.count)
        guard let dot = rest.firstIndex(of: "."), let theirs = visionBlock[String(rest[rest.index(after: dot)...])] else {
            return nil
        }
        let prefix = theirBlockPrefix + rest[..<dot] + "."
        return Mapping(ours: name, theirs: theirs.map { prefix + $0 }, relation: theirs.count > 1 ? .stackedRows : .same)
    }

    /// True for transformers keys that are accepted and ignored (see the type's note).
    public static func isIgnoredHFKey(_ key: String) -> Bool {
        key.hasPrefix("text_model.pooler.") || key.hasSuffix(".position_ids") || key.hasSuffix(".token_type_ids")
    }

    /// True for keys of ours that have no place in transformers and are dropped on export (`bert.pooler.*`,
    /// which some reference checkpoints carry and every loader ignores).
    public static func isIgnoredOwnKey(_ key: String) -> Bool { key.hasPrefix("bert.pooler.") }

    /// The sizes transformers' tensors must have for our tensor of size `shape`, in `mapping.theirs` order.
    static func theirShapes(for shape: [Int], mapping: Mapping) -> [[Int]] {
        switch mapping.relation {
        case .same: return [shape]
        case .transposed: return [shape.reversed()]
        case .stackedRows:
            let parts = mapping.theirs.count
            let rows = (shape.first ?? 0) / parts
            return Array(repeating: [rows] + shape.dropFirst(), count: parts)
        }
    }

    /// Our tensor from transformers' ones.
    /// - Throws: `CheckpointError.unsupportedConversion` when the parts cannot be combined (rank, dtype or size).
    static func ours(from parts: [StoredTensor], relation: Relation, ours name: String) throws -> StoredTensor {
        do {
            switch relation {
            case .same: return parts[0]
            case .transposed:
                let view = try parts[0].transposed2D()
                return try StoredTensor(dtype: view.dtype, shape: view.shape, contiguousBytes: view.contiguousBytes())
            case .stackedRows: return try StoredTensor.concatenatingRows(parts)
            }
        } catch {
            throw CheckpointError.unsupportedConversion(key: name, reason: error.description)
        }
    }

    /// transformers' tensors from ours, in `mapping.theirs` order (views, no copies).
    static func theirs(from tensor: StoredTensor, mapping: Mapping) throws -> [StoredTensor] {
        do {
            switch mapping.relation {
            case .same: return [tensor]
            case .transposed: return [try tensor.transposed2D()]
            case .stackedRows:
                let parts = mapping.theirs.count
                guard let rows = tensor.shape.first, rows % parts == 0 else {
                    throw CheckpointError.unsupportedConversion(
                        key: mapping.ours, reason: "size \(tensor.shape) does not split into \(parts) equal row blocks")
                }
                let size = rows / parts
                return try (0..<parts).map { try tensor.rows($0 * size ..< ($0 + 1) * size) }
            }
        } catch let error as TensorLayoutError {
            throw CheckpointError.unsupportedConversion(key: mapping.ours, reason: error.description)
        }
    }
}
