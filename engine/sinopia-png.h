/* sinopia-png.h — PNG files through libpng: a reader of every PNG variant into RGBA8 with the
 * text chunks, and an atomic RGB8 writer with text chunks.
 *
 * Reading accepts every colour type and bit depth of the PNG specification, palettes with or
 * without tRNS, tRNS on grey and RGB images, and Adam7 interlacing. Pixels come back as 8-bit
 * RGBA, rows top to bottom with no padding: grey is replicated to R, G and B, 1/2/4-bit grey is
 * scaled to 0–255 (a 1-bit 1 is 255), 16-bit samples are rounded to 8 bits (v/257), images
 * without alpha get alpha 255, and tRNS becomes alpha. Gamma, colour profiles and background
 * chunks are ignored: samples are returned as stored. Text chunks (tEXt, zTXt, iTXt, before or
 * after the image data) come back as UTF-8 (tEXt and zTXt are Latin-1 in the file and are
 * converted; invalid UTF-8 in iTXt is replaced by U+FFFD).
 *
 * The reader checks the image size against a pixel limit before allocating anything for the
 * pixels, every chunk's stated length against the bytes that remain (so no chunk buffer is
 * larger than the file), and libpng's limits bound the decompressed size of text chunks (1 MiB;
 * a larger text chunk is dropped) and their number (64). Bytes after IEND are ignored. Truncated and
 * corrupt files (bad signature, bad CRC on a critical chunk, bad zlib data, missing image
 * data) are errors; nothing is ever read outside the given bytes.
 *
 * Writing produces an 8-bit RGB, non-interlaced PNG with the given text chunks before the image
 * data and nothing else that varies (no time stamp), so the same input gives the same bytes.
 * Files are written to a temporary file next to the destination and renamed over it.
 *
 * Threads: every function may be called from any thread; nothing is shared between calls.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define SINOPIA_PNG_ERROR (sinopia_png_error_quark ())
GQuark sinopia_png_error_quark (void);

typedef enum {
  SINOPIA_PNG_ERROR_NOT_PNG,          /* the bytes do not start with the PNG signature */
  SINOPIA_PNG_ERROR_CORRUPT,          /* truncated or malformed (libpng's message follows) */
  SINOPIA_PNG_ERROR_TOO_LARGE,        /* more pixels than the caller's limit */
  SINOPIA_PNG_ERROR_INVALID_ARGUMENT, /* API misuse: bad size, bad text key or value */
  SINOPIA_PNG_ERROR_IO,               /* the file cannot be read or written */
} SinopiaPngErrorCode;

/* The pixel limit used when a caller passes 0: 8192 × 8192 (256 MiB of RGBA). */
#define SINOPIA_PNG_DEFAULT_MAX_PIXELS ((uint64_t) 8192 * 8192)

typedef struct {
  char *key;   /* UTF-8, 1–79 characters */
  char *value; /* UTF-8 */
} SinopiaPngText;

typedef struct {
  guint width;
  guint height;
  guint8 *rgba;          /* width × height × 4 bytes */
  guint n_texts;
  SinopiaPngText *texts; /* in file order; a key may repeat */
} SinopiaPngImage;

/* Decodes the `len` bytes at `data`. `max_pixels` = 0 means SINOPIA_PNG_DEFAULT_MAX_PIXELS.
 * Returns (transfer full) an image to free with sinopia_png_image_free, or NULL with `error`
 * set; messages of file errors start with `name` when it is not NULL. */
SinopiaPngImage *sinopia_png_decode (const guint8 *data, gsize len, uint64_t max_pixels, const char *name,
                                     GError **error);
/* Reads and decodes the file at `path` (messages start with its display name). */
SinopiaPngImage *sinopia_png_load (const char *path, uint64_t max_pixels, GError **error);
void sinopia_png_image_free (SinopiaPngImage *image);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SinopiaPngImage, sinopia_png_image_free)

/* The value of the first text chunk named `key`, borrowed from `image`; NULL when absent. */
const char *sinopia_png_image_get_text (const SinopiaPngImage *image, const char *key);

/* RGB8 of the image, each pixel composited over `background` (RGB; NULL: alpha is dropped).
 * Returns (transfer full, g_free) width × height × 3 bytes. */
guint8 *sinopia_png_image_to_rgb (const SinopiaPngImage *image, const guint8 *background);

/* Encodes `rgb` (width × height × 3 bytes, rows top to bottom, no padding) as a PNG. `texts` is
 * NULL or a NULL-terminated list of key, value, key, value, ...: keys of 1–79 printable ASCII
 * characters without leading, trailing or double spaces, values UTF-8 without NUL (pure ASCII
 * values are written as tEXt, others as iTXt). Returns (transfer full) the file's bytes, or NULL
 * with an INVALID_ARGUMENT error. */
GBytes *sinopia_png_encode_rgb (const guint8 *rgb, guint width, guint height, const char *const *texts,
                                GError **error);
/* sinopia_png_encode_rgb into the file at `path`, atomically: the file is either left as it was
 * or replaced by the complete new one. */
gboolean sinopia_png_save_rgb (const char *path, const guint8 *rgb, guint width, guint height,
                               const char *const *texts, GError **error);

G_END_DECLS
