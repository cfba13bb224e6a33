// libjpeg-turbo (Debian libjpeg62-turbo-dev) plus one helper that wraps its setjmp/longjmp error handling,
// which Swift cannot call directly.
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>
#include <jerror.h>

/// What `cnclip_jpeg_decode` learned from the header.
typedef struct {
    int width;
    int height;
    /// Components in the file (1 grey, 3 YCbCr/RGB, 4 CMYK/YCCK) and in the decoded output.
    int components;
} cnclip_jpeg_info;

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    int truncated;
    char message[JMSG_LENGTH_MAX];
} cnclip_jpeg_error_mgr;

static void cnclip_jpeg_error_exit(j_common_ptr cinfo) {
    cnclip_jpeg_error_mgr *err = (cnclip_jpeg_error_mgr *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, err->message);
    longjmp(err->jump, 1);
}

static void cnclip_jpeg_emit_message(j_common_ptr cinfo, int level) {
    cnclip_jpeg_error_mgr *err = (cnclip_jpeg_error_mgr *)cinfo->err;
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
        err->truncated = 1;
    }
}

/// Decodes a JPEG held in memory with libjpeg's defaults (ISLOW IDCT, fancy upsampling): grey stays grey,
/// YCbCr becomes RGB, CMYK/YCCK becomes CMYK as stored. With `pixels == NULL` only the header is read.
/// Returns 0 on success, 1 on a libjpeg error (`message` holds its text, JMSG_LENGTH_MAX bytes), 2 when the data
/// ends early, 3 for an unsupported component count, 4 when `capacity` is too small.
static inline int cnclip_jpeg_decode(const unsigned char *data, unsigned long size, unsigned char *pixels,
                                     size_t capacity, cnclip_jpeg_info *info, char *message) {
    struct jpeg_decompress_struct cinfo;
    cnclip_jpeg_error_mgr err;
    memset(&err, 0, sizeof err);
    cinfo.err = jpeg_std_error(&err.base);
    err.base.error_exit = cnclip_jpeg_error_exit;
    err.base.emit_message = cnclip_jpeg_emit_message;
    if (setjmp(err.jump)) {
        strncpy(message, err.message, JMSG_LENGTH_MAX - 1);
        message[JMSG_LENGTH_MAX - 1] = 0;
        jpeg_destroy_decompress(&cinfo);
        return 1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, size);
    jpeg_read_header(&cinfo, TRUE);
    info->width = (int)cinfo.image_width;
    info->height = (int)cinfo.image_height;
    info->components = cinfo.num_components;
    if (err.truncated) {
        jpeg_destroy_decompress(&cinfo);
        return 2;
    }
    if (pixels == NULL) {
        jpeg_destroy_decompress(&cinfo);
        return 0;
    }
    switch (cinfo.num_components) {
    case 1: cinfo.out_color_space = JCS_GRAYSCALE; break;
    case 3: cinfo.out_color_space = JCS_RGB; break;
    case 4: cinfo.out_color_space = JCS_CMYK; break;
    default:
        jpeg_destroy_decompress(&cinfo);
        return 3;
    }
    jpeg_start_decompress(&cinfo);
    size_t stride = (size_t)cinfo.output_width * (size_t)cinfo.output_components;
    if (stride * cinfo.output_height > capacity) {
        jpeg_destroy_decompress(&cinfo);
        return 4;
    }
    while (cinfo.output_scanline < cinfo.output_height && !err.truncated) {
        JSAMPROW row = pixels + stride * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    if (err.truncated) {
        jpeg_destroy_decompress(&cinfo);
        return 2;
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return err.truncated ? 2 : 0;
}

/// Encodes `width`×`height` interleaved RGB (components 3) or grey (components 1) pixels as a baseline JPEG at
/// `quality` into a buffer libjpeg allocates (`*out`, `*outSize`; free it with `free`). Returns 0 on success,
/// 1 on a libjpeg error (`message` holds its text, JMSG_LENGTH_MAX bytes).
static inline int cnclip_jpeg_encode(const unsigned char *pixels, int width, int height, int components, int quality,
                                     unsigned char **out, unsigned long *outSize, char *message) {
    struct jpeg_compress_struct cinfo;
    cnclip_jpeg_error_mgr err;
    memset(&err, 0, sizeof err);
    cinfo.err = jpeg_std_error(&err.base);
    err.base.error_exit = cnclip_jpeg_error_exit;
    *out = NULL;
    *outSize = 0;
    if (setjmp(err.jump)) {
        strncpy(message, err.message, JMSG_LENGTH_MAX - 1);
        message[JMSG_LENGTH_MAX - 1] = 0;
        jpeg_destroy_compress(&cinfo);
        return 1;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, out, outSize);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = components;
    cinfo.in_color_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    size_t stride = (size_t)width * (size_t)components;
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + stride * cinfo.next_scanline);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    return 0;
}
