/// Columns a string takes in a terminal: East Asian wide and fullwidth characters (CJK ideographs, kana, Hangul,
/// fullwidth forms, most emoji) take two, combining marks none, everything else one. Tables of Chinese labels
/// line up with this where `String.count` would not.
func terminalWidth(_ text: String) -> Int {
    text.unicodeScalars.reduce(0) { $0 + terminalWidth(of: $1) }
}

private func terminalWidth(of scalar: Unicode.Scalar) -> Int {
    switch scalar.properties.generalCategory {
    case .nonspacingMark, .enclosingMark, .format: return 0
    default: break
    }
    let value = scalar.value
    let wideRanges: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
        0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6,
        0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x3FFFD,
    ]
    return wideRanges.contains { $0.contains(value) } ? 2 : 1
}

/// `text` followed by spaces up to `columns` terminal columns.
func padded(_ text: String, toColumns columns: Int) -> String {
    text + String(repeating: " ", count: max(0, columns - terminalWidth(text)))
}
