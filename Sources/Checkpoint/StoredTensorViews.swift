import Foundation
import Tensor

/// Layout changes that keep every element's bits: the views and stacking that map between checkpoint formats
/// whose tensors hold the same values in another arrangement (a transposed projection, q/k/v split or packed).
extension StoredTensor {
    /// The transpose of a 2-D tensor, as a view over the same storage.
    public func transposed2D() throws(TensorLayoutError) -> StoredTensor {
        guard shape.count == 2 else { throw TensorLayoutError("cannot transpose a tensor of size \(shape) as a matrix") }
        return try StoredTensor(storage: storage, offset: offset, shape: [shape[1], shape[0]],
                                strides: [strides[1], strides[0]])
    }

    /// The slice `range` of dimension 0, as a view over the same storage.
    public func rows(_ range: Range<Int>) throws(TensorLayoutError) -> StoredTensor {
        guard let first = shape.first, range.lowerBound >= 0, range.upperBound <= first else {
            throw TensorLayoutError("rows \(range) lie outside a tensor of size \(shape)")
        }
        var sliced = shape
        sliced[0] = range.count
        return try StoredTensor(storage: storage, offset: offset + range.lowerBound * strides[0], shape: sliced,
                                strides: strides)
    }

    /// `parts` stacked along dimension 0 into one contiguous tensor; they must share dtype and trailing sizes.
    public static func concatenatingRows(_ parts: [StoredTensor]) throws(TensorLayoutError) -> StoredTensor {
        guard let first = parts.first, !first.shape.isEmpty else {
            throw TensorLayoutError("nothing to stack, or a 0-dimensional tensor")
        }
        let tail = Array(first.shape.dropFirst())
        var bytes = Data()
        var rows = 0
        for part in parts {
            guard part.dtype == first.dtype, Array(part.shape.dropFirst()) == tail, !part.shape.isEmpty else {
                throw TensorLayoutError("cannot stack a \(part.dtype) tensor of size \(part.shape) under a "
                                        + "\(first.dtype) tensor of size \(first.shape)")
            }
            bytes.append(part.contiguousBytes())
            rows += part.shape[0]
        }
        return try StoredTensor(dtype: first.dtype, shape: [rows] + tail, contiguousBytes: bytes)
    }
}
