/* sinopia-clip.c — the CLIP text model: configuration (metadata or shapes), loading of HF
 * CLIPTextModel checkpoints, pooling, and the recorded encode. */
#define G_LOG_DOMAIN "sinopia-engine"

#include <math.h>
#include <string.h>

#include "sinopia-clip.h"
#include "sinopia-json.h"
#include "sinopia-text-private.h"

#define TOKEN_EMBEDDING_NAME "embeddings.token_embedding.weight"
/* Inferred configurations assume CLIP's head size (CLIP-L 768/12, CLIP-G 1280/20). */
#define INFERRED_HEAD_DIM 64u

typedef struct {
  SinopiaBuffer *ln1_w, *ln1_b, *ln2_w, *ln2_b;  /* [hidden] f32 */
  SinopiaTextLinear qkv;       /* [3·hidden, hidden] + bias: q, k, v stacked */
  SinopiaTextLinear out;       /* out_proj */
  SinopiaTextLinear fc1, fc2;
} ClipLayer;

struct _SinopiaClipModel {
  SinopiaVkContext *ctx;
  SinopiaClipConfig cfg;
  SinopiaBuffer *tokens;       /* [vocab, hidden], stored dtype */
  SinopiaBuffer *positions;    /* [max_positions, hidden] f32 */
  ClipLayer *layers;
  SinopiaBuffer *final_w, *final_b;
  uint64_t weight_bytes;
};

/* ---- configuration ------------------------------------------------------------------ */

static gboolean
config_check (const SinopiaClipConfig *c, GError **error)
{
  if (!c->vocab_size || !c->hidden_size || !c->intermediate_size || !c->num_layers || !c->num_heads ||
      !c->max_positions) {
    g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_CONFIG, "the CLIP configuration has a zero size");
    return FALSE;
  }
  if (c->hidden_size % c->num_heads != 0) {
    g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_CONFIG,
                 "hidden_size %u is not a multiple of num_attention_heads %u", c->hidden_size, c->num_heads);
    return FALSE;
  }
  if (!(c->eps > 0) || !isfinite (c->eps)) {
    g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_CONFIG, "layer_norm_eps %g is not positive", c->eps);
    return FALSE;
  }
  return TRUE;
}

gboolean
sinopia_clip_config_from_json (const char *json, SinopiaClipConfig *cfg, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (SinopiaJson) doc = sinopia_json_parse (json, strlen (json), &local);
  static const char *const keys[] = { "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                                      "num_attention_heads", "max_position_embeddings" };
  int64_t v[G_N_ELEMENTS (keys)], eos = 2;
  double eps = 1e-5;
  const char *act = "quick_gelu";

  memset (cfg, 0, sizeof *cfg);
  if (!doc)
    goto fail;
  const SinopiaJsonNode *root = sinopia_json_root (doc);
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    if (!sinopia_json_get_int64 (root, keys[i], 1, 1 << 24, &v[i], &local))
      goto fail;
  if ((sinopia_json_object_get (root, "layer_norm_eps") &&
       !sinopia_json_get_double (root, "layer_norm_eps", &eps, &local)) ||
      (sinopia_json_object_get (root, "eos_token_id") &&
       !sinopia_json_get_int64 (root, "eos_token_id", G_MININT32, G_MAXINT32, &eos, &local)) ||
      (sinopia_json_object_get (root, "hidden_act") && !(act = sinopia_json_get_string (root, "hidden_act", &local))))
    goto fail;
  if (strcmp (act, "quick_gelu") == 0) {
    cfg->act = SINOPIA_ACT_QUICK_GELU;
  } else if (strcmp (act, "gelu_new") == 0 || strcmp (act, "gelu_pytorch_tanh") == 0) {
    cfg->act = SINOPIA_ACT_GELU_TANH;
  } else {
    g_set_error (&local, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_CONFIG,
                 "hidden_act \"%s\" is not supported: quick_gelu (CLIP-L), gelu_new or gelu_pytorch_tanh", act);
    goto fail;
  }
  cfg->vocab_size = v[0];
  cfg->hidden_size = v[1];
  cfg->intermediate_size = v[2];
  cfg->num_layers = v[3];
  cfg->num_heads = v[4];
  cfg->max_positions = v[5];
  cfg->eps = (float) eps;
  cfg->eos_token_id = (int32_t) eos;
  if (config_check (cfg, &local))
    return TRUE;

fail:
  g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_CONFIG, "clip_text_config: %s", local->message);
  return FALSE;
}

static const SinopiaTensorInfo *
lookup_2d (const SinopiaSafetensors *st, const char *prefix, const char *name, GError **error)
{
  g_autofree char *full = g_strconcat (prefix, name, NULL);
  const SinopiaTensorInfo *t = sinopia_safetensors_lookup (st, full);
  if (!t || t->n_dims != 2 || !t->shape[0] || !t->shape[1] || t->shape[0] > 1 << 24 || t->shape[1] > 1 << 24) {
    g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_TENSORS,
                 "%s: cannot infer the CLIP configuration: tensor \"%s\" is %s", sinopia_safetensors_name (st), full,
                 t ? "not a matrix" : "missing");
    return NULL;
  }
  return t;
}

static gboolean
infer (const SinopiaSafetensors *st, const char *prefix, SinopiaClipConfig *cfg, GError **error)
{
  const SinopiaTensorInfo *tok, *pos, *fc1;

  if (!(tok = lookup_2d (st, prefix, TOKEN_EMBEDDING_NAME, error)) ||
      !(pos = lookup_2d (st, prefix, "embeddings.position_embedding.weight", error)) ||
      !(fc1 = lookup_2d (st, prefix, "encoder.layers.0.mlp.fc1.weight", error)))
    return FALSE;
  cfg->vocab_size = tok->shape[0];
  cfg->hidden_size = tok->shape[1];
  cfg->max_positions = pos->shape[0];
  cfg->intermediate_size = fc1->shape[0];
  cfg->num_layers = sinopia_safetensors_count_indices (st, prefix, "encoder.layers");
  if (cfg->hidden_size % INFERRED_HEAD_DIM != 0) {
    g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_CONFIG,
                 "%s: the hidden size %u is not a multiple of CLIP's head size %u, so the number of heads cannot "
                 "be inferred; store the configuration in __metadata__ clip_text_config",
                 sinopia_safetensors_name (st), cfg->hidden_size, INFERRED_HEAD_DIM);
    return FALSE;
  }
  cfg->num_heads = cfg->hidden_size / INFERRED_HEAD_DIM;
  cfg->act = SINOPIA_ACT_QUICK_GELU;
  cfg->eps = 1e-5f;
  cfg->eos_token_id = 2;
  return config_check (cfg, error);
}

gboolean
sinopia_clip_config_from_checkpoint (const SinopiaSafetensors *st, SinopiaClipConfig *cfg, char **prefix,
                                     GError **error)
{
  g_autofree char *found = NULL;

  memset (cfg, 0, sizeof *cfg);
  if (!sinopia__text_find_prefix (st, TOKEN_EMBEDDING_NAME, &found, error))
    return FALSE;
  if (!found) {
    g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_TENSORS,
                 "%s is not a CLIP text model: it has no \"...%s\"", sinopia_safetensors_name (st),
                 TOKEN_EMBEDDING_NAME);
    return FALSE;
  }
  const char *json = sinopia_safetensors_metadata (st, "clip_text_config");
  if (json && !sinopia_clip_config_from_json (json, cfg, error)) {
    g_prefix_error (error, "%s: ", sinopia_safetensors_name (st));
    return FALSE;
  }
  if (!json && !infer (st, found, cfg, error))
    return FALSE;
  *prefix = g_steal_pointer (&found);
  return TRUE;
}

uint32_t
sinopia_clip_pooled_index (const SinopiaClipConfig *cfg, const int32_t *ids, uint32_t n)
{
  uint32_t best = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (cfg->eos_token_id == 2) {
      if (ids[i] > ids[best])
        best = i;
    } else if (ids[i] == cfg->eos_token_id) {
      return i;
    }
  }
  return best;
}

uint64_t
sinopia_clip_activation_bytes (const SinopiaClipConfig *c, uint32_t n)
{
  uint64_t D = c->hidden_size, M = c->intermediate_size;
  /* x, h, attention out, tmp; qkv; fc1 and its activation; ids, key bias */
  return 4 * ((uint64_t) n * (4 * D + 3 * D + 2 * M) + 2 * (uint64_t) n);
}

/* ---- loading ----------------------------------------------------------------------------- */

void
sinopia_clip_free (SinopiaClipModel *m)
{
  if (!m)
    return;
  for (guint i = 0; m->layers && i < m->cfg.num_layers; i++) {
    ClipLayer *y = &m->layers[i];
    g_clear_pointer (&y->ln1_w, sinopia_buffer_free);
    g_clear_pointer (&y->ln1_b, sinopia_buffer_free);
    g_clear_pointer (&y->ln2_w, sinopia_buffer_free);
    g_clear_pointer (&y->ln2_b, sinopia_buffer_free);
    sinopia__text_linear_clear (&y->qkv);
    sinopia__text_linear_clear (&y->out);
    sinopia__text_linear_clear (&y->fc1);
    sinopia__text_linear_clear (&y->fc2);
  }
  g_clear_pointer (&m->tokens, sinopia_buffer_free);
  g_clear_pointer (&m->positions, sinopia_buffer_free);
  g_clear_pointer (&m->final_w, sinopia_buffer_free);
  g_clear_pointer (&m->final_b, sinopia_buffer_free);
  g_free (m->layers);
  g_free (m);
}

static void
load_layer (SinopiaTextLoader *l, ClipLayer *y, guint i, const SinopiaClipConfig *c)
{
  uint32_t D = c->hidden_size, M = c->intermediate_size;
  g_autofree char *b = g_strdup_printf ("encoder.layers.%u", i);
  g_autofree char *q = g_strconcat (b, ".self_attn.q_proj", NULL), *k = g_strconcat (b, ".self_attn.k_proj", NULL);
  g_autofree char *v = g_strconcat (b, ".self_attn.v_proj", NULL);
  g_autofree char *o = g_strconcat (b, ".self_attn.out_proj", NULL);
  g_autofree char *fc1 = g_strconcat (b, ".mlp.fc1", NULL), *fc2 = g_strconcat (b, ".mlp.fc2", NULL);
  g_autofree char *qkv_what = g_strdup_printf ("%s%s.self_attn.q/k/v_proj", l->prefix, b);
  const char *qkv[3] = { q, k, v }, *one[1];

  sinopia__text_linear (l, &y->qkv, qkv_what, qkv, 3, 3 * D, D, TRUE);
  one[0] = o;
  sinopia__text_linear (l, &y->out, o, one, 1, D, D, TRUE);
  one[0] = fc1;
  sinopia__text_linear (l, &y->fc1, fc1, one, 1, M, D, TRUE);
  one[0] = fc2;
  sinopia__text_linear (l, &y->fc2, fc2, one, 1, D, M, TRUE);
  y->ln1_w = sinopia__text_vector (l, sinopia__text_take (l, "%s.layer_norm1.weight", b), D);
  y->ln1_b = sinopia__text_vector (l, sinopia__text_take (l, "%s.layer_norm1.bias", b), D);
  y->ln2_w = sinopia__text_vector (l, sinopia__text_take (l, "%s.layer_norm2.weight", b), D);
  y->ln2_b = sinopia__text_vector (l, sinopia__text_take (l, "%s.layer_norm2.bias", b), D);
}

static void
load_all (SinopiaTextLoader *l, SinopiaClipModel *m)
{
  const SinopiaClipConfig *c = &m->cfg;
  uint32_t D = c->hidden_size;
  g_autofree char *position_ids = g_strconcat (l->prefix, "embeddings.position_ids", NULL);

  /* a buffer (arange) that older exports saved with the weights */
  sinopia__text_accept (l, position_ids);
  m->tokens = sinopia__text_upload (l, sinopia__text_take (l, TOKEN_EMBEDDING_NAME), c->vocab_size, D, FALSE);
  m->positions = sinopia__text_upload (l, sinopia__text_take (l, "embeddings.position_embedding.weight"),
                                       c->max_positions, D, TRUE);
  for (guint i = 0; i < c->num_layers && !l->error; i++)
    load_layer (l, &m->layers[i], i, c);
  m->final_w = sinopia__text_vector (l, sinopia__text_take (l, "final_layer_norm.weight"), D);
  m->final_b = sinopia__text_vector (l, sinopia__text_take (l, "final_layer_norm.bias"), D);
}

SinopiaClipModel *
sinopia_clip_load (SinopiaVkContext *ctx, const char *path, GError **error)
{
  g_autoptr (SinopiaSafetensors) st = sinopia_safetensors_open (path, error);
  g_autofree char *prefix = NULL, *model = NULL;
  SinopiaTextLoader l;

  if (!st)
    return NULL;
  SinopiaClipModel *m = g_new0 (SinopiaClipModel, 1);
  m->ctx = ctx;
  if (!sinopia_clip_config_from_checkpoint (st, &m->cfg, &prefix, error) ||
      !sinopia__text_check_fits (ctx, st, prefix, sinopia_clip_activation_bytes (&m->cfg, m->cfg.max_positions),
                                 error))
    goto fail;
  m->layers = g_new0 (ClipLayer, m->cfg.num_layers);
  sinopia__text_loader_init (&l, ctx, st, prefix);
  load_all (&l, m);
  m->weight_bytes = l.bytes;
  model = g_strdup_printf ("a CLIP text model of %u layers, hidden size %u, %u heads, intermediate size %u",
                           m->cfg.num_layers, m->cfg.hidden_size, m->cfg.num_heads, m->cfg.intermediate_size);
  if (!sinopia__text_loader_finish (&l, prefix, NULL, model, error))
    goto fail;
  return m;

fail:
  sinopia_clip_free (m);
  return NULL;
}

const SinopiaClipConfig *
sinopia_clip_config (const SinopiaClipModel *model)
{
  return &model->cfg;
}

uint64_t
sinopia_clip_weight_bytes (const SinopiaClipModel *model)
{
  return model->weight_bytes;
}

/* ---- the encode ------------------------------------------------------------------------ */

typedef struct {
  SinopiaClipModel *m;
  SinopiaRecorder *rec;
  SinopiaDump *dump;
  SinopiaTensor ids, kbias, x, h, qkv, a, f1, f2, tmp;
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

/* f2 = act(fc1(h)); with a dump fc1's output is kept apart first so it can be copied. */
static gboolean
mlp_in (Encode *e, const ClipLayer *y, GError **error, const char *name)
{
  SinopiaActivation act = e->m->cfg.act;
  if (!e->dump)
    return sinopia__text_record_linear (e->rec, &e->h, &y->fc1, act, FALSE, &e->f2, error);
  return sinopia__text_record_linear (e->rec, &e->h, &y->fc1, SINOPIA_ACT_NONE, FALSE, &e->f1, error) &&
         sinopia_dump_record (e->dump, e->m->ctx, e->rec, &e->f1, 0, NULL, error, "%s.fc1", name) &&
         sinopia_op_activation (e->rec, &e->f1, act, &e->f2, error);
}

static gboolean
record_layer (Encode *e, guint i, GError **error)
{
  SinopiaClipModel *m = e->m;
  const SinopiaClipConfig *c = &m->cfg;
  const ClipLayer *y = &m->layers[i];
  uint32_t D = c->hidden_size, hd = D / c->num_heads;
  SinopiaTensor w1 = sinopia_tensor (y->ln1_w, 0, 1, D), b1 = sinopia_tensor (y->ln1_b, 0, 1, D);
  SinopiaTensor w2 = sinopia_tensor (y->ln2_w, 0, 1, D), b2 = sinopia_tensor (y->ln2_b, 0, 1, D);
  SinopiaTensor q = sinopia_tensor_columns (e->qkv, 0, D), k = sinopia_tensor_columns (e->qkv, D, D);
  SinopiaTensor v = sinopia_tensor_columns (e->qkv, 2 * D, D);
  g_autofree char *p = g_strdup_printf ("inter.encoder.layers.%u", i);
  g_autofree char *attn = g_strdup_printf ("%s.self_attn", p);
  g_autofree char *mlp = g_strdup_printf ("%s.mlp", p);
  SinopiaAttentionOptions opts = {
    .n_heads = c->num_heads,
    .head_dim = hd,
    .scale = (float) (1.0 / sqrt ((double) hd)),
    .causal = TRUE,
    .key_bias = e->masked ? &e->kbias : NULL,
  };
  SinopiaVkContext *ctx = m->ctx;
  SinopiaDump *d = e->dump;

  return sinopia_op_layer_norm (e->rec, &e->x, &w1, &b1, NULL, NULL, c->eps, &e->h, error) &&
         sinopia_dump_record (d, ctx, e->rec, &e->h, 0, NULL, error, "%s.layer_norm1", p) &&
         sinopia__text_record_linear (e->rec, &e->h, &y->qkv, SINOPIA_ACT_NONE, FALSE, &e->qkv, error) &&
         sinopia_dump_record (d, ctx, e->rec, &q, 0, NULL, error, "%s.q_proj", attn) &&
         sinopia_dump_record (d, ctx, e->rec, &k, 0, NULL, error, "%s.k_proj", attn) &&
         sinopia_dump_record (d, ctx, e->rec, &v, 0, NULL, error, "%s.v_proj", attn) &&
         sinopia_op_attention (e->rec, &q, &k, &v, &opts, &e->a, error) &&
         sinopia_dump_record (d, ctx, e->rec, &e->a, 0, NULL, error, "%s.out_proj.input", attn) &&
         residual (e, &e->a, &y->out, error, attn) &&
         sinopia_dump_record (d, ctx, e->rec, &e->x, 0, NULL, error, "%s.layer_norm2.input", p) &&
         sinopia_op_layer_norm (e->rec, &e->x, &w2, &b2, NULL, NULL, c->eps, &e->h, error) &&
         sinopia_dump_record (d, ctx, e->rec, &e->h, 0, NULL, error, "%s.layer_norm2", p) &&
         mlp_in (e, y, error, mlp) &&
         sinopia_dump_record (d, ctx, e->rec, &e->f2, 0, NULL, error, "%s.fc2.input", mlp) &&
         residual (e, &e->f2, &y->fc2, error, mlp) &&
         sinopia_dump_record (d, ctx, e->rec, &e->x, 0, NULL, error, "%s", p);
}

static gboolean
check_inputs (const SinopiaClipConfig *c, const int32_t *ids, const int32_t *mask, uint32_t n, GError **error)
{
  if (!ids || n == 0 || n > c->max_positions) {
    g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_INPUT,
                 "CLIP encodes 1 to %u tokens (its position table); got %u%s", c->max_positions, n,
                 ids ? "" : " and no ids");
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
    g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_INPUT, "the attention mask hides every token");
    return FALSE;
  }
  return TRUE;
}

gboolean
sinopia_clip_encode (SinopiaClipModel *m, const int32_t *ids, const int32_t *mask, uint32_t n, float *out_hidden,
                     float *out_pooled, SinopiaDump *dump, GError **error)
{
  const SinopiaClipConfig *c = &m->cfg;
  SinopiaVkContext *ctx = m->ctx;
  uint64_t D = c->hidden_size, M = c->intermediate_size;
  SinopiaBuffer *bids = NULL, *bkbias = NULL, *x = NULL, *h = NULL, *qkv = NULL, *a = NULL, *f1 = NULL, *f2 = NULL,
                *tmp = NULL;
  SinopiaRecorder *rec = NULL;
  gboolean ok = FALSE;

  if (!check_inputs (c, ids, mask, n, error))
    return FALSE;
  g_autofree uint32_t *uids = g_new (uint32_t, n);
  g_autofree float *kbias = g_new (float, n);
  g_autofree float *hidden = g_new (float, n * D);
  for (uint32_t i = 0; i < n; i++) {
    uids[i] = (uint32_t) ids[i];
    kbias[i] = mask && mask[i] == 0 ? -INFINITY : 0.0f;
  }

  Encode e = { .m = m, .dump = dump, .masked = mask != NULL };
  if (!(bids = sinopia__text_upload_u32 (ctx, uids, n, error)) ||
      (mask && !(bkbias = sinopia__text_upload_f32 (ctx, kbias, n, error))) ||
      !(x = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, n * D, error)) ||
      !(h = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, n * D, error)) ||
      !(qkv = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, n * 3 * D, error)) ||
      !(a = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, n * D, error)) ||
      !(f2 = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, n * M, error)) ||
      (dump && !(f1 = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, n * M, error))) ||
      (dump && !(tmp = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, n * D, error))) ||
      !(rec = sinopia_recorder_new (ctx, error)) ||
      !sinopia_recorder_begin (rec, FALSE, error))
    goto out;
  e.rec = rec;
  e.ids = sinopia_tensor (bids, 0, 1, n);
  if (bkbias)
    e.kbias = sinopia_tensor (bkbias, 0, 1, n);
  e.x = sinopia_tensor (x, 0, n, D);
  e.h = sinopia_tensor (h, 0, n, D);
  e.qkv = sinopia_tensor (qkv, 0, n, 3 * D);
  e.a = sinopia_tensor (a, 0, n, D);
  e.f2 = sinopia_tensor (f2, 0, n, M);
  if (dump) {
    e.f1 = sinopia_tensor (f1, 0, n, M);
    e.tmp = sinopia_tensor (tmp, 0, n, D);
  }

  SinopiaTensor table = sinopia_tensor (m->tokens, 0, c->vocab_size, D);
  SinopiaTensor pos = sinopia_tensor (m->positions, 0, n, D);
  SinopiaTensor fw = sinopia_tensor (m->final_w, 0, 1, D), fb = sinopia_tensor (m->final_b, 0, 1, D);
  gboolean recorded = sinopia_op_embedding (rec, &e.ids, &table, &e.x, error) &&
                      sinopia_op_mul_add (rec, &e.x, NULL, &pos, 1.0f, &e.x, error) &&
                      sinopia_dump_record (dump, ctx, rec, &e.x, 0, NULL, error, "inter.embeddings");
  for (guint i = 0; recorded && i < c->num_layers; i++)
    recorded = record_layer (&e, i, error);
  recorded = recorded && sinopia_op_layer_norm (rec, &e.x, &fw, &fb, NULL, NULL, c->eps, &e.h, error);
  if (!recorded) {
    sinopia_recorder_submit (rec, NULL);
    goto out;
  }
  if (!sinopia_recorder_submit (rec, error) ||
      !sinopia_buffer_download (h, 0, hidden, n * D * sizeof (float), error) ||
      !sinopia_dump_collect (dump, error))
    goto out;
  if (out_hidden)
    memcpy (out_hidden, hidden, n * D * sizeof (float));
  if (out_pooled)
    memcpy (out_pooled, hidden + sinopia_clip_pooled_index (c, ids, n) * D, D * sizeof (float));
  ok = TRUE;

out:
  if (!ok)
    sinopia_dump_discard (dump);
  sinopia_recorder_free (rec);
  sinopia_buffer_free (bids);
  sinopia_buffer_free (bkbias);
  sinopia_buffer_free (x);
  sinopia_buffer_free (h);
  sinopia_buffer_free (qkv);
  sinopia_buffer_free (a);
  sinopia_buffer_free (f1);
  sinopia_buffer_free (f2);
  sinopia_buffer_free (tmp);
  return ok;
}
