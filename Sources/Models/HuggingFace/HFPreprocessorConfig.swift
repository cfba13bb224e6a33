import Foundation
import Imaging

/// A Hugging Face `preprocessor_config.json` (transformers' `ChineseCLIPImageProcessor` / `CLIPImageProcessor`
/// settings) translated to and from `ImageProcessorSettings`. Keys a file omits take the class defaults: shortest
/// edge 224, center crop 224×224, bicubic, rescale 1/255, OpenAI CLIP mean and std.
///
/// Note: transformers' slow `ChineseCLIPImageProcessor` raises `KeyError('height')` for a shortest-edge `size`
/// (its own default) because its `resize` reads `size["height"]`; the steps here are those the class documents and
/// `CLIPImageProcessor` runs (shortest edge, then center crop). The Hub's Chinese-CLIP files give
/// `size: {"height": 224, "width": 224}`, a straight resize like the reference's.
public enum HFPreprocessorConfig {
    /// Settings from the JSON bytes; `path` names the file in errors.
    /// - Throws: `ModelError.unreadableConfig` naming the file and key.
    public static func settings(json data: Data, path: String) throws -> ImageProcessorSettings {
        func fail(_ reason: String) -> ModelError { .unreadableConfig(path: path, reason: reason) }
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw fail("not a JSON object")
        }
        func flag(_ key: String, _ fallback: Bool) throws -> Bool {
            guard let value = root[key] else { return fallback }
            guard let bool = value as? Bool else { throw fail("\(key) is not true or false") }
            return bool
        }
        func size(_ key: String, squareInt: Bool, fallback: Any) throws -> Any {
            let value = root[key] ?? fallback
            if let number = value as? NSNumber, let side = Int(exactly: number.doubleValue), side > 0 {
                return squareInt ? ImageProcessorSettings.Size(height: side, width: side) as Any : side as Any
            }
            guard let object = value as? [String: Any] else { throw fail("\(key) is neither an integer nor an object") }
            if let number = object["shortest_edge"] as? NSNumber, let side = Int(exactly: number.doubleValue), side > 0 {
                return side
            }
            guard let height = (object["height"] as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }),
                  let width = (object["width"] as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }),
                  height > 0, width > 0 else {
                throw fail("\(key) needs a positive \"shortest_edge\", or \"height\" and \"width\"")
            }
            return ImageProcessorSettings.Size(height: height, width: width)
        }
        if let resample = root["resample"] {
            guard (resample as? NSNumber)?.intValue == 3 else {
                throw fail("resample \(resample) is not 3 (bicubic), the only filter supported")
            }
        }
        var resize = ImageProcessorSettings.Resize.none
        if try flag("do_resize", true) {
            switch try size("size", squareInt: false, fallback: ["shortest_edge": 224]) {
            case let side as Int: resize = .shortestEdge(side)
            case let exact as ImageProcessorSettings.Size: resize = .exact(height: exact.height, width: exact.width)
            default: throw fail("size is not understood")
            }
        }
        var crop: ImageProcessorSettings.Size?
        if try flag("do_center_crop", true) {
            guard let size = try size("crop_size", squareInt: true, fallback: ["height": 224, "width": 224])
                    as? ImageProcessorSettings.Size else { throw fail("crop_size needs \"height\" and \"width\"") }
            crop = size
        }
        var rescale: Double?
        if try flag("do_rescale", true) {
            guard let factor = (root["rescale_factor"] ?? 1.0 / 255.0) as? NSNumber else {
                throw fail("rescale_factor is not a number")
            }
            rescale = factor.doubleValue
        }
        var normalization: (mean: [Float], std: [Float])?
        if try flag("do_normalize", true) {
            func channels(_ key: String, _ fallback: [Float]) throws -> [Float] {
                guard let value = root[key] else { return fallback }
                if let number = value as? NSNumber { return Array(repeating: number.floatValue, count: 3) }
                guard let numbers = value as? [NSNumber], numbers.count == 3 else {
                    throw fail("\(key) is not a number or a list of 3 numbers")
                }
                return numbers.map(\.floatValue)
            }
            normalization = (try channels("image_mean", ImagePreprocessor.mean), try channels("image_std", ImagePreprocessor.std))
            if normalization?.std.contains(0) ?? false { throw fail("image_std holds a zero") }
        }
        return ImageProcessorSettings(resize: resize, centerCrop: crop, rescaleFactor: rescale, normalization: normalization)
    }

    /// The file this project writes for a model of input side `resolution`: the reference's transform (bicubic
    /// resize straight to `resolution`², no crop, CLIP mean and std), as the Hub's Chinese-CLIP files have it.
    public static func json(resolution: Int) -> [String: Any] {
        [
            "image_processor_type": "ChineseCLIPImageProcessor", "processor_class": "ChineseCLIPProcessor",
            "do_resize": true, "size": ["height": resolution, "width": resolution], "resample": 3,
            "do_center_crop": false, "crop_size": ["height": resolution, "width": resolution],
            "do_rescale": true, "rescale_factor": 1.0 / 255.0, "do_normalize": true,
            "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
            "do_convert_rgb": true,
        ]
    }
}
