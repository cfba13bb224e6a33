/// Resizing and RGB conversion of decoded images with Pillow's per-mode behaviour.
extension DecodedImage {
    /// This image resized to `width`×`height` in its own mode, as Pillow's `resize(size, BICUBIC)` does:
    /// an unchanged size is a copy; palette and 1-bit images use nearest; RGBA and LA are premultiplied, resampled
    /// and un-premultiplied; mode I is resampled in doubles; the rest with 8-bit fixed-point bicubic.
    /// - Throws: `ImagingError.invalidSize` when a side is not positive.
    public func resized(width newWidth: Int, height newHeight: Int) throws -> DecodedImage {
        guard newWidth > 0, newHeight > 0 else {
            throw ImagingError.invalidSize(width: newWidth, height: newHeight)
        }
        if newWidth == width && newHeight == height { return self }
        var result = DecodedImage(width: newWidth, height: newHeight, mode: mode, format: format, palette: palette,
                                  warnings: warnings)
        let channels = mode.channels
        switch mode {
        case .bilevel, .palette:
            result.samples = NearestResampler.resize(samples, width: width, height: height, channels: channels,
                                                     toWidth: newWidth, toHeight: newHeight)
        case .rgba, .greyAlpha:
            let premultiplied = ModeConversion.premultiplied(samples, channels: channels)
            let resampled = BicubicResampler.resize(premultiplied, width: width, height: height, channels: channels,
                                                    toWidth: newWidth, toHeight: newHeight)
            result.samples = ModeConversion.unpremultiplied(resampled, channels: channels)
        case .grey, .rgb, .cmyk:
            result.samples = BicubicResampler.resize(samples, width: width, height: height, channels: channels,
                                                     toWidth: newWidth, toHeight: newHeight)
        case .int32:
            result.intSamples = BicubicResampler.resize(intSamples, width: width, height: height,
                                                        toWidth: newWidth, toHeight: newHeight)
        }
        return result
    }

    /// This image after Pillow's `convert("RGB")`: grey replicated, alpha dropped without compositing, palette
    /// looked up, CMYK by Pillow's integer formula, mode I clipped to 0...255.
    public func convertedToRGB() -> DecodedImage {
        if mode == .rgb { return self }
        let pixels = ModeConversion.rgb(mode: mode, samples: samples, intSamples: intSamples, palette: palette,
                                        pixelCount: width * height)
        return DecodedImage(width: width, height: height, mode: .rgb, format: format, samples: pixels,
                            warnings: warnings)
    }

    /// The RGB pixels of `convertedToRGB()`.
    public var rgbImage: RGBImage {
        let rgb = convertedToRGB()
        return RGBImage(width: width, height: height, pixels: rgb.samples)
    }
}
