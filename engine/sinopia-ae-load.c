/* sinopia-ae-load.c — the autoencoder's configuration (from `ae_params` metadata or inferred
 * from shapes) and its checkpoint loader: every tensor checked by name and exact shape. */
#define G_LOG_DOMAIN "sinopia-engine"

#include <math.h>
#include <string.h>

#include "sinopia-ae-private.h"
#include "sinopia-json.h"
#include "sinopia-weights.h"

G_DEFINE_QUARK (sinopia-ae-error-quark, sinopia_ae_error)

/* GroupNorm(32, C) everywhere in the reference. A narrow autoencoder (the shipped model's) needs
 * fewer: with one channel per group the norm is an instance norm that erases a flat colour. */
#define AE_GROUPS 32
/* FLUX's values; the reference AutoEncoderParams has no other defaults. */
#define AE_SCALE 0.3611f
#define AE_SHIFT 0.1159f

uint32_t
sinopia_ae_factor (const SinopiaAeConfig *cfg)
{
  return cfg->n_levels ? 1u << (cfg->n_levels - 1) : 1;
}

gboolean
sinopia__ae_config_check (const SinopiaAeConfig *cfg, GError **error)
{
  if (cfg->n_levels == 0 || cfg->n_levels > SINOPIA_AE_MAX_LEVELS) {
    g_set_error (error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_CONFIG, "%u resolution levels (1 to %d are supported)",
                 cfg->n_levels, SINOPIA_AE_MAX_LEVELS);
    return FALSE;
  }
  if (cfg->in_channels == 0 || cfg->out_ch == 0 || cfg->z_channels == 0 || cfg->ch == 0 ||
      cfg->num_res_blocks == 0) {
    g_set_error (error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_CONFIG, "the configuration has a zero size");
    return FALSE;
  }
  for (uint32_t i = 0; i < cfg->n_levels; i++) {
    uint64_t c = (uint64_t) cfg->ch * cfg->ch_mult[i];
    if (c == 0 || cfg->norm_groups == 0 || c % cfg->norm_groups != 0 || c > 65536) {
      g_set_error (error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_CONFIG,
                   "level %u has %" G_GUINT64_FORMAT " channels; GroupNorm needs a positive multiple of %u",
                   i, c, cfg->norm_groups);
      return FALSE;
    }
  }
  if (!isfinite (cfg->scale_factor) || cfg->scale_factor == 0.0f || !isfinite (cfg->shift_factor)) {
    g_set_error (error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_CONFIG, "scale_factor %g / shift_factor %g are unusable",
                 cfg->scale_factor, cfg->shift_factor);
    return FALSE;
  }
  return TRUE;
}

/* An optional number member; absent keeps *out. */
static gboolean
optional_float (const SinopiaJsonNode *root, const char *key, float *out, GError **error)
{
  double v;
  if (!sinopia_json_object_get (root, key))
    return TRUE;
  if (!sinopia_json_get_double (root, key, &v, error))
    return FALSE;
  *out = (float) v;
  return TRUE;
}

gboolean
sinopia_ae_config_from_json (const char *json, SinopiaAeConfig *cfg, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (SinopiaJson) doc = sinopia_json_parse (json, strlen (json), &local);
  const SinopiaJsonNode *root, *mult;
  int64_t v[5];

  memset (cfg, 0, sizeof *cfg);
  cfg->scale_factor = AE_SCALE;
  cfg->shift_factor = AE_SHIFT;
  cfg->norm_groups = AE_GROUPS;
  if (!doc)
    goto fail;
  root = sinopia_json_root (doc);
  static const char *const keys[] = { "in_channels", "out_ch", "ch", "num_res_blocks", "z_channels" };
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    if (!sinopia_json_get_int64 (root, keys[i], 0, 1 << 16, &v[i], &local))
      goto fail;
  if (!optional_float (root, "scale_factor", &cfg->scale_factor, &local) ||
      !optional_float (root, "shift_factor", &cfg->shift_factor, &local))
    goto fail;
  if (sinopia_json_object_get (root, "norm_groups")) {
    int64_t g;
    if (!sinopia_json_get_int64 (root, "norm_groups", 1, 1 << 16, &g, &local))
      goto fail;
    cfg->norm_groups = (uint32_t) g;
  }
  mult = sinopia_json_object_get (root, "ch_mult");
  if (!mult || sinopia_json_type (mult) != SINOPIA_JSON_ARRAY) {
    g_set_error (&local, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_CONFIG, "ch_mult is missing or not an array");
    goto fail;
  }
  for (const SinopiaJsonNode *a; (a = sinopia_json_array_get (mult, cfg->n_levels));) {
    int64_t m;
    if (cfg->n_levels == SINOPIA_AE_MAX_LEVELS) {
      g_set_error (&local, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_CONFIG, "more than %d levels in ch_mult",
                   SINOPIA_AE_MAX_LEVELS);
      goto fail;
    }
    if (!sinopia_json_as_int64 (a, 1, 1024, &m, &local))
      goto fail;
    cfg->ch_mult[cfg->n_levels++] = (uint32_t) m;
  }
  cfg->in_channels = v[0];
  cfg->out_ch = v[1];
  cfg->ch = v[2];
  cfg->num_res_blocks = v[3];
  cfg->z_channels = v[4];
  if (sinopia__ae_config_check (cfg, &local))
    return TRUE;

fail:
  g_set_error (error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_CONFIG, "ae_params: %s", local->message);
  return FALSE;
}

static gboolean
cannot_infer (const SinopiaSafetensors *st, const char *prefix, const char *what, GError **error)
{
  g_set_error (error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_TENSORS,
               "%s: cannot infer the autoencoder configuration: tensor \"%s%s\" is missing or not a 4-D conv weight",
               sinopia_safetensors_name (st), prefix, what);
  return FALSE;
}

static gboolean
infer (const SinopiaSafetensors *st, const char *prefix, SinopiaAeConfig *cfg, GError **error)
{
  g_autofree char *p = g_strdup (prefix);
  const SinopiaTensorInfo *t;

  cfg->scale_factor = AE_SCALE;
  cfg->shift_factor = AE_SHIFT;
  cfg->norm_groups = AE_GROUPS;
  if (!(t = sinopia_safetensors_find_suffix (st, "encoder.conv_in.weight", &p)) || t->n_dims != 4)
    return cannot_infer (st, prefix, "encoder.conv_in.weight", error);
  cfg->ch = t->shape[0];
  cfg->in_channels = t->shape[1];
  if (!(t = sinopia_safetensors_find_suffix (st, "decoder.conv_in.weight", &p)) || t->n_dims != 4)
    return cannot_infer (st, prefix, "decoder.conv_in.weight", error);
  cfg->z_channels = t->shape[1];
  if (!(t = sinopia_safetensors_find_suffix (st, "decoder.conv_out.weight", &p)) || t->n_dims != 4)
    return cannot_infer (st, prefix, "decoder.conv_out.weight", error);
  cfg->out_ch = t->shape[0];

  cfg->n_levels = sinopia_safetensors_count_indices (st, prefix, "encoder.down");
  cfg->num_res_blocks = sinopia_safetensors_count_indices (st, prefix, "encoder.down.0.block");
  if (cfg->n_levels == 0 || cfg->n_levels > SINOPIA_AE_MAX_LEVELS) {
    g_set_error (error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_CONFIG,
                 "%s: %u encoder levels (encoder.down.N); 1 to %d are supported", sinopia_safetensors_name (st),
                 cfg->n_levels, SINOPIA_AE_MAX_LEVELS);
    return FALSE;
  }
  for (uint32_t i = 0; i < cfg->n_levels; i++) {
    g_autofree char *name = g_strdup_printf ("encoder.down.%u.block.0.conv1.weight", i);
    if (!(t = sinopia_safetensors_find_suffix (st, name, &p)) || t->n_dims != 4)
      return cannot_infer (st, prefix, name, error);
    if (cfg->ch == 0 || t->shape[0] % cfg->ch != 0) {
      g_set_error (error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_CONFIG,
                   "%s: level %u has %" G_GUINT64_FORMAT " channels, not a multiple of ch = %u",
                   sinopia_safetensors_name (st), i, t->shape[0], cfg->ch);
      return FALSE;
    }
    cfg->ch_mult[i] = MIN (t->shape[0] / cfg->ch, 65536);
  }
  if (!sinopia__ae_config_check (cfg, error)) {
    g_prefix_error (error, "%s: ", sinopia_safetensors_name (st));
    return FALSE;
  }
  return TRUE;
}

gboolean
sinopia_ae_config_from_checkpoint (const SinopiaSafetensors *st, SinopiaAeConfig *cfg, char **prefix,
                                   GError **error)
{
  g_autofree char *found = NULL;

  memset (cfg, 0, sizeof *cfg);
  if (!sinopia_safetensors_find_suffix (st, "encoder.conv_in.weight", &found) &&
      !sinopia_safetensors_find_suffix (st, "decoder.conv_in.weight", &found)) {
    g_set_error (error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_TENSORS,
                 "%s is not an autoencoder: it has no encoder.conv_in.weight or decoder.conv_in.weight",
                 sinopia_safetensors_name (st));
    return FALSE;
  }
  const char *json = sinopia_safetensors_metadata (st, "ae_params");
  if (json && !sinopia_ae_config_from_json (json, cfg, error)) {
    g_prefix_error (error, "%s: ", sinopia_safetensors_name (st));
    return FALSE;
  }
  if (!json && !infer (st, found, cfg, error))
    return FALSE;
  *prefix = g_steal_pointer (&found);
  return TRUE;
}

/* ---- layout and loading ------------------------------------------------------------ */

/* Walks every layer of the model. Without a loader it only sets the layer sizes; with one
 * it checks (pass 1) or uploads (pass 2) each tensor. */
typedef struct {
  SinopiaVkContext *ctx;
  const SinopiaSafetensors *st;
  const char *prefix;
  gboolean upload;
  GHashTable *used;    /* tensor names consumed */
  GPtrArray *missing;  /* names not found */
  GError *error;       /* first hard error */
  uint64_t bytes;
} Loader;

static void
shape_string (GString *s, guint n_dims, const uint64_t *dims)
{
  g_string_append_c (s, '[');
  for (guint d = 0; d < n_dims; d++)
    g_string_append_printf (s, "%s%" G_GUINT64_FORMAT, d ? ", " : "", dims[d]);
  g_string_append_c (s, ']');
}

/* The tensor "<prefix><stem>.<leaf>" of exactly `dims`; uploaded in pass 2. */
static SinopiaBuffer *
tensor (Loader *l, const char *stem, const char *leaf, guint n_dims, const uint64_t *dims, gboolean vector)
{
  if (!l || l->error)
    return NULL;
  g_autofree char *name = g_strconcat (l->prefix, stem, ".", leaf, NULL);
  const SinopiaTensorInfo *t = sinopia_safetensors_lookup (l->st, name);
  if (!t) {
    g_ptr_array_add (l->missing, g_steal_pointer (&name));
    return NULL;
  }
  g_hash_table_add (l->used, (gpointer) t->name);
  gboolean same = t->n_dims == n_dims;
  for (guint d = 0; same && d < n_dims; d++)
    same = t->shape[d] == dims[d];
  if (!same) {
    GString *have = g_string_new (NULL), *want = g_string_new (NULL);
    shape_string (have, t->n_dims, t->shape);
    shape_string (want, n_dims, dims);
    g_set_error (&l->error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_TENSORS,
                 "%s: tensor \"%s\" has shape %s, the model needs %s", sinopia_safetensors_name (l->st), name,
                 have->str, want->str);
    g_string_free (have, TRUE);
    g_string_free (want, TRUE);
    return NULL;
  }
  if (!l->upload)
    return NULL;
  uint64_t cols = 1;
  for (guint d = 1; d < n_dims; d++)
    cols *= dims[d];
  SinopiaWeightSource src = { .parts = { { t } }, .n_parts = 1 };
  SinopiaBuffer *buf = sinopia_weights_upload (l->ctx, sinopia_safetensors_name (l->st), name, &src, dims[0], cols,
                                               vector, &l->error);
  if (buf)
    l->bytes += sinopia_buffer_size_bytes (buf);
  return buf;
}

static void
conv_init (Loader *l, SinopiaAeConv *c, const char *stem, uint32_t cout, uint32_t cin, uint32_t k)
{
  c->cout = cout;
  c->cin = cin;
  c->k = k;
  c->w = tensor (l, stem, "weight", 4, (uint64_t[]) { cout, cin, k, k }, FALSE);
  c->b = tensor (l, stem, "bias", 1, (uint64_t[]) { cout }, TRUE);
}

static void
norm_init (Loader *l, SinopiaAeNorm *n, const char *stem, uint32_t c)
{
  n->c = c;
  n->w = tensor (l, stem, "weight", 1, (uint64_t[]) { c }, TRUE);
  n->b = tensor (l, stem, "bias", 1, (uint64_t[]) { c }, TRUE);
}

static void
resnet_init (Loader *l, SinopiaAeResnet *r, const char *stem, uint32_t cin, uint32_t cout)
{
  g_autofree char *n1 = g_strconcat (stem, ".norm1", NULL), *c1 = g_strconcat (stem, ".conv1", NULL);
  g_autofree char *n2 = g_strconcat (stem, ".norm2", NULL), *c2 = g_strconcat (stem, ".conv2", NULL);
  g_autofree char *nin = g_strconcat (stem, ".nin_shortcut", NULL);
  norm_init (l, &r->norm1, n1, cin);
  conv_init (l, &r->conv1, c1, cout, cin, 3);
  norm_init (l, &r->norm2, n2, cout);
  conv_init (l, &r->conv2, c2, cout, cout, 3);
  r->has_nin = cin != cout;
  if (r->has_nin)
    conv_init (l, &r->nin, nin, cout, cin, 1);
}

static void
mid_init (Loader *l, SinopiaAeCoder *c, const char *coder, uint32_t ch)
{
  g_autofree char *b1 = g_strconcat (coder, ".mid.block_1", NULL), *b2 = g_strconcat (coder, ".mid.block_2", NULL);
  g_autofree char *n = g_strconcat (coder, ".mid.attn_1.norm", NULL), *q = g_strconcat (coder, ".mid.attn_1.q", NULL);
  g_autofree char *k = g_strconcat (coder, ".mid.attn_1.k", NULL), *v = g_strconcat (coder, ".mid.attn_1.v", NULL);
  g_autofree char *p = g_strconcat (coder, ".mid.attn_1.proj_out", NULL);
  resnet_init (l, &c->mid1, b1, ch, ch);
  norm_init (l, &c->attn.norm, n, ch);
  conv_init (l, &c->attn.q, q, ch, ch, 1);
  conv_init (l, &c->attn.k, k, ch, ch, 1);
  conv_init (l, &c->attn.v, v, ch, ch, 1);
  conv_init (l, &c->attn.proj, p, ch, ch, 1);
  resnet_init (l, &c->mid2, b2, ch, ch);
}

static void
level_blocks (SinopiaAeLevel *lv, guint n)
{
  if (!lv->blocks)
    lv->blocks = g_new0 (SinopiaAeResnet, n);
  lv->n_blocks = n;
}

static void
walk (Loader *l, SinopiaAeModel *m)
{
  const SinopiaAeConfig *c = &m->cfg;
  uint32_t n = c->n_levels, block_in = c->ch;

  conv_init (l, &m->enc.conv_in, "encoder.conv_in", c->ch, c->in_channels, 3);
  for (uint32_t i = 0; i < n; i++) {
    SinopiaAeLevel *lv = &m->enc.levels[i];
    uint32_t block_out = c->ch * c->ch_mult[i];
    level_blocks (lv, c->num_res_blocks);
    for (guint j = 0; j < lv->n_blocks; j++, block_in = block_out) {
      g_autofree char *stem = g_strdup_printf ("encoder.down.%u.block.%u", i, j);
      resnet_init (l, &lv->blocks[j], stem, block_in, block_out);
    }
    lv->has_sample = i != n - 1;
    if (lv->has_sample) {
      g_autofree char *stem = g_strdup_printf ("encoder.down.%u.downsample.conv", i);
      conv_init (l, &lv->sample, stem, block_in, block_in, 3);
    }
  }
  mid_init (l, &m->enc, "encoder", block_in);
  norm_init (l, &m->enc.norm_out, "encoder.norm_out", block_in);
  conv_init (l, &m->enc.conv_out, "encoder.conv_out", 2 * c->z_channels, block_in, 3);

  block_in = c->ch * c->ch_mult[n - 1];
  conv_init (l, &m->dec.conv_in, "decoder.conv_in", block_in, c->z_channels, 3);
  mid_init (l, &m->dec, "decoder", block_in);
  for (uint32_t i = n; i-- > 0;) {
    SinopiaAeLevel *lv = &m->dec.levels[i];
    uint32_t block_out = c->ch * c->ch_mult[i];
    level_blocks (lv, c->num_res_blocks + 1);
    for (guint j = 0; j < lv->n_blocks; j++, block_in = block_out) {
      g_autofree char *stem = g_strdup_printf ("decoder.up.%u.block.%u", i, j);
      resnet_init (l, &lv->blocks[j], stem, block_in, block_out);
    }
    lv->has_sample = i != 0;
    if (lv->has_sample) {
      g_autofree char *stem = g_strdup_printf ("decoder.up.%u.upsample.conv", i);
      conv_init (l, &lv->sample, stem, block_in, block_in, 3);
    }
  }
  norm_init (l, &m->dec.norm_out, "decoder.norm_out", block_in);
  conv_init (l, &m->dec.conv_out, "decoder.conv_out", c->out_ch, block_in, 3);
}

void
sinopia__ae_layout (SinopiaAeModel *m)
{
  walk (NULL, m);
}

static void
conv_clear (SinopiaAeConv *c)
{
  g_clear_pointer (&c->w, sinopia_buffer_free);
  g_clear_pointer (&c->b, sinopia_buffer_free);
}

static void
norm_clear (SinopiaAeNorm *n)
{
  g_clear_pointer (&n->w, sinopia_buffer_free);
  g_clear_pointer (&n->b, sinopia_buffer_free);
}

static void
resnet_clear (SinopiaAeResnet *r)
{
  norm_clear (&r->norm1);
  norm_clear (&r->norm2);
  conv_clear (&r->conv1);
  conv_clear (&r->conv2);
  conv_clear (&r->nin);
}

static void
coder_clear (SinopiaAeCoder *c)
{
  conv_clear (&c->conv_in);
  for (guint i = 0; i < SINOPIA_AE_MAX_LEVELS; i++) {
    SinopiaAeLevel *lv = &c->levels[i];
    for (guint j = 0; lv->blocks && j < lv->n_blocks; j++)
      resnet_clear (&lv->blocks[j]);
    g_clear_pointer (&lv->blocks, g_free);
    conv_clear (&lv->sample);
  }
  resnet_clear (&c->mid1);
  resnet_clear (&c->mid2);
  norm_clear (&c->attn.norm);
  conv_clear (&c->attn.q);
  conv_clear (&c->attn.k);
  conv_clear (&c->attn.v);
  conv_clear (&c->attn.proj);
  norm_clear (&c->norm_out);
  conv_clear (&c->conv_out);
}

void
sinopia__ae_clear (SinopiaAeModel *m)
{
  coder_clear (&m->enc);
  coder_clear (&m->dec);
}

void
sinopia_ae_free (SinopiaAeModel *m)
{
  if (!m)
    return;
  sinopia__ae_clear (m);
  g_free (m);
}

static gboolean
check_fits (SinopiaVkContext *ctx, const SinopiaSafetensors *st, const SinopiaAeConfig *cfg, const char *prefix,
            GError **error)
{
  const SinopiaVkDeviceInfo *info = sinopia_vk_context_device_info (ctx);
  uint64_t heap = 0, weights = 0;
  gsize plen = strlen (prefix);
  for (guint h = 0; h < info->n_heaps; h++)
    if (info->heap_device_local[h])
      heap = MAX (heap, info->heap_size[h]);
  for (gsize i = 0; i < sinopia_safetensors_n_tensors (st); i++) {
    const SinopiaTensorInfo *t = sinopia_safetensors_tensor (st, i);
    if (strncmp (t->name, prefix, plen) == 0)
      weights += sinopia_weights_device_bytes (t->dtype, t->n_elements, t->n_dims <= 1);
  }
  /* the smallest useful job: a 512×512 image, the largest exact decode */
  uint32_t side = 512 / sinopia_ae_factor (cfg);
  uint64_t need = weights + sinopia_ae_decode_bytes (cfg, side, side) + sinopia_vk_context_allocated_bytes (ctx);
  if (need > heap) {
    g_set_error (error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_TOO_LARGE,
                 "%s: the autoencoder needs %.2f GB of device memory, the device has %.2f GB. "
                 "Choose another device (SINOPIA_DEVICE).", sinopia_safetensors_name (st), need / 1e9, heap / 1e9);
    return FALSE;
  }
  return TRUE;
}

/* Pass 1's verdict: missing tensors, then tensors under the prefix the model did not take. */
static void
report_unused (Loader *l, const SinopiaAeConfig *cfg)
{
  if (!l->error && l->missing->len > 0) {
    GString *names = g_string_new (NULL);
    for (guint i = 0; i < MIN (l->missing->len, 8); i++)
      g_string_append_printf (names, "%s\"%s\"", i ? ", " : "", (char *) g_ptr_array_index (l->missing, i));
    if (l->missing->len > 8)
      g_string_append_printf (names, " and %u more", l->missing->len - 8);
    g_set_error (&l->error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_TENSORS, "%s: missing tensor%s %s",
                 sinopia_safetensors_name (l->st), l->missing->len > 1 ? "s" : "", names->str);
    g_string_free (names, TRUE);
  }
  if (l->error)
    return;
  gsize plen = strlen (l->prefix);
  for (gsize i = 0; i < sinopia_safetensors_n_tensors (l->st); i++) {
    const SinopiaTensorInfo *t = sinopia_safetensors_tensor (l->st, i);
    if (strncmp (t->name, l->prefix, plen) == 0 && !g_hash_table_contains (l->used, t->name)) {
      g_set_error (&l->error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_TENSORS,
                   "%s: unexpected tensor \"%s\" (the configuration has %u levels of %u blocks)",
                   sinopia_safetensors_name (l->st), t->name, cfg->n_levels, cfg->num_res_blocks);
      return;
    }
  }
}

SinopiaAeModel *
sinopia_ae_load (SinopiaVkContext *ctx, const char *path, GError **error)
{
  g_autoptr (SinopiaSafetensors) st = sinopia_safetensors_open (path, error);
  g_autofree char *prefix = NULL;
  SinopiaAeModel *m;

  if (!st)
    return NULL;
  m = g_new0 (SinopiaAeModel, 1);
  m->ctx = ctx;
  if (!sinopia_ae_config_from_checkpoint (st, &m->cfg, &prefix, error) ||
      !check_fits (ctx, st, &m->cfg, prefix, error))
    goto fail;

  Loader l = {
    .ctx = ctx, .st = st, .prefix = prefix,
    .used = g_hash_table_new (g_str_hash, g_str_equal),
    .missing = g_ptr_array_new_with_free_func (g_free),
  };
  walk (&l, m);
  report_unused (&l, &m->cfg);
  if (!l.error) {
    l.upload = TRUE;
    walk (&l, m);
  }
  m->weight_bytes = l.bytes;
  g_hash_table_unref (l.used);
  g_ptr_array_unref (l.missing);
  if (l.error) {
    g_propagate_error (error, l.error);
    goto fail;
  }
  return m;

fail:
  sinopia_ae_free (m);
  return NULL;
}

const SinopiaAeConfig *
sinopia_ae_config (const SinopiaAeModel *model)
{
  return &model->cfg;
}

uint64_t
sinopia_ae_weight_bytes (const SinopiaAeModel *model)
{
  return model->weight_bytes;
}

void
sinopia_ae_set_inspect (SinopiaAeModel *model, SinopiaAeInspect fn, gpointer user)
{
  model->inspect = fn;
  model->inspect_user = fn ? user : NULL;
}
