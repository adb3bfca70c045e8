/* sinopia-regional.c — region masks to token bits and row bits. */
#define G_LOG_DOMAIN "sinopia-engine"

#include "sinopia-regional.h"

G_DEFINE_QUARK (sinopia-regional-error-quark, sinopia_regional_error)

gboolean
sinopia_regional_token_bits (const guint8 *const *masks, guint n_masks, uint32_t width, uint32_t height,
                             uint32_t patch, uint32_t *token_bits, guint *n_entries, GError **error)
{
  uint32_t rows = height / patch, cols = width / patch;
  gsize n_pixels = (gsize) width * height;
  gint64 covered = 0;   /* Σ over pixels of Σ_i mask_i */

  if (n_masks >= SINOPIA_REGIONAL_MAX_ENTRIES) {
    g_set_error (error, SINOPIA_REGIONAL_ERROR, SINOPIA_REGIONAL_ERROR_INPUT,
                 "%u regions are more than the %u regional prompting can tell apart", n_masks,
                 SINOPIA_REGIONAL_MAX_ENTRIES - 1);
    return FALSE;
  }
  for (gsize t = 0; t < (gsize) rows * cols; t++)
    token_bits[t] = 0;
  for (guint i = 0; i < n_masks; i++) {
    gsize area = 0;
    gboolean any_token = FALSE;
    for (gsize p = 0; p < n_pixels; p++)
      area += masks[i][p] != 0;
    for (uint32_t r = 0; r < rows; r++)
      for (uint32_t c = 0; c < cols; c++)
        if (masks[i][(gsize) (patch * r + patch / 2) * width + patch * c + patch / 2]) {
          token_bits[r * cols + c] |= 1u << i;
          any_token = TRUE;
        }
    if (!area || !any_token) {
      g_set_error (error, SINOPIA_REGIONAL_ERROR, SINOPIA_REGIONAL_ERROR_INPUT,
                   area ? "Region %u covers no token: its mask must include the centre pixel of at least one "
                          "%u×%u tile of the image"
                        : "Region %u is empty: its mask has no pixel set",
                   i + 1, patch, patch);
      return FALSE;
    }
    covered += area;
  }
  *n_entries = n_masks;
  if ((gint64) n_pixels - covered > 0) {
    uint32_t bg = 1u << n_masks;
    for (gsize t = 0; t < (gsize) rows * cols; t++)
      if (token_bits[t] == 0 || (token_bits[t] & (token_bits[t] - 1)) != 0)
        token_bits[t] |= bg;
    *n_entries = n_masks + 1;
  }
  for (gsize t = 0; t < (gsize) rows * cols; t++)
    if (!token_bits[t])
      token_bits[t] = SINOPIA_REGIONAL_OUTSIDE;
  return TRUE;
}

void
sinopia_regional_row_bits (const uint32_t *token_bits, uint32_t n_tokens, guint n_entries, uint32_t T, uint32_t *out)
{
  uint32_t *txt = out + n_tokens, *copy = txt + (gsize) n_entries * T;
  for (uint32_t t = 0; t < n_tokens; t++)
    out[t] = copy[t] = token_bits[t];
  for (guint e = 0; e < n_entries; e++)
    for (uint32_t j = 0; j < T; j++)
      txt[(gsize) e * T + j] = 1u << e;
}
