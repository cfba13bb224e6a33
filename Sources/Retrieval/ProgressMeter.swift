import Foundation

/// Progress of a long loop as short lines (`texts: 640/1000 (64.0%), 52.3 items/s, ETA 0:00:07`), at most one per
/// `interval` seconds plus a last one from `finish()`; the caller decides where lines go (stderr for the CLI).
public final class ProgressMeter {
    private let label: String
    private let unit: String
    private let total: Int?
    private let interval: Double
    private let output: (String) -> Void
    private let start = DispatchTime.now().uptimeNanoseconds
    private var lastReport: UInt64 = 0
    private var done = 0
    private var fraction: Double?

    /// `total` (when known) gives the percentage and ETA; otherwise pass a `fraction` to `update`.
    public init(label: String, unit: String = "items", total: Int? = nil, interval: Double = 1,
                output: @escaping (String) -> Void) {
        self.label = label
        self.unit = unit
        self.total = total
        self.interval = interval
        self.output = output
    }

    /// Records that `done` items are finished (`fraction` of the work when the total is unknown).
    public func update(done: Int, fraction: Double? = nil) {
        self.done = done
        self.fraction = fraction ?? total.map { $0 > 0 ? Double(done) / Double($0) : 1 }
        let now = DispatchTime.now().uptimeNanoseconds
        if Double(now - lastReport) / 1e9 >= interval {
            lastReport = now
            output(line(now: now))
        }
    }

    /// Prints the final line.
    public func finish() {
        output(line(now: DispatchTime.now().uptimeNanoseconds) + ", done")
    }

    private func line(now: UInt64) -> String {
        let seconds = max(Double(now - start) / 1e9, 1e-9)
        let rate = Double(done) / seconds
        var text = "\(label): \(done)"
        if let total { text += "/\(total)" }
        if let fraction { text += String(format: " (%.1f%%)", 100 * fraction) }
        text += String(format: ", %.1f ", rate) + unit + "/s"
        if let fraction, fraction > 0, fraction < 1 {
            text += ", ETA " + Self.clock(seconds * (1 - fraction) / fraction)
        }
        return text
    }

    private static func clock(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded())
        return String(format: "%d:%02d:%02d", whole / 3600, whole / 60 % 60, whole % 60)
    }
}
