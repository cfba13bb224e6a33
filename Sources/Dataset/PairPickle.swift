/// One image–text pair as the `pairs` LMDB stores it: the pickled tuple `(image_id, text_id, text)`.
public struct PairRecord: Sendable, Equatable {
    public let imageId: Int64
    public let textId: Int64
    public let text: String

    public init(imageId: Int64, textId: Int64, text: String) {
        self.imageId = imageId
        self.textId = textId
        self.text = text
    }
}

/// Python `pickle` for pair records: writes the bytes `pickle.dumps((image_id, text_id, text))` gives with the
/// default protocol 4 (C pickler framing included), reads protocols 2–5 of that tuple shape.
public enum PairPickle {
    /// What went wrong while unpickling; the caller adds the LMDB path and key.
    public struct DecodeError: Error, CustomStringConvertible, Equatable {
        public let reason: String
        public var description: String { reason }
    }

    private static let frameSizeTarget = 64 * 1024
    private static let frameSizeMinimum = 4

    /// The protocol-4 pickle of `(imageId, textId, text)`.
    public static func encode(_ record: PairRecord) -> [UInt8] {
        let textBytes = Array(record.text.utf8)
        var frame: [UInt8] = []
        appendInteger(record.imageId, to: &frame)
        appendInteger(record.textId, to: &frame)
        var output: [UInt8] = [0x80, 4]
        var header: [UInt8]
        if textBytes.count < 256 {
            header = [0x8C, UInt8(textBytes.count)]
        } else {
            header = [0x58]
            appendLittleEndian(UInt64(textBytes.count), bytes: 4, to: &header)
        }
        if textBytes.count >= frameSizeTarget {
            // The C pickler closes the frame and writes large payloads outside any frame.
            appendFrame(frame, to: &output)
            output += header
            output += textBytes
            appendFrame([0x94, 0x87, 0x94, 0x2E], to: &output)
        } else {
            frame += header
            frame += textBytes
            frame += [0x94, 0x87, 0x94, 0x2E]
            appendFrame(frame, to: &output)
        }
        return output
    }

    private static func appendFrame(_ frame: [UInt8], to output: inout [UInt8]) {
        if frame.count >= frameSizeMinimum {
            output.append(0x95)
            appendLittleEndian(UInt64(frame.count), bytes: 8, to: &output)
        }
        output += frame
    }

    private static func appendLittleEndian(_ value: UInt64, bytes: Int, to output: inout [UInt8]) {
        for index in 0..<bytes { output.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))) }
    }

    /// BININT1, BININT2, BININT or LONG1 as `save_long` chooses for protocol ≥ 2.
    private static func appendInteger(_ value: Int64, to output: inout [UInt8]) {
        if value >= 0 && value <= 0xFF {
            output += [0x4B, UInt8(value)]
        } else if value >= 0 && value <= 0xFFFF {
            output.append(0x4D)
            appendLittleEndian(UInt64(value), bytes: 2, to: &output)
        } else if value >= -0x8000_0000 && value <= 0x7FFF_FFFF {
            output.append(0x4A)
            appendLittleEndian(UInt64(bitPattern: value), bytes: 4, to: &output)
        } else {
            // Minimal two's-complement little-endian bytes: (bit_length >> 3) + 1, less a redundant 0xff.
            let bitLength = 64 - (value < 0 ? (~value).leadingZeroBitCount : value.leadingZeroBitCount)
            var count = (bitLength >> 3) + 1
            if value < 0 && count > 1 {
                let top = UInt8(truncatingIfNeeded: value >> (8 * Int64(count - 1)))
                let next = UInt8(truncatingIfNeeded: value >> (8 * Int64(count - 2)))
                if top == 0xFF && next & 0x80 != 0 { count -= 1 }
            }
            count = min(count, 8)
            output += [0x8A, UInt8(count)]
            appendLittleEndian(UInt64(bitPattern: value), bytes: count, to: &output)
        }
    }

    /// Unpickles `(image_id, text_id, text)` written with protocol 2, 3, 4 or 5.
    public static func decode<Bytes: RandomAccessCollection>(_ bytes: Bytes) throws(DecodeError) -> PairRecord
    where Bytes.Element == UInt8, Bytes.Index == Int {
        var reader = OpcodeReader(bytes: bytes)
        guard try reader.byte() == 0x80 else { throw DecodeError(reason: "not a pickle of protocol 2 or later") }
        let proto = try reader.byte()
        guard (2...5).contains(proto) else { throw DecodeError(reason: "unsupported pickle protocol \(proto)") }
        var stack: [StackItem] = []
        while true {
            let offset = reader.position
            let opcode = try reader.byte()
            switch opcode {
            case 0x95: _ = try reader.take(8)  // FRAME: framing only groups opcodes
            case 0x4B: stack.append(.integer(Int64(try reader.byte())))
            case 0x4D: stack.append(.integer(Int64(try reader.littleEndian(2))))
            case 0x4A: stack.append(.integer(Int64(Int32(truncatingIfNeeded: try reader.littleEndian(4)))))
            case 0x8A:
                let count = Int(try reader.byte())
                guard count <= 8 else { throw DecodeError(reason: "integer of \(count) bytes does not fit 64 bits") }
                let raw = try reader.littleEndian(count)
                let shift = UInt64(64 - 8 * count)
                stack.append(.integer(count == 0 ? 0 : Int64(bitPattern: raw << shift) >> Int64(shift)))
            case 0x8C: stack.append(.text(try reader.utf8(count: Int(try reader.byte()))))
            case 0x58: stack.append(.text(try reader.utf8(count: Int(try reader.littleEndian(4)))))
            case 0x8D: stack.append(.text(try reader.utf8(count: Int(try reader.littleEndian(8)))))
            case 0x94: break  // MEMOIZE
            case 0x71: _ = try reader.byte()  // BINPUT
            case 0x72: _ = try reader.take(4)  // LONG_BINPUT
            case 0x87:
                guard stack.count >= 3, case let .integer(imageId) = stack[stack.count - 3],
                      case let .integer(textId) = stack[stack.count - 2],
                      case let .text(text) = stack[stack.count - 1] else {
                    throw DecodeError(reason: "TUPLE3 at byte \(offset) is not over (int, int, str)")
                }
                stack.removeLast(3)
                stack.append(.tuple(imageId, textId, text))
            case 0x2E:
                guard stack.count == 1, case let .tuple(imageId, textId, text) = stack[0] else {
                    throw DecodeError(reason: "pickle does not hold one (image_id, text_id, text) tuple")
                }
                return PairRecord(imageId: imageId, textId: textId, text: text)
            default:
                let hex = String(opcode, radix: 16)
                throw DecodeError(reason: "unexpected pickle opcode 0x\(hex) at byte \(offset) in a pair record")
            }
        }
    }

    private enum StackItem { case integer(Int64), text(String), tuple(Int64, Int64, String) }

    private struct OpcodeReader<Bytes: RandomAccessCollection> where Bytes.Element == UInt8, Bytes.Index == Int {
        let bytes: Bytes
        var position = 0

        mutating func take(_ count: Int) throws(DecodeError) -> Bytes.SubSequence {
            guard count >= 0, count <= bytes.count - position else {
                throw DecodeError(reason: "pickle truncated at byte \(position)")
            }
            let start = bytes.startIndex + position
            position += count
            return bytes[start..<start + count]
        }

        mutating func byte() throws(DecodeError) -> UInt8 { try take(1).first ?? 0 }

        mutating func littleEndian(_ count: Int) throws(DecodeError) -> UInt64 {
            var value: UInt64 = 0
            for (index, byte) in try take(count).enumerated() { value |= UInt64(byte) << (8 * UInt64(index)) }
            return value
        }

        mutating func utf8(count: Int) throws(DecodeError) -> String {
            let offset = position
            guard let text = String(validating: try take(count), as: UTF8.self) else {
                throw DecodeError(reason: "string at byte \(offset) is not valid UTF-8")
            }
            return text
        }
    }
}
