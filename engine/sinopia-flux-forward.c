/* sinopia-flux-forward.c — the transformer forward on the ops: per-job conditioning
 * (embedders and every modulation for all steps at once) and the per-step recording. */
#define G_LOG_DOMAIN "sinopia-engine"

#include <math.h>
#include <string.h>

#include "sinopia-flux-private.h"
#include "sinopia-rope.h"

#define LN_EPS 1e-6f
#define QK_EPS 1e-6f
#define TEMB_DIM 256

SinopiaBuffer *
sinopia__flux_upload_f32 (SinopiaVkContext *ctx, const float *data, uint64_t n, GError **error)
{
  SinopiaBuffer *buf = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, MAX (n, 1), error);
  if (buf && n && !sinopia_buffer_upload (buf, 0, data, n * sizeof (float), error))
    g_clear_pointer (&buf, sinopia_buffer_free);
  return buf;
}

/* The reference's timestep_embedding(t, 256): x = 1000·t (a float32 product), frequencies
 * exp(−ln(10⁴)·k/128); cos half first. Evaluated in double and rounded once, so the result
 * is the correctly rounded value the float32 reference approximates. */
static void
timestep_embedding (float t, float *out)
{
  const int half = TEMB_DIM / 2;
  double x = (double) (1000.0f * t);
  for (int k = 0; k < half; k++) {
    double arg = x * exp (-log (10000.0) * k / half);
    out[k] = (float) cos (arg);
    out[half + k] = (float) sin (arg);
  }
}

uint64_t
sinopia_flux_activation_bytes (const SinopiaFluxConfig *c, uint32_t n_img, uint32_t n_txt, uint32_t n_steps)
{
  uint64_t D = c->hidden_size, M = c->mlp_hidden, L = (uint64_t) n_img + n_txt;
  uint64_t mod_cols = (12 * (uint64_t) c->depth + 3 * (uint64_t) c->depth_single + 2) * D;
  uint64_t workspace = L * (6 * D + M);
  uint64_t cond = n_txt * D + L * sinopia_flux_head_dim (c) + n_steps * (D + mod_cols);
  uint64_t scratch = (uint64_t) n_steps * (2 * TEMB_DIM + 2 * D) + (uint64_t) n_txt * c->context_in_dim;
  return 4 * (workspace + cond + scratch);
}

static SinopiaTensor
whole (SinopiaBuffer *b, uint32_t rows, uint32_t cols)
{
  return sinopia_tensor (b, 0, rows, cols);
}

static gboolean
record_linear (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaLinear *lin, SinopiaActivation act,
               gboolean accumulate, const SinopiaTensor *y, GError **error)
{
  SinopiaTensor w = whole (lin->w, lin->out, lin->in), b;
  if (lin->b)
    b = whole (lin->b, 1, lin->out);
  return sinopia_op_matmul (rec, x, &w, lin->b ? &b : NULL, act, accumulate, y, error);
}

void
sinopia_flux_conditioning_free (SinopiaFluxConditioning *cond)
{
  if (!cond)
    return;
  g_clear_pointer (&cond->txt, sinopia_buffer_free);
  g_clear_pointer (&cond->pe, sinopia_buffer_free);
  g_clear_pointer (&cond->vec, sinopia_buffer_free);
  g_clear_pointer (&cond->mods, sinopia_buffer_free);
  g_free (cond->pe_host);
  g_free (cond);
}

uint32_t
sinopia_flux_conditioning_n_img (const SinopiaFluxConditioning *cond)
{
  return cond->n_img;
}

/* Records vec = time_in(temb(t)) [+ guidance_in(temb(g))] + vector_in(y) for all steps,
 * then every modulation Linear on silu(vec). */
static gboolean
record_conditioning (SinopiaFluxModel *m, SinopiaFluxConditioning *c, SinopiaRecorder *rec, SinopiaBuffer *temb_t,
                     SinopiaBuffer *temb_g, SinopiaBuffer *y, SinopiaBuffer *txt, SinopiaBuffer *h,
                     SinopiaBuffer *hv, SinopiaBuffer *yv, SinopiaBuffer *svec, GError **error)
{
  const SinopiaFluxConfig *cfg = &m->cfg;
  uint32_t S = c->n_steps, D = cfg->hidden_size;
  SinopiaTensor tt = whole (temb_t, S, TEMB_DIM), th = whole (h, S, D), tvec = whole (c->vec, S, D);
  SinopiaTensor ty = whole (y, 1, cfg->vec_in_dim), thv = whole (hv, 1, D), tyv = whole (yv, 1, D);
  SinopiaTensor tsvec = whole (svec, S, D);
  SinopiaTensor ttxt = whole (txt, c->n_txt, cfg->context_in_dim), tctxt = whole (c->txt, c->n_txt, D);

  if (!record_linear (rec, &tt, &m->time_in[0], SINOPIA_ACT_SILU, FALSE, &th, error) ||
      !record_linear (rec, &th, &m->time_in[1], SINOPIA_ACT_NONE, FALSE, &tvec, error))
    return FALSE;
  if (cfg->guidance_embed) {
    SinopiaTensor tg = whole (temb_g, S, TEMB_DIM);
    if (!record_linear (rec, &tg, &m->guidance_in[0], SINOPIA_ACT_SILU, FALSE, &th, error) ||
        !record_linear (rec, &th, &m->guidance_in[1], SINOPIA_ACT_NONE, TRUE, &tvec, error))
      return FALSE;
  }
  if (!record_linear (rec, &ty, &m->vector_in[0], SINOPIA_ACT_SILU, FALSE, &thv, error) ||
      !record_linear (rec, &thv, &m->vector_in[1], SINOPIA_ACT_NONE, FALSE, &tyv, error) ||
      !sinopia_op_mul_add (rec, &tyv, NULL, &tvec, 1.0f, &tvec, error) ||
      !sinopia_op_activation (rec, &tvec, SINOPIA_ACT_SILU, &tsvec, error))
    return FALSE;

  SinopiaTensor mods = whole (c->mods, S, m->mod_cols);
  for (guint i = 0; i < cfg->depth; i++) {
    SinopiaTensor img = sinopia_tensor_columns (mods, m->double_mod_col[i], 6 * D);
    SinopiaTensor txtm = sinopia_tensor_columns (mods, m->double_mod_col[i] + 6 * D, 6 * D);
    if (!record_linear (rec, &tsvec, &m->doubles[i].img.mod, SINOPIA_ACT_NONE, FALSE, &img, error) ||
        !record_linear (rec, &tsvec, &m->doubles[i].txt.mod, SINOPIA_ACT_NONE, FALSE, &txtm, error))
      return FALSE;
  }
  for (guint i = 0; i < cfg->depth_single; i++) {
    SinopiaTensor sm = sinopia_tensor_columns (mods, m->single_mod_col[i], 3 * D);
    if (!record_linear (rec, &tsvec, &m->singles[i].mod, SINOPIA_ACT_NONE, FALSE, &sm, error))
      return FALSE;
  }
  SinopiaTensor fm = sinopia_tensor_columns (mods, m->final_mod_col, 2 * D);
  return record_linear (rec, &tsvec, &m->final_mod, SINOPIA_ACT_NONE, FALSE, &fm, error) &&
         record_linear (rec, &ttxt, &m->txt_in, SINOPIA_ACT_NONE, FALSE, &tctxt, error);
}

SinopiaFluxConditioning *
sinopia_flux_conditioning_new (SinopiaFluxModel *m, const float *txt, uint32_t n_txt, const float *txt_ids,
                               const float *y, const float *img_ids, uint32_t n_img, const float *timesteps,
                               const float *guidance, uint32_t n_steps, GError **error)
{
  const SinopiaFluxConfig *cfg = &m->cfg;
  SinopiaVkContext *ctx = m->ctx;
  uint32_t D = cfg->hidden_size, hd = sinopia_flux_head_dim (cfg), L = n_txt + n_img;
  SinopiaBuffer *temb_t = NULL, *temb_g = NULL, *ybuf = NULL, *txtbuf = NULL, *h = NULL, *hv = NULL, *yv = NULL,
                *svec = NULL;
  SinopiaRecorder *rec = NULL;
  gboolean ok = FALSE;

  if (n_img == 0 || n_txt == 0 || n_steps == 0 || !txt || !y || !txt_ids || !img_ids || !timesteps) {
    g_set_error (error, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_INPUT,
                 "A forward needs image tokens, text tokens, y and at least one timestep");
    return NULL;
  }
  SinopiaFluxConditioning *c = g_new0 (SinopiaFluxConditioning, 1);
  c->model = m;
  c->n_txt = n_txt;
  c->n_img = n_img;
  c->n_steps = n_steps;

  /* RoPE table for the joint sequence, txt rows first as the reference concatenates ids. */
  g_autofree float *ids = g_new (float, (gsize) L * cfg->n_axes);
  memcpy (ids, txt_ids, (gsize) n_txt * cfg->n_axes * sizeof (float));
  memcpy (ids + (gsize) n_txt * cfg->n_axes, img_ids, (gsize) n_img * cfg->n_axes * sizeof (float));
  c->pe_host = g_new (float, (gsize) L * hd);
  sinopia_rope_table (ids, L, cfg->axes_dim, cfg->n_axes, cfg->theta, c->pe_host);

  g_autofree float *tt = g_new (float, (gsize) n_steps * TEMB_DIM);
  g_autofree float *tg = g_new (float, (gsize) n_steps * TEMB_DIM);
  for (guint s = 0; s < n_steps; s++) {
    timestep_embedding (timesteps[s], tt + (gsize) s * TEMB_DIM);
    timestep_embedding (guidance ? guidance[s] : 0.0f, tg + (gsize) s * TEMB_DIM);
  }

  if (!(c->pe = sinopia__flux_upload_f32 (ctx, c->pe_host, (uint64_t) L * hd, error)) ||
      !(c->txt = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, (uint64_t) n_txt * D, error)) ||
      !(c->vec = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, (uint64_t) n_steps * D, error)) ||
      !(c->mods = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, (uint64_t) n_steps * m->mod_cols, error)) ||
      !(temb_t = sinopia__flux_upload_f32 (ctx, tt, (uint64_t) n_steps * TEMB_DIM, error)) ||
      !(temb_g = sinopia__flux_upload_f32 (ctx, tg, (uint64_t) n_steps * TEMB_DIM, error)) ||
      !(ybuf = sinopia__flux_upload_f32 (ctx, y, cfg->vec_in_dim, error)) ||
      !(txtbuf = sinopia__flux_upload_f32 (ctx, txt, (uint64_t) n_txt * cfg->context_in_dim, error)) ||
      !(h = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, (uint64_t) n_steps * D, error)) ||
      !(svec = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, (uint64_t) n_steps * D, error)) ||
      !(hv = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, D, error)) ||
      !(yv = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, D, error)) ||
      !(rec = sinopia_recorder_new (ctx, error)) ||
      !sinopia_recorder_begin (rec, FALSE, error))
    goto out;
  if (!record_conditioning (m, c, rec, temb_t, temb_g, ybuf, txtbuf, h, hv, yv, svec, error)) {
    sinopia_recorder_submit (rec, NULL);
    goto out;
  }
  ok = sinopia_recorder_submit (rec, error);

out:
  sinopia_recorder_free (rec);
  sinopia_buffer_free (temb_t);
  sinopia_buffer_free (temb_g);
  sinopia_buffer_free (ybuf);
  sinopia_buffer_free (txtbuf);
  sinopia_buffer_free (h);
  sinopia_buffer_free (svec);
  sinopia_buffer_free (hv);
  sinopia_buffer_free (yv);
  if (!ok)
    g_clear_pointer (&c, sinopia_flux_conditioning_free);
  return c;
}

/* ---- workspace --------------------------------------------------------------------- */

void
sinopia_flux_workspace_free (SinopiaFluxWorkspace *ws)
{
  if (!ws)
    return;
  sinopia_buffer_free (ws->x);
  sinopia_buffer_free (ws->xm);
  sinopia_buffer_free (ws->qkv);
  sinopia_buffer_free (ws->cat);
  g_free (ws);
}

SinopiaFluxWorkspace *
sinopia_flux_workspace_new (SinopiaFluxModel *m, uint32_t n_img, uint32_t n_txt, GError **error)
{
  uint64_t L = (uint64_t) n_img + n_txt, D = m->cfg.hidden_size, M = m->cfg.mlp_hidden;
  SinopiaFluxWorkspace *ws = g_new0 (SinopiaFluxWorkspace, 1);
  ws->n_img = n_img;
  ws->n_txt = n_txt;
  if (!(ws->x = sinopia_buffer_new (m->ctx, SINOPIA_DTYPE_F32, L * D, error)) ||
      !(ws->xm = sinopia_buffer_new (m->ctx, SINOPIA_DTYPE_F32, L * D, error)) ||
      !(ws->qkv = sinopia_buffer_new (m->ctx, SINOPIA_DTYPE_F32, L * 3 * D, error)) ||
      !(ws->cat = sinopia_buffer_new (m->ctx, SINOPIA_DTYPE_F32, L * (D + M), error))) {
    sinopia_flux_workspace_free (ws);
    return NULL;
  }
  return ws;
}

/* ---- dumps --------------------------------------------------------------------------- */

/* The golden's pe: [1, 1, L, hd/2, 2, 2] rotation matrices [[cos, −sin], [sin, cos]]. */
static void
dump_pe (SinopiaDump *d, const SinopiaFluxConditioning *c, uint32_t hd)
{
  uint64_t L = (uint64_t) c->n_txt + c->n_img, pairs = hd / 2;
  float *pe = g_new (float, L * pairs * 4);
  for (uint64_t l = 0; l < L; l++)
    for (uint64_t j = 0; j < pairs; j++) {
      float cs = c->pe_host[l * hd + 2 * j], sn = c->pe_host[l * hd + 2 * j + 1];
      float *o = pe + (l * pairs + j) * 4;
      o[0] = cs;
      o[1] = -sn;
      o[2] = sn;
      o[3] = cs;
    }
  sinopia_dump_host (d, "inter.pe", pe, 6, (uint64_t[]) { 1, 1, L, pairs, 2, 2 });
}

/* ---- the forward ----------------------------------------------------------------------- */

typedef struct {
  SinopiaFluxModel *m;
  SinopiaFluxWorkspace *ws;
  SinopiaFluxConditioning *c;
  SinopiaRecorder *rec;
  SinopiaDump *dump;
  SinopiaTensor x, xm, qkv, cat, mods, pe;
  uint32_t D, M, hd, L;
} Forward;

/* Columns [col, col+D) of this step's modulation row. */
static SinopiaTensor
mod_chunk (const Forward *f, uint32_t col)
{
  return sinopia_tensor_columns (f->mods, col, f->D);
}

/* QK RMS-norm per head with the stream's scales, then RoPE, over rows [r0, r0+n). */
static gboolean
qk_norm_rope (Forward *f, uint32_t r0, uint32_t n, SinopiaBuffer *q_scale, SinopiaBuffer *k_scale, GError **error)
{
  SinopiaTensor qk = sinopia_tensor_columns (sinopia_tensor_rows (f->qkv, r0, n), 0, 2 * f->D);
  SinopiaTensor qs = whole (q_scale, 1, f->hd), ks = whole (k_scale, 1, f->hd);
  SinopiaTensor pe = sinopia_tensor_rows (f->pe, r0, n);
  return sinopia_op_qk_norm_rope (f->rec, &qk, &qs, &ks, &pe, f->hd, QK_EPS, error);
}

/* Joint attention over the whole sequence into the first D columns of `cat`. */
static gboolean
attention (Forward *f, GError **error)
{
  SinopiaTensor q = sinopia_tensor_columns (f->qkv, 0, f->D);
  SinopiaTensor k = sinopia_tensor_columns (f->qkv, f->D, f->D);
  SinopiaTensor v = sinopia_tensor_columns (f->qkv, 2 * f->D, f->D);
  SinopiaTensor out = sinopia_tensor_columns (f->cat, 0, f->D);
  SinopiaAttentionOptions opts = {
    .n_heads = f->m->cfg.num_heads,
    .head_dim = f->hd,
    .scale = (float) (1.0 / sqrt ((double) f->hd)),
  };
  return sinopia_op_attention (f->rec, &q, &k, &v, &opts, &out, error);
}

/* x[R] += gate ⊙ lin(in[R]), the gate fused into the matmul */
static gboolean
gated_linear (Forward *f, const SinopiaTensor *in, const SinopiaLinear *lin, uint32_t r0, uint32_t n,
              const SinopiaTensor *gate, GError **error)
{
  SinopiaTensor x = sinopia_tensor_rows (f->x, r0, n), w = whole (lin->w, lin->out, lin->in), b;
  if (lin->b)
    b = whole (lin->b, 1, lin->out);
  return sinopia_op_matmul_gated (f->rec, in, &w, lin->b ? &b : NULL, gate, &x, error);
}

static gboolean
double_block (Forward *f, guint i, GError **error)
{
  SinopiaFluxDoubleBlock *b = &f->m->doubles[i];
  const SinopiaFluxStream *streams[2] = { &b->txt, &b->img };
  uint32_t r0[2] = { 0, f->c->n_txt }, n[2] = { f->c->n_txt, f->c->n_img };
  uint32_t col[2] = { f->m->double_mod_col[i] + 6 * f->D, f->m->double_mod_col[i] };

  for (guint s = 0; s < 2; s++) {
    SinopiaTensor x = sinopia_tensor_rows (f->x, r0[s], n[s]), xm = sinopia_tensor_rows (f->xm, r0[s], n[s]);
    SinopiaTensor qkv = sinopia_tensor_rows (f->qkv, r0[s], n[s]);
    SinopiaTensor shift = mod_chunk (f, col[s]), scale = mod_chunk (f, col[s] + f->D);
    if (!sinopia_op_layer_norm (f->rec, &x, NULL, NULL, &shift, &scale, LN_EPS, &xm, error) ||
        !record_linear (f->rec, &xm, &streams[s]->qkv, SINOPIA_ACT_NONE, FALSE, &qkv, error) ||
        !qk_norm_rope (f, r0[s], n[s], streams[s]->q_scale, streams[s]->k_scale, error))
      return FALSE;
  }
  if (!attention (f, error))
    return FALSE;
  for (guint s = 0; s < 2; s++) {
    SinopiaTensor x = sinopia_tensor_rows (f->x, r0[s], n[s]), xm = sinopia_tensor_rows (f->xm, r0[s], n[s]);
    SinopiaTensor rows = sinopia_tensor_rows (f->cat, r0[s], n[s]);
    SinopiaTensor attn = sinopia_tensor_columns (rows, 0, f->D), h = sinopia_tensor_columns (rows, f->D, f->M);
    SinopiaTensor gate1 = mod_chunk (f, col[s] + 2 * f->D), shift2 = mod_chunk (f, col[s] + 3 * f->D);
    SinopiaTensor scale2 = mod_chunk (f, col[s] + 4 * f->D), gate2 = mod_chunk (f, col[s] + 5 * f->D);
    if (!gated_linear (f, &attn, &streams[s]->proj, r0[s], n[s], &gate1, error) ||
        !sinopia_op_layer_norm (f->rec, &x, NULL, NULL, &shift2, &scale2, LN_EPS, &xm, error) ||
        !record_linear (f->rec, &xm, &streams[s]->mlp0, SINOPIA_ACT_GELU_TANH, FALSE, &h, error) ||
        !gated_linear (f, &h, &streams[s]->mlp2, r0[s], n[s], &gate2, error))
      return FALSE;
  }
  if (f->dump) {
    g_autofree char *img = g_strdup_printf ("inter.double_blocks.%u.img", i);
    g_autofree char *txt = g_strdup_printf ("inter.double_blocks.%u.txt", i);
    SinopiaTensor ti = sinopia_tensor_rows (f->x, f->c->n_txt, f->c->n_img);
    SinopiaTensor tt = sinopia_tensor_rows (f->x, 0, f->c->n_txt);
    if (!sinopia_dump_record (f->dump, f->m->ctx, f->rec, &ti, 0, NULL, error, "%s", img) ||
        !sinopia_dump_record (f->dump, f->m->ctx, f->rec, &tt, 0, NULL, error, "%s", txt))
      return FALSE;
  }
  return TRUE;
}

static gboolean
single_block (Forward *f, guint i, GError **error)
{
  SinopiaFluxSingleBlock *b = &f->m->singles[i];
  uint32_t col = f->m->single_mod_col[i];
  SinopiaTensor shift = mod_chunk (f, col), scale = mod_chunk (f, col + f->D), gate = mod_chunk (f, col + 2 * f->D);
  SinopiaTensor h = sinopia_tensor_columns (f->cat, f->D, f->M);

  if (!sinopia_op_layer_norm (f->rec, &f->x, NULL, NULL, &shift, &scale, LN_EPS, &f->xm, error) ||
      !record_linear (f->rec, &f->xm, &b->qkv, SINOPIA_ACT_NONE, FALSE, &f->qkv, error) ||
      !record_linear (f->rec, &f->xm, &b->mlp, SINOPIA_ACT_GELU_TANH, FALSE, &h, error) ||
      !qk_norm_rope (f, 0, f->L, b->q_scale, b->k_scale, error) ||
      !attention (f, error) ||
      !gated_linear (f, &f->cat, &b->linear2, 0, f->L, &gate, error))
    return FALSE;
  if (f->dump) {
    return sinopia_dump_record (f->dump, f->m->ctx, f->rec, &f->x, 0, NULL, error, "inter.single_blocks.%u", i);
  }
  return TRUE;
}

gboolean
sinopia_flux_forward (SinopiaFluxModel *m, SinopiaFluxWorkspace *ws, SinopiaFluxConditioning *c, guint step,
                      const SinopiaTensor *img, const SinopiaTensor *pred, SinopiaRecorder *rec,
                      SinopiaDump *dump, GError **error)
{
  const SinopiaFluxConfig *cfg = &m->cfg;
  Forward f = { .m = m, .ws = ws, .c = c, .rec = rec, .dump = dump };

  if (!ws || !c || c->model != m || ws->n_img != c->n_img || ws->n_txt != c->n_txt || step >= c->n_steps) {
    g_set_error (error, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_INPUT,
                 "The workspace, conditioning and step do not belong together");
    return FALSE;
  }
  if (!img || !pred || img->rows != c->n_img || img->cols != cfg->in_channels || pred->rows != c->n_img ||
      pred->cols != cfg->out_channels) {
    g_set_error (error, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_INPUT,
                 "The latent must be %u tokens × %u features and the prediction %u × %u", c->n_img,
                 cfg->in_channels, c->n_img, cfg->out_channels);
    return FALSE;
  }
  f.D = cfg->hidden_size;
  f.M = cfg->mlp_hidden;
  f.hd = sinopia_flux_head_dim (cfg);
  f.L = c->n_txt + c->n_img;
  f.x = whole (ws->x, f.L, f.D);
  f.xm = whole (ws->xm, f.L, f.D);
  f.qkv = whole (ws->qkv, f.L, 3 * f.D);
  f.cat = whole (ws->cat, f.L, f.D + f.M);
  f.mods = sinopia_tensor_rows (whole (c->mods, c->n_steps, m->mod_cols), step, 1);
  f.pe = whole (c->pe, f.L, f.hd);

  SinopiaTensor x_txt = sinopia_tensor_rows (f.x, 0, c->n_txt), x_img = sinopia_tensor_rows (f.x, c->n_txt, c->n_img);
  SinopiaTensor ctxt = whole (c->txt, c->n_txt, f.D);
  if (!sinopia_op_activation (rec, &ctxt, SINOPIA_ACT_NONE, &x_txt, error) ||
      !record_linear (rec, img, &m->img_in, SINOPIA_ACT_NONE, FALSE, &x_img, error))
    return FALSE;
  if (dump) {
    SinopiaTensor vec = sinopia_tensor_rows (whole (c->vec, c->n_steps, f.D), step, 1);
    dump_pe (dump, c, f.hd);
    if (!sinopia_dump_record (dump, m->ctx, rec, &vec, 2, (uint64_t[]) { 1, f.D }, error, "inter.vec") ||
        !sinopia_dump_record (dump, m->ctx, rec, &x_img, 0, NULL, error, "inter.img_in") ||
        !sinopia_dump_record (dump, m->ctx, rec, &x_txt, 0, NULL, error, "inter.txt_in"))
      return FALSE;
  }
  for (guint i = 0; i < cfg->depth; i++)
    if (!double_block (&f, i, error))
      return FALSE;
  for (guint i = 0; i < cfg->depth_single; i++)
    if (!single_block (&f, i, error))
      return FALSE;

  SinopiaTensor xm_img = sinopia_tensor_rows (f.xm, c->n_txt, c->n_img);
  SinopiaTensor shift = mod_chunk (&f, m->final_mod_col), scale = mod_chunk (&f, m->final_mod_col + f.D);
  return sinopia_op_layer_norm (rec, &x_img, NULL, NULL, &shift, &scale, LN_EPS, &xm_img, error) &&
         record_linear (rec, &xm_img, &m->final_linear, SINOPIA_ACT_NONE, FALSE, pred, error);
}
