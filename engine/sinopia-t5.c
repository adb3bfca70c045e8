/* sinopia-t5.c — the T5 v1.1 encoder: configuration (metadata or shapes), loading of HF
 * T5EncoderModel checkpoints, relative-position buckets, and the recorded encode. */
#define G_LOG_DOMAIN "sinopia-engine"

#include <math.h>
#include <string.h>

#include "sinopia-json.h"
#include "sinopia-t5.h"
#include "sinopia-text-private.h"

#define REL_BIAS_NAME "block.0.layer.0.SelfAttention.relative_attention_bias.weight"

typedef struct {
  SinopiaBuffer *ln0, *ln1;   /* [d_model] f32 */
  SinopiaTextLinear qkv;      /* [3·inner, d_model]: q, k, v stacked */
  SinopiaTextLinear o;        /* [d_model, inner] */
  SinopiaTextLinear wi;       /* [2·d_ff, d_model]: wi_0 rows, then wi_1 */
  SinopiaTextLinear wo;       /* [d_model, d_ff] */
} T5Block;

struct _SinopiaT5Model {
  SinopiaVkContext *ctx;
  SinopiaT5Config cfg;
  SinopiaBuffer *embed;       /* shared.weight [vocab, d_model], stored dtype */
  SinopiaBuffer *rel_bias;    /* [num_buckets, num_heads] f32 */
  float *rel_bias_host;       /* the same, for dumps of position_bias */
  T5Block *blocks;
  SinopiaBuffer *final_norm;  /* [d_model] f32 */
  uint64_t weight_bytes;
};

/* ---- configuration ------------------------------------------------------------------ */

static uint32_t
inner_dim (const SinopiaT5Config *c)
{
  return c->num_heads * c->d_kv;
}

static gboolean
config_check (const SinopiaT5Config *c, GError **error)
{
  if (!c->vocab_size || !c->d_model || !c->d_kv || !c->num_heads || !c->d_ff || !c->num_layers) {
    g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_CONFIG, "the T5 configuration has a zero size");
    return FALSE;
  }
  if (c->num_buckets < 4 || c->num_buckets % 2 != 0 || c->max_distance <= c->num_buckets / 4) {
    g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_CONFIG,
                 "%u relative-position buckets with max_distance %u: bidirectional buckets need an even "
                 "number of at least 4 and a max_distance above a quarter of it", c->num_buckets, c->max_distance);
    return FALSE;
  }
  if (!(c->eps > 0) || !isfinite (c->eps)) {
    g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_CONFIG, "layer_norm_epsilon %g is not positive",
                 c->eps);
    return FALSE;
  }
  return TRUE;
}

/* An optional integer member with its HF default. */
static gboolean
opt_int (const SinopiaJsonNode *root, const char *key, int64_t def, int64_t *out, GError **error)
{
  if (!sinopia_json_object_get (root, key)) {
    *out = def;
    return TRUE;
  }
  return sinopia_json_get_int64 (root, key, 1, 1 << 24, out, error);
}

gboolean
sinopia_t5_config_from_json (const char *json, SinopiaT5Config *cfg, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (SinopiaJson) doc = sinopia_json_parse (json, strlen (json), &local);
  static const char *const keys[] = { "vocab_size", "d_model", "d_kv", "num_heads", "d_ff", "num_layers" };
  int64_t v[G_N_ELEMENTS (keys)], buckets, distance;
  double eps = 1e-6;

  memset (cfg, 0, sizeof *cfg);
  if (!doc)
    goto fail;
  const SinopiaJsonNode *root = sinopia_json_root (doc);
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    if (!sinopia_json_get_int64 (root, keys[i], 1, 1 << 24, &v[i], &local))
      goto fail;
  if (!opt_int (root, "relative_attention_num_buckets", 32, &buckets, &local) ||
      !opt_int (root, "relative_attention_max_distance", 128, &distance, &local) ||
      (sinopia_json_object_get (root, "layer_norm_epsilon") &&
       !sinopia_json_get_double (root, "layer_norm_epsilon", &eps, &local)))
    goto fail;
  if (sinopia_json_object_get (root, "feed_forward_proj")) {
    const char *ff = sinopia_json_get_string (root, "feed_forward_proj", &local);
    if (!ff)
      goto fail;
    /* HF maps "gated-gelu" to gelu_new (the tanh form), as do the explicit tanh spellings. */
    if (strcmp (ff, "gated-gelu") != 0 && strcmp (ff, "gated-gelu_new") != 0 &&
        strcmp (ff, "gated-gelu_pytorch_tanh") != 0) {
      g_set_error (&local, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_CONFIG,
                   "feed_forward_proj \"%s\" is not supported: only T5 v1.1's gated GELU (\"gated-gelu\")", ff);
      goto fail;
    }
  }
  cfg->vocab_size = v[0];
  cfg->d_model = v[1];
  cfg->d_kv = v[2];
  cfg->num_heads = v[3];
  cfg->d_ff = v[4];
  cfg->num_layers = v[5];
  cfg->num_buckets = buckets;
  cfg->max_distance = distance;
  cfg->eps = (float) eps;
  if (config_check (cfg, &local))
    return TRUE;

fail:
  g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_CONFIG, "t5_config: %s", local->message);
  return FALSE;
}

/* The root of the model's names: the stack prefix without its "encoder." (shared.weight,
 * decoder.* and lm_head live there). (transfer full). */
static char *
root_prefix (const char *prefix)
{
  gsize len = strlen (prefix), el = strlen ("encoder.");
  if (len >= el && strcmp (prefix + len - el, "encoder.") == 0 && (len == el || prefix[len - el - 1] == '.'))
    return g_strndup (prefix, len - el);
  return g_strdup (prefix);
}

/* shared.weight at the root, else the tied copy encoder.embed_tokens.weight. */
static const SinopiaTensorInfo *
embedding_tensor (const SinopiaSafetensors *st, const char *prefix, const char *root)
{
  g_autofree char *shared = g_strconcat (root, "shared.weight", NULL);
  g_autofree char *tied = g_strconcat (prefix, "embed_tokens.weight", NULL);
  const SinopiaTensorInfo *t = sinopia_safetensors_lookup (st, shared);
  return t ? t : sinopia_safetensors_lookup (st, tied);
}

static const SinopiaTensorInfo *
lookup_2d (const SinopiaSafetensors *st, const char *prefix, const char *name, GError **error)
{
  g_autofree char *full = g_strconcat (prefix, name, NULL);
  const SinopiaTensorInfo *t = sinopia_safetensors_lookup (st, full);
  if (!t || t->n_dims != 2 || !t->shape[0] || !t->shape[1] || t->shape[0] > 1 << 24 || t->shape[1] > 1 << 24) {
    g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_TENSORS,
                 "%s: cannot infer the T5 configuration: tensor \"%s\" is %s", sinopia_safetensors_name (st), full,
                 t ? "not a matrix" : "missing");
    return NULL;
  }
  return t;
}

static gboolean
infer (const SinopiaSafetensors *st, const char *prefix, SinopiaT5Config *cfg, GError **error)
{
  g_autofree char *root = root_prefix (prefix);
  const SinopiaTensorInfo *rel, *q, *wi, *emb;

  if (!(rel = lookup_2d (st, prefix, REL_BIAS_NAME, error)) ||
      !(q = lookup_2d (st, prefix, "block.0.layer.0.SelfAttention.q.weight", error)))
    return FALSE;
  g_autofree char *v10 = g_strconcat (prefix, "block.0.layer.1.DenseReluDense.wi.weight", NULL);
  if (sinopia_safetensors_lookup (st, v10)) {
    g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_CONFIG,
                 "%s: \"%s\" is a T5 v1.0 ReLU feed-forward; only T5 v1.1's gated GELU (wi_0, wi_1) is supported",
                 sinopia_safetensors_name (st), v10);
    return FALSE;
  }
  if (!(wi = lookup_2d (st, prefix, "block.0.layer.1.DenseReluDense.wi_0.weight", error)))
    return FALSE;
  if (!(emb = embedding_tensor (st, prefix, root)) || emb->n_dims != 2) {
    g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_TENSORS,
                 "%s: cannot infer the T5 configuration: neither \"%sshared.weight\" nor \"%sembed_tokens.weight\" "
                 "is a matrix", sinopia_safetensors_name (st), root, prefix);
    return FALSE;
  }
  cfg->num_buckets = rel->shape[0];
  cfg->num_heads = rel->shape[1];
  cfg->d_model = q->shape[1];
  if (q->shape[0] % cfg->num_heads != 0) {
    g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_CONFIG,
                 "%s: the query projection has %" G_GUINT64_FORMAT " rows, not a multiple of the %u heads of "
                 "relative_attention_bias", sinopia_safetensors_name (st), q->shape[0], cfg->num_heads);
    return FALSE;
  }
  cfg->d_kv = q->shape[0] / cfg->num_heads;
  cfg->d_ff = wi->shape[0];
  cfg->vocab_size = emb->shape[0];
  cfg->num_layers = sinopia_safetensors_count_indices (st, prefix, "block");
  cfg->max_distance = 128;
  cfg->eps = 1e-6f;
  return config_check (cfg, error);
}

gboolean
sinopia_t5_config_from_checkpoint (const SinopiaSafetensors *st, SinopiaT5Config *cfg, char **prefix,
                                   GError **error)
{
  g_autofree char *found = NULL;

  memset (cfg, 0, sizeof *cfg);
  if (!sinopia__text_find_prefix (st, REL_BIAS_NAME, &found, error))
    return FALSE;
  if (!found) {
    g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_TENSORS,
                 "%s is not a T5 encoder: it has no \"...%s\"", sinopia_safetensors_name (st), REL_BIAS_NAME);
    return FALSE;
  }
  const char *json = sinopia_safetensors_metadata (st, "t5_config");
  if (json && !sinopia_t5_config_from_json (json, cfg, error)) {
    g_prefix_error (error, "%s: ", sinopia_safetensors_name (st));
    return FALSE;
  }
  if (!json && !infer (st, found, cfg, error))
    return FALSE;
  *prefix = g_steal_pointer (&found);
  return TRUE;
}

uint32_t
sinopia_t5_relative_bucket (int32_t relative_position, uint32_t num_buckets, uint32_t max_distance)
{
  uint32_t half = num_buckets / 2, max_exact = half / 2;
  uint32_t ret = relative_position > 0 ? half : 0;
  uint64_t a = relative_position < 0 ? -(int64_t) relative_position : relative_position;
  if (a < max_exact)
    return ret + (uint32_t) a;
  /* The reference evaluates log(float(a) / max_exact) / float(log(max_distance / max_exact))
   * * (half - max_exact) in float32 and truncates. Each step below is done in double and
   * rounded to float once, which is the correctly rounded float32 result of that step (the
   * division and product exactly so; the log up to a double-rounding tie). At a = 16, 32, 64
   * (max_distance 128) the quotient is exactly 0.25, 0.5, 0.75 this way, as in the reference;
   * a float logf one ulp low would drop those to the bucket below. */
  float ratio = (float) ((double) (float) a / max_exact);
  float lg = (float) log ((double) ratio);
  float denom = (float) log ((double) max_distance / max_exact);
  float scaled = (float) ((double) (float) ((double) lg / denom) * (half - max_exact));
  uint64_t large = max_exact + (uint64_t) scaled;
  return ret + (uint32_t) MIN (large, half - 1);
}

uint64_t
sinopia_t5_activation_bytes (const SinopiaT5Config *c, uint32_t n)
{
  uint64_t D = c->d_model, I = inner_dim (c), F = c->d_ff;
  /* x, h, tmp; qkv; attention out; wi out; gated product; ids, buckets, key bias */
  return 4 * ((uint64_t) n * (3 * D + 3 * I + I + 2 * F + F) + 4 * (uint64_t) n);
}

/* ---- loading ----------------------------------------------------------------------------- */

void
sinopia_t5_free (SinopiaT5Model *m)
{
  if (!m)
    return;
  for (guint i = 0; m->blocks && i < m->cfg.num_layers; i++) {
    T5Block *b = &m->blocks[i];
    g_clear_pointer (&b->ln0, sinopia_buffer_free);
    g_clear_pointer (&b->ln1, sinopia_buffer_free);
    sinopia__text_linear_clear (&b->qkv);
    sinopia__text_linear_clear (&b->o);
    sinopia__text_linear_clear (&b->wi);
    sinopia__text_linear_clear (&b->wo);
  }
  g_clear_pointer (&m->embed, sinopia_buffer_free);
  g_clear_pointer (&m->rel_bias, sinopia_buffer_free);
  g_clear_pointer (&m->final_norm, sinopia_buffer_free);
  g_free (m->rel_bias_host);
  g_free (m->blocks);
  g_free (m);
}

/* Names beside the encoder that a full T5 checkpoint carries and the encoder never reads. */
static gboolean
ignore_beside_encoder (const char *rest)
{
  return g_str_has_prefix (rest, "decoder.") || strcmp (rest, "lm_head.weight") == 0;
}

static void
load_block (SinopiaTextLoader *l, T5Block *b, guint i, const SinopiaT5Config *c)
{
  uint32_t D = c->d_model, I = inner_dim (c), F = c->d_ff;
  g_autofree char *att = g_strdup_printf ("block.%u.layer.0.SelfAttention", i);
  g_autofree char *ff = g_strdup_printf ("block.%u.layer.1.DenseReluDense", i);
  g_autofree char *q = g_strconcat (att, ".q", NULL), *k = g_strconcat (att, ".k", NULL);
  g_autofree char *v = g_strconcat (att, ".v", NULL), *o = g_strconcat (att, ".o", NULL);
  g_autofree char *wi0 = g_strconcat (ff, ".wi_0", NULL), *wi1 = g_strconcat (ff, ".wi_1", NULL);
  g_autofree char *wo = g_strconcat (ff, ".wo", NULL);
  g_autofree char *qkv_what = g_strdup_printf ("%s%s.q/k/v", l->prefix, att);
  g_autofree char *wi_what = g_strdup_printf ("%s%s.wi_0/wi_1", l->prefix, ff);
  const char *qkv[3] = { q, k, v }, *wi[2] = { wi0, wi1 }, *one[1];

  sinopia__text_linear (l, &b->qkv, qkv_what, qkv, 3, 3 * I, D, FALSE);
  one[0] = o;
  sinopia__text_linear (l, &b->o, o, one, 1, D, I, FALSE);
  sinopia__text_linear (l, &b->wi, wi_what, wi, 2, 2 * F, D, FALSE);
  one[0] = wo;
  sinopia__text_linear (l, &b->wo, wo, one, 1, D, F, FALSE);
  b->ln0 = sinopia__text_vector (l, sinopia__text_take (l, "block.%u.layer.0.layer_norm.weight", i), D);
  b->ln1 = sinopia__text_vector (l, sinopia__text_take (l, "block.%u.layer.1.layer_norm.weight", i), D);
}

static void
load_all (SinopiaTextLoader *l, SinopiaT5Model *m, const char *root)
{
  const SinopiaT5Config *c = &m->cfg;
  g_autofree char *shared = g_strconcat (root, "shared.weight", NULL);
  g_autofree char *tied = g_strconcat (l->prefix, "embed_tokens.weight", NULL);
  const SinopiaTensorInfo *emb = sinopia_safetensors_lookup (l->st, shared);

  /* HF saves shared.weight only; other writers keep the tied copy too, or only it. */
  sinopia__text_accept (l, tied);
  if (emb)
    sinopia__text_accept (l, shared);
  else if (!(emb = sinopia_safetensors_lookup (l->st, tied)))
    g_ptr_array_add (l->missing, g_steal_pointer (&shared));
  m->embed = sinopia__text_upload (l, emb, c->vocab_size, c->d_model, FALSE);

  const SinopiaTensorInfo *rel = sinopia__text_take (l, REL_BIAS_NAME);
  m->rel_bias = sinopia__text_upload (l, rel, c->num_buckets, c->num_heads, TRUE);
  if (m->rel_bias) {
    m->rel_bias_host = g_new (float, (gsize) c->num_buckets * c->num_heads);
    sinopia_safetensors_read_f32 (rel, m->rel_bias_host, &l->error);
  }
  for (guint i = 0; i < c->num_layers && !l->error; i++)
    load_block (l, &m->blocks[i], i, c);
  m->final_norm = sinopia__text_vector (l, sinopia__text_take (l, "final_layer_norm.weight"), c->d_model);
}

SinopiaT5Model *
sinopia_t5_load (SinopiaVkContext *ctx, const char *path, GError **error)
{
  g_autoptr (SinopiaSafetensors) st = sinopia_safetensors_open (path, error);
  g_autofree char *prefix = NULL, *root = NULL, *model = NULL;
  SinopiaTextLoader l;

  if (!st)
    return NULL;
  SinopiaT5Model *m = g_new0 (SinopiaT5Model, 1);
  m->ctx = ctx;
  if (!sinopia_t5_config_from_checkpoint (st, &m->cfg, &prefix, error))
    goto fail;
  root = root_prefix (prefix);
  if (!sinopia__text_check_fits (ctx, st, root, sinopia_t5_activation_bytes (&m->cfg, SINOPIA_T5_FIT_TOKENS),
                                 error))
    goto fail;
  m->blocks = g_new0 (T5Block, m->cfg.num_layers);
  sinopia__text_loader_init (&l, ctx, st, prefix);
  load_all (&l, m, root);
  m->weight_bytes = l.bytes;
  model = g_strdup_printf ("a T5 encoder of %u blocks, d_model %u, %u heads of %u, d_ff %u", m->cfg.num_layers,
                           m->cfg.d_model, m->cfg.num_heads, m->cfg.d_kv, m->cfg.d_ff);
  if (!sinopia__text_loader_finish (&l, root, ignore_beside_encoder, model, error))
    goto fail;
  return m;

fail:
  sinopia_t5_free (m);
  return NULL;
}

const SinopiaT5Config *
sinopia_t5_config (const SinopiaT5Model *model)
{
  return &model->cfg;
}

uint64_t
sinopia_t5_weight_bytes (const SinopiaT5Model *model)
{
  return model->weight_bytes;
}

/* ---- the encode ------------------------------------------------------------------------ */

typedef struct {
  SinopiaT5Model *m;
  SinopiaRecorder *rec;
  SinopiaDump *dump;
  SinopiaTensor ids, buckets, kbias, x, h, qkv, a, ff, u, tmp;
  gboolean masked;
} Encode;

/* x += lin(in); with a dump, the projection is kept apart first so it can be copied. */
static gboolean
residual (Encode *e, const SinopiaTensor *in, const SinopiaTextLinear *lin, GError **error, const char *name)
{
  if (!e->dump)
    return sinopia__text_record_linear (e->rec, in, lin, SINOPIA_ACT_NONE, TRUE, &e->x, error);
  return sinopia__text_record_linear (e->rec, in, lin, SINOPIA_ACT_NONE, FALSE, &e->tmp, error) &&
         sinopia_dump_record (e->dump, e->m->ctx, e->rec, &e->tmp, 0, NULL, error, "%s", name) &&
         sinopia_op_mul_add (e->rec, &e->tmp, NULL, &e->x, 1.0f, &e->x, error);
}

static gboolean
record_block (Encode *e, guint i, GError **error)
{
  SinopiaT5Model *m = e->m;
  const SinopiaT5Config *c = &m->cfg;
  T5Block *b = &m->blocks[i];
  uint32_t D = c->d_model, I = inner_dim (c), F = c->d_ff;
  SinopiaTensor ln0 = sinopia_tensor (b->ln0, 0, 1, D), ln1 = sinopia_tensor (b->ln1, 0, 1, D);
  SinopiaTensor q = sinopia_tensor_columns (e->qkv, 0, I), k = sinopia_tensor_columns (e->qkv, I, I);
  SinopiaTensor v = sinopia_tensor_columns (e->qkv, 2 * I, I);
  SinopiaTensor table = sinopia_tensor (m->rel_bias, 0, c->num_buckets, c->num_heads);
  SinopiaTensor g0 = sinopia_tensor_columns (e->ff, 0, F), g1 = sinopia_tensor_columns (e->ff, F, F);
  g_autofree char *p = g_strdup_printf ("inter.encoder.block.%u.layer", i);
  g_autofree char *attn = g_strdup_printf ("%s.0.SelfAttention", p);
  g_autofree char *dense = g_strdup_printf ("%s.1.DenseReluDense", p);
  SinopiaAttentionOptions opts = {
    .n_heads = c->num_heads,
    .head_dim = c->d_kv,
    .scale = 1.0f,  /* T5 folds 1/sqrt(d_kv) into its initialisation */
    .rel_buckets = &e->buckets,
    .rel_bias_table = &table,
    .key_bias = e->masked ? &e->kbias : NULL,
  };
  SinopiaVkContext *ctx = m->ctx;
  SinopiaDump *d = e->dump;

  return sinopia_op_rms_norm (e->rec, &e->x, &ln0, D, c->eps, &e->h, error) &&
         sinopia_dump_record (d, ctx, e->rec, &e->h, 0, NULL, error, "%s.0.layer_norm", p) &&
         sinopia__text_record_linear (e->rec, &e->h, &b->qkv, SINOPIA_ACT_NONE, FALSE, &e->qkv, error) &&
         sinopia_dump_record (d, ctx, e->rec, &q, 0, NULL, error, "%s.q", attn) &&
         sinopia_dump_record (d, ctx, e->rec, &k, 0, NULL, error, "%s.k", attn) &&
         sinopia_dump_record (d, ctx, e->rec, &v, 0, NULL, error, "%s.v", attn) &&
         sinopia_op_attention (e->rec, &q, &k, &v, &opts, &e->a, error) &&
         sinopia_dump_record (d, ctx, e->rec, &e->a, 0, NULL, error, "%s.o.input", attn) &&
         residual (e, &e->a, &b->o, error, attn) &&
         sinopia_dump_record (d, ctx, e->rec, &e->x, 0, NULL, error, "%s.0", p) &&
         sinopia_op_rms_norm (e->rec, &e->x, &ln1, D, c->eps, &e->h, error) &&
         sinopia_dump_record (d, ctx, e->rec, &e->h, 0, NULL, error, "%s.1.layer_norm", p) &&
         sinopia__text_record_linear (e->rec, &e->h, &b->wi, SINOPIA_ACT_NONE, FALSE, &e->ff, error) &&
         sinopia_op_gated_gelu (e->rec, &g0, &g1, &e->u, error) &&
         sinopia_dump_record (d, ctx, e->rec, &e->u, 0, NULL, error, "%s.wo.input", dense) &&
         residual (e, &e->u, &b->wo, error, dense) &&
         sinopia_dump_record (d, ctx, e->rec, &e->x, 0, NULL, error, "inter.encoder.block.%u", i);
}

/* The golden's relative_position_bucket [L, L] and position_bias [1, H, L, L] (without the
 * mask), from the host bucket row and the host copy of the table. */
static void
dump_position_bias (SinopiaT5Model *m, SinopiaDump *dump, const uint32_t *buckets, uint32_t n)
{
  const SinopiaT5Config *c = &m->cfg;
  uint64_t L = n, H = c->num_heads;
  float *table = g_new (float, L * L), *bias = g_new (float, H * L * L);
  for (uint64_t i = 0; i < L; i++)
    for (uint64_t j = 0; j < L; j++) {
      uint32_t bucket = buckets[j + L - 1 - i];
      table[i * L + j] = (float) bucket;
      for (uint64_t h = 0; h < H; h++)
        bias[(h * L + i) * L + j] = m->rel_bias_host[bucket * H + h];
    }
  sinopia_dump_host (dump, "inter.relative_position_bucket", table, 2, (uint64_t[]) { L, L });
  sinopia_dump_host (dump, "inter.position_bias", bias, 4, (uint64_t[]) { 1, H, L, L });
}

static gboolean
check_inputs (const SinopiaT5Config *c, const int32_t *ids, const int32_t *mask, uint32_t n, const float *out,
              GError **error)
{
  if (!ids || !out || n == 0 || n > SINOPIA_T5_MAX_TOKENS) {
    g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_INPUT,
                 "T5 encodes 1 to %u tokens into an output array; got %u tokens%s", SINOPIA_T5_MAX_TOKENS, n,
                 ids && out ? "" : " and no ids or output");
    return FALSE;
  }
  gboolean visible = FALSE;
  for (uint32_t i = 0; i < n; i++) {
    if (ids[i] < 0 || (uint32_t) ids[i] >= c->vocab_size) {
      g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_INPUT,
                   "token %u has id %d, outside the vocabulary of %u", i, ids[i], c->vocab_size);
      return FALSE;
    }
    if (mask && mask[i] != 0 && mask[i] != 1) {
      g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_INPUT,
                   "attention mask value %d at token %u: only 0 (padding) and 1 (token) are allowed", mask[i], i);
      return FALSE;
    }
    visible |= !mask || mask[i] == 1;
  }
  if (!visible) {
    g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_INPUT,
                 "the attention mask hides every token");
    return FALSE;
  }
  return TRUE;
}

gboolean
sinopia_t5_encode (SinopiaT5Model *m, const int32_t *ids, const int32_t *mask, uint32_t n, float *out_hidden,
                   SinopiaDump *dump, GError **error)
{
  const SinopiaT5Config *c = &m->cfg;
  SinopiaVkContext *ctx = m->ctx;
  uint64_t D = c->d_model, I = inner_dim (c), F = c->d_ff;
  SinopiaBuffer *bids = NULL, *bbuckets = NULL, *bkbias = NULL, *x = NULL, *h = NULL, *qkv = NULL, *a = NULL,
                *ff = NULL, *u = NULL, *tmp = NULL;
  SinopiaRecorder *rec = NULL;
  gboolean ok = FALSE;

  if (!check_inputs (c, ids, mask, n, out_hidden, error))
    return FALSE;
  g_autofree uint32_t *uids = g_new (uint32_t, n);
  g_autofree uint32_t *buckets = g_new (uint32_t, 2 * (gsize) n - 1);
  g_autofree float *kbias = g_new (float, n);
  for (uint32_t i = 0; i < n; i++) {
    uids[i] = (uint32_t) ids[i];
    /* HF adds finfo.min; -inf gives the same exact zero probability without overflow games */
    kbias[i] = mask && mask[i] == 0 ? -INFINITY : 0.0f;
  }
  /* entry j − i + n − 1 holds the bucket of key j seen from query i */
  for (uint32_t r = 0; r < 2 * n - 1; r++)
    buckets[r] = sinopia_t5_relative_bucket ((int32_t) r - (int32_t) (n - 1), c->num_buckets, c->max_distance);

  Encode e = { .m = m, .dump = dump, .masked = mask != NULL };
  if (!(bids = sinopia__text_upload_u32 (ctx, uids, n, error)) ||
      !(bbuckets = sinopia__text_upload_u32 (ctx, buckets, 2 * n - 1, error)) ||
      (mask && !(bkbias = sinopia__text_upload_f32 (ctx, kbias, n, error))) ||
      !(x = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, n * D, error)) ||
      !(h = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, n * D, error)) ||
      !(qkv = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, n * 3 * I, error)) ||
      !(a = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, n * I, error)) ||
      !(ff = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, n * 2 * F, error)) ||
      !(u = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, n * F, error)) ||
      (dump && !(tmp = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, n * D, error))) ||
      !(rec = sinopia_recorder_new (ctx, error)) ||
      !sinopia_recorder_begin (rec, FALSE, error))
    goto out;
  e.rec = rec;
  e.ids = sinopia_tensor (bids, 0, 1, n);
  e.buckets = sinopia_tensor (bbuckets, 0, 1, 2 * n - 1);
  if (bkbias)
    e.kbias = sinopia_tensor (bkbias, 0, 1, n);
  e.x = sinopia_tensor (x, 0, n, D);
  e.h = sinopia_tensor (h, 0, n, D);
  e.qkv = sinopia_tensor (qkv, 0, n, 3 * I);
  e.a = sinopia_tensor (a, 0, n, I);
  e.ff = sinopia_tensor (ff, 0, n, 2 * F);
  e.u = sinopia_tensor (u, 0, n, F);
  if (tmp)
    e.tmp = sinopia_tensor (tmp, 0, n, D);

  SinopiaTensor table = sinopia_tensor (m->embed, 0, c->vocab_size, D);
  SinopiaTensor final = sinopia_tensor (m->final_norm, 0, 1, D);
  gboolean recorded = sinopia_op_embedding (rec, &e.ids, &table, &e.x, error) &&
                      sinopia_dump_record (dump, ctx, rec, &e.x, 0, NULL, error, "inter.encoder.embed_tokens");
  for (guint i = 0; recorded && i < c->num_layers; i++)
    recorded = record_block (&e, i, error);
  recorded = recorded && sinopia_op_rms_norm (rec, &e.x, &final, D, c->eps, &e.h, error);
  if (!recorded) {
    sinopia_recorder_submit (rec, NULL);
    goto out;
  }
  if (!sinopia_recorder_submit (rec, error) ||
      !sinopia_buffer_download (h, 0, out_hidden, n * D * sizeof (float), error) ||
      !sinopia_dump_collect (dump, error))
    goto out;
  if (dump)
    dump_position_bias (m, dump, buckets, n);
  ok = TRUE;

out:
  if (!ok)
    sinopia_dump_discard (dump);
  sinopia_recorder_free (rec);
  sinopia_buffer_free (bids);
  sinopia_buffer_free (bbuckets);
  sinopia_buffer_free (bkbias);
  sinopia_buffer_free (x);
  sinopia_buffer_free (h);
  sinopia_buffer_free (qkv);
  sinopia_buffer_free (a);
  sinopia_buffer_free (ff);
  sinopia_buffer_free (u);
  sinopia_buffer_free (tmp);
  return ok;
}
