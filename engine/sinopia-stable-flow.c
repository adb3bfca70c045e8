/* sinopia-stable-flow.c — reference and edit branches with vital-layer K/V injection, and the
 * variant-B inversion of real images. */
#define G_LOG_DOMAIN "sinopia-engine"

#include <string.h>

#include "sinopia-stable-flow.h"

G_DEFINE_QUARK (sinopia-stable-flow-error-quark, sinopia_stable_flow_error)

/* double blocks {0, 1, 17, 18}, single blocks {6, 9, 34, 35, 37} + 19 */
const guint sinopia_stable_flow_flux_dev_layers[9] = { 0, 1, 17, 18, 25, 28, 53, 54, 56 };

int
sinopia_stable_flow_reference_index (guint n, guint step, gboolean aligned)
{
  return aligned ? (int) n - 2 - (int) step : (int) ((n - step) % n);
}

static gboolean
input_error (GError **error, const char *msg)
{
  g_set_error_literal (error, SINOPIA_STABLE_FLOW_ERROR, SINOPIA_STABLE_FLOW_ERROR_INPUT, msg);
  return FALSE;
}

static gboolean
needs_negative (const SinopiaStableFlowRequest *req, float guidance)
{
  return req->neg_txt && !sinopia_flux_model_config (req->model)->guidance_embed && guidance != 1.0f;
}

/* Per-step collection of the inverted latents, then the caller's callback. */
typedef struct {
  float *trajectory;
  gsize size;
  SinopiaStepFunc on_step;
  gpointer user_data;
} Collect;

static gboolean
collect (const SinopiaStepInfo *info, gpointer user)
{
  Collect *c = user;
  memcpy (c->trajectory + info->step * c->size, info->latent, c->size * sizeof (float));
  return !c->on_step || c->on_step (info, c->user_data);
}

gboolean
sinopia_stable_flow_invert (const SinopiaStableFlowRequest *req, const float *z0, float *trajectory,
                            SinopiaStepFunc on_step, gpointer user_data, GError **error)
{
  const SinopiaFluxConfig *cfg = sinopia_flux_model_config (req->model);
  guint n = req->n_steps;
  gsize size = (gsize) req->n_img * cfg->in_channels;
  g_autofree float *t_eval = g_new (float, n), *dt = g_new (float, n), *x = g_memdup2 (z0, size * sizeof (float));
  /* step i goes from σ_{n−i} to σ_{n−i−1} and is evaluated at the destination */
  for (guint i = 0; i < n; i++) {
    t_eval[i] = req->timesteps[n - i - 1];
    dt[i] = req->timesteps[n - i - 1] - req->timesteps[n - i];
  }
  SinopiaSampleRequest s = {
    .model = req->model, .txt = req->src_txt, .txt_ids = req->txt_ids, .y = req->src_y, .n_txt = req->n_txt,
    .guidance = req->ref_guidance, .img_ids = req->img_ids, .n_img = req->n_img, .t_eval = t_eval, .dt = dt,
    .n_steps = n, .cancel = req->cancel, .preview = req->preview, .latent_height = req->latent_height,
    .latent_width = req->latent_width,
  };
  if (needs_negative (req, req->ref_guidance)) {
    s.neg_txt = req->neg_txt;
    s.neg_y = req->neg_y;
    s.neg_txt_ids = req->txt_ids;
    s.n_neg_txt = req->n_txt;
  }
  Collect c = { trajectory, size, on_step, user_data };
  return sinopia_flux_sample (&s, x, collect, &c, error);
}

/* Device state of the two branches. */
typedef struct {
  SinopiaFluxConditioning *cond[2], *neg[2];   /* [0] reference, [1] edit */
  SinopiaFluxWorkspace *ws;
  SinopiaBuffer *latent[2], *v[2], *nv[2];
  SinopiaBuffer **kv;          /* per layer: the reference's K/V, and its negative pass's */
  SinopiaTensor *views, *neg_views;
  SinopiaRecorder *rec;
  uint32_t n_layers;
} Branches;

static void
branches_clear (Branches *b)
{
  for (guint i = 0; i < 2; i++) {
    sinopia_flux_conditioning_free (b->cond[i]);
    sinopia_flux_conditioning_free (b->neg[i]);
    sinopia_buffer_free (b->latent[i]);
    sinopia_buffer_free (b->v[i]);
    sinopia_buffer_free (b->nv[i]);
  }
  for (guint l = 0; b->kv && l < 2 * b->n_layers; l++)
    sinopia_buffer_free (b->kv[l]);
  g_free (b->kv);
  g_free (b->views);
  g_free (b->neg_views);
  sinopia_flux_workspace_free (b->ws);
  sinopia_recorder_free (b->rec);
}

static gboolean
branches_setup (const SinopiaStableFlowRequest *req, Branches *b, const float *start, GError **error)
{
  SinopiaFluxModel *m = req->model;
  const SinopiaFluxConfig *cfg = sinopia_flux_model_config (m);
  SinopiaVkContext *ctx = sinopia_flux_model_context (m);
  guint n = req->n_steps;
  uint64_t size = (uint64_t) req->n_img * cfg->in_channels, kv_size = (uint64_t) req->n_img * 2 * cfg->hidden_size;
  const float *txt[2] = { req->src_txt, req->tar_txt }, *y[2] = { req->src_y, req->tar_y };
  float g[2] = { req->ref_guidance, req->edit_guidance };
  g_autofree float *t_eval = g_new (float, n), *dt = g_new (float, n), *gs = g_new (float, n);

  sinopia_flux_steps_from_schedule (req->timesteps, n, FALSE, t_eval, dt);
  for (guint i = 0; i < 2; i++) {
    for (guint k = 0; k < n; k++)
      gs[k] = g[i];
    if (!(b->cond[i] = sinopia_flux_conditioning_new (m, txt[i], req->n_txt, req->txt_ids, y[i], req->img_ids,
                                                      req->n_img, t_eval, gs, n, error)) ||
        (needs_negative (req, g[i]) &&
         !(b->neg[i] = sinopia_flux_conditioning_new (m, req->neg_txt, req->n_txt, req->txt_ids, req->neg_y,
                                                      req->img_ids, req->n_img, t_eval, gs, n, error))) ||
        !(b->latent[i] = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, size, error)) ||
        !(b->v[i] = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, size, error)) ||
        (b->neg[i] && !(b->nv[i] = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, size, error))) ||
        !sinopia_buffer_upload (b->latent[i], 0, start, size * sizeof (float), error))
      return FALSE;
  }
  b->n_layers = sinopia_flux_n_layers (cfg);
  b->kv = g_new0 (SinopiaBuffer *, 2 * b->n_layers);
  b->views = g_new0 (SinopiaTensor, b->n_layers);
  b->neg_views = g_new0 (SinopiaTensor, b->n_layers);
  for (uint32_t l = 0; l < b->n_layers; l++) {
    if (!req->vital[l])
      continue;
    if (!(b->kv[l] = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, kv_size, error)))
      return FALSE;
    b->views[l] = b->neg_views[l] = sinopia_tensor (b->kv[l], 0, req->n_img, 2 * cfg->hidden_size);
    /* the edit's negative pass takes the reference's negative pass's K/V when it has one */
    if (b->neg[0]) {
      if (!(b->kv[b->n_layers + l] = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, kv_size, error)))
        return FALSE;
      b->neg_views[l] = sinopia_tensor (b->kv[b->n_layers + l], 0, req->n_img, 2 * cfg->hidden_size);
    }
  }
  return (b->ws = sinopia_flux_workspace_new (m, req->n_img, req->n_txt, error)) &&
         (b->rec = sinopia_recorder_new (ctx, error));
}

gboolean
sinopia_stable_flow (const SinopiaStableFlowRequest *req, const float *start, float *ref_out, float *edit_out,
                     SinopiaStepFunc on_step, gpointer user_data, GError **error)
{
  SinopiaFluxModel *m = req->model;
  const SinopiaFluxConfig *cfg = sinopia_flux_model_config (m);
  uint32_t C = cfg->in_channels, n_img = req->n_img;
  gsize size = (gsize) n_img * C;
  guint n = req->n_steps;
  Branches b = { 0 };
  gboolean ok = FALSE;
  g_autofree float *pred = g_new (float, size);
  g_auto (SinopiaStepReporter) reporter = { 0 };

  if (!n || !n_img || !req->timesteps || !req->vital || !req->src_txt || !req->tar_txt ||
      (req->trajectory && !req->clean))
    return input_error (error, "Stable Flow needs steps, an image, both prompts, the vital layers and, for a real "
                               "image, its clean latent");
  if (req->preview && (uint64_t) (req->latent_height / 2) * (req->latent_width / 2) != n_img)
    return input_error (error, "The preview's latent size does not match the image tokens");
  sinopia_step_reporter_init (&reporter, on_step, user_data, req->preview, req->latent_height, req->latent_width,
                              n_img, C);
  if (!branches_setup (req, &b, start, error))
    goto out;

  SinopiaFluxKV record = { .layers = b.views }, neg_record = { .layers = b.neg_views };
  SinopiaFluxOptions ref_opts = { .record = &record }, ref_neg_opts = { .record = &neg_record };
  SinopiaFluxOptions edit_opts = { .inject = &record }, edit_neg_opts = { .inject = &neg_record };
  for (guint k = 0; k < n; k++) {
    if (req->cancel && g_atomic_int_get (req->cancel)) {
      g_set_error (error, SINOPIA_SAMPLER_ERROR, SINOPIA_SAMPLER_ERROR_CANCELLED, "Cancelled");
      goto out;
    }
    float t = req->timesteps[k], dt = req->timesteps[k + 1] - t;
    SinopiaFluxOptions *opts[2][2] = { { &ref_opts, &ref_neg_opts }, { &edit_opts, &edit_neg_opts } };
    gboolean recorded = sinopia_recorder_begin (b.rec, FALSE, error);
    for (guint i = 0; recorded && i < 2; i++) {
      SinopiaTensor x = sinopia_tensor (b.latent[i], 0, n_img, C), v = sinopia_tensor (b.v[i], 0, n_img, C);
      SinopiaTensor nv = b.nv[i] ? sinopia_tensor (b.nv[i], 0, n_img, C) : v;
      recorded = sinopia_flux_record_velocity (m, b.ws, k, b.cond[i], opts[i][0], b.neg[i], opts[i][1],
                                               i ? req->edit_guidance : req->ref_guidance, &x, &v, &nv, b.rec,
                                               error) &&
                 sinopia_op_mul_add (b.rec, &v, NULL, &x, dt, &x, error);
    }
    if (!recorded) {
      sinopia_recorder_submit (b.rec, NULL);
      goto out;
    }
    if (!sinopia_recorder_submit (b.rec, error) ||
        !sinopia_buffer_download (b.latent[1], 0, edit_out, size * sizeof (float), error) ||
        !sinopia_buffer_download (b.v[1], 0, pred, size * sizeof (float), error))
      goto out;
    if (req->trajectory) {
      int idx = sinopia_stable_flow_reference_index (n, k, req->aligned);
      const float *to = idx >= 0 ? req->trajectory + (gsize) idx * size : req->clean;
      if (!sinopia_buffer_upload (b.latent[0], 0, to, size * sizeof (float), error))
        goto out;
    }
    if (!sinopia_step_reporter_report (&reporter, k, n, t, dt, edit_out, pred, error))
      goto out;
  }
  ok = sinopia_buffer_download (b.latent[0], 0, ref_out, size * sizeof (float), error);

out:
  branches_clear (&b);
  return ok;
}
