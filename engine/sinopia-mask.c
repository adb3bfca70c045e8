/* sinopia-mask.c — PNG masks: grey ≥ 128 inside, alpha ignored. */
#define G_LOG_DOMAIN "sinopia-engine"

#include "sinopia-mask.h"
#include "sinopia-png.h"

G_DEFINE_QUARK (sinopia-mask-error-quark, sinopia_mask_error)

guint8 *
sinopia_mask_from_rgba (const guint8 *rgba, uint32_t width, uint32_t height)
{
  gsize n = (gsize) width * height;
  guint8 *mask = g_new (guint8, n);
  for (gsize p = 0; p < n; p++)
    mask[p] = (guint) rgba[4 * p] + rgba[4 * p + 1] + rgba[4 * p + 2] >= 3 * 128;
  return mask;
}

guint8 *
sinopia_mask_load (const char *path, uint32_t width, uint32_t height, GError **error)
{
  g_autoptr (SinopiaPngImage) png = sinopia_png_load (path, 0, error);
  if (!png)
    return NULL;
  if (png->width != width || png->height != height) {
    g_autofree char *name = g_filename_display_name (path);
    g_set_error (error, SINOPIA_MASK_ERROR, SINOPIA_MASK_ERROR_SIZE,
                 "%s is %u×%u; a mask must have the image's size, %u×%u", name, png->width, png->height, width,
                 height);
    return NULL;
  }
  return sinopia_mask_from_rgba (png->rgba, width, height);
}
