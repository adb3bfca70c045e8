/* sinopia-kv-edit.c — KV-Edit: mask downsampling, inversion with the background K/V cache,
 * foreground-only denoising, and the inversion-free variant. */
#define G_LOG_DOMAIN "sinopia-engine"

#include <string.h>

#include "sinopia-kv-edit.h"

G_DEFINE_QUARK (sinopia-kv-edit-error-quark, sinopia_kv_edit_error)

/* Attention bits of mask-guided inversion (§3.3): text queries carry every bit, image queries
 * the text bit and their side's; keys carry one bit each. */
enum { BIT_TEXT = 1, BIT_FG = 2, BIT_BG = 4 };

void
sinopia_kv_edit_latent_mask (const guint8 *mask, uint32_t width, uint32_t height, uint32_t f, guint8 *latent_mask)
{
  uint32_t lh = height / f, lw = width / f;
  for (uint32_t i = 0; i < lh; i++)
    for (uint32_t j = 0; j < lw; j++) {
      gboolean any = FALSE;
      for (uint32_t y = f * i + f / 2 - 1; y <= f * i + f / 2; y++)
        for (uint32_t x = f * j + f / 2 - 1; x <= f * j + f / 2; x++)
          any |= mask[(gsize) y * width + x] != 0;
      latent_mask[(gsize) i * lw + j] = any;
    }
}

uint32_t
sinopia_kv_edit_channel_mask (const guint8 *latent_mask, uint32_t lh, uint32_t lw, uint32_t z, float *channel_mask)
{
  uint32_t n_fg = 0, w2 = lw / 2;
  for (uint32_t r = 0; r < lh / 2; r++)
    for (uint32_t c = 0; c < w2; c++) {
      float *t = channel_mask + ((gsize) r * w2 + c) * 4 * z;
      gboolean any = FALSE;
      for (uint32_t ch = 0; ch < z; ch++)
        for (uint32_t dy = 0; dy < 2; dy++)
          for (uint32_t dx = 0; dx < 2; dx++) {
            guint8 m = latent_mask[(gsize) (2 * r + dy) * lw + 2 * c + dx];
            t[ch * 4 + dy * 2 + dx] = m ? 1.0f : 0.0f;
            any |= m;
          }
      n_fg += any;
    }
  return n_fg;
}

void
sinopia_kv_edit_inversion_bits (uint32_t n_txt, uint32_t n_fg, uint32_t n_bg, uint32_t *q, uint32_t *k)
{
  for (uint32_t j = 0; j < n_txt + n_fg + n_bg; j++) {
    gboolean text = j < n_txt, fg = !text && j < n_txt + n_fg;
    q[j] = text ? BIT_TEXT | BIT_FG | BIT_BG : BIT_TEXT | (fg ? BIT_FG : BIT_BG);
    k[j] = text ? BIT_TEXT : fg ? BIT_FG : BIT_BG;
  }
}

void
sinopia_kv_edit_key_bias (uint32_t n_txt, uint32_t n_fg, uint32_t n_bg, float s, float *bias)
{
  for (uint32_t j = 0; j < n_txt + n_fg + n_bg; j++)
    bias[j] = j < n_txt + n_fg ? 0.0f : s;
}

guint
sinopia_kv_edit_cache_step (guint n_steps, guint inversion_step)
{
  return n_steps - inversion_step - 1;
}

uint64_t
sinopia_kv_edit_cache_bytes (const SinopiaFluxConfig *cfg, uint32_t n_bg, guint n_steps)
{
  return (uint64_t) n_steps * sinopia_flux_n_layers (cfg) * 2 * n_bg * cfg->hidden_size * sizeof (float);
}

/* The unconditional pass of classifier-free guidance at `guidance`. */
static gboolean
needs_negative (const SinopiaKvEditRequest *req, float guidance)
{
  return req->neg_txt && !sinopia_flux_model_config (req->model)->guidance_embed && guidance != 1.0f;
}

/* Steps the cache holds: s … M−1, or in the inversion-free variant one step of the source
 * pass and, when the source pass has a negative one, one step of that too (so each pass of
 * the edit sees the background of its own prompt and an identity edit stays exact). */
static guint
cached_steps (const SinopiaKvEditRequest *req)
{
  if (req->inversion_free)
    return needs_negative (req, req->inversion_guidance) ? 2 : 1;
  return req->n_steps - req->skip_step;
}

typedef struct {
  const SinopiaKvEditRequest *req;
  SinopiaVkContext *ctx;
  uint32_t C, D, n_layers, n_img, n_fg, n_bg, first_cached;
  uint32_t *perm;              /* row of the reordered latent → token */
  float *z0, *mask, *ids;      /* reordered z0, channel mask and img_ids */
  float *inverted;             /* X[k] of §3.3, [M, n_img, C], reordered (standard mode) */
  SinopiaBuffer **cache;       /* [steps, layers]: [n_bg, 2D] */
  SinopiaTensor *views;
  SinopiaBuffer *bias, *q_bits, *k_bits;
  SinopiaTensor bias_t, q_bits_t, k_bits_t;
  SinopiaFluxKV kv;             /* the views a step's options point to */
  /* progress: the user's callback sees whole latents in token order */
  SinopiaStepFunc on_step;
  gpointer user_data;
  guint step_base, total_steps;
  float *full, *full_x0, *unpacked;
  guint8 *rgb;
} Edit;

static void
edit_clear (Edit *e)
{
  guint n_cache = cached_steps (e->req);
  for (guint i = 0; e->cache && i < n_cache * e->n_layers; i++)
    sinopia_buffer_free (e->cache[i]);
  g_free (e->cache);
  g_free (e->views);
  sinopia_buffer_free (e->bias);
  sinopia_buffer_free (e->q_bits);
  sinopia_buffer_free (e->k_bits);
  g_free (e->perm);
  g_free (e->z0);
  g_free (e->mask);
  g_free (e->ids);
  g_free (e->inverted);
  g_free (e->full);
  g_free (e->full_x0);
  g_free (e->unpacked);
  g_free (e->rgb);
}

static gboolean
input_error (GError **error, const char *msg)
{
  g_set_error_literal (error, SINOPIA_KV_EDIT_ERROR, SINOPIA_KV_EDIT_ERROR_INPUT, msg);
  return FALSE;
}

/* Device memory not yet allocated: the device-local heaps (all heaps on devices without one,
 * such as CPU drivers), less what the context holds. */
static uint64_t
device_bytes_free (SinopiaVkContext *ctx)
{
  const SinopiaVkDeviceInfo *info = sinopia_vk_context_device_info (ctx);
  uint64_t local = 0, all = 0, used = sinopia_vk_context_allocated_bytes (ctx);
  for (uint32_t h = 0; h < info->n_heaps; h++) {
    all += info->heap_size[h];
    if (info->heap_device_local[h])
      local += info->heap_size[h];
  }
  uint64_t total = local ? local : all;
  return total > used ? total - used : 0;
}

/* Reorders tokens foreground first; uploads the cache, the key bias and the inversion bits. */
static gboolean
edit_setup (Edit *e, const float *z0, const float *channel_mask, uint64_t *cache_bytes, GError **error)
{
  const SinopiaKvEditRequest *req = e->req;
  const SinopiaFluxConfig *cfg = sinopia_flux_model_config (req->model);
  uint32_t C = e->C, n = e->n_img, axes = cfg->n_axes;
  e->perm = g_new (uint32_t, n);
  for (guint pass = 0; pass < 2; pass++)
    for (uint32_t t = 0; t < n; t++) {
      gboolean fg = FALSE;
      for (uint32_t ch = 0; ch < C; ch++)
        fg |= channel_mask[(gsize) t * C + ch] != 0.0f;
      if (fg == (pass == 0))
        e->perm[pass ? e->n_fg + e->n_bg++ : e->n_fg++] = t;
    }
  if (!e->n_fg)
    return input_error (error, "The mask selects no token: nothing would be edited");
  if (!e->n_bg)
    return input_error (error, "The mask selects every token: KV-Edit needs a background to keep");
  e->z0 = g_new (float, (gsize) n * C);
  e->mask = g_new (float, (gsize) n * C);
  e->ids = g_new (float, (gsize) n * axes);
  for (uint32_t r = 0; r < n; r++) {
    memcpy (e->z0 + (gsize) r * C, z0 + (gsize) e->perm[r] * C, C * sizeof (float));
    memcpy (e->mask + (gsize) r * C, channel_mask + (gsize) e->perm[r] * C, C * sizeof (float));
    memcpy (e->ids + (gsize) r * axes, req->img_ids + (gsize) e->perm[r] * axes, axes * sizeof (float));
  }

  guint n_cache = cached_steps (req);
  uint64_t need = sinopia_kv_edit_cache_bytes (cfg, e->n_bg, n_cache), have = device_bytes_free (e->ctx);
  if (need > have) {
    g_set_error (error, SINOPIA_KV_EDIT_ERROR, SINOPIA_KV_EDIT_ERROR_INPUT,
                 "The KV-Edit cache needs %.2f GB (%u steps × %u layers × keys and values of %u background tokens) "
                 "and the device has %.2f GB free: use the inversion-free variant, fewer steps or a larger skip",
                 need / 1e9, n_cache, e->n_layers, e->n_bg, have / 1e9);
    return FALSE;
  }
  e->cache = g_new0 (SinopiaBuffer *, (gsize) n_cache * e->n_layers);
  e->views = g_new (SinopiaTensor, (gsize) n_cache * e->n_layers);
  for (guint i = 0; i < n_cache * e->n_layers; i++) {
    if (!(e->cache[i] = sinopia_buffer_new (e->ctx, SINOPIA_DTYPE_F32, (uint64_t) e->n_bg * 2 * e->D, error)))
      return FALSE;
    e->views[i] = sinopia_tensor (e->cache[i], 0, e->n_bg, 2 * e->D);
  }
  if (cache_bytes)
    *cache_bytes = sinopia_kv_edit_cache_bytes (cfg, e->n_bg, n_cache);

  uint32_t L = req->n_txt + n;
  if (req->attn_scale != 0.0f) {
    g_autofree float *bias = g_new (float, L);
    sinopia_kv_edit_key_bias (req->n_txt, e->n_fg, e->n_bg, req->attn_scale, bias);
    if (!(e->bias = sinopia_buffer_new (e->ctx, SINOPIA_DTYPE_F32, L, error)) ||
        !sinopia_buffer_upload (e->bias, 0, bias, L * sizeof (float), error))
      return FALSE;
    e->bias_t = sinopia_tensor (e->bias, 0, 1, L);
  }
  if (req->attn_mask) {
    g_autofree uint32_t *q = g_new (uint32_t, L), *k = g_new (uint32_t, L);
    sinopia_kv_edit_inversion_bits (req->n_txt, e->n_fg, e->n_bg, q, k);
    if (!(e->q_bits = sinopia_buffer_new (e->ctx, SINOPIA_DTYPE_U32, L, error)) ||
        !(e->k_bits = sinopia_buffer_new (e->ctx, SINOPIA_DTYPE_U32, L, error)) ||
        !sinopia_buffer_upload (e->q_bits, 0, q, L * sizeof (uint32_t), error) ||
        !sinopia_buffer_upload (e->k_bits, 0, k, L * sizeof (uint32_t), error))
      return FALSE;
    e->q_bits_t = sinopia_tensor (e->q_bits, 0, 1, L);
    e->k_bits_t = sinopia_tensor (e->k_bits, 0, 1, L);
  }
  gsize whole = (gsize) n * C;
  e->full = g_new (float, whole);
  e->full_x0 = g_new (float, whole);
  if (req->preview) {
    e->unpacked = g_new (float, whole);
    e->rgb = g_new (guint8, (gsize) req->latent_height * req->latent_width * 3);
  }
  return TRUE;
}

/* The cache views of step k (the denoising step from τ_k); in the inversion-free variant k is
 * the slot (0: the conditional source pass, 1: the negative one). */
static SinopiaFluxKV
cache_of (const Edit *e, guint k)
{
  guint slot = e->req->inversion_free ? k : k - e->first_cached;
  return (SinopiaFluxKV) { .layers = e->views + (gsize) slot * e->n_layers, .first_row = e->n_fg };
}

/* Rows [0, n_rows) of a reordered latent into `out` in token order, the other rows from `rest`. */
static void
to_token_order (const Edit *e, const float *rows, uint32_t n_rows, const float *rest, float *out)
{
  for (uint32_t r = 0; r < e->n_img; r++)
    memcpy (out + (gsize) e->perm[r] * e->C, (r < n_rows ? rows : rest) + (gsize) r * e->C, e->C * sizeof (float));
}

/* Calls the user's callback with whole latents in token order: `latent`/`x0` hold the first
 * n_rows reordered rows, the others come from z0. */
static gboolean
report (Edit *e, guint step, float t_eval, float t_next, const float *latent, const float *x0, uint32_t n_rows)
{
  const SinopiaKvEditRequest *req = e->req;
  if (!e->on_step)
    return TRUE;
  to_token_order (e, latent, n_rows, e->z0, e->full);
  to_token_order (e, x0, n_rows, e->z0, e->full_x0);
  SinopiaStepInfo info = {
    .step = step, .n_steps = e->total_steps, .t_eval = t_eval, .t_next = t_next,
    .latent = e->full, .x0 = e->full_x0, .n_img = e->n_img, .channels = e->C,
  };
  if (req->preview) {
    sinopia_flux_unpack (e->full_x0, e->C / 4, req->latent_height, req->latent_width, e->unpacked);
    sinopia_preview_rgb (req->preview, e->unpacked, req->latent_height, req->latent_width, e->rgb);
    info.preview_rgb = e->rgb;
    info.preview_width = req->latent_width;
    info.preview_height = req->latent_height;
  }
  return e->on_step (&info, e->user_data);
}

static gboolean
sampler_step (const SinopiaStepInfo *info, gpointer user)
{
  Edit *e = user;
  return report (e, e->step_base + info->step, info->t_eval, info->t_next, info->latent, info->x0, info->n_img);
}

/* Inversion step i undoes denoising step k (sinopia_kv_edit_cache_step): it keeps X[k], its
 * latent, at τ_{k+1}, and records cache k. */
static gboolean
invert_prepare (guint i, float *latent, SinopiaFluxOptions *cond, SinopiaFluxOptions *neg, gpointer user,
                GError **error)
{
  Edit *e = user;
  guint k = sinopia_kv_edit_cache_step (e->req->n_steps, i);
  (void) error;
  memcpy (e->inverted + (gsize) k * e->n_img * e->C, latent, (gsize) e->n_img * e->C * sizeof (float));
  if (k >= e->first_cached) {
    e->kv = cache_of (e, k);
    cond->record = &e->kv;
  }
  if (e->q_bits) {
    cond->q_bits = neg->q_bits = &e->q_bits_t;
    cond->k_bits = neg->k_bits = &e->k_bits_t;
  }
  return TRUE;
}

/* Denoising step j is step k = s + j of the schedule: the foreground's channels of unmasked
 * latent pixels are reset to X[k] (§3.4 step 1), then it attends to cache k. */
static gboolean
denoise_prepare (guint j, float *y, SinopiaFluxOptions *cond, SinopiaFluxOptions *neg, gpointer user, GError **error)
{
  Edit *e = user;
  guint k = e->req->skip_step + j;
  const float *x = e->inverted + (gsize) k * e->n_img * e->C;
  (void) error;
  for (gsize i = 0; i < (gsize) e->n_fg * e->C; i++)
    if (e->mask[i] == 0.0f)
      y[i] = x[i];
  e->kv = cache_of (e, k);
  cond->inject = neg->inject = &e->kv;
  if (e->bias)
    cond->key_bias = neg->key_bias = &e->bias_t;
  return TRUE;
}

/* The negative prompt when a guidance needs the unconditional pass. */
static void
set_negative (const SinopiaKvEditRequest *req, float guidance, SinopiaSampleRequest *s)
{
  if (needs_negative (req, guidance)) {
    s->neg_txt = req->neg_txt;
    s->neg_y = req->neg_y;
    s->neg_txt_ids = req->txt_ids;
    s->n_neg_txt = req->n_txt;
  }
}

static gboolean
edit_standard (Edit *e, float *y, GError **error)
{
  const SinopiaKvEditRequest *req = e->req;
  guint M = req->n_steps, s = req->skip_step;
  gsize whole = (gsize) e->n_img * e->C;
  g_autofree float *t_eval = g_new (float, M), *dt = g_new (float, M), *x = g_memdup2 (e->z0, whole * sizeof (float));

  e->inverted = g_new (float, (gsize) M * whole);
  sinopia_flux_steps_from_schedule (req->timesteps, M, TRUE, t_eval, dt);
  SinopiaSampleRequest inv = {
    .model = req->model, .txt = req->src_txt, .txt_ids = req->txt_ids, .y = req->src_y, .n_txt = req->n_txt,
    .guidance = req->inversion_guidance, .img_ids = e->ids, .n_img = e->n_img, .t_eval = t_eval, .dt = dt,
    .n_steps = M, .cancel = req->cancel, .prepare = invert_prepare, .prepare_user = e,
  };
  set_negative (req, req->inversion_guidance, &inv);
  e->step_base = 0;
  if (!sinopia_flux_sample (&inv, x, sampler_step, e, error))
    return FALSE;

  /* the start: X[0] (at τ_1) as the reference, X[s−1] (at τ_s) or the inverted latent aligned */
  const float *aligned = s ? e->inverted + (gsize) (s - 1) * whole : x;
  const float *start = req->aligned_start ? aligned : e->inverted;
  if (req->reinit != SINOPIA_KV_EDIT_REINIT_OFF) {
    const float *clean = req->reinit == SINOPIA_KV_EDIT_REINIT_INVERSION ? aligned : e->z0;
    g_autofree float *noise = g_new (float, whole);
    float tau = req->timesteps[s];
    sinopia_noise (req->seed, noise, whole);
    for (uint32_t r = 0; r < e->n_fg; r++)
      for (uint32_t ch = 0; ch < e->C; ch++) {
        gsize i = (gsize) r * e->C + ch;
        y[i] = (1.0f - tau) * clean[i] + tau * noise[(gsize) e->perm[r] * e->C + ch];
      }
  } else {
    memcpy (y, start, (gsize) e->n_fg * e->C * sizeof (float));
  }

  sinopia_flux_steps_from_schedule (req->timesteps, M, FALSE, t_eval, dt);
  SinopiaSampleRequest den = {
    .model = req->model, .txt = req->tar_txt, .txt_ids = req->txt_ids, .y = req->tar_y, .n_txt = req->n_txt,
    .guidance = req->denoise_guidance, .img_ids = e->ids, .n_img = e->n_img, .t_eval = t_eval + s, .dt = dt + s,
    .n_steps = M - s, .cancel = req->cancel, .n_external = e->n_bg, .prepare = denoise_prepare, .prepare_user = e,
  };
  set_negative (req, req->denoise_guidance, &den);
  e->step_base = M;
  return sinopia_flux_sample (&den, y, sampler_step, e, error);
}

/* §3.6: per step a source forward on the noised input (recording the cache) and a foreground
 * forward on the edit against it, in one submission; the edit moves by the difference. */
static gboolean
edit_inversion_free (Edit *e, float *z_fe, GError **error)
{
  const SinopiaKvEditRequest *req = e->req;
  SinopiaFluxModel *m = req->model;
  guint M = req->n_steps, s = req->skip_step, n = M - s;
  uint32_t C = e->C, n_img = e->n_img, n_fg = e->n_fg;
  gsize whole = (gsize) n_img * C, part = (gsize) n_fg * C;
  gboolean src_cfg = needs_negative (req, req->inversion_guidance);
  gboolean tar_cfg = needs_negative (req, req->denoise_guidance);
  SinopiaFluxConditioning *src = NULL, *tar = NULL, *neg_src = NULL, *neg_tar = NULL;
  SinopiaFluxWorkspace *ws = NULL;
  SinopiaBuffer *bufs[6] = { NULL };   /* z_src, z_tar, v_src, v_tar, their negative velocities */
  SinopiaRecorder *rec = NULL;
  gboolean ok = FALSE;
  g_autofree float *eps = g_new (float, whole), *noise = g_new (float, whole), *t = g_new (float, n);
  g_autofree float *g_src = g_new (float, n), *g_tar = g_new (float, n), *z_src = g_new (float, whole);
  g_autofree float *z_tar = g_new (float, part), *v_src = g_new (float, whole), *v_tar = g_new (float, part);

  /* ε: seed 0, the same at every step, in token order so it does not depend on the mask */
  sinopia_noise (0, noise, whole);
  for (uint32_t r = 0; r < n_img; r++)
    memcpy (eps + (gsize) r * C, noise + (gsize) e->perm[r] * C, C * sizeof (float));
  for (guint k = 0; k < n; k++) {
    t[k] = req->timesteps[s + k];
    g_src[k] = req->inversion_guidance;
    g_tar[k] = req->denoise_guidance;
  }
  memcpy (z_fe, e->z0, part * sizeof (float));
  SinopiaVkContext *ctx = e->ctx;
  if (!(src = sinopia_flux_conditioning_new (m, req->src_txt, req->n_txt, req->txt_ids, req->src_y, e->ids, n_img, t,
                                             g_src, n, error)) ||
      !(tar = sinopia_flux_conditioning_new (m, req->tar_txt, req->n_txt, req->txt_ids, req->tar_y, e->ids, n_img, t,
                                             g_tar, n, error)) ||
      (src_cfg && !(neg_src = sinopia_flux_conditioning_new (m, req->neg_txt, req->n_txt, req->txt_ids, req->neg_y,
                                                             e->ids, n_img, t, g_src, n, error))) ||
      (tar_cfg && !(neg_tar = sinopia_flux_conditioning_new (m, req->neg_txt, req->n_txt, req->txt_ids, req->neg_y,
                                                             e->ids, n_img, t, g_tar, n, error))) ||
      !(ws = sinopia_flux_workspace_new (m, n_img, req->n_txt, error)) ||
      !(rec = sinopia_recorder_new (ctx, error)))
    goto out;
  for (guint b = 0; b < 6; b++)
    if (!(bufs[b] = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, b % 2 ? part : whole, error)))
      goto out;
  SinopiaTensor tz_src = sinopia_tensor (bufs[0], 0, n_img, C), tz_tar = sinopia_tensor (bufs[1], 0, n_fg, C);
  SinopiaTensor tv_src = sinopia_tensor (bufs[2], 0, n_img, C), tv_tar = sinopia_tensor (bufs[3], 0, n_fg, C);
  SinopiaTensor tn_src = sinopia_tensor (bufs[4], 0, n_img, C), tn_tar = sinopia_tensor (bufs[5], 0, n_fg, C);

  for (guint k = 0; k < n; k++) {
    if (req->cancel && g_atomic_int_get (req->cancel)) {
      g_set_error (error, SINOPIA_SAMPLER_ERROR, SINOPIA_SAMPLER_ERROR_CANCELLED, "Cancelled");
      goto out;
    }
    float a = req->timesteps[s + k], b = req->timesteps[s + k + 1];
    for (gsize i = 0; i < whole; i++)
      z_src[i] = (1.0f - a) * e->z0[i] + a * eps[i];
    for (gsize i = 0; i < part; i++)
      z_tar[i] = z_src[i] - e->z0[i] + z_fe[i];
    SinopiaFluxKV kv = cache_of (e, 0), neg_kv = cache_of (e, src_cfg ? 1 : 0);
    SinopiaFluxOptions src_opts = { .record = &kv, .q_bits = e->q_bits ? &e->q_bits_t : NULL,
                                    .k_bits = e->q_bits ? &e->k_bits_t : NULL };
    SinopiaFluxOptions neg_src_opts = src_opts;
    SinopiaFluxOptions tar_opts = { .inject = &kv, .n_external = e->n_bg, .key_bias = e->bias ? &e->bias_t : NULL };
    SinopiaFluxOptions neg_tar_opts = tar_opts;
    neg_src_opts.record = neg_tar_opts.inject = &neg_kv;
    if (!sinopia_buffer_upload (bufs[0], 0, z_src, whole * sizeof (float), error) ||
        !sinopia_buffer_upload (bufs[1], 0, z_tar, part * sizeof (float), error) ||
        !sinopia_recorder_begin (rec, FALSE, error))
      goto out;
    if (!sinopia_flux_record_velocity (m, ws, k, src, &src_opts, neg_src, &neg_src_opts, req->inversion_guidance,
                                       &tz_src, &tv_src, &tn_src, rec, error) ||
        !sinopia_flux_record_velocity (m, ws, k, tar, &tar_opts, neg_tar, &neg_tar_opts, req->denoise_guidance, &tz_tar,
                                       &tv_tar, &tn_tar, rec, error)) {
      sinopia_recorder_submit (rec, NULL);
      goto out;
    }
    if (!sinopia_recorder_submit (rec, error) ||
        !sinopia_buffer_download (bufs[2], 0, v_src, whole * sizeof (float), error) ||
        !sinopia_buffer_download (bufs[3], 0, v_tar, part * sizeof (float), error))
      goto out;
    for (gsize i = 0; i < part; i++)
      if (e->mask[i] != 0.0f)
        z_fe[i] += (b - a) * (v_tar[i] - v_src[i]);
    if (!report (e, k, a, b, z_fe, z_fe, n_fg)) {
      g_set_error (error, SINOPIA_SAMPLER_ERROR, SINOPIA_SAMPLER_ERROR_CANCELLED, "Cancelled");
      goto out;
    }
  }
  ok = TRUE;

out:
  sinopia_recorder_free (rec);
  for (guint b = 0; b < 6; b++)
    sinopia_buffer_free (bufs[b]);
  sinopia_flux_workspace_free (ws);
  sinopia_flux_conditioning_free (src);
  sinopia_flux_conditioning_free (tar);
  sinopia_flux_conditioning_free (neg_src);
  sinopia_flux_conditioning_free (neg_tar);
  return ok;
}

gboolean
sinopia_kv_edit (const SinopiaKvEditRequest *req, const float *z0, const float *channel_mask, float *out,
                 uint64_t *cache_bytes, SinopiaStepFunc on_step, gpointer user_data, GError **error)
{
  const SinopiaFluxConfig *cfg = sinopia_flux_model_config (req->model);
  Edit e = {
    .req = req, .ctx = sinopia_flux_model_context (req->model), .C = cfg->in_channels, .D = cfg->hidden_size,
    .n_layers = sinopia_flux_n_layers (cfg), .n_img = req->n_img, .first_cached = req->skip_step,
    .on_step = on_step, .user_data = user_data,
  };
  gboolean ok = FALSE;
  g_autofree float *y = NULL;

  if (!req->n_steps || req->skip_step >= req->n_steps || !req->n_img || !req->timesteps || !req->src_txt ||
      !req->tar_txt || !req->img_ids)
    return input_error (error, "KV-Edit needs steps, skip_step below them, an image and both prompts");
  if (req->preview && (uint64_t) (req->latent_height / 2) * (req->latent_width / 2) != req->n_img)
    return input_error (error, "The preview's latent size does not match the image tokens");
  e.total_steps = req->inversion_free ? req->n_steps - req->skip_step : 2 * req->n_steps - req->skip_step;
  if (!edit_setup (&e, z0, channel_mask, cache_bytes, error))
    goto out;

  y = g_new (float, (gsize) e.n_fg * e.C);
  if (!(req->inversion_free ? edit_inversion_free (&e, y, error) : edit_standard (&e, y, error)))
    goto out;
  /* §3.5: the background tokens and the unmasked channels of foreground tokens stay z0's */
  for (gsize i = 0; i < (gsize) e.n_fg * e.C; i++)
    if (e.mask[i] == 0.0f)
      y[i] = e.z0[i];
  to_token_order (&e, y, e.n_fg, e.z0, out);
  ok = TRUE;

out:
  edit_clear (&e);
  return ok;
}
