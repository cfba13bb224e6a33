import ArgumentParser
import Demo
import Foundation

/// `cnclip plot-log`: the curves of a training log (the reference's format) as a four-panel PNG.
struct PlotLogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot-log",
        abstract: "Draw loss, accuracy, learning rate and logit scale against global steps from a training log.",
        discussion: """
            Reads the `Global Steps: …` and `Validation Result (…)` lines of a log written by `cnclip train` or the \
            reference; accuracy curves appear when the log has them. Prints the number of points read as JSON.
            """
    )

    @Argument(help: "Training log (out.log) to read.") var logFile: String
    @Option(help: "PNG to write.") var output: String = "curves.png"
    @Option(help: "Image width in pixels.") var width: Int = 1200
    @Option(help: "Image height in pixels.") var height: Int = 800

    func run() throws {
        let series = try TrainingLogSeries(contentsOfFile: logFile)
        try TrainingCurvesChart(series: series).writePNG(to: output, width: width, height: height)
        print("{\"output\": \"\(output)\", \"training_points\": \(series.trainingLoss.count), "
              + "\"validation_points\": \(series.validationLoss.count), \"last_step\": \(series.lastStep)}")
    }
}
