import Foundation
import Imaging
import Tensor

/// Decodes and preprocesses image files into one `[N, 3, R, R]` batch the way the zero-shot path does
/// (RGB conversion first, then the bicubic resize), on up to `workers` threads (0: on the calling thread).
/// - Returns: the batch and the decoders' Pillow-compatibility warnings, each naming its file.
/// - Throws: `ZeroShotError.unreadableImage` naming the first file (in order) that cannot be decoded.
func zeroShotImageBatch(_ paths: [String], preprocessor: ImagePreprocessor,
                        workers: Int) throws -> (images: Tensor, warnings: [String]) {
    let resolution = preprocessor.resolution
    let plane = 3 * resolution * resolution
    let batch = Tensor(zeros: [paths.count, 3, resolution, resolution])
    var outcomes = [Result<[String], ZeroShotError>](repeating: .success([]), count: paths.count)
    let grain = workers <= 0 ? max(paths.count, 1) : max(1, (paths.count + workers - 1) / workers)
    outcomes.withUnsafeMutableBufferPointer { results in
        let destination = batch.storage.pointer
        // Each index writes its own result slot and its own image plane, so the chunks never share memory.
        Parallel.forRanges(paths.count, grain: grain) { range in
            for index in range {
                do {
                    let image = try preprocessor.tensor(contentsOf: URL(fileURLWithPath: paths[index]),
                                                        order: .convertThenResize)
                    image.tensor.contiguous().copyElements(to: destination + index * plane)
                    results[index] = .success(image.warnings)
                } catch let error as ImagingError {
                    results[index] = .failure(.unreadableImage(error))
                } catch {
                    results[index] = .failure(.unreadableImage(.unreadable(file: paths[index], reason: "\(error)")))
                }
            }
        }
    }
    var warnings: [String] = []
    for outcome in outcomes { warnings += try outcome.get() }
    return (batch, warnings)
}
