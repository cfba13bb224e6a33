import Imaging
import Models
import Tensor

/// Turns a batch of preprocessed images into L2-normalised features; the indexer's only contact with the model.
public protocol ImageEmbedder: Sendable {
    /// The preprocessing the model expects.
    var preprocessor: ImagePreprocessor { get }
    /// Feature dimension.
    var dimension: Int { get }
    /// `[N, 3, R, R]` images → `N × dimension` normalised features, row-major.
    func embed(_ images: Tensor) throws -> [Float]
}

/// A CLIP model's image tower, normalised as the reference's extract script normalises.
public struct CLIPImageEmbedder: ImageEmbedder {
    public let model: CLIPModel
    public let preprocessor: ImagePreprocessor

    public init(_ loaded: LoadedCLIP) {
        model = loaded.model
        preprocessor = loaded.preprocessor
    }

    public var dimension: Int { model.config.embedDim }

    public func embed(_ images: Tensor) throws -> [Float] {
        l2Normalize(try model.encodeImage(images)).output.toArray()
    }
}
