/* sinopia-image-import.h — an image file as the editor's input: PNG through sinopia-png.h (every
 * colour type and depth; alpha is composited over white) and JPEG through GdkPixbuf, with the
 * pixel count checked before decoding. Sides that are not multiples of 16 (the model's grid) are
 * cropped, centred, to the multiple below; the note says so.
 *
 * Threads: any thread; nothing is shared.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define SINOPIA_IMAGE_IMPORT_MULTIPLE 16

/* Reads `path` into *rgb (transfer full, g_free; width × height × 3). *note (transfer full, may
 * be NULL when nothing was changed) tells the user what was done to the image. */
gboolean sinopia_image_import (const char *path, guint8 **rgb, uint32_t *width, uint32_t *height, char **note,
                               GError **error);

/* Crops an RGB image, centred, to sides that are multiples of `multiple`. (transfer full) */
guint8 *sinopia_image_crop_to_multiple (const guint8 *rgb, uint32_t width, uint32_t height, uint32_t multiple,
                                        uint32_t *new_width, uint32_t *new_height);

G_END_DECLS
