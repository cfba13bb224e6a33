import Foundation
import Tensor

/// Raw little-endian elements of one storage; several tensors may view the same storage (compare by identity).
public final class StoredStorage: Sendable {
    /// Element type of every element.
    public let dtype: StoredDType
    /// The elements' bytes, little-endian, `count * dtype.byteSize` long.
    public let bytes: Data

    /// Wraps `bytes`; a trailing partial element is ignored.
    public init(dtype: StoredDType, bytes: Data) {
        self.dtype = dtype
        self.bytes = bytes
    }

    /// Number of whole elements.
    public var count: Int { bytes.count / dtype.byteSize }

    /// Asks the kernel to reclaim the whole pages of `bytes` once they are read (`MADV_PAGEOUT`: a file mapping's
    /// pages are dropped, anonymous ones swapped where there is swap), so that a checkpoint's file pages and their
    /// decoded copies do not both count towards the peak resident size. Non-destructive: a later read brings the
    /// pages back.
    public func pageOut() {
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            let start = (Int(bitPattern: base) + page - 1) / page * page
            let end = (Int(bitPattern: base) + buffer.count) / page * page
            guard end > start, let pointer = UnsafeMutableRawPointer(bitPattern: start) else { return }
            _ = madvise(pointer, end - start, MADV_PAGEOUT)
        }
    }
}

/// One tensor of a checkpoint as stored: dtype, shape, strides and offset over a (possibly shared) storage.
///
/// Keeps the stored dtype (fp16, int64 …) so a file round-trips unchanged; `tensor()` gives the fp32 `Tensor`
/// computation uses and `int64Values()` the exact integers of an integer tensor.
public struct StoredTensor: Sendable, Equatable {
    /// Largest element count a view that repeats storage elements (a zero stride) may expand to.
    public static let maximumRepeatedViewCount = 1 << 24
    /// Most dimensions a tensor may have (torch's own limit).
    public static let maximumRank = 64

    /// The storage this tensor views.
    public let storage: StoredStorage
    /// First element's index in `storage`.
    public let offset: Int
    /// Extent of each axis, outermost first.
    public let shape: [Int]
    /// Distance in elements between neighbours along each axis.
    public let strides: [Int]

    /// Element type.
    public var dtype: StoredDType { storage.dtype }
    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
    /// True when the elements lie row-major without gaps from `offset`.
    public var isContiguous: Bool { count <= 1 || strides == Tensor.contiguousStrides(shape) }

    /// A view over `storage`. Throws a description of the problem (used by readers to name the file) when the
    /// layout is negative, overflows, or addresses elements beyond the storage.
    public init(storage: StoredStorage, offset: Int, shape: [Int], strides: [Int]) throws(TensorLayoutError) {
        guard shape.count <= Self.maximumRank else {
            throw TensorLayoutError("tensor has \(shape.count) dimensions, more than \(Self.maximumRank)")
        }
        guard shape.count == strides.count else {
            throw TensorLayoutError("size \(shape) and stride \(strides) differ in length")
        }
        guard offset >= 0, shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }) else {
            throw TensorLayoutError("negative offset, size or stride (offset \(offset), size \(shape), stride \(strides))")
        }
        var count = 1
        var lastIndex = offset
        for (extent, stride) in zip(shape, strides) {
            let (product, productOverflow) = count.multipliedReportingOverflow(by: extent)
            let (reach, reachOverflow) = max(extent - 1, 0).multipliedReportingOverflow(by: stride)
            let (sum, sumOverflow) = lastIndex.addingReportingOverflow(reach)
            guard !productOverflow, !reachOverflow, !sumOverflow else {
                throw TensorLayoutError("size \(shape) with stride \(strides) overflows")
            }
            count = product
            lastIndex = sum
        }
        if count > 0 && lastIndex >= storage.count {
            throw TensorLayoutError("tensor of size \(shape), stride \(strides), offset \(offset) needs \(lastIndex + 1) "
                                    + "elements but its storage holds \(storage.count)")
        }
        if count > max(storage.count, Self.maximumRepeatedViewCount) {
            throw TensorLayoutError("tensor of size \(shape) repeats its \(storage.count)-element storage too often")
        }
        self.storage = storage
        self.offset = offset
        self.shape = shape
        self.strides = strides
    }

    /// A contiguous tensor over `bytes` (row-major, little-endian, exactly `count * dtype.byteSize` long).
    public init(dtype: StoredDType, shape: [Int], contiguousBytes bytes: Data) throws(TensorLayoutError) {
        var expected: Int? = shape.allSatisfy({ $0 >= 0 }) ? dtype.byteSize : nil
        for extent in shape {
            guard let running = expected else { break }
            let (product, overflow) = running.multipliedReportingOverflow(by: extent)
            expected = overflow ? nil : product
        }
        guard let expected, bytes.count == expected else {
            throw TensorLayoutError("\(dtype) tensor of size \(shape) does not fit its \(bytes.count) bytes")
        }
        try self.init(storage: StoredStorage(dtype: dtype, bytes: bytes), offset: 0, shape: shape,
                      strides: Tensor.contiguousStrides(shape))
    }

    /// `tensor`'s values stored as the floating-point `dtype` (rounded to nearest even for fp16/bf16).
    public init(_ tensor: Tensor, as dtype: StoredDType = .float32) throws(TensorLayoutError) {
        guard dtype.isFloatingPoint else { throw TensorLayoutError("cannot store an fp32 Tensor as \(dtype)") }
        let values = tensor.toArray()
        try self.init(dtype: dtype, shape: tensor.shape, contiguousBytes: Self.encode(values, as: dtype))
    }

    /// An int64 tensor (BatchNorm's `num_batches_tracked`, index tensors).
    public init(int64 values: [Int64], shape: [Int]) throws(TensorLayoutError) {
        let bytes = values.withUnsafeBytes { Data($0) }
        try self.init(dtype: .int64, shape: shape, contiguousBytes: bytes)
    }

    /// The elements' bytes in row-major order, in the stored dtype (a slice: index from its `startIndex`).
    public func contiguousBytes() -> Data {
        let size = dtype.byteSize
        guard count > 0 else { return Data() }  // an empty tensor's offset may lie anywhere
        if isContiguous {
            let start = storage.bytes.startIndex + offset * size
            return storage.bytes[start ..< start + count * size]  // a view, no copy
        }
        var result = Data(count: count * size)
        result.withUnsafeMutableBytes { out in
            storage.bytes.withUnsafeBytes { source in
                guard let destination = out.baseAddress, let base = source.baseAddress else { return }
                gather(into: destination, from: base)
            }
        }
        return result
    }

    /// The values as a contiguous fp32 `Tensor` (integers and booleans converted to Float).
    public func tensor() -> Tensor {
        let result = Tensor(zeros: shape)
        Self.decode(contiguousBytes(), dtype: dtype, into: result.storage.pointer, count: count)
        return result
    }

    /// The values as fp32, row-major.
    public func floatValues() -> [Float] { tensor().toArray() }

    /// Writes the values as fp32, row-major, to `destination` (`count` floats), without an intermediate copy.
    public func decode(into destination: UnsafeMutablePointer<Float>) {
        Self.decode(contiguousBytes(), dtype: dtype, into: destination, count: count)
    }

    /// The exact values of an integer or boolean tensor, row-major; nil for floating-point tensors.
    public func int64Values() -> [Int64]? {
        guard !dtype.isFloatingPoint else { return nil }
        let bytes = contiguousBytes()
        return (0..<count).map { i in
            let at = bytes.startIndex + i * dtype.byteSize
            switch dtype {
            case .int64: return bytes.loadLittleEndian(Int64.self, at: at)
            case .int32: return Int64(bytes.loadLittleEndian(Int32.self, at: at))
            case .int16: return Int64(bytes.loadLittleEndian(Int16.self, at: at))
            case .int8: return Int64(Int8(bitPattern: bytes[at]))
            default: return Int64(bytes[at])
            }
        }
    }

    /// This tensor with its values in another floating-point dtype (integer tensors cannot be converted).
    public func converted(to target: StoredDType) throws(TensorLayoutError) -> StoredTensor {
        if target == dtype { return self }
        guard dtype.isFloatingPoint, target.isFloatingPoint else {
            throw TensorLayoutError("cannot convert a \(dtype) tensor to \(target)")
        }
        if dtype == .float64 || target == .float64 {
            let doubles = doubleValues()
            let bytes = target == .float64
                ? doubles.withUnsafeBytes { Data($0) } : Self.encode(doubles.map { Float($0) }, as: target)
            return try StoredTensor(dtype: target, shape: shape, contiguousBytes: bytes)
        }
        return try StoredTensor(dtype: target, shape: shape, contiguousBytes: Self.encode(floatValues(), as: target))
    }

    public static func == (lhs: StoredTensor, rhs: StoredTensor) -> Bool {
        lhs.dtype == rhs.dtype && lhs.shape == rhs.shape && lhs.contiguousBytes() == rhs.contiguousBytes()
    }

    private func doubleValues() -> [Double] {
        guard dtype == .float64 else { return floatValues().map { Double($0) } }
        let bytes = contiguousBytes()
        return (0..<count).map { bytes.loadLittleEndian(Double.self, at: bytes.startIndex + $0 * 8) }
    }

    /// Copies the elements row-major into `destination`, one innermost row at a time (a single copy when the
    /// innermost stride is 1).
    private func gather(into destination: UnsafeMutableRawPointer, from source: UnsafeRawPointer) {
        let size = dtype.byteSize
        guard count > 0 else { return }
        guard let rowLength = shape.last, let rowStride = strides.last else {
            destination.copyMemory(from: source + offset * size, byteCount: size)
            return
        }
        let outer = Array(shape.dropLast()), outerStrides = Array(strides.dropLast())
        var index = [Int](repeating: 0, count: outer.count)
        var rowStart = offset, written = 0
        for _ in 0 ..< count / rowLength {
            if rowStride == 1 {
                (destination + written).copyMemory(from: source + rowStart * size, byteCount: rowLength * size)
            } else {
                for column in 0 ..< rowLength {
                    (destination + written + column * size)
                        .copyMemory(from: source + (rowStart + column * rowStride) * size, byteCount: size)
                }
            }
            written += rowLength * size
            // Advance the outer index like an odometer.
            var axis = outer.count - 1
            while axis >= 0 {
                index[axis] += 1
                rowStart += outerStrides[axis]
                if index[axis] < outer[axis] { break }
                rowStart -= outerStrides[axis] * outer[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }

    private static func encode(_ values: [Float], as dtype: StoredDType) -> Data {
        switch dtype {
        case .float16, .bfloat16:
            var half = [UInt16](repeating: 0, count: values.count)
            values.withUnsafeBufferPointer { source in
                half.withUnsafeMutableBufferPointer { out in
                    guard let from = source.baseAddress, let to = out.baseAddress else { return }
                    if dtype == .float16 {
                        convertFloat32ToFloat16(from, to, count: values.count)
                    } else {
                        convertFloat32ToBFloat16(from, to, count: values.count)
                    }
                }
            }
            return half.withUnsafeBytes { Data($0) }
        case .float64:
            return values.map { Double($0) }.withUnsafeBytes { Data($0) }
        default:
            return values.withUnsafeBytes { Data($0) }
        }
    }

    private static func decode(_ bytes: Data, dtype: StoredDType, into out: UnsafeMutablePointer<Float>, count: Int) {
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress, count > 0 else { return }
            switch dtype {
            case .float32:
                UnsafeMutableRawPointer(out).copyMemory(from: base, byteCount: count * 4)
            case .float16, .bfloat16:
                var half = [UInt16](repeating: 0, count: count)
                half.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<count * 2])) }
                half.withUnsafeBufferPointer { source in
                    guard let from = source.baseAddress else { return }
                    if dtype == .float16 {
                        convertFloat16ToFloat32(from, out, count: count)
                    } else {
                        convertBFloat16ToFloat32(from, out, count: count)
                    }
                }
            case .float64:
                for i in 0..<count { out[i] = Float(raw.loadUnaligned(fromByteOffset: i * 8, as: Double.self)) }
            case .int64:
                for i in 0..<count { out[i] = Float(raw.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)) }
            case .int32:
                for i in 0..<count { out[i] = Float(raw.loadUnaligned(fromByteOffset: i * 4, as: Int32.self)) }
            case .int16:
                for i in 0..<count { out[i] = Float(raw.loadUnaligned(fromByteOffset: i * 2, as: Int16.self)) }
            case .int8:
                for i in 0..<count { out[i] = Float(Int8(bitPattern: raw[i])) }
            case .uint8, .bool:
                for i in 0..<count { out[i] = Float(raw[i]) }
            }
        }
    }
}

/// Why a tensor's layout or conversion is invalid; readers wrap it into a `CheckpointError` naming the file.
public struct TensorLayoutError: Error, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension Data {
    /// A little-endian fixed-width value at absolute index `at` (no alignment needed; caller checks bounds).
    func loadLittleEndian<T: FixedWidthInteger>(_ type: T.Type, at index: Int) -> T {
        var value: T = 0
        Swift.withUnsafeMutableBytes(of: &value) { out in
            copyBytes(to: out.bindMemory(to: UInt8.self), from: index ..< index + MemoryLayout<T>.size)
        }
        return T(littleEndian: value)
    }

    /// A little-endian Double at absolute index `at`.
    func loadLittleEndian(_ type: Double.Type, at index: Int) -> Double {
        Double(bitPattern: loadLittleEndian(UInt64.self, at: index))
    }
}
