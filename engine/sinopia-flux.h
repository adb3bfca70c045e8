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

/* Activation buffers for sequences of n_img + n_txt tokens (or fewer). (transfer full). */
SinopiaFluxWorkspace *sinopia_flux_workspace_new (SinopiaFluxModel *model, uint32_t n_img, uint32_t n_txt,
                                                  GError **error);
/* A workspace that also runs regional prompting (SinopiaFluxRegional) for `base` (the base
 * prompt) and `regional` (the regional prompts): rows for [base text ; image ; regional text ;
 * image copy], the RoPE table of that layout and the regional attention's output. Without
 * `with_base` the base rows are left out, for base_ratio 0. It runs plain forwards of `base`
 * too. (transfer full). */
SinopiaFluxWorkspace *sinopia_flux_workspace_new_regional (SinopiaFluxModel *model, SinopiaFluxConditioning *base,
                                                           SinopiaFluxConditioning *regional, gboolean with_base,
                                                           GError **error);
void sinopia_flux_workspace_free (SinopiaFluxWorkspace *ws);

/* ---- method options of the forward (design.md "Where each method hooks in") ------------ */

/* Regional prompting during one forward (../shared/docs/algorithms.md §1.5): the image tokens
 * attend once with the base prompt unmasked and once with the regional prompts under the
 * region rule, and their attention outputs are blended as (1 − β)·regional + β·base. Double
 * blocks keep a base and a regional text stream; single blocks run two whole sequences
 * [base text ; image] and [regional text ; image copy], and the output is the copy's. */
typedef struct {
  /* the N regional prompts' text tokens concatenated (n_txt = N·T, ids all zero), the base
   * prompt's y and the same timesteps as the base conditioning */
  SinopiaFluxConditioning *regional;
  /* u32 [1, 2·n_img + N·T]: region bits (sinopia-regional.h) of [image ; regional text ; image] —
   * double blocks read the first n_img + N·T, single blocks the last N·T + n_img */
  const SinopiaTensor *bits;
  float base_ratio;              /* β in [0, 1]; with 0 the base branch is skipped */
  /* the rule is applied in double block l iff l mod double_interval = 0 (single blocks alike);
   * other blocks attend over all regional prompts and the image unmasked. Both ≥ 1. */
  guint double_interval, single_interval;
} SinopiaFluxRegional;

/* Keys and values of a run of image tokens, after QK-norm and RoPE, one view per layer:
 * layers are numbered globally, double blocks first, then single blocks. Each view is
 * [rows, 2·hidden] (the keys' columns, then the values'); a view whose buffer is NULL skips
 * its layer. */
typedef struct {
  const SinopiaTensor *layers;   /* depth + depth_single views */
  uint32_t first_row;            /* the image token (row of img, from 0) of each view's row 0 */
} SinopiaFluxKV;

/* A zeroed struct is the plain forward. Regional prompting excludes the other options. */
typedef struct {
  const SinopiaFluxRegional *regional;
  /* attention rule on the [text ; image] rows (sinopia_op_attention's region bits):
   * u32 [1, n_txt + n_img] each; both or neither */
  const SinopiaTensor *q_bits, *k_bits;
  const SinopiaTensor *key_bias;   /* f32 [1, n_txt + n_img]: added to the score of that key */
  const SinopiaFluxKV *record;     /* copied out of every layer that has a view */
  const SinopiaFluxKV *inject;     /* written over the computed K/V in every layer that has a view */
  /* The last n_external image tokens are not computed: they have no queries and no output,
   * and their keys and values come from `inject`, which must cover them in every layer.
   * img and pred then have n_img − n_external rows. */
  uint32_t n_external;
  const gboolean *bypass;          /* per layer: TRUE skips the block (output = input); may be NULL */
} SinopiaFluxOptions;

/* Records one transformer forward for step `step` of the conditioning into `rec`:
 * img [n_img, in_channels] f32 (packed latent) → pred [n_img, out_channels] f32.
 * Nothing runs until the recorder is submitted. With `dump` non-NULL the forward also
 * records copies of its intermediates (for tests and the CLI); collect them after the submit. */
gboolean sinopia_flux_forward (SinopiaFluxModel *model, SinopiaFluxWorkspace *ws, SinopiaFluxConditioning *cond,
                               guint step, const SinopiaTensor *img, const SinopiaTensor *pred,
                               SinopiaRecorder *rec, SinopiaDump *dump, GError **error);
/* The same forward with method options (`opts` NULL: plain). Buffers the options name must
 * outlive the submit. */
gboolean sinopia_flux_forward_with (SinopiaFluxModel *model, SinopiaFluxWorkspace *ws, SinopiaFluxConditioning *cond,
                                    guint step, const SinopiaFluxOptions *opts, const SinopiaTensor *img,
                                    const SinopiaTensor *pred, SinopiaRecorder *rec, SinopiaDump *dump,
                                    GError **error);
/* Number of layers (depth + depth_single), the length of SinopiaFluxKV and bypass arrays. */
uint32_t sinopia_flux_n_layers (const SinopiaFluxConfig *cfg);

G_END_DECLS
