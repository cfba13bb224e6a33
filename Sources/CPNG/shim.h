// libpng (Debian libpng-dev) plus one helper that wraps its setjmp/longjmp error handling,
// which Swift cannot call directly.
#include <string.h>
#include <setjmp.h>
#include <png.h>

/// What `cnclip_png_decode` learned from the header.
typedef struct {
    int width;
    int height;
    /// As in IHDR: 1, 2, 4, 8 or 16.
    int bitDepth;
    /// As in IHDR: 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA.
    int colorType;
    /// Samples per pixel of the decoded output.
    int channels;
    /// Bytes per sample of the decoded output: 2 only for 16-bit grey, else 1.
    int bytesPerSample;
    /// Entries written to the caller's 768-byte palette buffer.
    int paletteCount;
} cnclip_png_info;

typedef struct {
    const unsigned char *data;
    size_t size;
    size_t position;
    int pixelsDone;
    char message[256];
} cnclip_png_source;

static void cnclip_png_read(png_structp png, png_bytep out, size_t length) {
    cnclip_png_source *source = (cnclip_png_source *)png_get_io_ptr(png);
    if (length > source->size - source->position) {
        png_error(png, "truncated PNG data");
    }
    memcpy(out, source->data + source->position, length);
    source->position += length;
}

static void cnclip_png_error(png_structp png, png_const_charp text) {
    cnclip_png_source *source = (cnclip_png_source *)png_get_error_ptr(png);
    strncpy(source->message, text, sizeof source->message - 1);
    source->message[sizeof source->message - 1] = 0;
    png_longjmp(png, 1);
}

static void cnclip_png_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

/// Decodes a PNG held in memory without colour management, keeping its native layout as Pillow does:
/// grey of 1/2/4 bits is scaled to 8 bits, palette indices are unpacked to one byte, 16-bit grey stays 16-bit
/// big-endian, other 16-bit samples keep their high byte, tRNS is ignored, Adam7 is de-interlaced.
/// With `pixels == NULL` only the header is read. Returns 0 on success, 1 on error (`message`, 256 bytes),
/// 4 when `capacity` is too small.
static inline int cnclip_png_decode(const unsigned char *data, size_t size, unsigned char *pixels, size_t capacity,
                                    unsigned char *palette, cnclip_png_info *info, char *message) {
    cnclip_png_source source;
    memset(&source, 0, sizeof source);
    source.data = data;
    source.size = size;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, cnclip_png_error, cnclip_png_warning);
    if (!png) {
        strcpy(message, "cannot create libpng reader");
        return 1;
    }
    png_infop pinfo = png_create_info_struct(png);
    if (!pinfo || setjmp(png_jmpbuf(png))) {
        if (source.pixelsDone) {
            /* Like Pillow, accept a file whose chunks after the image data are missing or damaged. */
            png_destroy_read_struct(&png, &pinfo, NULL);
            return 0;
        }
        strncpy(message, source.message, 255);
        message[255] = 0;
        png_destroy_read_struct(&png, pinfo ? &pinfo : NULL, NULL);
        return 1;
    }
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_set_read_fn(png, &source, cnclip_png_read);
    png_read_info(png, pinfo);
    info->width = (int)png_get_image_width(png, pinfo);
    info->height = (int)png_get_image_height(png, pinfo);
    info->bitDepth = png_get_bit_depth(png, pinfo);
    info->colorType = png_get_color_type(png, pinfo);
    info->paletteCount = 0;
    if (pixels == NULL) {
        png_destroy_read_struct(&png, &pinfo, NULL);
        return 0;
    }
    if (info->colorType == PNG_COLOR_TYPE_PALETTE) {
        png_colorp entries = NULL;
        int count = 0;
        if (png_get_PLTE(png, pinfo, &entries, &count) && entries) {
            if (count > 256) count = 256;
            for (int i = 0; i < count; i++) {
                palette[3 * i] = entries[i].red;
                palette[3 * i + 1] = entries[i].green;
                palette[3 * i + 2] = entries[i].blue;
            }
            info->paletteCount = count;
        }
    }
    if (info->colorType == PNG_COLOR_TYPE_GRAY && info->bitDepth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (info->colorType == PNG_COLOR_TYPE_PALETTE && info->bitDepth < 8) png_set_packing(png);
    if (info->bitDepth == 16 && info->colorType != PNG_COLOR_TYPE_GRAY) png_set_strip_16(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, pinfo);
    info->channels = png_get_channels(png, pinfo);
    info->bytesPerSample = png_get_bit_depth(png, pinfo) == 16 ? 2 : 1;
    size_t stride = png_get_rowbytes(png, pinfo);
    if (stride != (size_t)info->width * info->channels * info->bytesPerSample
        || stride * (size_t)info->height > capacity) {
        png_destroy_read_struct(&png, &pinfo, NULL);
        return 4;
    }
    for (int pass = 0; pass < passes; pass++) {
        for (int y = 0; y < info->height; y++) {
            png_read_row(png, pixels + stride * (size_t)y, NULL);
        }
    }
    source.pixelsDone = 1;
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &pinfo, NULL);
    return 0;
}
