import Foundation

/// Decodes the base64 image text stored in the datasets as the reference's `base64.urlsafe_b64decode` reads it:
/// the URL-safe (`-`, `_`) and the standard (`+`, `/`) alphabets both decode, with `=` padding to a multiple of 4.
/// Unlike Python, which silently skips stray characters, anything else is reported (see `Base64Check`).
public enum ImageBase64 {
    /// The decoded bytes, or the reason the text is not base64.
    public static func decode<Bytes: Collection>(_ text: Bytes) -> Result<Data, ImageBase64Error>
        where Bytes.Element == UInt8 {
        if let problem = Base64Check.problem(in: text) { return .failure(ImageBase64Error(reason: problem)) }
        var output = Data(count: text.count / 4 * 3)
        var written = 0
        output.withUnsafeMutableBytes { (destination: UnsafeMutableRawBufferPointer) in
            var accumulator: UInt32 = 0
            var pending = 0
            for byte in text {
                let value = sextet[Int(byte)]
                if value < 0 { break }  // '=' padding: the checked text has nothing after it
                accumulator = accumulator << 6 | UInt32(value)
                pending += 6
                if pending >= 8 {
                    pending -= 8
                    destination[written] = UInt8(truncatingIfNeeded: accumulator >> UInt32(pending))
                    written += 1
                }
            }
        }
        output.count = written
        return .success(output)
    }

    /// 6-bit value of each byte in either alphabet; -1 for `=` and everything else.
    private static let sextet: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
        for (value, byte) in alphabet.enumerated() { table[Int(byte)] = Int8(value) }
        table[Int(UInt8(ascii: "+"))] = 62
        table[Int(UInt8(ascii: "-"))] = 62
        table[Int(UInt8(ascii: "/"))] = 63
        table[Int(UInt8(ascii: "_"))] = 63
        return table
    }()
}

/// Why a base64 text does not decode (e.g. `invalid base64 character at offset 12`).
public struct ImageBase64Error: Error, Equatable, CustomStringConvertible {
    public let reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { reason }
}
