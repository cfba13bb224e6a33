/// Character properties as the reference's Python 3.11 sees them: `unicodedata` and `str` built on Unicode 14.0.0.
///
/// The Swift runtime's tables are newer (Unicode 17.0 in Swift 6.3). Two rules pin them to 14.0:
/// - a scalar whose `properties.age` is later than 14.0 (or absent) behaves as unassigned: category `Cn`, no case,
///   no decomposition, combining class 0;
/// - the few scalars assigned by 14.0 whose properties changed later take their 14.0 values from `unicode14Override`.
/// `Tests/TokenizerTests/PythonUnicodeTests.swift` checks every code point against Python's `unicodedata` 14.0.0.
public enum PythonUnicode {
    /// The Unicode version whose character properties this type reproduces.
    public static let unicodeVersion: Unicode.Version = (major: 14, minor: 0)

    /// Properties of a scalar that changed after Unicode 14.0 (found by comparing every code point with Python).
    private struct Override {
        let category: Unicode.GeneralCategory
        let isCased: Bool
        let isCaseIgnorable: Bool
    }

    private static func unicode14Override(_ scalar: Unicode.Scalar) -> Override? {
        switch scalar.value {
        case 0x0295:  // LATIN LETTER PHARYNGEAL VOICED FRICATIVE: Ll (cased) in 14.0, Lo later.
            return Override(category: .lowercaseLetter, isCased: true, isCaseIgnorable: false)
        case 0x1171E:  // AHOM CONSONANT SIGN MEDIAL RA: Mn in 14.0, Mc later.
            return Override(category: .nonspacingMark, isCased: false, isCaseIgnorable: true)
        default:
            return nil
        }
    }

    /// Whether the scalar was assigned (had properties) in Unicode 14.0.
    public static func isAssigned(_ scalar: Unicode.Scalar) -> Bool {
        guard let age = scalar.properties.age else { return false }
        return age <= unicodeVersion
    }

    /// `unicodedata.category`: the general category in Unicode 14.0 (`.unassigned` for scalars assigned later).
    public static func generalCategory(_ scalar: Unicode.Scalar) -> Unicode.GeneralCategory {
        if let override = unicode14Override(scalar) { return override.category }
        return isAssigned(scalar) ? scalar.properties.generalCategory : .unassigned
    }

    /// `str.isspace` for one character: category Zs or bidirectional class WS, B or S (the same 29 code points in
    /// every Unicode version since 6.3).
    public static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// The Unicode `Cased` property in 14.0.
    public static func isCased(_ scalar: Unicode.Scalar) -> Bool {
        if let override = unicode14Override(scalar) { return override.isCased }
        return isAssigned(scalar) && scalar.properties.isCased
    }

    /// The Unicode `Case_Ignorable` property in 14.0.
    public static func isCaseIgnorable(_ scalar: Unicode.Scalar) -> Bool {
        if let override = unicode14Override(scalar) { return override.isCaseIgnorable }
        return isAssigned(scalar) && scalar.properties.isCaseIgnorable
    }

    /// The canonical combining class in 14.0 (0 for scalars assigned later).
    public static func canonicalCombiningClass(_ scalar: Unicode.Scalar) -> UInt8 {
        isAssigned(scalar) ? scalar.properties.canonicalCombiningClass.rawValue : 0
    }

    /// Whether `unicodedata.category` starts with "P".
    public static func isPunctuationCategory(_ scalar: Unicode.Scalar) -> Bool {
        switch generalCategory(scalar) {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// Python's `str.lower()`: the full lowercase mapping of every scalar, with capital sigma (U+03A3) becoming final
    /// sigma (U+03C2) when a cased letter precedes it and none follows it (case-ignorable scalars skipped both ways).
    public static func lowercased(_ scalars: some Collection<Unicode.Scalar>) -> [Unicode.Scalar] {
        let text = Array(scalars)
        var output: [Unicode.Scalar] = []
        output.reserveCapacity(text.count)
        for index in text.indices {
            let scalar = text[index]
            if scalar.isASCII {
                output.append(asciiLowercased(scalar))
            } else if scalar.value == 0x03A3 {
                output.append(isFinalSigma(text, at: index) ? "\u{03C2}" : "\u{03C3}")
            } else if isAssigned(scalar) && unicode14Override(scalar) == nil && scalar.properties.changesWhenLowercased {
                output.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            } else {
                output.append(scalar)
            }
        }
        return output
    }

    /// `str.lower()` of a whole string (see `lowercased(_:)` on scalars).
    public static func lowercased(_ text: String) -> String {
        var result = String.UnicodeScalarView()
        result.append(contentsOf: lowercased(text.unicodeScalars))
        return String(result)
    }

    /// The ASCII lowercase of an ASCII scalar (other scalars unchanged).
    static func asciiLowercased(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        (0x41...0x5A).contains(scalar.value) ? Unicode.Scalar(UInt8(scalar.value + 0x20)) : scalar
    }

    private static func isFinalSigma(_ text: [Unicode.Scalar], at index: Int) -> Bool {
        var before = index - 1
        while before >= 0 && isCaseIgnorable(text[before]) { before -= 1 }
        guard before >= 0 && isCased(text[before]) else { return false }
        var after = index + 1
        while after < text.count && isCaseIgnorable(text[after]) { after += 1 }
        return after == text.count || !isCased(text[after])
    }
}
