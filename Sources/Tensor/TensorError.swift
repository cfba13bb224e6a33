/// Errors raised by tensor operations. Each names the operation and the shapes involved.
public enum TensorError: Error, Equatable, CustomStringConvertible {
    /// Two operands whose shapes do not fit together.
    case shapeMismatch(op: String, lhs: [Int], rhs: [Int])
    /// One operand whose shape is not acceptable to the operation.
    case invalidShape(op: String, shape: [Int], reason: String)
    /// An axis outside `0..<rank` (negative axes count from the end).
    case invalidAxis(op: String, axis: Int, rank: Int)
    /// An operand whose values were released (an fp32 weight replaced by its int8 copy).
    case releasedValues(op: String)

    public var description: String {
        switch self {
        case let .shapeMismatch(op, lhs, rhs):
            return "\(op): shapes \(lhs) and \(rhs) do not match"
        case let .invalidShape(op, shape, reason):
            return "\(op): invalid shape \(shape): \(reason)"
        case let .invalidAxis(op, axis, rank):
            return "\(op): axis \(axis) is out of range for rank \(rank)"
        case let .releasedValues(op):
            return "\(op): the fp32 values were released (the layer runs on its int8 weights only)"
        }
    }
}
