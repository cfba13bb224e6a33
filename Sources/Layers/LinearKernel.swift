import Synchronization
import Tensor

/// A product that stands in for a `Linear`'s fp32 GEMM at inference: int8 or bf16 arithmetic on weights prepared
/// once (the `Quantized` target makes them). It computes what the layer computes, x·Wᵀ + b, in its own precision.
public protocol LinearKernel: Sendable {
    /// y `[..., out]` for x `[..., in]`.
    func callAsFunction(_ x: Tensor) throws -> Tensor
}

/// Where a `Linear` finds the kernel that replaces its fp32 product, if any. A reference shared by every copy of the
/// layer (attention blocks keep copies of their projections), so installing a kernel once reaches all of them.
public final class LinearKernelSlot: Sendable {
    private let installed = Mutex<(any LinearKernel)?>(nil)

    public init() {}

    /// The kernel in use, or nil for the fp32 product.
    public var kernel: (any LinearKernel)? {
        installed.withLock { $0 }
    }

    /// Replaces the kernel (nil: back to fp32).
    public func install(_ kernel: (any LinearKernel)?) {
        installed.withLock { $0 = kernel }
    }
}
