/* sinopia-image-import.c — PNG and JPEG files into RGB at a size the model can paint. */
#define G_LOG_DOMAIN "sinopia-image-import"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <stdio.h>
#include <string.h>

#include "sinopia-image-import.h"
#include "sinopia-png.h"
#include "sinopia-project.h"

static const guint8 white[3] = { 255, 255, 255 };

guint8 *
sinopia_image_crop_to_multiple (const guint8 *rgb, uint32_t width, uint32_t height, uint32_t multiple,
                                uint32_t *new_width, uint32_t *new_height)
{
  uint32_t w = width / multiple * multiple, h = height / multiple * multiple;
  uint32_t x0 = (width - w) / 2, y0 = (height - h) / 2;
  guint8 *out = g_malloc ((gsize) w * h * 3);
  for (uint32_t r = 0; r < h; r++)
    memcpy (out + (gsize) r * w * 3, rgb + ((gsize) (y0 + r) * width + x0) * 3, (gsize) w * 3);
  *new_width = w;
  *new_height = h;
  return out;
}

static guint8 *
load_png (const char *path, uint32_t *width, uint32_t *height, GError **error)
{
  g_autoptr (SinopiaPngImage) image = sinopia_png_load (path, (uint64_t) SINOPIA_PROJECT_MAX_SIDE
                                                                * SINOPIA_PROJECT_MAX_SIDE, error);
  if (!image)
    return NULL;
  *width = image->width;
  *height = image->height;
  return sinopia_png_image_to_rgb (image, white);
}

static guint8 *
load_other (const char *path, uint32_t *width, uint32_t *height, GError **error)
{
  int w, h;
  g_autofree char *name = g_filename_display_basename (path);
  if (!gdk_pixbuf_get_file_info (path, &w, &h))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s is not an image Sinopia can read (PNG or JPEG)",
                   name);
      return NULL;
    }
  if ((uint64_t) w * h > (uint64_t) SINOPIA_PROJECT_MAX_SIDE * SINOPIA_PROJECT_MAX_SIDE)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s is %d × %d pixels, more than the %d × %d Sinopia "
                   "works with; scale it down first", name, w, h, SINOPIA_PROJECT_MAX_SIDE, SINOPIA_PROJECT_MAX_SIDE);
      return NULL;
    }
  g_autoptr (GdkPixbuf) pixbuf = gdk_pixbuf_new_from_file (path, error);
  if (!pixbuf)
    return NULL;
  int channels = gdk_pixbuf_get_n_channels (pixbuf), stride = gdk_pixbuf_get_rowstride (pixbuf);
  const guint8 *pixels = gdk_pixbuf_read_pixels (pixbuf);
  gboolean alpha = gdk_pixbuf_get_has_alpha (pixbuf);
  w = gdk_pixbuf_get_width (pixbuf);
  h = gdk_pixbuf_get_height (pixbuf);
  guint8 *rgb = g_malloc ((gsize) w * h * 3);
  for (int r = 0; r < h; r++)
    for (int c = 0; c < w; c++)
      {
        const guint8 *p = pixels + (gsize) r * stride + (gsize) c * channels;
        for (int k = 0; k < 3; k++)
          rgb[((gsize) r * w + c) * 3 + k] = alpha ? (guint8) ((p[k] * p[3] + 255 * (255 - p[3]) + 127) / 255) : p[k];
      }
  *width = (uint32_t) w;
  *height = (uint32_t) h;
  return rgb;
}

gboolean
sinopia_image_import (const char *path, guint8 **rgb, uint32_t *width, uint32_t *height, char **note,
                      GError **error)
{
  static const guint8 signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  guint8 head[8] = { 0 };
  FILE *f = fopen (path, "rb");
  gboolean png = f && fread (head, 1, sizeof head, f) == sizeof head && !memcmp (head, signature, sizeof head);
  if (f)
    fclose (f);
  uint32_t w, h;
  g_autofree guint8 *full = png ? load_png (path, &w, &h, error) : load_other (path, &w, &h, error);
  if (!full)
    return FALSE;
  *note = NULL;
  if (w < SINOPIA_IMAGE_IMPORT_MULTIPLE || h < SINOPIA_IMAGE_IMPORT_MULTIPLE)
    {
      g_autofree char *name = g_filename_display_basename (path);
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s is %u × %u pixels; Sinopia needs at least %d × %d",
                   name, w, h, SINOPIA_IMAGE_IMPORT_MULTIPLE, SINOPIA_IMAGE_IMPORT_MULTIPLE);
      return FALSE;
    }
  if (w % SINOPIA_IMAGE_IMPORT_MULTIPLE || h % SINOPIA_IMAGE_IMPORT_MULTIPLE)
    {
      *rgb = sinopia_image_crop_to_multiple (full, w, h, SINOPIA_IMAGE_IMPORT_MULTIPLE, width, height);
      *note = g_strdup_printf ("Cropped %u × %u to %u × %u: sides must be multiples of %d", w, h, *width, *height,
                               SINOPIA_IMAGE_IMPORT_MULTIPLE);
      return TRUE;
    }
  *rgb = g_steal_pointer (&full);
  *width = w;
  *height = h;
  return TRUE;
}
