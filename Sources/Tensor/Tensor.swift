import Synchronization

/// A strided view over fp32 storage: the value every layer, checkpoint and image pipeline passes around.
///
/// Storage is always fp32 (compute precision); fp16 and bf16 exist only as storage formats for
/// checkpoints and are converted on the way in and out (see `HalfPrecision.swift`).
/// Views (`reshaped`, `transposed`, `permuted`, `sliced`) share storage; kernels that need contiguous
/// memory call `contiguous()` first.
public struct Tensor: @unchecked Sendable {
    /// Extent of each axis, outermost first.
    public let shape: [Int]
    /// Distance in elements between neighbours along each axis.
    public let strides: [Int]
    /// Index of the first element in `storage`.
    public let offset: Int
    /// The shared backing buffer.
    public let storage: TensorStorage

    /// Wraps existing storage; `shape` and `strides` must address only elements inside it.
    public init(storage: TensorStorage, shape: [Int], strides: [Int], offset: Int) {
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.offset = offset
    }

    /// A new contiguous tensor filled with zeros.
    public init(zeros shape: [Int]) {
        let count = shape.reduce(1, *)
        self.init(storage: TensorStorage(count: count), shape: shape, strides: Tensor.contiguousStrides(shape), offset: 0)
    }

    /// A new contiguous tensor whose every element the caller writes before anything reads it
    /// (kernels that overwrite their whole output skip the zero-filling pass this way).
    init(uninitialized shape: [Int]) {
        let count = shape.reduce(1, *)
        self.init(storage: TensorStorage(uninitializedCount: count), shape: shape,
                  strides: Tensor.contiguousStrides(shape), offset: 0)
    }

    /// A new contiguous tensor holding `data` in row-major order.
    /// - Throws: `TensorError.invalidShape` when `data.count` differs from the product of `shape`.
    public init(shape: [Int], data: [Float]) throws {
        let count = shape.reduce(1, *)
        guard shape.allSatisfy({ $0 >= 0 }), count == data.count else {
            throw TensorError.invalidShape(op: "Tensor(shape:data:)", shape: shape,
                                           reason: "needs \(count) values, got \(data.count)")
        }
        self.init(zeros: shape)
        data.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { storage.pointer.update(from: base, count: count) }
        }
    }

    /// A 0-dimensional tensor holding one value.
    public init(scalar: Float) {
        self.init(zeros: [])
        storage.pointer[0] = scalar
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// Number of axes.
    public var rank: Int { shape.count }

    /// True when the elements are laid out row-major without gaps, starting anywhere in storage.
    public var isContiguous: Bool { strides == Tensor.contiguousStrides(shape) || count <= 1 }

    /// Row-major strides for `shape`.
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= max(shape[axis], 1)
        }
        return strides
    }

    /// The elements in logical row-major order.
    public func toArray() -> [Float] {
        var result = [Float](repeating: 0, count: count)
        result.withUnsafeMutableBufferPointer { out in
            guard let base = out.baseAddress else { return }
            copyElements(to: base)
        }
        return result
    }

    /// Copies the elements in logical row-major order to `destination` (which must hold `count` floats).
    public func copyElements(to destination: UnsafeMutablePointer<Float>) {
        if isContiguous {
            destination.update(from: storage.pointer + offset, count: count)
            return
        }
        var written = 0
        forEachIndex { source in
            destination[written] = storage.pointer[source]
            written += 1
        }
    }

    /// Calls `body` with the storage index of every element, in logical row-major order.
    func forEachIndex(_ body: (Int) -> Void) {
        let n = count
        if n == 0 { return }
        if shape.isEmpty { body(offset); return }
        var index = [Int](repeating: 0, count: shape.count)
        var position = offset
        for _ in 0..<n {
            body(position)
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                position += strides[axis]
                if index[axis] < shape[axis] { break }
                position -= strides[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }
}

/// Reference-counted, 64-byte aligned fp32 buffer (large ones recycled through `BufferPool`).
public final class TensorStorage: @unchecked Sendable {
    /// Number of floats the buffer holds.
    public let count: Int
    /// Start of the buffer.
    public let pointer: UnsafeMutablePointer<Float>

    /// Whether `releaseContents()` gave the buffer back.
    private let released = Atomic<Bool>(false)

    /// Allocates `count` zeroed floats (fresh pages are not written, so they take no memory until used).
    public init(count: Int) {
        self.count = count
        let raw = BufferPool.allocateZeroed(bytes: max(count, 1) * MemoryLayout<Float>.stride)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    /// Allocates `count` floats without zero-filling them; the caller must write each before reading it.
    init(uninitializedCount count: Int) {
        self.count = count
        let raw = BufferPool.allocate(bytes: max(count, 1) * MemoryLayout<Float>.stride)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    /// Gives the buffer's memory back to the system for good (an fp32 weight whose int8 copy replaced it): any
    /// later read of `pointer` faults, so code that may still read it checks `isReleased` first. Buffers below
    /// the pooled size (1 MiB) stay as they are; returns whether the memory was released.
    @discardableResult
    public func releaseContents() -> Bool {
        guard !released.load(ordering: .acquiring) else { return true }
        guard BufferPool.discard(UnsafeMutableRawPointer(pointer), bytes: max(count, 1) * MemoryLayout<Float>.stride)
        else { return false }
        released.store(true, ordering: .releasing)
        return true
    }

    /// Whether `releaseContents()` released the buffer (its values are gone).
    public var isReleased: Bool { released.load(ordering: .acquiring) }

    deinit {
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        if released.load(ordering: .acquiring) {
            BufferPool.releaseDiscarded(UnsafeMutableRawPointer(pointer), bytes: bytes)
        } else {
            BufferPool.release(UnsafeMutableRawPointer(pointer), bytes: bytes)
        }
    }
}
