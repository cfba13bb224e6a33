import CPNG
import Foundation

/// Encodes 8-bit grey or RGB images as PNG files with libpng's simplified writer.
public enum ImagePNG {
    /// The PNG bytes of a `width`×`height` image with `channels` (1 grey, 3 RGB) interleaved samples, row-major.
    public static func encode<Pixels: Collection<UInt8>>(_ pixels: Pixels, width: Int, height: Int,
                                                         channels: Int = 1) throws -> Data {
        guard pixels.count == width * height * channels, channels == 1 || channels == 3 else {
            throw DemoError.malformed(path: "<image>", reason: "\(pixels.count) samples for \(width)×\(height)×\(channels)")
        }
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        image.width = png_uint_32(width)
        image.height = png_uint_32(height)
        image.format = channels == 1 ? png_uint_32(PNG_FORMAT_GRAY) : png_uint_32(PNG_FORMAT_FLAG_COLOR)  // PNG_FORMAT_RGB
        let buffer = Array(pixels)
        let stride = png_int_32(width * channels)
        var size: png_alloc_size_t = 0
        guard png_image_write_to_memory(&image, nil, &size, 0, buffer, stride, nil) != 0 else {
            throw DemoError.malformed(path: "<image>", reason: "libpng could not size the PNG")
        }
        var output = [UInt8](repeating: 0, count: Int(size))
        guard png_image_write_to_memory(&image, &output, &size, 0, buffer, stride, nil) != 0 else {
            throw DemoError.malformed(path: "<image>", reason: "libpng could not write the PNG")
        }
        return Data(output.prefix(Int(size)))
    }
}
