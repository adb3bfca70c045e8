/* sinopia-sampler.h — flow-matching sampling with the FLUX transformer: the reference
 * schedule, latent packing and position ids, seeded noise, and the Euler loop that both
 * denoises (σ from 1 to 0) and inverts (σ from 0 to 1), with classifier-free guidance,
 * a per-step callback and cancellation.
 * Threads: the loop runs on the caller's thread (the engine's worker); the cancel flag may
 * be set from any thread. */
#pragma once

#include "sinopia-flux.h"
#include "sinopia-preview.h"

G_BEGIN_DECLS

#define SINOPIA_SAMPLER_ERROR (sinopia_sampler_error_quark ())
GQuark sinopia_sampler_error_quark (void);

typedef enum {
  SINOPIA_SAMPLER_ERROR_CANCELLED,
  SINOPIA_SAMPLER_ERROR_INPUT,
} SinopiaSamplerErrorCode;

/* The reference get_schedule: n_steps + 1 values from 1 to 0, shifted with
 * μ = 0.5 + (1.15 − 0.5)(image_seq_len − 256)/(4096 − 256) when `shift` (float32 math as the
 * reference does it). */
void sinopia_flux_schedule (guint n_steps, guint image_seq_len, gboolean shift, float *timesteps);

/* Latent [C, H, W] (H, W even) ↔ packed tokens [(H/2)(W/2), 4C]. */
void sinopia_flux_pack (const float *latent, uint32_t channels, uint32_t height, uint32_t width, float *packed);
void sinopia_flux_unpack (const float *packed, uint32_t channels, uint32_t height, uint32_t width, float *latent);
/* img_ids [(H/2)(W/2), 3] = (0, row, col) for a latent of H×W. */
void sinopia_flux_img_ids (uint32_t height, uint32_t width, float *ids);

/* n standard normal values determined by `seed` alone: element i depends only on (seed, i),
 * computed with integer hashing and double math, so every run and device gives the same. */
void sinopia_noise (guint64 seed, float *out, gsize n);

typedef struct {
  guint step, n_steps;
  float t_eval;           /* σ the model saw */
  float t_next;           /* σ the latent now has */
  const float *latent;    /* packed [n_img, C], after this step; borrowed for the call */
  const float *x0;        /* packed predicted clean latent x − σ·v; borrowed */
  uint32_t n_img, channels;
  /* RGB preview of x0 at latent resolution [preview_height, preview_width, 3], or NULL
   * when the request has no preview map; borrowed */
  const guint8 *preview_rgb;
  uint32_t preview_width, preview_height;
} SinopiaStepInfo;

/* Called on the sampling thread after every step; return FALSE to stop (cancel). */
typedef gboolean (*SinopiaStepFunc) (const SinopiaStepInfo *info, gpointer user_data);

/* The step callback of an Euler loop: the predicted clean latent x0 = x_t − t·v, its preview,
 * then on_step. Owns its scratch; init, report after every step, clear. */
typedef struct {
  SinopiaStepFunc on_step;
  gpointer user_data;
  const SinopiaPreviewMap *preview;   /* NULL: no previews */
  uint32_t latent_height, latent_width, n_img, channels;
  float *x0, *unpacked;
  guint8 *rgb;
} SinopiaStepReporter;

void sinopia_step_reporter_init (SinopiaStepReporter *reporter, SinopiaStepFunc on_step, gpointer user_data,
                                 const SinopiaPreviewMap *preview, uint32_t latent_height, uint32_t latent_width,
                                 uint32_t n_img, uint32_t channels);
void sinopia_step_reporter_clear (SinopiaStepReporter *reporter);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SinopiaStepReporter, sinopia_step_reporter_clear)
/* After the step from t to t + dt: `latent` [n_img, channels] is the new latent and `pred` the
 * velocity the step used. FALSE with SINOPIA_SAMPLER_ERROR_CANCELLED when on_step says stop. */
gboolean sinopia_step_reporter_report (SinopiaStepReporter *reporter, guint step, guint n_steps, float t, float dt,
                                       const float *latent, const float *pred, GError **error);

typedef struct {
  SinopiaFluxModel *model;
  /* the prompt: txt [n_txt, context_in_dim], y [vec_in_dim], txt_ids [n_txt, n_axes] */
  const float *txt, *txt_ids, *y;
  uint32_t n_txt;
  /* negative prompt for true classifier-free guidance (models without a guidance
   * embedding); NULL: no second pass */
  const float *neg_txt, *neg_txt_ids, *neg_y;
  uint32_t n_neg_txt;
  /* embedded guidance for models with a guidance embedding; the CFG scale otherwise */
  float guidance;
  /* A copy of `model` on another context (sinopia_model_negative_flux), or NULL. With it the
   * negative pass runs there, beside the conditional one, and the two velocities are combined
   * and stepped on this thread, with the same float operations as on the device, so the result
   * is the same bit for bit. Not with `prepare` or external tokens (their options belong to
   * `model`'s context): those run both passes on `model`. */
  SinopiaFluxModel *neg_model;
  const float *img_ids;   /* [n_img, n_axes] */
  uint32_t n_img;
  /* n_steps evaluations: x += dt[k] · v(x, t_eval[k]); denoising has t_eval = σ_k,
   * dt = σ_{k+1} − σ_k; inversion walks upward with dt > 0. */
  const float *t_eval, *dt;
  guint n_steps;
  const gint *cancel;     /* non-zero: stop before the next step (g_atomic_int_get) */
  /* previews: the unpacked latent is [channels/4, latent_height, latent_width] */
  const SinopiaPreviewMap *preview;
  uint32_t latent_height, latent_width;
  /* Regional prompting (sinopia-regional.h) in steps k < regional_steps: the conditional
   * forward runs SinopiaFluxRegional with the regional prompts' text tokens concatenated
   * (regional_txt [n_regional_txt, context_in_dim], positions zero) and region_bits
   * [2·n_img + n_regional_txt]; the negative pass stays plain. regional_steps 0: plain. */
  guint regional_steps;
  const float *regional_txt;
  uint32_t n_regional_txt;
  const uint32_t *region_bits;
  float base_ratio;
  guint double_interval, single_interval;
  /* Per-step hooks of the methods that change the forward (KV-Edit, Stable Flow). The latent
   * holds the first n_img − n_external tokens only; the others are external to every forward
   * (SinopiaFluxOptions.n_external, set by the sampler). `prepare` (may be NULL) runs before
   * step k on this thread: it may change the host latent, which is uploaded again, and fills
   * the options of the conditional and the negative forward (zeroed before the call; not
   * together with regional prompting). Returning FALSE with `error` set stops sampling. With
   * external tokens there are no previews. */
  uint32_t n_external;
  const gboolean *bypass;    /* per layer: skip the block in both passes (the vital-layer finder); may be NULL */
  gboolean (*prepare) (guint k, float *latent, SinopiaFluxOptions *cond, SinopiaFluxOptions *neg, gpointer user,
                       GError **error);
  gpointer prepare_user;
} SinopiaSampleRequest;

/* Fills a request's t_eval/dt (n_steps each) for denoising along `timesteps` (n_steps+1),
 * or for inversion (variant A: evaluated at the current level) when `invert`. */
void sinopia_flux_steps_from_schedule (const float *timesteps, guint n_steps, gboolean invert, float *t_eval,
                                       float *dt);

/* Records the velocity of step `step` for the latent x into v: the conditional forward, and
 * with `neg` (may be NULL) the negative one into nv, combined as v ← nv + guidance·(v − nv),
 * true classifier-free guidance. Each forward takes its options (may be NULL). */
gboolean sinopia_flux_record_velocity (SinopiaFluxModel *model, SinopiaFluxWorkspace *ws, guint step,
                                       SinopiaFluxConditioning *cond, const SinopiaFluxOptions *opts,
                                       SinopiaFluxConditioning *neg, const SinopiaFluxOptions *neg_opts,
                                       float guidance, const SinopiaTensor *x, const SinopiaTensor *v,
                                       const SinopiaTensor *nv, SinopiaRecorder *rec, GError **error);

/* Runs the loop on the packed latent (in place, host memory [n_img, in_channels]).
 * One command buffer and one submission per step (two forwards with CFG). */
gboolean sinopia_flux_sample (const SinopiaSampleRequest *req, float *latent, SinopiaStepFunc on_step,
                              gpointer user_data, GError **error);

G_END_DECLS
