/* sinopia-masked-regen.h — plain masked regeneration, the baseline KV-Edit is measured against
 * (../shared/docs/algorithms.md §3): no inversion and no K/V cache. Every token starts on the
 * input's noising path, x = (1 − τ_s)·z0 + τ_s·ε; before every step k the channels the mask
 * leaves out are put back on that path, (1 − τ_k)·z0 + τ_k·ε, and the ordinary full forward
 * with the target prompt moves all tokens. The masked area sees the background only as the
 * noised input, where KV-Edit lets it attend to the background's own keys and values.
 *
 * Ownership: the request borrows everything it points to. Threads: runs on the caller's
 * thread (the engine's worker); the cancel flag may be set from any thread and is checked
 * before every step.
 */
#pragma once

#include "sinopia-sampler.h"

G_BEGIN_DECLS

typedef struct {
  SinopiaFluxModel *model;
  /* the target prompt, txt [n_txt, context_in_dim] and y [vec_in_dim], with the text ids
   * [n_txt, n_axes]; the negative prompt (NULL: none) is the unconditional pass of CFG
   * models when the guidance is not 1 */
  const float *txt, *y, *neg_txt, *neg_y, *txt_ids;
  uint32_t n_txt;
  const float *img_ids;              /* [n_img, n_axes], token order of the latent */
  uint32_t n_img;
  const float *timesteps;            /* the schedule τ_0 = 1 > … > τ_M = 0 */
  guint n_steps;                     /* M */
  guint skip_step;                   /* s < M: steps s … M−1 run */
  float guidance;
  const float *noise;                /* ε, packed [n_img, C] */
  const gint *cancel;
  /* previews of the whole latent ([z, latent_height, latent_width] unpacked), or NULL */
  const SinopiaPreviewMap *preview;
  uint32_t latent_height, latent_width;
} SinopiaMaskedRegenRequest;

/* Regenerates the packed latent z0 [n_img, C] where channel_mask [n_img, C] is 1 and writes
 * the result to out [n_img, C]: every channel with mask 0 is z0's, bit for bit (KV-Edit's
 * composite, §3.5). on_step (may be NULL) sees the M − s steps with the whole latent;
 * returning FALSE cancels (SINOPIA_SAMPLER_ERROR_CANCELLED, as the cancel flag). */
gboolean sinopia_masked_regen (const SinopiaMaskedRegenRequest *req, const float *z0, const float *channel_mask,
                               float *out, SinopiaStepFunc on_step, gpointer user_data, GError **error);

G_END_DECLS
