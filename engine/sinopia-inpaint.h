/* sinopia-inpaint.h — inpainting with the background preserved (KV-Edit, sinopia-kv-edit.h)
 * with a loaded model folder: RGB8 image and mask → autoencoder encode (the encoder's mean) →
 * source and target prompts → KV-Edit on the latent → decode → pixel composite.
 *
 * The defaults are the reference's (../shared/docs/algorithms.md §3.7); options give the
 * corrected variants and the baseline:
 *   aligned_start   start from the inverted latent at τ_s, not at τ_1 whatever the skip;
 *   reinit          re-initialise the masked area: the reference code's (1 − τ_s)·z0 + τ_s·ε
 *                   or the paper's (1 − τ_s)·X_inv + τ_s·ε (SinopiaKvEditReinit);
 *   no_cache        plain masked regeneration (sinopia-masked-regen.h): the same encode,
 *                   schedule, skip, target prompt, guidance, seed and composite, but no
 *                   inversion and no cache; ε is the text-to-image noise of the seed, so with
 *                   every token masked and skip 0 it is text-to-image. It takes none of the
 *                   inversion's or the cache's options and ignores the source prompt.
 *
 * What is kept: every latent token outside the mask is the encoded input's bit for bit, and the
 * output pixels are the input's exactly wherever they are farther than the blend band from the
 * regenerated area (the latent pixels the mask selects, each an f×f block of pixels). Inside
 * that area the pixels are decoded; within the band the decoded pixels fade into the input's
 * linearly with the chessboard distance. The band is 1/16 of the shorter side (8 pixels at
 * 128², 64 at 1024²), the most the project allows: the decoder spreads a latent change over
 * its receptive field beyond the masked blocks, and the widest band hides that seam best.
 *
 * Threads: runs on the caller's thread (the engine's worker); the cancel flag may be set from
 * any thread and is checked before every step (inversion included) and every autoencoder
 * submission.
 */
#pragma once

#include "sinopia-generate.h"
#include "sinopia-kv-edit.h"

G_BEGIN_DECLS

typedef struct {
  const guint8 *image;         /* RGB8 [height][width][3], borrowed */
  const guint8 *mask;          /* [height][width], non-zero = regenerate, borrowed */
  uint32_t width, height;      /* multiples of the model's size_multiple */
  const char *source_prompt;   /* UTF-8: what the image shows (inversion); unused, may be NULL, with no_cache */
  const char *prompt;          /* UTF-8: what the masked area should show */
  const char *negative;        /* UTF-8; NULL means "" (CFG models' unconditional pass) */
  guint steps;                 /* 0: the model's default_steps */
  guint64 seed;                /* re-init noise; the no-cache baseline's ε */
  /* Guidance of the editing steps and of the inversion (CFG scale, or the embedded guidance);
   * NAN: kv_edit.denoise_guidance / inversion_guidance of sinopia-model.json, else the model's
   * default_guidance and 1 for CFG models, the reference's 5.5 and 1.5 for embedded guidance. */
  float guidance, inversion_guidance;
  int skip_step;               /* -1: kv_edit.skip_steps, else 4 (the reference's), at most steps − 1 */
  float attn_scale;            /* NAN: kv_edit.attn_scale, else 1 (the reference's) */
  /* -1: kv_edit.reinit_noise (the reference code's variant when true), else off; or a
   * SinopiaKvEditReinit */
  int reinit;
  gboolean aligned_start;      /* start from the inverted latent at τ_skip (sinopia-kv-edit.h) */
  gboolean attn_mask;          /* mask-guided inversion */
  gboolean inversion_free;     /* the variant with one step's cache; no re-init or aligned start */
  gboolean no_cache;           /* the baseline: plain masked regeneration */
  gboolean preview;            /* step callbacks carry an RGB preview */
} SinopiaInpaintParams;

/* Every field to its default (no image, prompts or mask). */
void sinopia_inpaint_params_init (SinopiaInpaintParams *params);

/* Inpaints. on_step (may be NULL) sees the inversion steps and then the editing steps, counted
 * together in n_steps (the no-cache baseline: its steps from τ_s); returning FALSE cancels,
 * as the cancel flag does (both end in SINOPIA_GENERATE_ERROR_CANCELLED). Errors
 * (SINOPIA_GENERATE_ERROR_INPUT or _SIZE): a size that is not valid for the model, a missing
 * image or mask, a mask that selects no latent pixel, skip_step not below the steps, bad
 * prompts, no_cache with an option of the inversion or the cache; a mask that selects every
 * token is SINOPIA_KV_EDIT_ERROR_INPUT for KV-Edit (the no-cache baseline takes it).
 * The image's prompt is the target prompt; image->kv_cache_bytes tells the cache's size (0
 * without one). (transfer full): free with sinopia_image_free. */
SinopiaImage *sinopia_inpaint (SinopiaModel *model, const SinopiaInpaintParams *params, const gint *cancel,
                               SinopiaStepFunc on_step, gpointer user_data, GError **error);

/* The blend weights of the composite, [height][width] in [0, 1]: 1 on the regenerated area
 * (latent_mask [height/f][width/f] upsampled by f), 1 − d/(band + 1) at chessboard distance
 * d ≤ band from it, 0 farther. */
void sinopia_inpaint_blend_weights (const guint8 *latent_mask, uint32_t width, uint32_t height, uint32_t factor,
                                    uint32_t band, float *weights);
/* The band for an image: 1/16 of the shorter side. */
uint32_t sinopia_inpaint_band (uint32_t width, uint32_t height);

G_END_DECLS
