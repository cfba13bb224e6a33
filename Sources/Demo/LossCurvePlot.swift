import Foundation

/// Curves of a training log (the reference's line format): training loss per logged step, validation loss, and
/// the learning rate, drawn as an RGB PNG (no text; the axes' ranges are returned for the caption).
public struct LossCurvePlot {
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
    public private(set) var learningRate: [Point] = []

    /// Reads the `Global Steps: s/…| Loss: …| LR: …` and `Validation Result (epoch E @ s steps) | Valid Loss: …`
    /// lines of a log file.
    public init(logText: String) {
        for line in logText.split(separator: "\n") {
            let fields = line.components(separatedBy: " | ")
            if let steps = fields.first(where: { $0.hasPrefix("Global Steps: ") }),
               let step = Int(steps.dropFirst(14).split(separator: "/").first ?? ""),
               let loss = value(fields, "Loss: "), let lr = value(fields, "LR: ") {
                trainingLoss.append(Point(step: step, value: loss))
                learningRate.append(Point(step: step, value: lr))
            } else if let result = fields.first(where: { $0.contains("Validation Result (epoch ") }),
                      let at = result.range(of: " @ "), let step = Int(result[at.upperBound...].split(separator: " ").first ?? ""),
                      let loss = value(fields, "Valid Loss: ") {
                validationLoss.append(Point(step: step, value: loss))
            }
        }
    }

    private func value(_ fields: [String], _ prefix: String) -> Double? {
        fields.first { $0.hasPrefix(prefix) }.flatMap { Double($0.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces)) }
    }

    /// The PNG (`width`×`height`): training loss blue, validation loss red, learning rate green (own scale); losses
    /// share one axis from 0 to their maximum, steps run from 0 to the last step. Returns the PNG and those ranges.
    public func png(width: Int = 720, height: Int = 360) throws -> (png: Data, maxStep: Int, maxLoss: Double, maxLR: Double) {
        var canvas = [UInt8](repeating: 255, count: width * height * 3)
        let margin = 24
        let maxStep = max((trainingLoss + validationLoss).map(\.step).max() ?? 1, 1)
        let maxLoss = max((trainingLoss + validationLoss).map(\.value).max() ?? 1, 1e-9)
        let maxLR = max(learningRate.map(\.value).max() ?? 1, 1e-12)
        func x(_ step: Int) -> Int { margin + (width - 2 * margin) * step / maxStep }
        func y(_ value: Double, _ top: Double) -> Int { height - margin - Int(Double(height - 2 * margin) * value / top) }
        func plot(_ px: Int, _ py: Int, _ colour: (UInt8, UInt8, UInt8)) {
            guard px >= 0, px < width, py >= 0, py < height else { return }
            let index = (py * width + px) * 3
            (canvas[index], canvas[index + 1], canvas[index + 2]) = colour
        }
        func line(_ a: (Int, Int), _ b: (Int, Int), _ colour: (UInt8, UInt8, UInt8)) {
            let steps = max(abs(b.0 - a.0), abs(b.1 - a.1), 1)
            for t in 0...steps {
                let px = a.0 + (b.0 - a.0) * t / steps, py = a.1 + (b.1 - a.1) * t / steps
                plot(px, py, colour)
                plot(px, py + 1, colour)
            }
        }
        line((margin, height - margin), (width - margin, height - margin), (90, 90, 90))
        line((margin, margin), (margin, height - margin), (90, 90, 90))
        func curve(_ points: [Point], _ top: Double, _ colour: (UInt8, UInt8, UInt8), dots: Bool) {
            for (a, b) in zip(points, points.dropFirst()) { line((x(a.step), y(a.value, top)), (x(b.step), y(b.value, top)), colour) }
            if dots {
                for point in points {
                    for dx in -3...3 { for dy in -3...3 { plot(x(point.step) + dx, y(point.value, maxLoss) + dy, colour) } }
                }
            }
        }
        curve(learningRate, maxLR, (40, 160, 60), dots: false)
        curve(trainingLoss, maxLoss, (40, 80, 220), dots: false)
        curve(validationLoss, maxLoss, (220, 40, 40), dots: true)
        return (try ImagePNG.encode(canvas, width: width, height: height, channels: 3), maxStep, maxLoss, maxLR)
    }
}
