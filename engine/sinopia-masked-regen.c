/* sinopia-masked-regen.c — plain masked regeneration: latent blending on the input's noising
 * path around the ordinary sampler. */
#define G_LOG_DOMAIN "sinopia-engine"

#include "sinopia-masked-regen.h"

typedef struct {
  const SinopiaMaskedRegenRequest *req;
  const float *z0, *mask;
  gsize size;
} Regen;

/* (1 − τ)·z0 + τ·ε where the mask is 0 (everywhere with mask NULL). */
static void
noise_to (const Regen *r, float tau, float *x)
{
  for (gsize i = 0; i < r->size; i++)
    if (!r->mask || r->mask[i] == 0.0f)
      x[i] = (1.0f - tau) * r->z0[i] + tau * r->req->noise[i];
}

/* Step j is step k = s + j of the schedule: the unmasked channels go back to level τ_k. */
static gboolean
reset_unmasked (guint j, float *x, SinopiaFluxOptions *cond, SinopiaFluxOptions *neg, gpointer user, GError **error)
{
  Regen *r = user;
  (void) cond;
  (void) neg;
  (void) error;
  noise_to (r, r->req->timesteps[r->req->skip_step + j], x);
  return TRUE;
}

gboolean
sinopia_masked_regen (const SinopiaMaskedRegenRequest *req, const float *z0, const float *channel_mask, float *out,
                      SinopiaStepFunc on_step, gpointer user_data, GError **error)
{
  const SinopiaFluxConfig *cfg = sinopia_flux_model_config (req->model);
  guint M = req->n_steps, s = req->skip_step;
  Regen r = { .req = req, .z0 = z0, .size = (gsize) req->n_img * cfg->in_channels };

  if (!M || s >= M || !req->n_img || !req->timesteps || !req->txt || !req->img_ids || !req->noise) {
    g_set_error_literal (error, SINOPIA_SAMPLER_ERROR, SINOPIA_SAMPLER_ERROR_INPUT,
                         "Masked regeneration needs steps, skip_step below them, an image, the prompt and noise");
    return FALSE;
  }
  g_autofree float *t_eval = g_new (float, M), *dt = g_new (float, M);
  sinopia_flux_steps_from_schedule (req->timesteps, M, FALSE, t_eval, dt);
  noise_to (&r, req->timesteps[s], out);
  r.mask = channel_mask;
  SinopiaSampleRequest sample = {
    .model = req->model, .txt = req->txt, .txt_ids = req->txt_ids, .y = req->y, .n_txt = req->n_txt,
    .guidance = req->guidance, .img_ids = req->img_ids, .n_img = req->n_img, .t_eval = t_eval + s, .dt = dt + s,
    .n_steps = M - s, .cancel = req->cancel, .preview = req->preview, .latent_height = req->latent_height,
    .latent_width = req->latent_width, .prepare = reset_unmasked, .prepare_user = &r,
    /* the sampler runs the negative pass only where the guidance needs it */
    .neg_txt = req->neg_txt, .neg_y = req->neg_y, .neg_txt_ids = req->txt_ids, .n_neg_txt = req->n_txt,
  };
  if (!sinopia_flux_sample (&sample, out, on_step, user_data, error))
    return FALSE;
  /* §3.5: the unmasked channels are z0's */
  for (gsize i = 0; i < r.size; i++)
    if (channel_mask[i] == 0.0f)
      out[i] = z0[i];
  return TRUE;
}
