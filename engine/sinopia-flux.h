/* sinopia-flux.h — the FLUX.1 transformer on the Vulkan ops: configuration, checkpoint
 * loading (BFL and diffusers naming), per-job conditioning and the recorded forward pass.
 *
 * Ownership: a SinopiaFluxModel owns its device weights and borrows the Vulkan context,
 * which must outlive it. A SinopiaFluxWorkspace owns the activation buffers for one
 * sequence shape; a SinopiaFluxConditioning owns the per-job tensors (txt_in output,
 * RoPE tables, modulation vectors of every step).
 * Threads: all of these are used from one thread at a time (the engine's worker).
 */
#pragma once

#include "sinopia-dump.h"
#include "sinopia-ops.h"
#include "sinopia-safetensors.h"

G_BEGIN_DECLS

#define SINOPIA_FLUX_ERROR (sinopia_flux_error_quark ())
GQuark sinopia_flux_error_quark (void);

typedef enum {
  SINOPIA_FLUX_ERROR_CONFIG,     /* configuration missing, inconsistent or unsupported */
  SINOPIA_FLUX_ERROR_TENSORS,    /* missing, extra or misshapen tensors */
  SINOPIA_FLUX_ERROR_TOO_LARGE,  /* does not fit the device */
  SINOPIA_FLUX_ERROR_INPUT,      /* bad inputs to a forward */
} SinopiaFluxErrorCode;

#define SINOPIA_FLUX_MAX_AXES 4

typedef struct {
  uint32_t in_channels;      /* packed latent features (64) */
  uint32_t out_channels;
  uint32_t vec_in_dim;       /* pooled text vector (CLIP: 768) */
  uint32_t context_in_dim;   /* text token features (T5: 4096) */
  uint32_t hidden_size;
  uint32_t mlp_hidden;       /* hidden_size · mlp_ratio */
  uint32_t num_heads;
  uint32_t depth;            /* double-stream blocks */
  uint32_t depth_single;     /* single-stream blocks */
  uint32_t n_axes;
  uint32_t axes_dim[SINOPIA_FLUX_MAX_AXES];
  double theta;
  gboolean qkv_bias;
  gboolean guidance_embed;
} SinopiaFluxConfig;

typedef enum {
  SINOPIA_FLUX_NAMING_BFL,
  SINOPIA_FLUX_NAMING_DIFFUSERS,
} SinopiaFluxNaming;

/* Reads the configuration from `__metadata__["flux_params"]` when present, otherwise
 * infers it from tensor names and shapes. Also reports the naming scheme and the prefix
 * the transformer's names carry (e.g. "model.diffusion_model."; "" for plain files). */
gboolean sinopia_flux_config_from_checkpoint (const SinopiaSafetensors *st, SinopiaFluxConfig *cfg,
                                              SinopiaFluxNaming *naming, char **prefix, GError **error);
/* Parses the reference's FluxParams JSON. */
gboolean sinopia_flux_config_from_json (const char *json, SinopiaFluxConfig *cfg, GError **error);
uint32_t sinopia_flux_head_dim (const SinopiaFluxConfig *cfg);
/* Parameter count of a model of this configuration. */
uint64_t sinopia_flux_param_count (const SinopiaFluxConfig *cfg);

typedef struct _SinopiaFluxModel SinopiaFluxModel;

/* Loads a transformer checkpoint into device memory. Checks first that the weights and a
 * 1024×1024 working set fit the device (error "needs X GB, device has Y GB" otherwise).
 * (transfer full): free with sinopia_flux_model_free. */
SinopiaFluxModel *sinopia_flux_model_load (SinopiaVkContext *ctx, const char *path, GError **error);
void sinopia_flux_model_free (SinopiaFluxModel *model);
const SinopiaFluxConfig *sinopia_flux_model_config (const SinopiaFluxModel *model);
/* Device bytes of the weights. */
uint64_t sinopia_flux_model_weight_bytes (const SinopiaFluxModel *model);
SinopiaVkContext *sinopia_flux_model_context (const SinopiaFluxModel *model);

/* Device bytes one forward at n_img image tokens and n_txt text tokens needs beyond the
 * weights (workspace + conditioning for `n_steps`). */
uint64_t sinopia_flux_activation_bytes (const SinopiaFluxConfig *cfg, uint32_t n_img, uint32_t n_txt,
                                        uint32_t n_steps);

/* ---- conditioning: everything a job computes once and every step reads ---------------- */

typedef struct _SinopiaFluxConditioning SinopiaFluxConditioning;

/* Prepares a job: txt [n_txt, context_in_dim] and y [vec_in_dim] (host f32), ids of the
 * text and image tokens ([n, n_axes] host f32, as the reference's txt_ids/img_ids), and the
 * timesteps (and guidance, ignored without a guidance embedding) of each of n_steps forward
 * passes. Runs the embedders and every block's modulation for all steps in one submission.
 * (transfer full): free with sinopia_flux_conditioning_free. */
SinopiaFluxConditioning *sinopia_flux_conditioning_new (SinopiaFluxModel *model, const float *txt, uint32_t n_txt,
                                                        const float *txt_ids, const float *y, const float *img_ids,
                                                        uint32_t n_img, const float *timesteps,
                                                        const float *guidance, uint32_t n_steps, GError **error);
void sinopia_flux_conditioning_free (SinopiaFluxConditioning *cond);
uint32_t sinopia_flux_conditioning_n_img (const SinopiaFluxConditioning *cond);

/* ---- the forward pass ---------------------------------------------------------------- */

typedef struct _SinopiaFluxWorkspace SinopiaFluxWorkspace;

/* Activation buffers for sequences of n_img + n_txt tokens. (transfer full). */
SinopiaFluxWorkspace *sinopia_flux_workspace_new (SinopiaFluxModel *model, uint32_t n_img, uint32_t n_txt,
                                                  GError **error);
void sinopia_flux_workspace_free (SinopiaFluxWorkspace *ws);

/* Records one transformer forward for step `step` of the conditioning into `rec`:
 * img [n_img, in_channels] f32 (packed latent) → pred [n_img, out_channels] f32.
 * Nothing runs until the recorder is submitted. With `dump` non-NULL the forward also
 * records copies of its intermediates (for tests and the CLI); collect them after the submit. */
gboolean sinopia_flux_forward (SinopiaFluxModel *model, SinopiaFluxWorkspace *ws, SinopiaFluxConditioning *cond,
                               guint step, const SinopiaTensor *img, const SinopiaTensor *pred,
                               SinopiaRecorder *rec, SinopiaDump *dump, GError **error);

G_END_DECLS
