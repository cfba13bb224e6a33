import Checkpoint
import Tensor

/// PyTorch's `F.interpolate(mode="bicubic", align_corners=True)` of a square grid of vectors: Keys' cubic
/// convolution with A = −0.75, source coordinate = (g_old − 1)/(g_new − 1) · output index, neighbours outside the
/// grid clamped to its border, in fp32. Bit-equal to the reference's torch 1.13 CPU kernel as built with FMA
/// contraction (Debian's AVX2 build): the fraction t and the first steps of both kernel polynomials are fused
/// multiply-adds, and each 4-tap sum is fma(v₃, w₃, fma(v₂, w₂, fma(v₀, w₀, v₁·w₁))), over columns first, then rows.
public enum BicubicGridResize {
    /// The 4-tap weights and clamped source indices of every output position along one axis.
    private struct Taps {
        var indices: [Int] = []
        var weights: [Float] = []

        init(from input: Int, to output: Int) {
            let scale: Float = output > 1 ? Float(input - 1) / Float(output - 1) : 0
            for position in 0..<output {
                let floor = (scale * Float(position)).rounded(.down)
                let t = (-floor).addingProduct(scale, Float(position))
                weights += [Self.outer(t + 1), Self.inner(t), Self.inner(1 - t), Self.outer((1 - t) + 1)]
                let first = Int(floor) - 1
                indices += (0..<4).map { min(max(first + $0, 0), input - 1) }
            }
        }

        /// The four weights of output position `position`.
        func weights(at position: Int) -> (Float, Float, Float, Float) {
            (weights[position * 4], weights[position * 4 + 1], weights[position * 4 + 2], weights[position * 4 + 3])
        }

        private static let a: Float = -0.75

        /// The kernel on |x| ≤ 1: ((A + 2)·x − (A + 3))·x·x + 1.
        private static func inner(_ x: Float) -> Float {
            (-(a + 3)).addingProduct(a + 2, x) * x * x + 1
        }

        /// The kernel on 1 < |x| < 2: ((A·x − 5A)·x + 8A)·x − 4A.
        private static func outer(_ x: Float) -> Float {
            (8 * a).addingProduct((-5 * a).addingProduct(a, x), x) * x - 4 * a
        }
    }

    /// Resizes `grid`, laid out `[old·old, channels]` row-major (position y·old + x, then channel), to
    /// `[new·new, channels]`; `old` and `new` must be positive and `grid.count == old·old·channels`.
    public static func resize(_ grid: [Float], channels: Int, from old: Int, to new: Int) -> [Float] {
        let taps = Taps(from: old, to: new)
        var result = [Float](repeating: 0, count: new * new * channels)
        var rows = [Float](repeating: 0, count: 4 * channels)
        for y in 0..<new {
            for x in 0..<new {
                let columnWeights = taps.weights(at: x)
                for i in 0..<4 {
                    let sourceRow = taps.indices[y * 4 + i] * old
                    let s0 = (sourceRow + taps.indices[x * 4]) * channels, s1 = (sourceRow + taps.indices[x * 4 + 1]) * channels
                    let s2 = (sourceRow + taps.indices[x * 4 + 2]) * channels, s3 = (sourceRow + taps.indices[x * 4 + 3]) * channels
                    for c in 0..<channels {
                        rows[i * channels + c] = fourTapSum(grid[s0 + c], grid[s1 + c], grid[s2 + c], grid[s3 + c], columnWeights)
                    }
                }
                let rowWeights = taps.weights(at: y), out = (y * new + x) * channels
                for c in 0..<channels {
                    result[out + c] = fourTapSum(rows[c], rows[channels + c], rows[2 * channels + c], rows[3 * channels + c],
                                                 rowWeights)
                }
            }
        }
        return result
    }

    /// fma(v₃, w₃, fma(v₂, w₂, fma(v₀, w₀, v₁·w₁))).
    private static func fourTapSum(_ v0: Float, _ v1: Float, _ v2: Float, _ v3: Float,
                                   _ w: (Float, Float, Float, Float)) -> Float {
        (v1 * w.1).addingProduct(v0, w.0).addingProduct(v2, w.2).addingProduct(v3, w.3)
    }
}

extension CLIPModel {
    /// The state-dict key of a ViT's positional embedding.
    public static let positionalEmbeddingKey = "visual.positional_embedding"

    /// The reference's `resize_pos_embed` (REFERENCE §2.5), run by its `load()`/`restore_model` (prefix "") and
    /// training resume (prefix "module.") before the load: when `<prefix>visual.positional_embedding` has another
    /// number of rows than this ViT's g² + 1, row 0 (the class position) is kept and the other rows, read as a
    /// square grid, are resized bicubically (`BicubicGridResize`) to this model's grid; `log` receives
    /// `Resizing position embedding grid-size from (a, a) to (b, b)`. A ResNet model, a state dict without the key or
    /// one that already fits is returned unchanged. `create_model` and the evaluation scripts do not resize.
    /// - Throws: `CheckpointError.stateDictMismatch` for the key when its rows other than the first do not form a
    ///   square grid (where the reference's reshape fails, after logging the line).
    public func resizingPositionalEmbedding(in stateDict: StateDict, prefix: String = "",
                                            log: (String) -> Void) throws -> StateDict {
        let key = prefix + Self.positionalEmbeddingKey
        guard case let .transformer(tower) = visual, let stored = stateDict[key] else { return stateDict }
        let expected = tower.positionalEmbedding.shape
        let grid = config.imageResolution / tower.patchSize
        guard stored.shape.first != expected[0] else { return stateDict }
        let rows = stored.shape.first ?? 0
        let oldGrid = Int(Double(max(rows - 1, 0)).squareRoot())
        if !stored.shape.isEmpty {
            log("Resizing position embedding grid-size from (\(oldGrid), \(oldGrid)) to (\(grid), \(grid))")
        }
        guard stored.shape.count == 2, oldGrid > 0, oldGrid * oldGrid == rows - 1 else {
            throw CheckpointError.stateDictMismatch(missing: [], unexpected: [], misShaped: [
                .init(key: key, expected: expected, found: stored.shape)])
        }
        let width = stored.shape[1]
        let values = stored.floatValues()
        let resized = BicubicGridResize.resize(Array(values[width...]), channels: width, from: oldGrid, to: grid)
        let tensor = try Tensor(shape: [grid * grid + 1, width], data: Array(values[..<width]) + resized)
        var result = stateDict
        result[key] = try StoredTensor(tensor, as: stored.dtype.isFloatingPoint ? stored.dtype : .float32)
        return result
    }
}
