import CJPEG
import Foundation

/// Baseline JPEG encoding of RGB pixels through libjpeg-turbo (thumbnails, previews).
public enum JPEGEncoder {
    /// The JPEG bytes of `image` at `quality` (1...100).
    /// - Throws: `ImagingError.corrupt` with libjpeg's message if it refuses (it never should for a valid image).
    public static func encode(_ image: RGBImage, quality: Int = 85) throws -> Data {
        guard image.width > 0, image.height > 0, image.pixels.count == image.width * image.height * 3 else {
            throw ImagingError.invalidSize(width: image.width, height: image.height)
        }
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        var message = [CChar](repeating: 0, count: Int(JMSG_LENGTH_MAX))
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            cnclip_jpeg_encode(pixels.baseAddress, Int32(image.width), Int32(image.height), 3,
                               Int32(min(max(quality, 1), 100)), &output, &size, &message)
        }
        defer { free(output) }
        guard status == 0, let output else {
            throw ImagingError.corrupt(file: "<jpeg encoder>", reason: DecodeContext.text(message))
        }
        return Data(bytes: output, count: Int(size))
    }
}

extension DecodedImage {
    /// The image in RGB scaled (Pillow bicubic) so that its longer side is at most `maxSide`, aspect kept;
    /// smaller images are returned at their own size.
    public func thumbnail(maxSide: Int) throws -> RGBImage {
        guard maxSide > 0 else { throw ImagingError.invalidSize(width: maxSide, height: maxSide) }
        let scale = min(1, Double(maxSide) / Double(max(width, height)))
        let newWidth = max(1, Int((Double(width) * scale).rounded()))
        let newHeight = max(1, Int((Double(height) * scale).rounded()))
        return try convertedToRGB().resized(width: newWidth, height: newHeight).rgbImage
    }
}
