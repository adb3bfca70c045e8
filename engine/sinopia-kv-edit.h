/* sinopia-kv-edit.h — KV-Edit (../shared/docs/algorithms.md §3) on packed latents: the mask
 * downsampler, inversion that caches the background tokens' keys and values in every layer
 * and step, and denoising of the foreground tokens alone against that cache; also the
 * inversion-free variant, whose cache holds one step.
 *
 * Tokens are reordered foreground first (ascending), then background (ascending), with their
 * RoPE positions; the transformer does not depend on the order, and the background rows are
 * then one run: the cache is one view per layer and step, and a foreground-only forward is
 * the same forward with the background rows external (SinopiaFluxOptions.n_external).
 * Keys are cached after QK-norm and RoPE (the reference caches before RoPE and applies it at
 * use; the positions do not change, so the values are the same). Only background rows are
 * cached: the foreground rows of the reference's cache are always overwritten by fresh ones.
 *
 * Ownership: the request borrows everything it points to. Threads: runs on the caller's
 * thread (the engine's worker); the cancel flag may be set from any thread.
 */
#pragma once

#include "sinopia-sampler.h"

G_BEGIN_DECLS

#define SINOPIA_KV_EDIT_ERROR (sinopia_kv_edit_error_quark ())
GQuark sinopia_kv_edit_error_quark (void);

typedef enum {
  SINOPIA_KV_EDIT_ERROR_INPUT,     /* an empty mask, bad steps or options */
} SinopiaKvEditErrorCode;

/* §0.5's downsampler: latent pixel (i, j) of a pixel mask (height × width, non-zero inside) is
 * masked when any of the pixels rows {f·i + f/2 − 1, f·i + f/2} × cols {f·j + f/2 − 1,
 * f·j + f/2} is (the reference's bilinear resize followed by "> 0"). latent_mask gets
 * (height/f) × (width/f) bytes, 1 or 0. */
void sinopia_kv_edit_latent_mask (const guint8 *mask, uint32_t width, uint32_t height, uint32_t factor,
                                  guint8 *latent_mask);

/* The packed per-channel mask [n_tokens, 4·z] of a latent mask (lh × lw, even sides), as the
 * latent packs (channel c·4 + ph·2 + pw), and the number of foreground tokens (those with any
 * masked latent pixel). */
uint32_t sinopia_kv_edit_channel_mask (const guint8 *latent_mask, uint32_t lh, uint32_t lw, uint32_t z,
                                       float *channel_mask);

/* Device bytes of the K/V cache: n_steps × (depth + depth_single) layers × K and V ×
 * n_bg tokens × hidden_size × 4 (f32). sinopia_kv_edit caches n_steps = M − skip_step steps
 * (the inversion-free variant 1, or 2 with a negative source pass). */
uint64_t sinopia_kv_edit_cache_bytes (const SinopiaFluxConfig *cfg, uint32_t n_bg, guint n_steps);

/* The rows of every forward are [text (n_txt) ; foreground (n_fg) ; background (n_bg)]. */

/* Mask-guided inversion's attention bits (§3.3): query i may attend key j iff
 * q_bits[i] & k_bits[j] ≠ 0 — text queries see every key, foreground queries text and
 * foreground, background queries text and background. Each n_txt + n_fg + n_bg values. */
void sinopia_kv_edit_inversion_bits (uint32_t n_txt, uint32_t n_fg, uint32_t n_bg, uint32_t *q_bits,
                                     uint32_t *k_bits);

/* The attention-scale key bias (§3.4): s on background keys, 0 on text and foreground keys. */
void sinopia_kv_edit_key_bias (uint32_t n_txt, uint32_t n_fg, uint32_t n_bg, float s, float *bias);

/* The pairing of §3.3: inversion step i (evaluated at τ_{M−i}) undoes the denoising step
 * k = M − i − 1 (from τ_k to τ_{k+1}); it keeps the latent and records the cache that step k
 * uses. */
guint sinopia_kv_edit_cache_step (guint n_steps, guint inversion_step);

/* Where a re-initialised foreground starts (§3.4 re_init), ε = sinopia_noise(seed) in token
 * order: the reference code blends the input, (1 − τ_s)·z0 + τ_s·ε; the paper blends the
 * inverted latent at τ_s (the aligned start), (1 − τ_s)·X_inv + τ_s·ε. The author says the code
 * differs from the paper and both are worth trying (issue Xilluill/KV-Edit#21). */
typedef enum {
  SINOPIA_KV_EDIT_REINIT_OFF,
  SINOPIA_KV_EDIT_REINIT_INPUT,       /* the reference code's */
  SINOPIA_KV_EDIT_REINIT_INVERSION,   /* the paper's */
} SinopiaKvEditReinit;

typedef struct {
  SinopiaFluxModel *model;
  /* source (inversion / source pass) and target prompts, each txt [n_txt, context_in_dim] and
   * y [vec_in_dim], with the text ids [n_txt, n_axes]; the negative prompt (NULL: none) is
   * the unconditional pass of CFG models when a guidance is not 1 */
  const float *src_txt, *src_y, *tar_txt, *tar_y, *neg_txt, *neg_y, *txt_ids;
  uint32_t n_txt;
  const float *img_ids;              /* [n_img, n_axes], token order of the latent */
  uint32_t n_img;
  const float *timesteps;            /* the schedule τ_0 = 1 > … > τ_M = 0 */
  guint n_steps;                     /* M */
  guint skip_step;                   /* s < M: denoising runs steps s … M−1 */
  float inversion_guidance, denoise_guidance;
  float attn_scale;                  /* added to the scores of background keys while editing */
  SinopiaKvEditReinit reinit;        /* not in the inversion-free variant */
  guint64 seed;
  /* The reference starts from the inverted latent at τ_1 whatever skip_step is (§3.4, a
   * quirk); TRUE starts from the inverted latent at τ_s, the level of the first step. */
  gboolean aligned_start;
  /* Mask-guided inversion (§3.3): foreground image queries see text and foreground keys,
   * background ones text and background; text sees everything. */
  gboolean attn_mask;
  /* §3.6: no inversion; per step one source forward on the noised input and one foreground
   * forward on the edit, ε = sinopia_noise(0) at every step; memory of one step's cache (two
   * when the source pass has classifier-free guidance: each pass of the edit attends to the
   * background of its own prompt, as in the source pass). */
  gboolean inversion_free;
  const gint *cancel;
  /* previews of the whole latent ([z, latent_height, latent_width] unpacked), or NULL */
  const SinopiaPreviewMap *preview;
  uint32_t latent_height, latent_width;
} SinopiaKvEditRequest;

/* Edits the packed latent z0 [n_img, C] where channel_mask [n_img, C] is 1 and writes the
 * result to out [n_img, C]: every channel with mask 0 is z0's, bit for bit. on_step (may be
 * NULL) sees the inversion steps, then the denoising steps, numbered together, with the
 * whole latent; returning FALSE cancels (SINOPIA_SAMPLER_ERROR_CANCELLED, as the cancel flag).
 * *cache_bytes (may be NULL) gets the bytes the cache took. */
gboolean sinopia_kv_edit (const SinopiaKvEditRequest *req, const float *z0, const float *channel_mask, float *out,
                          uint64_t *cache_bytes, SinopiaStepFunc on_step, gpointer user_data, GError **error);

G_END_DECLS
