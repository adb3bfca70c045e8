/* libFuzzer target: the PNG reader on arbitrary bytes, then the RGB conversion and the texts. */
#define G_LOG_DOMAIN "sinopia-fuzz"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sinopia-png.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Small enough that a header claiming a huge image is refused before libpng inflates anything. */
#define FUZZ_MAX_PIXELS (1u << 20)

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  SinopiaPngImage *image = sinopia_png_decode (data, size, FUZZ_MAX_PIXELS, "fuzz.png", &error);
  if (image == NULL) {
    g_assert (error != NULL && error->domain == SINOPIA_PNG_ERROR && g_str_has_prefix (error->message, "fuzz.png: "));
    g_error_free (error);
    return 0;
  }
  g_assert (error == NULL);
  g_assert (image->width > 0 && image->height > 0 && (uint64_t) image->width * image->height <= FUZZ_MAX_PIXELS);
  const guint8 background[3] = { 1, 2, 3 };
  guint8 *rgb = sinopia_png_image_to_rgb (image, background);
  g_free (rgb);
  for (guint i = 0; i < image->n_texts; i++) {
    g_assert (g_utf8_validate (image->texts[i].key, -1, NULL));
    g_assert (g_utf8_validate (image->texts[i].value, -1, NULL));
    g_assert (sinopia_png_image_get_text (image, image->texts[i].key) != NULL);
  }
  sinopia_png_image_free (image);
  return 0;
}
