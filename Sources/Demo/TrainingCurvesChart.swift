import CCairo
import Foundation

/// Four panels of a training log against global steps, drawn with cairo (anti-aliased lines and text): loss
/// (training and validation), accuracy (in-batch and validation, both directions), learning rate and logit scale,
/// each with numeric ticks, axis titles, a panel title and a legend.
public struct TrainingCurvesChart {
    public let series: TrainingLogSeries

    public init(series: TrainingLogSeries) {
        self.series = series
    }

    /// A named series and how it is drawn: validation series (sparse) get dots.
    struct Curve {
        let name: String
        let points: [TrainingLogSeries.Point]
        let colour: (Double, Double, Double)
        let dots: Bool
    }

    struct Panel {
        let title: String
        let yTitle: String
        let curves: [Curve]
    }

    static let blue = (0.12, 0.38, 0.75), red = (0.84, 0.19, 0.15), green = (0.17, 0.60, 0.24), orange = (0.93, 0.50, 0.05)

    var panels: [Panel] {
        [Panel(title: "Loss", yTitle: "loss", curves: [
            Curve(name: "training", points: series.trainingLoss, colour: Self.blue, dots: false),
            Curve(name: "validation", points: series.validationLoss, colour: Self.red, dots: true)]),
         Panel(title: "Accuracy", yTitle: "accuracy (%)", curves: [
            Curve(name: "train image→text", points: series.trainingImageToText, colour: Self.blue, dots: false),
            Curve(name: "train text→image", points: series.trainingTextToImage, colour: Self.green, dots: false),
            Curve(name: "valid image→text", points: series.validationImageToText, colour: Self.red, dots: true),
            Curve(name: "valid text→image", points: series.validationTextToImage, colour: Self.orange, dots: true)]),
         Panel(title: "Learning rate", yTitle: "learning rate", curves: [
            Curve(name: "LR", points: series.learningRate, colour: Self.green, dots: false)]),
         Panel(title: "Logit scale (raw parameter)", yTitle: "logit_scale", curves: [
            Curve(name: "training", points: series.logitScale, colour: Self.blue, dots: false),
            Curve(name: "validation", points: series.validationLogitScale, colour: Self.red, dots: true)])]
    }

    /// Writes the chart as a `width`×`height` PNG to `path` (a temporary file beside it, then renamed).
    public func writePNG(to path: String, width: Int = 1200, height: Int = 800) throws {
        guard width >= 200, height >= 150 else {
            throw DemoError.unwritable(path: path, reason: "chart size \(width)×\(height) is below 200×150")
        }
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(width), Int32(height)) else {
            throw DemoError.unwritable(path: path, reason: "cairo could not create a \(width)×\(height) surface")
        }
        defer { cairo_surface_destroy(surface) }
        guard let context = cairo_create(surface) else {
            throw DemoError.unwritable(path: path, reason: "cairo could not create a drawing context")
        }
        draw(ChartPainter(context: context), width: Double(width), height: Double(height))
        let status = cairo_status(context)
        cairo_destroy(context)
        guard status == CAIRO_STATUS_SUCCESS else {
            throw DemoError.unwritable(path: path, reason: String(cString: cairo_status_to_string(status)))
        }
        let temporary = path + ".tmp-\(getpid())"
        let written = cairo_surface_write_to_png(surface, temporary)
        guard written == CAIRO_STATUS_SUCCESS else {
            unlink(temporary)
            throw DemoError.unwritable(path: path, reason: String(cString: cairo_status_to_string(written)))
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw DemoError.unwritable(path: path, reason: reason)
        }
    }

    /// The chart's PNG bytes (drawn through a temporary file).
    public func pngData(width: Int = 1200, height: Int = 800) throws -> Data {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cnclip-curves-\(UUID().uuidString).png").path
        try writePNG(to: path, width: width, height: height)
        defer { unlink(path) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DemoError.unreadable(path: path, reason: "the chart just written cannot be read back")
        }
        return data
    }

    private func draw(_ painter: ChartPainter, width: Double, height: Double) {
        painter.fill(x: 0, y: 0, width: width, height: height, grey: 1)
        let steps = ChartAxis(low: 0, high: Double(max(series.lastStep, 1)))
        let (cellWidth, cellHeight) = (width / 2, height / 2)
        for (index, panel) in panels.enumerated() {
            let x = Double(index % 2) * cellWidth, y = Double(index / 2) * cellHeight
            painter.drawPanel(panel, steps: steps, x: x, y: y, width: cellWidth, height: cellHeight)
        }
    }
}
