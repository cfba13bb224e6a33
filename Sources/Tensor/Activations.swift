/// Pointwise activations and their backward passes. Forward functions take the input; backward functions
/// take the upstream gradient and whatever the derivative is cheapest from (the input, or the output for
/// tanh and sigmoid), as llm.c does.

private let inverseSqrt2: Float = 0.7071067811865476
private let inverseSqrt2Pi: Float = 0.3989422804014327
private let quickGELUSlope: Float = 1.702

/// Transcendental kernels cost ~10× a plain add per element, so they split across cores sooner.
private let transcendentalGrain = 8_192

/// GELU in the erf form BERT uses: x·Φ(x) = 0.5·x·(1 + erf(x/√2)).
public func gelu(_ x: Tensor) -> Tensor {
    mapElements(x, grain: transcendentalGrain) { v in
        let half: Float = 0.5
        let one: Float = 1
        return half * v * (one + vectorErf(v * inverseSqrt2))
    }
}

/// Backward of `gelu`: g·(Φ(x) + x·φ(x)).
public func geluBackward(_ gradOutput: Tensor, input: Tensor) throws -> Tensor {
    try zipElements(gradOutput, input, op: "geluBackward", grain: transcendentalGrain) { g, v in
        let half: Float = 0.5
        let one: Float = 1
        let cdf = half * (one + vectorErf(v * inverseSqrt2))
        let minusHalf: Float = -0.5
        let pdf = inverseSqrt2Pi * vectorExp(minusHalf * v * v)
        return g * (cdf + v * pdf)
    }
}

/// QuickGELU as the CLIP towers use it: x·σ(1.702·x).
public func quickGELU(_ x: Tensor) -> Tensor {
    mapElements(x, grain: transcendentalGrain) { v in v * vectorSigmoid(quickGELUSlope * v) }
}

/// Backward of `quickGELU`: g·(σ + 1.702·x·σ·(1 − σ)) with σ = σ(1.702·x).
public func quickGELUBackward(_ gradOutput: Tensor, input: Tensor) throws -> Tensor {
    try zipElements(gradOutput, input, op: "quickGELUBackward", grain: transcendentalGrain) { g, v in
        let s = vectorSigmoid(quickGELUSlope * v)
        let one: Float = 1
        return g * (s + quickGELUSlope * v * s * (one - s))
    }
}

/// max(x, 0).
public func relu(_ x: Tensor) -> Tensor {
    mapElements(x) { v in v.replacing(with: 0, where: v .< 0) }
}

/// Backward of `relu`: g where x > 0, else 0 (PyTorch's convention at 0).
public func reluBackward(_ gradOutput: Tensor, input: Tensor) throws -> Tensor {
    try zipElements(gradOutput, input, op: "reluBackward") { g, v in g.replacing(with: 0, where: v .<= 0) }
}

/// tanh x.
public func tanh(_ x: Tensor) -> Tensor {
    mapElements(x, grain: transcendentalGrain) { vectorTanh($0) }
}

/// Backward of `tanh`, from its output y: g·(1 − y²).
public func tanhBackward(_ gradOutput: Tensor, output: Tensor) throws -> Tensor {
    try zipElements(gradOutput, output, op: "tanhBackward") { g, y in
        let one: Float = 1
        return g * (one - y * y)
    }
}

/// The logistic function 1/(1 + e^-x).
public func sigmoid(_ x: Tensor) -> Tensor {
    mapElements(x, grain: transcendentalGrain) { vectorSigmoid($0) }
}

/// Backward of `sigmoid`, from its output y: g·y·(1 − y).
public func sigmoidBackward(_ gradOutput: Tensor, output: Tensor) throws -> Tensor {
    try zipElements(gradOutput, output, op: "sigmoidBackward") { g, y in
        let one: Float = 1
        return g * y * (one - y)
    }
}
