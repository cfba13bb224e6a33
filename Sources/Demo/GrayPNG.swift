import CPNG
import Foundation

/// Encodes 8-bit grey images as PNG files with libpng's simplified writer.
public enum GrayPNG {
    /// The PNG bytes of a `width`×`height` grey image (row-major `pixels`).
    public static func encode(_ pixels: ArraySlice<UInt8>, width: Int, height: Int) throws -> Data {
        guard pixels.count == width * height else {
            throw DemoError.malformed(path: "<image>", reason: "\(pixels.count) pixels for \(width)×\(height)")
        }
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        image.width = png_uint_32(width)
        image.height = png_uint_32(height)
        image.format = png_uint_32(PNG_FORMAT_GRAY)
        let buffer = Array(pixels)
        var size: png_alloc_size_t = 0
        guard png_image_write_to_memory(&image, nil, &size, 0, buffer, png_int_32(width), nil) != 0 else {
            throw DemoError.malformed(path: "<image>", reason: "libpng could not size the PNG")
        }
        var output = [UInt8](repeating: 0, count: Int(size))
        guard png_image_write_to_memory(&image, &output, &size, 0, buffer, png_int_32(width), nil) != 0 else {
            throw DemoError.malformed(path: "<image>", reason: "libpng could not write the PNG")
        }
        return Data(output.prefix(Int(size)))
    }
}
