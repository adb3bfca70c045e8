/* sinopia-vital-layers.c — layer bypass scores and SSIM. */
#define G_LOG_DOMAIN "sinopia-engine"

#include "sinopia-vital-layers.h"

#define WIN 7

double
sinopia_ssim (const guint8 *a, const guint8 *b, uint32_t W, uint32_t H)
{
  const double c1 = (0.01 * 255) * (0.01 * 255), c2 = (0.03 * 255) * (0.03 * 255), n = WIN * WIN;
  g_autofree double *ya = g_new (double, (gsize) W * H), *yb = g_new (double, (gsize) W * H);
  for (gsize p = 0; p < (gsize) W * H; p++) {
    ya[p] = 0.299 * a[3 * p] + 0.587 * a[3 * p + 1] + 0.114 * a[3 * p + 2];
    yb[p] = 0.299 * b[3 * p] + 0.587 * b[3 * p + 1] + 0.114 * b[3 * p + 2];
  }
  double total = 0;
  guint windows = 0;
  for (uint32_t y = 0; y + WIN <= H; y++)
    for (uint32_t x = 0; x + WIN <= W; x++) {
      double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
      for (uint32_t dy = 0; dy < WIN; dy++)
        for (uint32_t dx = 0; dx < WIN; dx++) {
          gsize p = (gsize) (y + dy) * W + x + dx;
          sa += ya[p];
          sb += yb[p];
          saa += ya[p] * ya[p];
          sbb += yb[p] * yb[p];
          sab += ya[p] * yb[p];
        }
      double ma = sa / n, mb = sb / n;
      /* sample (co)variances, as the usual implementations */
      double va = (saa - n * ma * ma) / (n - 1), vb = (sbb - n * mb * mb) / (n - 1);
      double cov = (sab - n * ma * mb) / (n - 1);
      total += (2 * ma * mb + c1) * (2 * cov + c2) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
      windows++;
    }
  return windows ? total / windows : 1.0;
}

static gboolean
report (SinopiaVitalLayersProgress progress, guint done, guint total, gpointer user_data, GError **error)
{
  if (!progress || progress (done, total, user_data))
    return TRUE;
  g_set_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_CANCELLED, "Cancelled");
  return FALSE;
}

gboolean
sinopia_vital_layers_measure (SinopiaModel *model, const SinopiaVitalLayersParams *p, const gint *cancel,
                              SinopiaVitalLayersProgress progress, gpointer user_data, double *scores, GError **error)
{
  uint32_t n_layers = sinopia_flux_n_layers (sinopia_flux_model_config (sinopia_model_flux (model)));
  guint total = p->n_prompts * (n_layers + 1), done = 0;
  g_autofree gboolean *bypass = g_new0 (gboolean, n_layers);

  for (uint32_t l = 0; l < n_layers; l++)
    scores[l] = 0;
  for (guint i = 0; i < p->n_prompts; i++) {
    SinopiaGenerateParams g;
    sinopia_generate_params_init (&g);
    g.prompt = p->prompts[i];
    g.seed = p->seed + i;
    g.steps = p->steps;
    g.guidance = p->guidance;
    g.width = p->width;
    g.height = p->height;
    g_autoptr (SinopiaImage) full = sinopia_generate (model, &g, cancel, NULL, NULL, error);
    if (!full || !report (progress, ++done, total, user_data, error))
      return FALSE;
    g.bypass = bypass;
    for (uint32_t l = 0; l < n_layers; l++) {
      bypass[l] = TRUE;
      g_autoptr (SinopiaImage) without = sinopia_generate (model, &g, cancel, NULL, NULL, error);
      bypass[l] = FALSE;
      if (!without)
        return FALSE;
      scores[l] += (1.0 - sinopia_ssim (full->rgb, without->rgb, full->width, full->height)) / p->n_prompts;
      if (!report (progress, ++done, total, user_data, error))
        return FALSE;
    }
  }
  return TRUE;
}

guint
sinopia_vital_layers_select (const double *scores, guint n_layers, guint count, guint *layers)
{
  g_autofree gboolean *taken = g_new0 (gboolean, n_layers);
  count = MIN (count, n_layers);
  for (guint k = 0; k < count; k++) {
    guint best = n_layers;
    for (guint l = 0; l < n_layers; l++)
      if (!taken[l] && (best == n_layers || scores[l] > scores[best]))
        best = l;
    taken[best] = TRUE;
  }
  guint n = 0;
  for (guint l = 0; l < n_layers; l++)
    if (taken[l])
      layers[n++] = l;
  return n;
}
