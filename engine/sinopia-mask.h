/* sinopia-mask.h — masks as the CLI and the GUI take them from PNG files: a pixel is inside
 * when its grey value (the mean of R, G and B) is at least 128; alpha is ignored, so a mask
 * painted on a transparent layer and a flattened one read the same. A mask is one byte per
 * pixel, 1 inside and 0 outside, rows top to bottom.
 * Threads: any; nothing is shared between calls. */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define SINOPIA_MASK_ERROR (sinopia_mask_error_quark ())
GQuark sinopia_mask_error_quark (void);

typedef enum {
  SINOPIA_MASK_ERROR_SIZE,    /* the mask's size differs from the image's */
} SinopiaMaskErrorCode;

/* Reads the PNG at `path` as a mask of width × height pixels (any other size is a
 * SINOPIA_MASK_ERROR_SIZE error naming both sizes; file errors are SINOPIA_PNG_ERROR).
 * (transfer full, g_free) width × height bytes. */
guint8 *sinopia_mask_load (const char *path, uint32_t width, uint32_t height, GError **error);

/* The mask of `rgba` (width × height × 4 bytes). (transfer full, g_free) */
guint8 *sinopia_mask_from_rgba (const guint8 *rgba, uint32_t width, uint32_t height);

G_END_DECLS
