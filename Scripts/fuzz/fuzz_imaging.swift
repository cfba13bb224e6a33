// libFuzzer entry point for the image decoders (built by fuzz_imaging.sh together with Sources/Imaging).
// Every input must decode or throw an ImagingError; resizing and RGB conversion of what decodes is exercised too.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImagingOneInput(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    guard let image = try? ImageDecoder.decode(data, name: "fuzz-input", maxPixels: 1 << 24) else { return 0 }
    let side = 1 + count % 17
    _ = try? image.resized(width: side, height: side + 3).rgbImage
    _ = try? image.convertedToRGB().resized(width: side + 2, height: side).rgbImage
    return 0
}
