/* sinopia-sampler.c — schedule, packing, noise and the Euler loop (denoise and invert). */
#define G_LOG_DOMAIN "sinopia-engine"

#include <math.h>
#include <string.h>

#include "sinopia-ref.h"
#include "sinopia-sampler.h"

G_DEFINE_QUARK (sinopia-sampler-error-quark, sinopia_sampler_error)

/* torch.linspace(1, 0, n+1) in float32: the first half steps up from the start, the
 * second half down from the end, as torch computes it. */
static float
linspace_at (guint i, guint n_points)
{
  float step = (0.0f - 1.0f) / (float) (n_points - 1);
  if (i < n_points / 2)
    return 1.0f + step * (float) i;
  return 0.0f - step * (float) (n_points - 1 - i);
}

void
sinopia_flux_schedule (guint n_steps, guint image_seq_len, gboolean shift, float *ts)
{
  double mu = 0.5 + (1.15 - 0.5) / (4096.0 - 256.0) * ((double) image_seq_len - 256.0);
  float e = (float) exp (mu);
  for (guint i = 0; i <= n_steps; i++) {
    float t = n_steps ? linspace_at (i, n_steps + 1) : 1.0f;
    if (shift && t > 0.0f)
      t = e / (e + (1.0f / t - 1.0f));
    ts[i] = t;
  }
}

void
sinopia_flux_steps_from_schedule (const float *ts, guint n_steps, gboolean invert, float *t_eval, float *dt)
{
  for (guint k = 0; k < n_steps; k++) {
    if (!invert) {
      t_eval[k] = ts[k];
      dt[k] = ts[k + 1] - ts[k];
    } else {
      /* walk up the same grid: from σ_{N−k} to σ_{N−k−1}, evaluated where the latent is */
      float from = ts[n_steps - k], to = ts[n_steps - k - 1];
      t_eval[k] = from;
      dt[k] = to - from;
    }
  }
}

void
sinopia_flux_pack (const float *latent, uint32_t C, uint32_t H, uint32_t W, float *packed)
{
  uint32_t w2 = W / 2;
  for (uint32_t r = 0; r < H / 2; r++)
    for (uint32_t c = 0; c < w2; c++)
      for (uint32_t ch = 0; ch < C; ch++)
        for (uint32_t dy = 0; dy < 2; dy++)
          for (uint32_t dx = 0; dx < 2; dx++)
            packed[((size_t) r * w2 + c) * 4 * C + ch * 4 + dy * 2 + dx] =
              latent[((size_t) ch * H + 2 * r + dy) * W + 2 * c + dx];
}

void
sinopia_flux_unpack (const float *packed, uint32_t C, uint32_t H, uint32_t W, float *latent)
{
  uint32_t w2 = W / 2;
  for (uint32_t r = 0; r < H / 2; r++)
    for (uint32_t c = 0; c < w2; c++)
      for (uint32_t ch = 0; ch < C; ch++)
        for (uint32_t dy = 0; dy < 2; dy++)
          for (uint32_t dx = 0; dx < 2; dx++)
            latent[((size_t) ch * H + 2 * r + dy) * W + 2 * c + dx] =
              packed[((size_t) r * w2 + c) * 4 * C + ch * 4 + dy * 2 + dx];
}

void
sinopia_flux_img_ids (uint32_t H, uint32_t W, float *ids)
{
  for (uint32_t r = 0; r < H / 2; r++)
    for (uint32_t c = 0; c < W / 2; c++) {
      float *o = ids + ((size_t) r * (W / 2) + c) * 3;
      o[0] = 0.0f;
      o[1] = (float) r;
      o[2] = (float) c;
    }
}

/* splitmix64: a bijective mixer, so (seed, counter) pairs never collide. */
static guint64
mix64 (guint64 x)
{
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

void
sinopia_noise (guint64 seed, float *out, gsize n)
{
  guint64 key = mix64 (seed ^ 0x5349304e4f504941ull);
  for (gsize i = 0; i < n; i += 2) {
    /* Box–Muller on a pair of 53-bit uniforms in (0, 1] and [0, 1) */
    guint64 a = mix64 (key + 2 * (guint64) i), b = mix64 (key + 2 * (guint64) i + 1);
    double u1 = ((a >> 11) + 1) * (1.0 / 9007199254740992.0);
    double u2 = (b >> 11) * (1.0 / 9007199254740992.0);
    double r = sqrt (-2.0 * log (u1));
    out[i] = (float) (r * cos (2.0 * G_PI * u2));
    if (i + 1 < n)
      out[i + 1] = (float) (r * sin (2.0 * G_PI * u2));
  }
}

void
sinopia_step_reporter_init (SinopiaStepReporter *r, SinopiaStepFunc on_step, gpointer user_data,
                            const SinopiaPreviewMap *preview, uint32_t latent_height, uint32_t latent_width,
                            uint32_t n_img, uint32_t channels)
{
  gsize size = (gsize) n_img * channels;
  *r = (SinopiaStepReporter) {
    .on_step = on_step, .user_data = user_data, .preview = preview, .latent_height = latent_height,
    .latent_width = latent_width, .n_img = n_img, .channels = channels,
  };
  if (!on_step)
    return;
  r->x0 = g_new (float, size);
  if (preview) {
    r->unpacked = g_new (float, size);
    r->rgb = g_new (guint8, (gsize) latent_height * latent_width * 3);
  }
}

void
sinopia_step_reporter_clear (SinopiaStepReporter *r)
{
  g_clear_pointer (&r->x0, g_free);
  g_clear_pointer (&r->unpacked, g_free);
  g_clear_pointer (&r->rgb, g_free);
}

gboolean
sinopia_step_reporter_report (SinopiaStepReporter *r, guint step, guint n_steps, float t, float dt,
                              const float *latent, const float *pred, GError **error)
{
  gsize size = (gsize) r->n_img * r->channels;
  if (!r->on_step)
    return TRUE;
  /* x0 = x_t − t·v, from the latent before this step: x_t = x_{t+dt} − dt·v */
  for (gsize i = 0; i < size; i++)
    r->x0[i] = latent[i] - dt * pred[i] - t * pred[i];
  SinopiaStepInfo info = {
    .step = step, .n_steps = n_steps, .t_eval = t, .t_next = t + dt,
    .latent = latent, .x0 = r->x0, .n_img = r->n_img, .channels = r->channels,
  };
  if (r->preview) {
    sinopia_flux_unpack (r->x0, r->channels / 4, r->latent_height, r->latent_width, r->unpacked);
    sinopia_preview_rgb (r->preview, r->unpacked, r->latent_height, r->latent_width, r->rgb);
    info.preview_rgb = r->rgb;
    info.preview_width = r->latent_width;
    info.preview_height = r->latent_height;
  }
  if (r->on_step (&info, r->user_data))
    return TRUE;
  g_set_error (error, SINOPIA_SAMPLER_ERROR, SINOPIA_SAMPLER_ERROR_CANCELLED, "Cancelled");
  return FALSE;
}

static gboolean
cancelled (const SinopiaSampleRequest *req, GError **error)
{
  if (req->cancel && g_atomic_int_get (req->cancel)) {
    g_set_error (error, SINOPIA_SAMPLER_ERROR, SINOPIA_SAMPLER_ERROR_CANCELLED, "Cancelled");
    return TRUE;
  }
  return FALSE;
}

typedef struct {
  SinopiaFluxConditioning *cond, *neg, *regional;
  SinopiaFluxWorkspace *ws;
  SinopiaBuffer *latent, *pred, *neg_pred, *bits;
  SinopiaRecorder *rec;
  /* the negative pass on its own context (SinopiaSampleRequest.neg_model) */
  SinopiaFluxWorkspace *neg_ws;
  SinopiaBuffer *neg_latent;
  SinopiaRecorder *neg_rec;
} Loop;

static void
loop_clear (Loop *l)
{
  /* recorders first: freeing one waits for work still reading the buffers */
  sinopia_recorder_free (l->rec);
  sinopia_recorder_free (l->neg_rec);
  sinopia_flux_conditioning_free (l->cond);
  sinopia_flux_conditioning_free (l->neg);
  sinopia_flux_conditioning_free (l->regional);
  sinopia_buffer_free (l->bits);
  sinopia_flux_workspace_free (l->ws);
  sinopia_flux_workspace_free (l->neg_ws);
  sinopia_buffer_free (l->latent);
  sinopia_buffer_free (l->neg_latent);
  sinopia_buffer_free (l->pred);
  sinopia_buffer_free (l->neg_pred);
}

gboolean
sinopia_flux_record_velocity (SinopiaFluxModel *m, SinopiaFluxWorkspace *ws, guint step, SinopiaFluxConditioning *cond,
                              const SinopiaFluxOptions *opts, SinopiaFluxConditioning *neg,
                              const SinopiaFluxOptions *neg_opts, float guidance, const SinopiaTensor *x,
                              const SinopiaTensor *v, const SinopiaTensor *nv, SinopiaRecorder *rec, GError **error)
{
  if (!sinopia_flux_forward_with (m, ws, cond, step, opts, x, v, rec, NULL, error))
    return FALSE;
  if (!neg)
    return TRUE;
  /* v ← uncond + g·(cond − uncond), so previews and callers see the guided velocity */
  return sinopia_flux_forward_with (m, ws, neg, step, neg_opts, x, nv, rec, NULL, error) &&
         sinopia_op_mul_add (rec, nv, NULL, NULL, 1.0f - guidance, nv, error) &&
         sinopia_op_mul_add (rec, v, NULL, nv, guidance, v, error);
}

/* The regional conditioning, bits and workspace when the request injects regions. */
static gboolean
setup_regional (const SinopiaSampleRequest *req, Loop *l, const float *guidance, GError **error)
{
  SinopiaFluxModel *m = req->model;
  const SinopiaFluxConfig *cfg = sinopia_flux_model_config (m);
  if (!req->regional_steps)
    return TRUE;
  if (!req->regional_txt || !req->n_regional_txt || !req->region_bits || !req->double_interval ||
      !req->single_interval || !(req->base_ratio >= 0.0f && req->base_ratio <= 1.0f)) {
    g_set_error (error, SINOPIA_SAMPLER_ERROR, SINOPIA_SAMPLER_ERROR_INPUT,
                 "Regional prompting needs regional text, region bits, intervals ≥ 1 and a base ratio in [0, 1]");
    return FALSE;
  }
  g_autofree float *ids = g_new0 (float, (gsize) req->n_regional_txt * cfg->n_axes);
  if (!(l->regional = sinopia_flux_conditioning_new (m, req->regional_txt, req->n_regional_txt, ids, req->y,
                                                     req->img_ids, req->n_img, req->t_eval, guidance, req->n_steps,
                                                     error)) ||
      !(l->ws = sinopia_flux_workspace_new_regional (m, l->cond, l->regional, req->base_ratio > 0.0f, error)))
    return FALSE;
  gsize n_bits = 2 * (gsize) req->n_img + req->n_regional_txt;
  l->bits = sinopia_buffer_new (sinopia_flux_model_context (m), SINOPIA_DTYPE_U32, n_bits, error);
  return l->bits && sinopia_buffer_upload (l->bits, 0, req->region_bits, n_bits * sizeof (uint32_t), error);
}

/* One step with the two passes on their own contexts, running side by side; then on the host
 * the three mul_adds the one-context step records (sinopia_flux_record_velocity's guidance and
 * the Euler step), through their CPU reference: the same float operations in the same order. */
static gboolean
step_apart (Loop *l, SinopiaFluxModel *m, SinopiaFluxModel *nm, guint k, const SinopiaFluxOptions *opts,
            const SinopiaFluxOptions *neg_opts, float g, float dt, const SinopiaTensor *x, const SinopiaTensor *v,
            const SinopiaTensor *nx, const SinopiaTensor *nv, float *latent, float *pred, float *neg_pred,
            GError **error)
{
  uint32_t rows = v->rows, cols = v->cols;
  uint64_t bytes = (uint64_t) rows * cols * sizeof (float);
  if (!sinopia_recorder_begin (l->neg_rec, FALSE, error))
    return FALSE;
  gboolean recorded = sinopia_flux_forward_with (m, l->ws, l->cond, k, opts, x, v, l->rec, NULL, error) &&
                      sinopia_flux_forward_with (nm, l->neg_ws, l->neg, k, neg_opts, nx, nv, l->neg_rec, NULL, error);
  if (!recorded) {
    sinopia_recorder_submit (l->rec, NULL);
    sinopia_recorder_submit (l->neg_rec, NULL);
    return FALSE;
  }
  if (!sinopia_recorder_launch (l->rec, error)) {
    sinopia_recorder_submit (l->neg_rec, NULL);
    return FALSE;
  }
  gboolean neg_launched = sinopia_recorder_launch (l->neg_rec, error);
  gboolean done = sinopia_recorder_finish (l->rec, neg_launched ? error : NULL);
  if (!neg_launched || !sinopia_recorder_finish (l->neg_rec, done ? error : NULL) || !done)
    return FALSE;
  if (!sinopia_buffer_download (v->buffer, 0, pred, bytes, error) ||
      !sinopia_buffer_download (nv->buffer, 0, neg_pred, bytes, error))
    return FALSE;
  sinopia_ref_mul_add (neg_pred, rows, NULL, 0, NULL, 0, 1.0f - g, SINOPIA_ACT_NONE, rows, cols, neg_pred);
  sinopia_ref_mul_add (pred, rows, NULL, 0, neg_pred, rows, g, SINOPIA_ACT_NONE, rows, cols, pred);
  sinopia_ref_mul_add (pred, rows, NULL, 0, latent, rows, dt, SINOPIA_ACT_NONE, rows, cols, latent);
  return sinopia_buffer_upload (x->buffer, 0, latent, bytes, error) &&
         sinopia_buffer_upload (nx->buffer, 0, latent, bytes, error);
}

gboolean
sinopia_flux_sample (const SinopiaSampleRequest *req, float *latent, SinopiaStepFunc on_step, gpointer user_data,
                     GError **error)
{
  SinopiaFluxModel *m = req->model;
  const SinopiaFluxConfig *cfg = sinopia_flux_model_config (m);
  SinopiaVkContext *ctx = sinopia_flux_model_context (m);
  uint32_t C = cfg->in_channels, n = req->n_img - MIN (req->n_external, req->n_img);
  gboolean cfg_pass = req->neg_txt && !cfg->guidance_embed && req->guidance != 1.0f;
  uint64_t size = (uint64_t) n * C;
  Loop l = { 0 };
  gboolean ok = FALSE;
  g_autofree float *guidance = NULL, *pred = NULL, *neg_pred = NULL;
  g_auto (SinopiaStepReporter) reporter = { 0 };

  if (!req->n_steps || !req->t_eval || !req->dt || !n || cfg->in_channels != cfg->out_channels) {
    g_set_error (error, SINOPIA_SAMPLER_ERROR, SINOPIA_SAMPLER_ERROR_INPUT,
                 "Sampling needs at least one step, image tokens and a model whose output matches its input");
    return FALSE;
  }
  if (cfg_pass && req->n_neg_txt != req->n_txt) {
    g_set_error (error, SINOPIA_SAMPLER_ERROR, SINOPIA_SAMPLER_ERROR_INPUT,
                 "The negative prompt must have as many tokens (%u) as the prompt (%u)", req->n_neg_txt,
                 req->n_txt);
    return FALSE;
  }
  if ((req->n_external && (req->preview || req->regional_steps)) || (req->prepare && req->regional_steps)) {
    g_set_error (error, SINOPIA_SAMPLER_ERROR, SINOPIA_SAMPLER_ERROR_INPUT,
                 "External tokens and step hooks go with neither previews nor regional prompting");
    return FALSE;
  }
  if (req->preview && ((uint64_t) (req->latent_height / 2) * (req->latent_width / 2) != n ||
                       req->preview->channels * 4 != C)) {
    g_set_error (error, SINOPIA_SAMPLER_ERROR, SINOPIA_SAMPLER_ERROR_INPUT,
                 "A %u×%u latent does not hold %u tokens of a %u-channel preview", req->latent_height,
                 req->latent_width, n, req->preview->channels);
    return FALSE;
  }
  if (cancelled (req, error))
    return FALSE;

  guidance = g_new (float, req->n_steps);
  for (guint k = 0; k < req->n_steps; k++)
    guidance[k] = req->guidance;
  l.cond = sinopia_flux_conditioning_new (m, req->txt, req->n_txt, req->txt_ids, req->y, req->img_ids, req->n_img,
                                          req->t_eval, guidance, req->n_steps, error);
  if (!l.cond)
    goto out;
  /* the negative pass on its own context: see SinopiaSampleRequest.neg_model */
  SinopiaFluxModel *nm = cfg_pass && req->neg_model && !req->prepare && !req->n_external ? req->neg_model : m;
  SinopiaVkContext *nctx = sinopia_flux_model_context (nm);
  if (cfg_pass && !(l.neg = sinopia_flux_conditioning_new (nm, req->neg_txt, req->n_neg_txt, req->neg_txt_ids,
                                                           req->neg_y, req->img_ids, req->n_img, req->t_eval,
                                                           guidance, req->n_steps, error)))
    goto out;
  if (!setup_regional (req, &l, guidance, error))
    goto out;
  if ((!l.ws && !(l.ws = sinopia_flux_workspace_new (m, req->n_img, req->n_txt, error))) ||
      !(l.latent = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, size, error)) ||
      !(l.pred = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, size, error)) ||
      (cfg_pass && !(l.neg_pred = sinopia_buffer_new (nctx, SINOPIA_DTYPE_F32, size, error))) ||
      !(l.rec = sinopia_recorder_new (ctx, error)) ||
      !sinopia_buffer_upload (l.latent, 0, latent, size * sizeof (float), error))
    goto out;
  if (nm != m && (!(l.neg_ws = sinopia_flux_workspace_new (nm, req->n_img, req->n_txt, error)) ||
                  !(l.neg_latent = sinopia_buffer_new (nctx, SINOPIA_DTYPE_F32, size, error)) ||
                  !(l.neg_rec = sinopia_recorder_new (nctx, error)) ||
                  !sinopia_buffer_upload (l.neg_latent, 0, latent, size * sizeof (float), error)))
    goto out;

  SinopiaTensor x = sinopia_tensor (l.latent, 0, n, C), v = sinopia_tensor (l.pred, 0, n, C);
  SinopiaTensor nv = l.neg_pred ? sinopia_tensor (l.neg_pred, 0, n, C) : v;
  SinopiaTensor nx = l.neg_latent ? sinopia_tensor (l.neg_latent, 0, n, C) : x;
  pred = g_new (float, size);
  if (l.neg_rec)
    neg_pred = g_new (float, size);
  sinopia_step_reporter_init (&reporter, on_step, user_data, req->preview, req->latent_height, req->latent_width,
                              n, C);
  for (guint k = 0; k < req->n_steps; k++) {
    if (cancelled (req, error))
      goto out;
    float dt = req->dt[k], g = req->guidance;
    SinopiaTensor bits = { 0 };
    if (l.bits)
      bits = sinopia_tensor (l.bits, 0, 1, 2 * n + req->n_regional_txt);
    SinopiaFluxRegional regional = {
      .regional = l.regional, .bits = &bits, .base_ratio = req->base_ratio,
      .double_interval = req->double_interval, .single_interval = req->single_interval,
    };
    SinopiaFluxOptions opts = { 0 }, neg_opts = { 0 };
    if (req->prepare && (!req->prepare (k, latent, &opts, &neg_opts, req->prepare_user, error) ||
                         !sinopia_buffer_upload (l.latent, 0, latent, size * sizeof (float), error)))
      goto out;
    if (!sinopia_recorder_begin (l.rec, FALSE, error))
      goto out;
    opts.regional = k < req->regional_steps ? &regional : NULL;
    opts.n_external = neg_opts.n_external = req->n_external;
    if (req->bypass)
      opts.bypass = neg_opts.bypass = req->bypass;
    if (l.neg_rec) {
      if (!step_apart (&l, m, nm, k, &opts, &neg_opts, g, dt, &x, &v, &nx, &nv, latent, pred, neg_pred, error))
        goto out;
    } else {
      /* x ← x + dt·v (the reference rounds dt·v, then the sum) */
      gboolean recorded = sinopia_flux_record_velocity (m, l.ws, k, l.cond, &opts, l.neg, &neg_opts, g, &x, &v, &nv,
                                                        l.rec, error) &&
                          sinopia_op_mul_add (l.rec, &v, NULL, &x, dt, &x, error);
      if (!recorded) {
        sinopia_recorder_submit (l.rec, NULL);
        goto out;
      }
      if (!sinopia_recorder_submit (l.rec, error) ||
          !sinopia_buffer_download (l.latent, 0, latent, size * sizeof (float), error) ||
          !sinopia_buffer_download (l.pred, 0, pred, size * sizeof (float), error))
        goto out;
    }
    if (!sinopia_step_reporter_report (&reporter, k, req->n_steps, req->t_eval[k], dt, latent, pred, error))
      goto out;
  }
  ok = TRUE;

out:
  loop_clear (&l);
  return ok;
}
