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
    if (!record_linear (rec, &tsvec, &m->doubles[i].mod[SINOPIA_FLUX_IMG], SINOPIA_ACT_NONE, FALSE, &img, error) ||
        !record_linear (rec, &tsvec, &m->doubles[i].mod[SINOPIA_FLUX_TXT], SINOPIA_ACT_NONE, FALSE, &txtm, error))
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
  sinopia_buffer_free (ws->pe);
  sinopia_buffer_free (ws->rattn);
  g_free (ws);
}

static SinopiaFluxWorkspace *
workspace_new (SinopiaFluxModel *m, uint64_t L, GError **error)
{
  uint64_t D = m->cfg.hidden_size, M = m->cfg.mlp_hidden;
  SinopiaFluxWorkspace *ws = g_new0 (SinopiaFluxWorkspace, 1);
  ws->rows = (uint32_t) L;
  if (!(ws->x = sinopia_buffer_new (m->ctx, SINOPIA_DTYPE_F32, L * D, error)) ||
      !(ws->xm = sinopia_buffer_new (m->ctx, SINOPIA_DTYPE_F32, L * D, error)) ||
      !(ws->qkv = sinopia_buffer_new (m->ctx, SINOPIA_DTYPE_F32, L * 3 * D, error)) ||
      !(ws->cat = sinopia_buffer_new (m->ctx, SINOPIA_DTYPE_F32, L * (D + M), error))) {
    sinopia_flux_workspace_free (ws);
    return NULL;
  }
  return ws;
}

SinopiaFluxWorkspace *
sinopia_flux_workspace_new (SinopiaFluxModel *m, uint32_t n_img, uint32_t n_txt, GError **error)
{
  return workspace_new (m, (uint64_t) n_img + n_txt, error);
}

SinopiaFluxWorkspace *
sinopia_flux_workspace_new_regional (SinopiaFluxModel *m, SinopiaFluxConditioning *base,
                                     SinopiaFluxConditioning *regional, gboolean with_base, GError **error)
{
  uint32_t hd = sinopia_flux_head_dim (&m->cfg);
  if (!base || !regional || base->model != m || regional->model != m || base->n_img != regional->n_img) {
    g_set_error (error, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_INPUT,
                 "Regional prompting needs a base and a regional conditioning of this model over the same image");
    return NULL;
  }
  uint32_t nb = with_base ? base->n_txt : 0, n = base->n_img, nr = regional->n_txt;
  uint64_t L = (uint64_t) nb + 2 * n + nr;
  SinopiaFluxWorkspace *ws = workspace_new (m, MAX (L, (uint64_t) base->n_txt + n), error);
  if (!ws)
    return NULL;
  ws->n_base = nb;
  ws->n_img = n;
  ws->n_regional = nr;
  ws->base = base;
  ws->regional = regional;

  /* Rows of the layout take the RoPE rows of the token they hold in its own conditioning. */
  g_autofree float *pe = g_new (float, L * hd);
  gsize row = hd * sizeof (float);
  memcpy (pe, base->pe_host, nb * row);
  memcpy (pe + (gsize) nb * hd, base->pe_host + (gsize) base->n_txt * hd, n * row);
  memcpy (pe + (gsize) (nb + n) * hd, regional->pe_host, nr * row);
  memcpy (pe + (gsize) (nb + n + nr) * hd, base->pe_host + (gsize) base->n_txt * hd, n * row);
  if (!(ws->pe = sinopia__flux_upload_f32 (m->ctx, pe, L * hd, error)) ||
      !(ws->rattn = sinopia_buffer_new (m->ctx, SINOPIA_DTYPE_F32, ((uint64_t) n + nr) * m->cfg.hidden_size,
                                        error)))
    g_clear_pointer (&ws, sinopia_flux_workspace_free);
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

/* Rows of the activations and where their tokens are.
 * Plain layout: [text (n_txt) ; image (n_live computed, then n_img − n_live external)].
 * Regional layout (workspace_new_regional): [base text (nb) ; image (n) ; regional text (nr) ;
 * image copy (n)]. */
typedef struct {
  SinopiaFluxModel *m;
  SinopiaFluxWorkspace *ws;
  SinopiaFluxConditioning *c;
  const SinopiaFluxOptions *o;
  const SinopiaFluxRegional *rg;   /* NULL: plain layout */
  SinopiaRecorder *rec;
  SinopiaDump *dump;
  SinopiaTensor x, xm, qkv, cat, mods, pe;
  uint32_t D, M, hd;
  uint32_t n_txt, n_img, n_live;
  uint32_t nb, nr;
  uint32_t out_row;     /* the first of the n_live rows that the final layer reads */
  guint last_single;    /* the last single block that runs (depth_single when none does) */
} Forward;

/* Rows [r0, r0+n) that one dispatch per op takes in a double block: `first`'s rows, then from
 * r0+split on `second`'s (split == n: one stream). */
typedef struct {
  uint32_t r0, n, split;
  SinopiaFluxStreamId first, second;
} Run;

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

/* Attention of the queries in rows [r0, r0+nq) over the keys and values in rows [r0, r0+nk)
 * of qkv, into `out`; bits and key_bias are the op's options (bits: the query side reads the
 * first nq, the key side the first nk). */
static gboolean
attend (Forward *f, uint32_t r0, uint32_t nq, uint32_t nk, const SinopiaTensor *q_bits, const SinopiaTensor *k_bits,
        const SinopiaTensor *key_bias, const SinopiaTensor *out, GError **error)
{
  SinopiaTensor q = sinopia_tensor_columns (sinopia_tensor_rows (f->qkv, r0, nq), 0, f->D);
  SinopiaTensor kv = sinopia_tensor_rows (f->qkv, r0, nk);
  SinopiaTensor k = sinopia_tensor_columns (kv, f->D, f->D), v = sinopia_tensor_columns (kv, 2 * f->D, f->D);
  SinopiaTensor qb, kb;
  SinopiaAttentionOptions opts = {
    .n_heads = f->m->cfg.num_heads,
    .head_dim = f->hd,
    .scale = (float) (1.0 / sqrt ((double) f->hd)),
    .key_bias = key_bias,
  };
  if (q_bits) {
    qb = sinopia_tensor_columns (*q_bits, 0, nq);
    kb = sinopia_tensor_columns (*k_bits, 0, nk);
    opts.q_region_bits = &qb;
    opts.k_region_bits = &kb;
  }
  return sinopia_op_attention (f->rec, &q, &k, &v, &opts, out, error);
}

/* The plain layout's joint attention: computed queries over every key, with the options' rule
 * and key bias. */
static gboolean
plain_attention (Forward *f, GError **error)
{
  uint32_t live = f->n_txt + f->n_live;
  SinopiaTensor out = sinopia_tensor_columns (sinopia_tensor_rows (f->cat, 0, live), 0, f->D);
  return attend (f, 0, live, f->n_txt + f->n_img, f->o->q_bits, f->o->k_bits, f->o->key_bias, &out, error);
}

/* r ← (1 − β)·r, then y ← β·b + r: the regional blend. β = 1 leaves y = b bit for bit. */
static gboolean
blend (Forward *f, const SinopiaTensor *r, const SinopiaTensor *b, const SinopiaTensor *y, GError **error)
{
  float beta = f->rg->base_ratio;
  return sinopia_op_mul_add (f->rec, r, NULL, NULL, 1.0f - beta, r, error) &&
         sinopia_op_mul_add (f->rec, b, NULL, r, beta, y, error);
}

static SinopiaTensor
attn_rows (const Forward *f, uint32_t r0, uint32_t n)
{
  return sinopia_tensor_columns (sinopia_tensor_rows (f->cat, r0, n), 0, f->D);
}

/* Double block i of the regional layout: base attention over [base text ; image], regional
 * attention over [image ; regional text] (under the rule when i is on the interval), image
 * outputs blended. */
static gboolean
regional_double_attention (Forward *f, guint i, GError **error)
{
  uint32_t nb = f->nb, n = f->n_img, nr = f->nr;
  SinopiaTensor bits = sinopia_tensor_columns (*f->rg->bits, 0, n + nr);
  const SinopiaTensor *rule = i % f->rg->double_interval == 0 ? &bits : NULL;
  if (!nb) {
    SinopiaTensor out = attn_rows (f, 0, n + nr);
    return attend (f, 0, n + nr, n + nr, rule, rule, NULL, &out, error);
  }
  SinopiaTensor base = attn_rows (f, 0, nb + n), img = attn_rows (f, nb, n), txt = attn_rows (f, nb + n, nr);
  SinopiaTensor r = whole (f->ws->rattn, n + nr, f->D);
  SinopiaTensor r_img = sinopia_tensor_rows (r, 0, n), r_txt = sinopia_tensor_rows (r, n, nr);
  return attend (f, 0, nb + n, nb + n, NULL, NULL, NULL, &base, error) &&
         attend (f, nb, n + nr, n + nr, rule, rule, NULL, &r, error) &&
         blend (f, &r_img, &img, &img, error) &&
         sinopia_op_activation (f->rec, &r_txt, SINOPIA_ACT_NONE, &txt, error);
}

/* The K/V hooks of layer `layer` on the plain layout: copy the recorded rows out, then the
 * injected rows in (columns [D, 3D) of qkv: keys, then values). */
static gboolean
kv_hooks (Forward *f, guint layer, GError **error)
{
  const SinopiaFluxKV *sets[2] = { f->o->record, f->o->inject };
  for (guint s = 0; s < 2; s++) {
    if (!sets[s] || !sets[s]->layers[layer].buffer)
      continue;
    const SinopiaTensor *ext = &sets[s]->layers[layer];
    SinopiaTensor rows = sinopia_tensor_rows (f->qkv, f->n_txt + sets[s]->first_row, ext->rows);
    SinopiaTensor kv = sinopia_tensor_columns (rows, f->D, 2 * f->D);
    if (!sinopia_op_activation (f->rec, s == 0 ? &kv : ext, SINOPIA_ACT_NONE, s == 0 ? ext : &kv, error))
      return FALSE;
  }
  return TRUE;
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

static guint
double_runs (const Forward *f, Run *runs)
{
  if (!f->rg) {
    runs[0] = (Run) { 0, f->n_txt + f->n_live, f->n_txt, SINOPIA_FLUX_TXT, SINOPIA_FLUX_IMG };
    return 1;
  }
  if (!f->nb) {
    runs[0] = (Run) { 0, f->n_img + f->nr, f->n_img, SINOPIA_FLUX_IMG, SINOPIA_FLUX_TXT };
    return 1;
  }
  runs[0] = (Run) { 0, f->nb + f->n_img, f->nb, SINOPIA_FLUX_TXT, SINOPIA_FLUX_IMG };
  runs[1] = (Run) { f->nb + f->n_img, f->nr, f->nr, SINOPIA_FLUX_TXT, SINOPIA_FLUX_TXT };
  return 2;
}

/* The streams of a run, each with its views of a block's stacked weights and modulation. */
typedef struct {
  const Forward *f;
  const SinopiaFluxDoubleBlock *b;
  uint32_t col[2];                 /* first column of the stream's 6·D modulation chunks */
} Block;

static SinopiaTensor
stream_weight (const SinopiaLinear *lin, SinopiaFluxStreamId s)
{
  return sinopia_tensor (lin->w, (uint64_t) s * lin->out * lin->in, lin->out, lin->in);
}

static SinopiaTensor
stream_bias (const SinopiaLinear *lin, SinopiaFluxStreamId s)
{
  return sinopia_tensor (lin->b, (uint64_t) s * lin->out, 1, lin->out);
}

/* Modulation chunk k (shift1, scale1, gate1, shift2, scale2, gate2) of a stream. */
static SinopiaTensor
stream_mod (const Block *k, SinopiaFluxStreamId s, guint chunk)
{
  return mod_chunk (k->f, k->col[s] + chunk * k->f->D);
}

/* in[run] · W_streamᵀ + b_stream into out[run]: with act, or gated by modulation chunk
 * `gate` and added (gate > 0). */
static gboolean
run_linear (const Block *k, const Run *r, const SinopiaTensor *in, const SinopiaLinear *lin, SinopiaActivation act,
            guint gate, const SinopiaTensor *out, GError **error)
{
  SinopiaTensor wa = stream_weight (lin, r->first), wb = stream_weight (lin, r->second);
  SinopiaTensor ba = stream_bias (lin, r->first), bb = stream_bias (lin, r->second);
  SinopiaTensor ga = stream_mod (k, r->first, gate), gb = stream_mod (k, r->second, gate);
  SinopiaStreamSplit split = { .row = r->split, .w = &wb, .bias = lin->b ? &bb : NULL, .gate = gate ? &gb : NULL };
  if (gate)
    return sinopia_op_matmul_gated_split (k->f->rec, in, &wa, lin->b ? &ba : NULL, &ga, &split, out, error);
  return sinopia_op_matmul_split (k->f->rec, in, &wa, lin->b ? &ba : NULL, act, &split, out, error);
}

/* LayerNorm of x[run] modulated by chunks (shift, shift+1) of each stream into xm[run]. */
static gboolean
run_layer_norm (const Block *k, const Run *r, const SinopiaTensor *x, guint shift, const SinopiaTensor *xm,
                GError **error)
{
  SinopiaTensor sa = stream_mod (k, r->first, shift), ca = stream_mod (k, r->first, shift + 1);
  SinopiaTensor sb = stream_mod (k, r->second, shift), cb = stream_mod (k, r->second, shift + 1);
  SinopiaStreamSplit split = { .row = r->split, .shift = &sb, .scale = &cb };
  return sinopia_op_layer_norm_split (k->f->rec, x, &sa, &ca, &split, LN_EPS, xm, error);
}

/* QK-norm with each stream's scales, then RoPE, on the run's q|k columns. */
static gboolean
run_qk_norm_rope (const Block *k, const Run *r, GError **error)
{
  const Forward *f = k->f;
  SinopiaTensor qk = sinopia_tensor_columns (sinopia_tensor_rows (f->qkv, r->r0, r->n), 0, 2 * f->D);
  SinopiaTensor pe = sinopia_tensor_rows (f->pe, r->r0, r->n);
  SinopiaTensor qa = sinopia_tensor (k->b->q_scale, (uint64_t) r->first * f->hd, 1, f->hd);
  SinopiaTensor ka = sinopia_tensor (k->b->k_scale, (uint64_t) r->first * f->hd, 1, f->hd);
  SinopiaTensor qb = sinopia_tensor (k->b->q_scale, (uint64_t) r->second * f->hd, 1, f->hd);
  SinopiaTensor kb = sinopia_tensor (k->b->k_scale, (uint64_t) r->second * f->hd, 1, f->hd);
  SinopiaStreamSplit split = { .row = r->split, .q_scale = &qb, .k_scale = &kb };
  return sinopia_op_qk_norm_rope_split (f->rec, &qk, &qa, &ka, &split, &pe, f->hd, QK_EPS, error);
}

/* Double block i: both streams of a run go through each op in one dispatch (their weights
 * are stacked, SinopiaStreamSplit): half the dispatches of one per stream, which on
 * lavapipe cost ~0.07 ms each, and fuller dispatches for the short text stream. */
static gboolean
double_block (Forward *f, guint i, GError **error)
{
  Run runs[2];
  guint n_runs = double_runs (f, runs);
  Block k = { f, &f->m->doubles[i] };
  k.col[SINOPIA_FLUX_IMG] = f->m->double_mod_col[i];
  k.col[SINOPIA_FLUX_TXT] = f->m->double_mod_col[i] + 6 * f->D;

  for (guint s = 0; s < n_runs; s++) {
    const Run *r = &runs[s];
    SinopiaTensor x = sinopia_tensor_rows (f->x, r->r0, r->n), xm = sinopia_tensor_rows (f->xm, r->r0, r->n);
    SinopiaTensor qkv = sinopia_tensor_rows (f->qkv, r->r0, r->n);
    if (!run_layer_norm (&k, r, &x, 0, &xm, error) ||
        !run_linear (&k, r, &xm, &k.b->qkv, SINOPIA_ACT_NONE, 0, &qkv, error) ||
        !run_qk_norm_rope (&k, r, error))
      return FALSE;
  }
  if (f->rg ? !regional_double_attention (f, i, error) : !kv_hooks (f, i, error) || !plain_attention (f, error))
    return FALSE;
  for (guint s = 0; s < n_runs; s++) {
    const Run *r = &runs[s];
    SinopiaTensor x = sinopia_tensor_rows (f->x, r->r0, r->n), xm = sinopia_tensor_rows (f->xm, r->r0, r->n);
    SinopiaTensor cat = sinopia_tensor_rows (f->cat, r->r0, r->n);
    SinopiaTensor attn = sinopia_tensor_columns (cat, 0, f->D), h = sinopia_tensor_columns (cat, f->D, f->M);
    if (!run_linear (&k, r, &attn, &k.b->proj, SINOPIA_ACT_NONE, 2, &x, error) ||
        !run_layer_norm (&k, r, &x, 3, &xm, error) ||
        !run_linear (&k, r, &xm, &k.b->mlp0, SINOPIA_ACT_GELU_TANH, 0, &h, error) ||
        !run_linear (&k, r, &h, &k.b->mlp2, SINOPIA_ACT_NONE, 5, &x, error))
      return FALSE;
  }
  if (f->dump) {
    g_autofree char *img = g_strdup_printf ("inter.double_blocks.%u.img", i);
    g_autofree char *txt = g_strdup_printf ("inter.double_blocks.%u.txt", i);
    SinopiaTensor ti = sinopia_tensor_rows (f->x, f->n_txt, f->n_live);
    SinopiaTensor tt = sinopia_tensor_rows (f->x, 0, f->n_txt);
    if (!sinopia_dump_record (f->dump, f->m->ctx, f->rec, &ti, 0, NULL, error, "%s", img) ||
        !sinopia_dump_record (f->dump, f->m->ctx, f->rec, &tt, 0, NULL, error, "%s", txt))
      return FALSE;
  }
  return TRUE;
}

/* Single block i of the regional layout, after the per-token work: regional attention over
 * [regional text ; image copy] (under the rule when i is on the interval), base attention
 * over [base text ; image], the copy's image outputs blended. */
static gboolean
regional_single_attention (Forward *f, guint i, GError **error)
{
  uint32_t nb = f->nb, n = f->n_img, nr = f->nr;
  SinopiaTensor bits = sinopia_tensor_columns (*f->rg->bits, n, nr + n);
  const SinopiaTensor *rule = i % f->rg->single_interval == 0 ? &bits : NULL;
  SinopiaTensor regional = attn_rows (f, nb + n, nr + n);
  if (!attend (f, nb + n, nr + n, nr + n, rule, rule, NULL, &regional, error))
    return FALSE;
  if (!nb)
    return TRUE;
  SinopiaTensor base = attn_rows (f, 0, nb + n), img = attn_rows (f, nb, n), copy = attn_rows (f, nb + n + nr, n);
  return attend (f, 0, nb + n, nb + n, NULL, NULL, NULL, &base, error) && blend (f, &copy, &img, &copy, error);
}

static gboolean
single_block (Forward *f, guint i, GError **error)
{
  SinopiaFluxSingleBlock *b = &f->m->singles[i];
  uint32_t col = f->m->single_mod_col[i];
  /* the regional layout without base rows skips the first image (only its copy is used) */
  uint32_t r0 = f->rg && !f->nb ? f->n_img : 0;
  uint32_t L = f->rg ? f->nb + 2 * f->n_img + f->nr : f->n_txt + f->n_live;
  SinopiaTensor shift = mod_chunk (f, col), scale = mod_chunk (f, col + f->D), gate = mod_chunk (f, col + 2 * f->D);
  SinopiaTensor x = sinopia_tensor_rows (f->x, r0, L - r0), xm = sinopia_tensor_rows (f->xm, r0, L - r0);
  SinopiaTensor qkv = sinopia_tensor_rows (f->qkv, r0, L - r0);
  /* After the last block only the final layer's rows are read, so there the MLP and linear2
   * (a third of a block's work) skip the others; they still give keys and values. Rows are
   * independent in both, so the kept rows come out bit for bit the same. A dump shows every
   * row of every block, as the golden files do. */
  uint32_t out0 = r0, n_out = L - r0;
  if (i == f->last_single && !f->dump) {
    out0 = f->out_row;
    n_out = f->n_live;
  }
  SinopiaTensor xm_out = sinopia_tensor_rows (f->xm, out0, n_out), cat = sinopia_tensor_rows (f->cat, out0, n_out);
  SinopiaTensor h = sinopia_tensor_columns (cat, f->D, f->M);

  if (!sinopia_op_layer_norm (f->rec, &x, NULL, NULL, &shift, &scale, LN_EPS, &xm, error) ||
      !record_linear (f->rec, &xm, &b->qkv, SINOPIA_ACT_NONE, FALSE, &qkv, error) ||
      !record_linear (f->rec, &xm_out, &b->mlp, SINOPIA_ACT_GELU_TANH, FALSE, &h, error) ||
      !qk_norm_rope (f, r0, L - r0, b->q_scale, b->k_scale, error))
    return FALSE;
  if (f->rg ? !regional_single_attention (f, i, error)
            : !kv_hooks (f, f->m->cfg.depth + i, error) || !plain_attention (f, error))
    return FALSE;
  if (!gated_linear (f, &cat, &b->linear2, out0, n_out, &gate, error))
    return FALSE;
  if (f->dump)
    return sinopia_dump_record (f->dump, f->m->ctx, f->rec, &x, 0, NULL, error, "inter.single_blocks.%u", i);
  return TRUE;
}

uint32_t
sinopia_flux_n_layers (const SinopiaFluxConfig *cfg)
{
  return cfg->depth + cfg->depth_single;
}

static gboolean
input_error (GError **error, const char *msg)
{
  g_set_error_literal (error, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_INPUT, msg);
  return FALSE;
}

/* Every view of a K/V set lies inside image rows [0, limit) and is [rows, 2D]. */
static gboolean
kv_fits (const Forward *f, const SinopiaFluxKV *kv, uint32_t limit)
{
  for (uint32_t l = 0; l < sinopia_flux_n_layers (&f->m->cfg); l++) {
    const SinopiaTensor *t = &kv->layers[l];
    if (t->buffer && ((uint64_t) kv->first_row + t->rows > limit || t->cols != 2 * f->D))
      return FALSE;
  }
  return TRUE;
}

static gboolean
check_options (Forward *f, GError **error)
{
  const SinopiaFluxOptions *o = f->o;
  const SinopiaFluxRegional *rg = o->regional;
  uint32_t L = f->n_txt + f->n_img;
  if (rg) {
    if (o->q_bits || o->k_bits || o->key_bias || o->record || o->inject || o->n_external)
      return input_error (error, "Regional prompting cannot be combined with other forward options");
    if (!rg->regional || f->ws->regional != rg->regional || f->ws->base != f->c)
      return input_error (error, "The workspace was not made for this regional prompting");
    if (!rg->bits || rg->bits->cols != 2 * f->n_img + f->nr)
      return input_error (error, "The region bits must cover the image twice and the regional text");
    if (!(rg->base_ratio >= 0.0f && rg->base_ratio <= 1.0f) || (rg->base_ratio > 0.0f && !f->nb))
      return input_error (error, "base_ratio must lie in [0, 1] (above 0 the workspace needs the base rows)");
    if (!rg->double_interval || !rg->single_interval)
      return input_error (error, "The injection intervals must be at least 1");
    if (f->dump)
      return input_error (error, "Intermediates are dumped for plain forwards only");
    return TRUE;
  }
  if ((!o->q_bits) != (!o->k_bits) || (o->q_bits && (o->q_bits->cols != L || o->k_bits->cols != L)) ||
      (o->key_bias && o->key_bias->cols != L))
    return input_error (error, "Attention bits and key bias must cover every text and image token");
  if (o->n_external >= f->n_img)
    return input_error (error, "At least one image token must be computed");
  if ((o->record && !kv_fits (f, o->record, f->n_live)) || (o->inject && !kv_fits (f, o->inject, f->n_img)))
    return input_error (error, "Recorded K/V must lie in the computed image tokens and injected K/V in the image, "
                               "each view [rows, 2·hidden]");
  if (o->n_external) {
    if (!o->inject || o->inject->first_row > f->n_live)
      return input_error (error, "External image tokens need injected K/V");
    for (uint32_t l = 0; l < sinopia_flux_n_layers (&f->m->cfg); l++)
      if (!o->inject->layers[l].buffer || o->inject->first_row + o->inject->layers[l].rows != f->n_img)
        return input_error (error, "Injected K/V must cover the external image tokens in every layer");
  }
  return TRUE;
}

gboolean
sinopia_flux_forward (SinopiaFluxModel *m, SinopiaFluxWorkspace *ws, SinopiaFluxConditioning *c, guint step,
                      const SinopiaTensor *img, const SinopiaTensor *pred, SinopiaRecorder *rec,
                      SinopiaDump *dump, GError **error)
{
  return sinopia_flux_forward_with (m, ws, c, step, NULL, img, pred, rec, dump, error);
}

gboolean
sinopia_flux_forward_with (SinopiaFluxModel *m, SinopiaFluxWorkspace *ws, SinopiaFluxConditioning *c, guint step,
                           const SinopiaFluxOptions *opts, const SinopiaTensor *img, const SinopiaTensor *pred,
                           SinopiaRecorder *rec, SinopiaDump *dump, GError **error)
{
  static const SinopiaFluxOptions plain = { 0 };
  const SinopiaFluxConfig *cfg = &m->cfg;
  Forward f = { .m = m, .ws = ws, .c = c, .o = opts ? opts : &plain, .rec = rec, .dump = dump };

  if (!ws || !c || c->model != m || ws->rows < c->n_txt + c->n_img || step >= c->n_steps)
    return input_error (error, "The workspace, conditioning and step do not belong together");
  f.rg = f.o->regional;
  f.D = cfg->hidden_size;
  f.M = cfg->mlp_hidden;
  f.hd = sinopia_flux_head_dim (cfg);
  f.n_txt = c->n_txt;
  f.n_img = c->n_img;
  f.n_live = c->n_img - MIN (f.o->n_external, c->n_img);
  f.nb = ws->n_base;
  f.nr = ws->n_regional;
  if (!check_options (&f, error))
    return FALSE;
  f.out_row = f.rg ? f.nb + f.n_img + f.nr : f.n_txt;
  f.last_single = cfg->depth_single;
  for (guint i = 0; i < cfg->depth_single; i++)
    if (!(f.o->bypass && f.o->bypass[cfg->depth + i]))
      f.last_single = i;
  if (!img || !pred || img->rows != f.n_live || img->cols != cfg->in_channels || pred->rows != f.n_live ||
      pred->cols != cfg->out_channels) {
    g_set_error (error, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_INPUT,
                 "The latent must be %u tokens × %u features and the prediction %u × %u", f.n_live,
                 cfg->in_channels, f.n_live, cfg->out_channels);
    return FALSE;
  }
  f.x = whole (ws->x, ws->rows, f.D);
  f.xm = whole (ws->xm, ws->rows, f.D);
  f.qkv = whole (ws->qkv, ws->rows, 3 * f.D);
  f.cat = whole (ws->cat, ws->rows, f.D + f.M);
  f.mods = sinopia_tensor_rows (whole (c->mods, c->n_steps, m->mod_cols), step, 1);
  f.pe = f.rg ? whole (ws->pe, ws->rows, f.hd) : whole (c->pe, f.n_txt + f.n_img, f.hd);

  /* text rows from the conditioning(s), image rows from img_in */
  uint32_t img_row = f.rg ? f.nb : f.n_txt;
  SinopiaTensor x_img = sinopia_tensor_rows (f.x, img_row, f.n_live);
  SinopiaTensor x_txt = sinopia_tensor_rows (f.x, 0, img_row);
  SinopiaTensor ctxt = whole (c->txt, img_row, f.D);
  if ((img_row && !sinopia_op_activation (rec, &ctxt, SINOPIA_ACT_NONE, &x_txt, error)) ||
      !record_linear (rec, img, &m->img_in, SINOPIA_ACT_NONE, FALSE, &x_img, error))
    return FALSE;
  if (f.rg) {
    SinopiaTensor rtxt = whole (f.rg->regional->txt, f.nr, f.D);
    SinopiaTensor x_rtxt = sinopia_tensor_rows (f.x, f.nb + f.n_img, f.nr);
    if (!sinopia_op_activation (rec, &rtxt, SINOPIA_ACT_NONE, &x_rtxt, error))
      return FALSE;
  }
  if (dump) {
    SinopiaTensor vec = sinopia_tensor_rows (whole (c->vec, c->n_steps, f.D), step, 1);
    dump_pe (dump, c, f.hd);
    if (!sinopia_dump_record (dump, m->ctx, rec, &vec, 2, (uint64_t[]) { 1, f.D }, error, "inter.vec") ||
        !sinopia_dump_record (dump, m->ctx, rec, &x_img, 0, NULL, error, "inter.img_in") ||
        !sinopia_dump_record (dump, m->ctx, rec, &x_txt, 0, NULL, error, "inter.txt_in"))
      return FALSE;
  }
  for (guint i = 0; i < cfg->depth; i++)
    if (!(f.o->bypass && f.o->bypass[i]) && !double_block (&f, i, error))
      return FALSE;
  if (f.rg) {
    /* the regional sequence of the single blocks carries its own copy of the image */
    img_row = f.out_row;
    SinopiaTensor copy = sinopia_tensor_rows (f.x, img_row, f.n_img);
    if (!sinopia_op_activation (rec, &x_img, SINOPIA_ACT_NONE, &copy, error))
      return FALSE;
    x_img = copy;
  }
  for (guint i = 0; i < cfg->depth_single; i++)
    if (!(f.o->bypass && f.o->bypass[cfg->depth + i]) && !single_block (&f, i, error))
      return FALSE;

  SinopiaTensor xm_img = sinopia_tensor_rows (f.xm, img_row, f.n_live);
  SinopiaTensor shift = mod_chunk (&f, m->final_mod_col), scale = mod_chunk (&f, m->final_mod_col + f.D);
  return sinopia_op_layer_norm (rec, &x_img, NULL, NULL, &shift, &scale, LN_EPS, &xm_img, error) &&
         record_linear (rec, &xm_img, &m->final_linear, SINOPIA_ACT_NONE, FALSE, pred, error);
}
