/// Unicode 14.0 canonical decomposition (NFD), as Python's `unicodedata.normalize("NFD", _)` computes it.
///
/// The Swift standard library has no public NFD, and Foundation's follows its own ICU version, so the mappings come
/// from `CanonicalDecompositions.swift` (generated from Python 3.11); combining classes come from `PythonUnicode`.
extension PythonUnicode {
    /// The NFD of `scalars`: full canonical decomposition (Hangul syllables into conjoining jamo), then the canonical
    /// ordering of every run of non-starters by combining class (stable).
    public static func nfd(_ scalars: some Sequence<Unicode.Scalar>) -> [Unicode.Scalar] {
        var output: [Unicode.Scalar] = []
        output.reserveCapacity(scalars.underestimatedCount)
        for scalar in scalars {
            appendDecomposition(of: scalar, to: &output)
        }
        reorderCombiningMarks(&output)
        return output
    }

    /// `unicodedata.normalize("NFD", text)`.
    public static func nfd(_ text: String) -> String {
        var result = String.UnicodeScalarView()
        result.append(contentsOf: nfd(text.unicodeScalars))
        return String(result)
    }

    private static func appendDecomposition(of scalar: Unicode.Scalar, to output: inout [Unicode.Scalar]) {
        let value = scalar.value
        if value < 0xC0 {
            output.append(scalar)
        } else if let syllable = HangulSyllable(value) {
            syllable.appendJamo(to: &output)
        } else if let range = DecompositionTable.shared.ranges[value] {
            output.append(contentsOf: DecompositionTable.shared.scalars[range])
        } else {
            output.append(scalar)
        }
    }

    /// Stable insertion sort of each run of scalars with a non-zero combining class.
    private static func reorderCombiningMarks(_ scalars: inout [Unicode.Scalar]) {
        var index = 0
        while index < scalars.count {
            guard scalars[index].value >= 0x300, canonicalCombiningClass(scalars[index]) != 0 else {
                index += 1
                continue
            }
            var end = index
            var classes: [UInt8] = []
            while end < scalars.count, scalars[end].value >= 0x300 {
                let combiningClass = canonicalCombiningClass(scalars[end])
                if combiningClass == 0 { break }
                classes.append(combiningClass)
                end += 1
            }
            if classes.count > 1 {
                for i in 1..<classes.count {
                    var j = i
                    while j > 0 && classes[j - 1] > classes[j] {
                        classes.swapAt(j - 1, j)
                        scalars.swapAt(index + j - 1, index + j)
                        j -= 1
                    }
                }
            }
            index = end
        }
    }
}

/// A precomposed Hangul syllable (U+AC00–U+D7A3), decomposed arithmetically as the Unicode standard defines.
private struct HangulSyllable {
    private static let base: UInt32 = 0xAC00, leadingBase: UInt32 = 0x1100, vowelBase: UInt32 = 0x1161
    private static let trailingBase: UInt32 = 0x11A7, vowelCount: UInt32 = 21, trailingCount: UInt32 = 28
    private let index: UInt32

    init?(_ value: UInt32) {
        guard (0xAC00...0xD7A3).contains(value) else { return nil }
        index = value - Self.base
    }

    func appendJamo(to output: inout [Unicode.Scalar]) {
        let perLeading = Self.vowelCount * Self.trailingCount
        let trailing = index % Self.trailingCount
        var jamo = [Self.leadingBase + index / perLeading, Self.vowelBase + (index % perLeading) / Self.trailingCount]
        if trailing != 0 { jamo.append(Self.trailingBase + trailing) }
        output.append(contentsOf: jamo.compactMap(Unicode.Scalar.init))
    }
}

/// The parsed form of `canonicalDecompositionTable`: per code point, a range into one flat scalar array.
private struct DecompositionTable: Sendable {
    static let shared = DecompositionTable(parsing: canonicalDecompositionTable)

    let ranges: [UInt32: Range<Int>]
    let scalars: [Unicode.Scalar]

    init(parsing table: String) {
        var ranges: [UInt32: Range<Int>] = [:]
        var scalars: [Unicode.Scalar] = []
        for line in table.split(separator: "\n") {
            let values = line.split(separator: " ").compactMap { UInt32($0, radix: 16) }
            guard let source = values.first else { continue }
            let start = scalars.count
            scalars.append(contentsOf: values.dropFirst().compactMap(Unicode.Scalar.init))
            ranges[source] = start..<scalars.count
        }
        self.ranges = ranges
        self.scalars = scalars
    }
}
