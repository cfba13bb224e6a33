import Foundation
import TestSupport
import Tokenizer
import XCTest

/// `PythonUnicode` against Python 3.11's `unicodedata` 14.0.0 for every code point (exact equality), from
/// `Tests/Fixtures/tokenizer/unicode14.json`.
final class PythonUnicodeTests: XCTestCase {
    private struct Runs: Decodable {
        let starts: [UInt32]
        let values: [String]

        /// The value of each code point 0...0x10FFFF.
        func expanded() -> [String] {
            var result: [String] = []
            result.reserveCapacity(0x110000)
            for (index, start) in starts.enumerated() {
                let end = index + 1 < starts.count ? starts[index + 1] : 0x110000
                result.append(contentsOf: repeatElement(values[index], count: Int(end - start)))
            }
            return result
        }
    }

    private struct Properties: Decodable {
        let unidata_version: String
        let category: Runs
        let case_class: Runs
        let whitespace: [UInt32]
        let lowercase: [Mapping]
        let nfd: [Mapping]
        let nfd_sequences: [[[UInt32]]]
    }

    private struct Mapping: Decodable {
        let source: UInt32
        let target: [UInt32]

        init(from decoder: Decoder) throws {
            var container = try decoder.unkeyedContainer()
            source = try container.decode(UInt32.self)
            target = try container.decode([UInt32].self)
        }
    }

    private static let properties: Result<Properties, Error> = Result {
        try JSONDecoder().decode(Properties.self, from: Fixtures.data("tokenizer/unicode14.json"))
    }

    private var allScalars: [Unicode.Scalar] {
        (0...0x10FFFF).compactMap { Unicode.Scalar(UInt32($0)) }
    }

    private func hex(_ values: [UInt32]) -> String {
        values.map { String($0, radix: 16) }.joined(separator: " ")
    }

    func testFixtureIsUnicode14() throws {
        XCTAssertEqual(try Self.properties.get().unidata_version, "14.0.0")
        XCTAssertTrue(PythonUnicode.unicodeVersion == (major: 14, minor: 0))
    }

    func testGeneralCategoryOfEveryCodePoint() throws {
        let expected = try Self.properties.get().category.expanded()
        var mismatches: [String] = []
        for scalar in allScalars {
            let got = Self.abbreviation(PythonUnicode.generalCategory(scalar))
            if got != expected[Int(scalar.value)] {
                mismatches.append("U+\(String(scalar.value, radix: 16)): \(got) != \(expected[Int(scalar.value)])")
            }
        }
        XCTAssertEqual(mismatches.count, 0, mismatches.prefix(20).joined(separator: "; "))
    }

    func testCodePointsAssignedAfterUnicode14AreUnassigned() {
        // Mn, Cf, Po and Lu in Unicode 15–17, 'Cn' in Python 3.11.
        for value: UInt32 in [0x0897, 0x0ECE, 0x13439, 0x1B4E, 0x11B00, 0xA7CB, 0x1C89, 0x10D50, 0x2B739, 0x31350] {
            let scalar = Unicode.Scalar(value)!
            XCTAssertEqual(PythonUnicode.generalCategory(scalar), .unassigned, "U+\(String(value, radix: 16))")
            XCTAssertFalse(PythonUnicode.isCased(scalar) || PythonUnicode.isCaseIgnorable(scalar))
            XCTAssertEqual(PythonUnicode.lowercased([scalar]), [scalar])
            XCTAssertEqual(PythonUnicode.canonicalCombiningClass(scalar), 0)
        }
    }

    func testWhitespaceOfEveryCodePoint() throws {
        let expected = Set(try Self.properties.get().whitespace)
        let got = Set(allScalars.filter(PythonUnicode.isWhitespace).map(\.value))
        XCTAssertEqual(got, expected)
    }

    func testLowercaseOfEveryCodePoint() throws {
        let expected = Dictionary(uniqueKeysWithValues: try Self.properties.get().lowercase.map { ($0.source, $0.target) })
        var mismatches: [String] = []
        for scalar in allScalars {
            let got = PythonUnicode.lowercased([scalar]).map(\.value)
            let want = expected[scalar.value] ?? [scalar.value]
            if got != want { mismatches.append("U+\(String(scalar.value, radix: 16)): \(hex(got)) != \(hex(want))") }
        }
        XCTAssertEqual(mismatches.count, 0, mismatches.prefix(20).joined(separator: "; "))
    }

    /// 'I' case-ignorable, 'C' cased (and not ignorable), 'N' neither: what decides final sigma.
    func testCaseClassOfEveryCodePoint() throws {
        let expected = try Self.properties.get().case_class.expanded()
        var mismatches: [String] = []
        for scalar in allScalars {
            let got = PythonUnicode.isCaseIgnorable(scalar) ? "I" : (PythonUnicode.isCased(scalar) ? "C" : "N")
            if got != expected[Int(scalar.value)] {
                mismatches.append("U+\(String(scalar.value, radix: 16)): \(got) != \(expected[Int(scalar.value)])")
            }
        }
        XCTAssertEqual(mismatches.count, 0, mismatches.prefix(20).joined(separator: "; "))
    }

    func testFinalSigma() {
        XCTAssertEqual(PythonUnicode.lowercased("ΟΔΟΣ ΣΑ ΑΣ. Σ ΑΣΑ ʕΣ ΑΣ\u{A7CB} ΑΣ\u{1171E}"),
                       "οδος σα ας. σ ασα ʕς ας\u{A7CB} ας\u{1171E}")
        XCTAssertEqual(PythonUnicode.lowercased("İ"), "i\u{307}")
    }

    func testNFDOfSingleCodePointsAndMarkSequences() throws {
        let properties = try Self.properties.get()
        XCTAssertGreaterThan(properties.nfd.count, 2000)
        for mapping in properties.nfd {
            let got = PythonUnicode.nfd([Unicode.Scalar(mapping.source)!]).map(\.value)
            XCTAssertEqual(got, mapping.target, "NFD of U+\(String(mapping.source, radix: 16))")
        }
        for sequence in properties.nfd_sequences {
            let got = PythonUnicode.nfd(sequence[0].compactMap(Unicode.Scalar.init)).map(\.value)
            XCTAssertEqual(got, sequence[1], "NFD of \(hex(sequence[0]))")
        }
    }

    private static func abbreviation(_ category: Unicode.GeneralCategory) -> String {
        switch category {
        case .uppercaseLetter: return "Lu"
        case .lowercaseLetter: return "Ll"
        case .titlecaseLetter: return "Lt"
        case .modifierLetter: return "Lm"
        case .otherLetter: return "Lo"
        case .nonspacingMark: return "Mn"
        case .spacingMark: return "Mc"
        case .enclosingMark: return "Me"
        case .decimalNumber: return "Nd"
        case .letterNumber: return "Nl"
        case .otherNumber: return "No"
        case .connectorPunctuation: return "Pc"
        case .dashPunctuation: return "Pd"
        case .openPunctuation: return "Ps"
        case .closePunctuation: return "Pe"
        case .initialPunctuation: return "Pi"
        case .finalPunctuation: return "Pf"
        case .otherPunctuation: return "Po"
        case .mathSymbol: return "Sm"
        case .currencySymbol: return "Sc"
        case .modifierSymbol: return "Sk"
        case .otherSymbol: return "So"
        case .spaceSeparator: return "Zs"
        case .lineSeparator: return "Zl"
        case .paragraphSeparator: return "Zp"
        case .control: return "Cc"
        case .format: return "Cf"
        case .surrogate: return "Cs"
        case .privateUse: return "Co"
        case .unassigned: return "Cn"
        @unknown default: return "?"
        }
    }
}
