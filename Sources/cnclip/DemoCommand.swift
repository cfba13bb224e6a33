import ArgumentParser
import Demo
import Foundation

/// `cnclip demo`: the pieces of `make demo` that are not reference scripts (Scripts/demo.sh runs the whole job).
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Fashion-MNIST demo helpers: prepare the dataset, report the results (see Scripts/demo.sh).",
        subcommands: [Prepare.self, Report.self])

    struct Prepare: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Turn Fashion-MNIST IDX files into <split>_imgs.tsv / <split>_texts.jsonl with Chinese captions, "
                + "a zero-shot folder layout of the test split and label_cn.txt.")
        @Option(help: "Directory of the decompressed Fashion-MNIST IDX files.") var fashionMnist: String
        @Option(help: "Output directory.") var output: String
        @Option(help: "Training images (from the start of the training file).") var trainCount = 20000
        @Option(help: "Validation images (from the end of the training file).") var validCount = 1000
        @Option(help: "Test images for zero-shot classification.") var testCount = 10000

        func run() throws {
            let train = try FashionMNIST(directory: fashionMnist, prefix: "train")
            let test = try FashionMNIST(directory: fashionMnist, prefix: "t10k")
            try DemoDatasetWriter(output: output, report: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })
                .write(train: train, test: test, trainCount: trainCount, validCount: validCount, testCount: testCount)
        }
    }

    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the results table (stdout) and write the HTML page of queries with their top-5 images.")
        @Option(help: "evaluation output JSON (text→image).") var textToImage: String
        @Option(help: "evaluation-tr output JSON (image→text).") var imageToText: String
        @Option(help: "zeroshot-eval output JSON.") var zeroshot: String
        @Option(help: "The zero-shot test folder.") var zeroshotData: String
        @Option(help: "Validation texts JSONL.") var texts: String
        @Option(help: "Validation images TSV.") var images: String
        @Option(help: "Text→image predictions JSONL.") var predictions: String
        @Option(help: "HTML page to write.") var html: String
        @Option(help: "Extra lines for the table (e.g. timings).") var note: [String] = []
        @Option(help: "Training log whose curves to plot.") var log: String?
        @Option(help: "Curves PNG to write (with --log).") var curves: String?

        func run() throws {
            let t2i = try DemoReport.recall(textToImage), i2t = try DemoReport.recall(imageToText)
            let zeroShot = try DemoReport.zeroShotTop1(predictions: zeroshot, datapath: zeroshotData)
            func row(_ name: String, _ r: DemoReport.Recall) -> String {
                name.padding(toLength: 16, withPad: " ", startingAt: 0)
                    + String(format: "R@1 %6.2f  R@5 %6.2f  R@10 %6.2f  mean %6.2f", r.r1, r.r5, r.r10, r.mean)
            }
            let lines = [row("text→image", t2i), row("image→text", i2t),
                         String(format: "zero-shot top-1 %6.2f%% on %d test images", zeroShot.accuracy * 100, zeroShot.count)]
                + note
            print(lines.joined(separator: "\n"))
            var plot: (png: Data, caption: String)?
            if let log {
                let chart = TrainingCurvesChart(series: try TrainingLogSeries(contentsOfFile: log))
                let png = try chart.pngData()
                plot = (png, "Training curves from \(log) against global steps.")
                if let curves { try png.write(to: URL(fileURLWithPath: curves), options: .atomic) }
            }
            let page = try DemoReport.html(texts: texts, predictions: predictions, images: images, queries: 12,
                                           title: "cnclip demo: Fashion-MNIST text→image retrieval", summary: lines,
                                           curves: plot)
            try Data(page.utf8).write(to: URL(fileURLWithPath: html), options: .atomic)
        }
    }
}
