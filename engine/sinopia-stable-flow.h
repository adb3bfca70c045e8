/* sinopia-stable-flow.h — Stable Flow (../shared/docs/algorithms.md §2) on packed latents: a
 * reference branch and an edit branch sampled together from the same start, the edit's
 * image-token keys and values replaced by the reference's in the vital layers at every step;
 * for real images, inversion with the destination level's timestep (variant B) and the
 * reference forced along the inverted trajectory.
 *
 * The two branches are two forwards per step in one submission, the reference's first: it
 * records its image K/V (after QK-norm and RoPE, which equals replacing the raw projections,
 * §2.3) in the vital layers and the edit's forward writes them over its own. The reference's
 * forward and Euler step are those of plain sampling, so the reference is plain sampling of
 * its prompt bit for bit.
 *
 * Ownership: the request borrows everything it points to. Threads: the caller's thread (the
 * engine's worker); the cancel flag may be set from any thread.
 */
#pragma once

#include "sinopia-sampler.h"

G_BEGIN_DECLS

#define SINOPIA_STABLE_FLOW_ERROR (sinopia_stable_flow_error_quark ())
GQuark sinopia_stable_flow_error_quark (void);

typedef enum {
  SINOPIA_STABLE_FLOW_ERROR_INPUT,   /* bad steps, layers or trajectory */
} SinopiaStableFlowErrorCode;

/* Latent nudging of real images (§2.5): the clean latent is multiplied by this before inversion. */
#define SINOPIA_STABLE_FLOW_NUDGE 1.15f

/* The vital layers of FLUX.1-dev in the reference code (global indices, §2.2). */
extern const guint sinopia_stable_flow_flux_dev_layers[9];

/* Where the reference branch is put after editing step i of n (real images, §2.5): the index
 * into the inverted trajectory I[0 … n−1] (I[k] at σ_{n−1−k}). Literal: (n − i) mod n, the
 * reference code's mapping, two levels behind; aligned: n − 2 − i, the level the step reached
 * (−1 after the last step: the clean latent itself). */
int sinopia_stable_flow_reference_index (guint n_steps, guint step, gboolean aligned);

typedef struct {
  SinopiaFluxModel *model;
  /* reference (source) and edit (target) prompts, each txt [n_txt, context_in_dim] and y
   * [vec_in_dim]; the negative prompt (NULL: none) for branches whose guidance is not 1 on CFG
   * models */
  const float *src_txt, *src_y, *tar_txt, *tar_y, *neg_txt, *neg_y, *txt_ids;
  uint32_t n_txt;
  const float *img_ids;          /* [n_img, n_axes] */
  uint32_t n_img;
  const float *timesteps;        /* the schedule σ_0 = 1 > … > σ_n = 0 */
  guint n_steps;
  float ref_guidance, edit_guidance;
  const gboolean *vital;         /* per global layer (depth + depth_single) */
  /* Real images: the inverted trajectory I [n_steps, n_img, C] (sinopia_stable_flow_invert)
   * and the clean nudged latent; NULL for generated images. */
  const float *trajectory, *clean;
  gboolean aligned;              /* the aligned reference mapping instead of the literal one */
  const gint *cancel;
  const SinopiaPreviewMap *preview;   /* previews of the edit, or NULL */
  uint32_t latent_height, latent_width;
} SinopiaStableFlowRequest;

/* Samples both branches from the packed latent `start` [n_img, C] into ref_out and edit_out.
 * on_step (may be NULL) sees the edit branch after every step; returning FALSE cancels
 * (SINOPIA_SAMPLER_ERROR_CANCELLED, as the cancel flag). */
gboolean sinopia_stable_flow (const SinopiaStableFlowRequest *req, const float *start, float *ref_out,
                              float *edit_out, SinopiaStepFunc on_step, gpointer user_data, GError **error);

/* Inverts the packed clean latent z0 (already nudged) with the source prompt of `req` at
 * ref_guidance, variant B of §0.4 (each step evaluated at its destination level), keeping
 * every step's latent in trajectory [n_steps, n_img, C]. on_step as sinopia_flux_sample's. */
gboolean sinopia_stable_flow_invert (const SinopiaStableFlowRequest *req, const float *z0, float *trajectory,
                                     SinopiaStepFunc on_step, gpointer user_data, GError **error);

G_END_DECLS
