/* sinopia-preview.c — the latent→RGB preview map and its least-squares fit. */
#define G_LOG_DOMAIN "sinopia-engine"

#include <math.h>
#include <string.h>

#include "sinopia-preview.h"
#include "sinopia-sampler.h"

#define FIT_LATENTS 4
#define FIT_SIZE 8   /* latent positions per side of each fitting latent */

void
sinopia_preview_default (uint32_t channels, SinopiaPreviewMap *map)
{
  memset (map, 0, sizeof *map);
  map->channels = MIN (channels, 64);
  for (guint c = 0; c < 3 && c < map->channels; c++)
    map->weight[c][c] = 0.5f;
}

/* Solves the (n×n) symmetric positive system a·x = b in place (Cholesky with a small ridge
 * so a rank-deficient fit still gives a usable map). */
static gboolean
solve_spd (double *a, double *b, guint n)
{
  for (guint i = 0; i < n; i++)
    a[i * n + i] += 1e-6 * (1.0 + a[i * n + i]);
  for (guint j = 0; j < n; j++) {
    double d = a[j * n + j];
    for (guint k = 0; k < j; k++)
      d -= a[j * n + k] * a[j * n + k];
    if (d <= 0)
      return FALSE;
    a[j * n + j] = sqrt (d);
    for (guint i = j + 1; i < n; i++) {
      double s = a[i * n + j];
      for (guint k = 0; k < j; k++)
        s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / a[j * n + j];
    }
  }
  for (guint i = 0; i < n; i++) {
    for (guint k = 0; k < i; k++)
      b[i] -= a[i * n + k] * b[k];
    b[i] /= a[i * n + i];
  }
  for (guint i = n; i-- > 0;) {
    for (guint k = i + 1; k < n; k++)
      b[i] -= a[k * n + i] * b[k];
    b[i] /= a[i * n + i];
  }
  return TRUE;
}

gboolean
sinopia_preview_fit (SinopiaAeModel *ae, SinopiaPreviewMap *map, GError **error)
{
  const SinopiaAeConfig *cfg = sinopia_ae_config (ae);
  uint32_t C = cfg->z_channels, f = sinopia_ae_factor (cfg), n = C + 1;
  uint32_t hw = FIT_SIZE * FIT_SIZE, side = FIT_SIZE * f;

  if (C > 64 || cfg->out_ch < 3) {
    g_set_error (error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_CONFIG,
                 "Previews need at most 64 latent channels and an RGB decoder");
    return FALSE;
  }
  g_autofree double *ata = g_new0 (double, (gsize) n * n);
  g_autofree double *atb = g_new0 (double, (gsize) n * 3);
  g_autofree float *z = g_new (float, (gsize) C * hw);
  g_autofree float *img = g_new (float, (gsize) cfg->out_ch * side * side);
  double x[65];

  for (guint s = 0; s < FIT_LATENTS; s++) {
    sinopia_noise (0x70726576ull + s, z, (gsize) C * hw);
    if (!sinopia_ae_decode (ae, z, FIT_SIZE, FIT_SIZE, img, NULL, NULL, error))
      return FALSE;
    for (uint32_t p = 0; p < hw; p++) {
      uint32_t py = p / FIT_SIZE, px = p % FIT_SIZE;
      for (uint32_t c = 0; c < C; c++)
        x[c] = z[(gsize) c * hw + p];
      x[C] = 1.0;
      for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < n; j++)
          ata[i * n + j] += x[i] * x[j];
      for (uint32_t ch = 0; ch < 3; ch++) {
        double mean = 0;
        for (uint32_t dy = 0; dy < f; dy++)
          for (uint32_t dx = 0; dx < f; dx++)
            mean += img[((gsize) ch * side + py * f + dy) * side + px * f + dx];
        mean /= (double) f * f;
        for (uint32_t i = 0; i < n; i++)
          atb[ch * n + i] += x[i] * mean;
      }
    }
  }
  memset (map, 0, sizeof *map);
  map->channels = C;
  for (uint32_t ch = 0; ch < 3; ch++) {
    g_autofree double *a = g_memdup2 (ata, sizeof (double) * n * n);
    double *b = atb + ch * n;
    if (!solve_spd (a, b, n)) {
      g_set_error (error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_CONFIG, "The preview fit is singular");
      return FALSE;
    }
    for (uint32_t c = 0; c < C; c++)
      map->weight[ch][c] = (float) b[c];
    map->bias[ch] = (float) b[C];
  }
  return TRUE;
}

void
sinopia_preview_rgb (const SinopiaPreviewMap *map, const float *latent, uint32_t h, uint32_t w, guint8 *rgb)
{
  gsize hw = (gsize) h * w;
  for (gsize p = 0; p < hw; p++)
    for (guint ch = 0; ch < 3; ch++) {
      float v = map->bias[ch];
      for (uint32_t c = 0; c < map->channels; c++)
        v += map->weight[ch][c] * latent[c * hw + p];
      float u = (CLAMP (v, -1.0f, 1.0f) + 1.0f) * 127.5f;
      rgb[p * 3 + ch] = (guint8) (u + 0.5f);
    }
}
