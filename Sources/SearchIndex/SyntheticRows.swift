import Foundation

extension ImageIndexer {
    /// Appends rows with given features and made-up records (benchmark galleries of random features; no files are
    /// read): `features` holds `paths.count` rows of `dimension` floats, committed in steps of `batch` rows.
    public func appendSyntheticRows(features: [Float], paths: [String], width: Int, height: Int, batch: Int = 10_000) throws {
        let dimension = writer.dimension
        guard features.count == paths.count * dimension else {
            throw IndexError.invalidQuery(reason: "\(features.count) values for \(paths.count) rows of \(dimension)")
        }
        for start in stride(from: 0, to: paths.count, by: max(1, batch)) {
            let end = min(start + max(1, batch), paths.count)
            try writer.commit((start..<end).map { row in
                IndexWriter.Entry(
                    pending: IndexWriter.PendingImage(id: nil, path: paths[row], size: 0, mtimeNanoseconds: 0, contentHash: "",
                                                      width: width, height: height),
                    feature: features[(row * dimension)..<((row + 1) * dimension)])
            })
        }
    }
}
