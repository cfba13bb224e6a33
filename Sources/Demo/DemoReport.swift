import Foundation

/// The demo's results: retrieval scores from the evaluation outputs, zero-shot top-1 recomputed from the
/// zero-shot predictions and the folder labels, a text table, and an HTML page of a few text queries with their
/// top-5 validation images inline.
public struct DemoReport {
    public struct Recall: Sendable {
        public let r1: Double, r5: Double, r10: Double, mean: Double
    }

    /// Reads `{"score": …, "scoreJson": {"r1", "r5", "r10", "mean_recall"}}` as the evaluation scripts write it.
    public static func recall(_ path: String) throws -> Recall {
        let json = try object(path)
        guard let scores = json["scoreJson"] as? [String: Any], let r1 = number(scores["r1"]), let r5 = number(scores["r5"]),
              let r10 = number(scores["r10"]), let mean = number(scores["mean_recall"]) else {
            throw DemoError.malformed(path: path, reason: "no scoreJson with r1/r5/r10/mean_recall (\(json["error"] ?? "?"))")
        }
        return Recall(r1: r1, r5: r5, r10: r10, mean: mean)
    }

    /// Top-1 accuracy of the zero-shot `predictions` (rows in the sorted file order of `datapath`'s class folders).
    public static func zeroShotTop1(predictions path: String, datapath: String) throws -> (accuracy: Double, count: Int) {
        // One N×C block per random seed of the reference's report (it has one seed).
        let rows = (try object(path)["predictions"] as? [[[Any]]])?.first ?? []
        let folders = try FileManager.default.contentsOfDirectory(atPath: datapath).sorted()
        var labels: [Int] = []
        for (label, folder) in folders.enumerated() {
            let files = try FileManager.default.contentsOfDirectory(atPath: datapath + "/" + folder).filter { $0.hasSuffix(".png") }
            labels += Array(repeating: label, count: files.count)
        }
        guard rows.count == labels.count, !rows.isEmpty else {
            throw DemoError.malformed(path: path, reason: "\(rows.count) prediction rows for \(labels.count) images")
        }
        var correct = 0
        for (row, label) in zip(rows, labels) {
            let values = row.compactMap(number)
            if let best = values.indices.max(by: { values[$0] < values[$1] || (values[$0] == values[$1] && $0 > $1) }),
               best == label { correct += 1 }
        }
        return (Double(correct) / Double(labels.count), labels.count)
    }

    /// The HTML page: for the first `queries` queries of `texts` (JSONL with `text_id`, `text`, `image_ids`), the
    /// top-5 images of `predictions` (JSONL `text_id` → `image_ids`) from `images` (TSV id → base64 PNG), each
    /// marked as a hit when it is in the query's ground truth.
    /// `curves` (a PNG with its caption) is shown above the queries.
    public static func html(texts: String, predictions: String, images: String, queries: Int, title: String,
                            summary: [String], curves: (png: Data, caption: String)? = nil) throws -> String {
        var pictures: [Int: String] = [:]
        for line in try lines(images) {
            let parts = line.split(separator: "\t", maxSplits: 1)
            if parts.count == 2, let id = Int(parts[0]) { pictures[id] = String(parts[1]) }
        }
        var predicted: [Int: [Int]] = [:]
        for line in try lines(predictions) {
            let json = try parse(line, predictions)
            if let id = (json["text_id"] as? NSNumber)?.intValue { predicted[id] = (json["image_ids"] as? [NSNumber])?.map(\.intValue) }
        }
        var body = "<h1>\(escape(title))</h1>\n<pre>\(escape(summary.joined(separator: "\n")))</pre>\n"
        if let curves {
            body += "<p><img src=\"data:image/png;base64,\(curves.png.base64EncodedString())\"><br>\(escape(curves.caption))</p>\n"
        }
        body += "<table>\n"
        for line in try lines(texts).prefix(queries) {
            let json = try parse(line, texts)
            guard let id = (json["text_id"] as? NSNumber)?.intValue, let text = json["text"] as? String else { continue }
            let truth = Set((json["image_ids"] as? [NSNumber])?.map(\.intValue) ?? [])
            body += "<tr><td class=\"q\">\(escape(text))</td>"
            for image in (predicted[id] ?? []).prefix(5) {
                let mark = truth.contains(image) ? "hit" : "miss"
                body += "<td class=\"\(mark)\"><img src=\"data:image/png;base64,\(pictures[image] ?? "")\" "
                    + "width=\"84\" height=\"84\" title=\"\(image)\"></td>"
            }
            body += "</tr>\n"
        }
        return """
            <!DOCTYPE html><html lang="zh"><head><meta charset="utf-8"><title>\(escape(title))</title>
            <style>body{font-family:sans-serif} img{image-rendering:pixelated} td{padding:4px}
            td.hit{background:#9d9} td.miss{background:#e99} td.q{font-size:18px;padding-right:16px}</style></head>
            <body>\(body)</table><p>Green: the image is one of the query's ground-truth images; red: it is not.</p></body></html>

            """
    }

    private static func object(_ path: String) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: path) else { throw DemoError.unreadable(path: path, reason: "cannot read") }
        return try parse(String(decoding: data, as: UTF8.self), path)
    }

    private static func parse(_ text: String, _ path: String) throws -> [String: Any] {
        guard let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw DemoError.malformed(path: path, reason: "not a JSON object: \(text.prefix(80))")
        }
        return json
    }

    private static func lines(_ path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { throw DemoError.unreadable(path: path, reason: "cannot read") }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    private static func number(_ value: Any?) -> Double? { (value as? NSNumber)?.doubleValue }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
