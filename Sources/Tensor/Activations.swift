/// Pointwise activations and their backward passes. Forward functions take the input; backward functions
/// take the upstream gradient and whatever the derivative is cheapest from (the input, or the output for
/// tanh and sigmoid), as llm.c does.

private let inverseSqrt2Pi: Float = 0.3989422804014327
private let quickGELUSlope: Float = 1.702

/// Transcendental kernels cost ~10× a plain add per element, so they split across cores sooner.
private let transcendentalGrain = 8_192

/// GELU in the erf form BERT uses: x·Φ(x) = 0.5·x·(1 + erf(x/√2)), with Φ from `vectorNormalCDF`.
public func gelu(_ x: Tensor) -> Tensor { mapElements(x, grain: transcendentalGrain, GELUKernel()) }

private struct GELUKernel: UnaryLaneKernel {
    @inline(__always) func callAsFunction(_ v: FloatVector) -> FloatVector { v * vectorNormalCDF(v) }
}

/// Backward of `gelu`: g·(Φ(x) + x·φ(x)).
public func geluBackward(_ gradOutput: Tensor, input: Tensor) throws -> Tensor {
    try zipElements(gradOutput, input, op: "geluBackward", grain: transcendentalGrain, GELUBackwardKernel())
}

private struct GELUBackwardKernel: BinaryLaneKernel {
    @inline(__always) func callAsFunction(_ g: FloatVector, _ v: FloatVector) -> FloatVector {
        let minusHalf: Float = -0.5
        let pdf = inverseSqrt2Pi * vectorExpNonPositive(minusHalf * v * v)
        return g * (vectorNormalCDF(v) + v * pdf)
    }
}

/// QuickGELU as the CLIP towers use it: x·σ(1.702·x).
public func quickGELU(_ x: Tensor) -> Tensor { mapElements(x, grain: transcendentalGrain, QuickGELUKernel()) }

private struct QuickGELUKernel: UnaryLaneKernel {
    @inline(__always) func callAsFunction(_ v: FloatVector) -> FloatVector { v * vectorSigmoid(quickGELUSlope * v) }
}

/// Backward of `quickGELU`: g·(σ + 1.702·x·σ·(1 − σ)) with σ = σ(1.702·x).
public func quickGELUBackward(_ gradOutput: Tensor, input: Tensor) throws -> Tensor {
    try zipElements(gradOutput, input, op: "quickGELUBackward", grain: transcendentalGrain, QuickGELUBackwardKernel())
}

private struct QuickGELUBackwardKernel: BinaryLaneKernel {
    @inline(__always) func callAsFunction(_ g: FloatVector, _ v: FloatVector) -> FloatVector {
        let s = vectorSigmoid(quickGELUSlope * v)
        let one: Float = 1
        return g * (s + quickGELUSlope * v * s * (one - s))
    }
}

/// max(x, 0).
public func relu(_ x: Tensor) -> Tensor { mapElements(x, ReLUKernel()) }

private struct ReLUKernel: UnaryLaneKernel {
    @inline(__always) func callAsFunction(_ v: FloatVector) -> FloatVector { v.replacing(with: 0, where: v .< 0) }
}

/// max(a + b, 0) in one pass (a residual sum followed by ReLU); a and b must have the same shape.
/// - Throws: `TensorError.shapeMismatch` when the shapes differ.
public func addingReLU(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    try zipElements(a, b, op: "addingReLU", AddReLUKernel())
}

private struct AddReLUKernel: BinaryLaneKernel {
    @inline(__always) func callAsFunction(_ x: FloatVector, _ y: FloatVector) -> FloatVector {
        let sum = x + y
        return sum.replacing(with: 0, where: sum .< 0)
    }
}

/// Backward of `relu`: g where x > 0, else 0 (PyTorch's convention at 0).
public func reluBackward(_ gradOutput: Tensor, input: Tensor) throws -> Tensor {
    try zipElements(gradOutput, input, op: "reluBackward", ReLUBackwardKernel())
}

private struct ReLUBackwardKernel: BinaryLaneKernel {
    @inline(__always) func callAsFunction(_ g: FloatVector, _ v: FloatVector) -> FloatVector { g.replacing(with: 0, where: v .<= 0) }
}

/// tanh x.
public func tanh(_ x: Tensor) -> Tensor { mapElements(x, grain: transcendentalGrain, TanhKernel()) }

private struct TanhKernel: UnaryLaneKernel {
    @inline(__always) func callAsFunction(_ x: FloatVector) -> FloatVector { vectorTanh(x) }
}

/// Backward of `tanh`, from its output y: g·(1 − y²).
public func tanhBackward(_ gradOutput: Tensor, output: Tensor) throws -> Tensor {
    try zipElements(gradOutput, output, op: "tanhBackward", TanhBackwardKernel())
}

private struct TanhBackwardKernel: BinaryLaneKernel {
    @inline(__always) func callAsFunction(_ g: FloatVector, _ y: FloatVector) -> FloatVector {
        let one: Float = 1
        return g * (one - y * y)
    }
}

/// The logistic function 1/(1 + e^-x).
public func sigmoid(_ x: Tensor) -> Tensor { mapElements(x, grain: transcendentalGrain, SigmoidKernel()) }

private struct SigmoidKernel: UnaryLaneKernel {
    @inline(__always) func callAsFunction(_ x: FloatVector) -> FloatVector { vectorSigmoid(x) }
}

/// Backward of `sigmoid`, from its output y: g·y·(1 − y).
public func sigmoidBackward(_ gradOutput: Tensor, output: Tensor) throws -> Tensor {
    try zipElements(gradOutput, output, op: "sigmoidBackward", SigmoidBackwardKernel())
}

private struct SigmoidBackwardKernel: BinaryLaneKernel {
    @inline(__always) func callAsFunction(_ g: FloatVector, _ y: FloatVector) -> FloatVector {
        let one: Float = 1
        return g * y * (one - y)
    }
}
