import Foundation

/// The curves in a training log written in the reference's format: from each
/// `Global Steps: s/N | … | Loss: x | [Image2Text Acc: a | Text2Image Acc: b |] … | LR: l | logit_scale: c | …` line and each
/// `Validation Result (epoch E @ s steps) | Valid Loss: x | Image2Text Acc: a | Text2Image Acc: b | logit_scale: c | …` line,
/// one point per series at step `s`. Accuracies are kept as written (percent).
public struct TrainingLogSeries: Sendable, Equatable {
    /// One value of a series at a global step.
    public struct Point: Sendable, Equatable {
        public let step: Int
        public let value: Double

        public init(step: Int, value: Double) {
            self.step = step
            self.value = value
        }
    }

    public private(set) var trainingLoss: [Point] = []
    public private(set) var validationLoss: [Point] = []
    /// In-batch image→text accuracy (only in logs written with the accuracy flag).
    public private(set) var trainingImageToText: [Point] = []
    /// In-batch text→image accuracy (only in logs written with the accuracy flag).
    public private(set) var trainingTextToImage: [Point] = []
    public private(set) var validationImageToText: [Point] = []
    public private(set) var validationTextToImage: [Point] = []
    public private(set) var learningRate: [Point] = []
    /// The raw `logit_scale` parameter (its exponential is the inverse temperature).
    public private(set) var logitScale: [Point] = []
    public private(set) var validationLogitScale: [Point] = []

    /// True when the text held no training or validation line.
    public var isEmpty: Bool { trainingLoss.isEmpty && validationLoss.isEmpty }

    /// The largest step of any point (0 when empty).
    public var lastStep: Int { max(trainingLoss.last?.step ?? 0, validationLoss.map(\.step).max() ?? 0) }

    /// Reads the training and validation lines of a log's text; other lines are skipped.
    public init(logText: String) {
        for line in logText.split(whereSeparator: \.isNewline) {
            let fields = line.components(separatedBy: " | ")
            if let steps = Self.text(fields, "Global Steps: "),
               let step = Int(steps.split(separator: "/").first ?? ""),
               let loss = Self.number(fields, "Loss: ") {
                trainingLoss.append(Point(step: step, value: loss))
                Self.append(&trainingImageToText, step, Self.number(fields, "Image2Text Acc: "))
                Self.append(&trainingTextToImage, step, Self.number(fields, "Text2Image Acc: "))
                Self.append(&learningRate, step, Self.number(fields, "LR: "))
                Self.append(&logitScale, step, Self.number(fields, "logit_scale: "))
            } else if let result = fields.first(where: { $0.contains("Validation Result (epoch ") }),
                      let at = result.range(of: " @ "),
                      let step = Int(result[at.upperBound...].split(separator: " ").first ?? ""),
                      let loss = Self.number(fields, "Valid Loss: ") {
                validationLoss.append(Point(step: step, value: loss))
                Self.append(&validationImageToText, step, Self.number(fields, "Image2Text Acc: "))
                Self.append(&validationTextToImage, step, Self.number(fields, "Text2Image Acc: "))
                Self.append(&validationLogitScale, step, Self.number(fields, "logit_scale: "))
            }
        }
    }

    /// Reads a log file; throws `DemoError.unreadable` when it cannot be read and `DemoError.malformed` when it has
    /// no training or validation line.
    public init(contentsOfFile path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DemoError.unreadable(path: path, reason: "no such file or not readable")
        }
        self.init(logText: String(decoding: data, as: UTF8.self))
        if isEmpty {
            throw DemoError.malformed(path: path, reason: "no 'Global Steps: … | Loss: …' or 'Validation Result' lines")
        }
    }

    private static func append(_ series: inout [Point], _ step: Int, _ value: Double?) {
        if let value { series.append(Point(step: step, value: value)) }
    }

    private static func text(_ fields: [String], _ prefix: String) -> Substring? {
        fields.first { $0.hasPrefix(prefix) }.map { $0.dropFirst(prefix.count) }
    }

    private static func number(_ fields: [String], _ prefix: String) -> Double? {
        text(fields, prefix).flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
    }
}
