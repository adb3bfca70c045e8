/* sinopia-flux-load.c — loads a FLUX transformer checkpoint (BFL or diffusers naming) into
 * device memory, checking every tensor the model needs and refusing unknown ones. */
#define G_LOG_DOMAIN "sinopia-engine"

#include <string.h>

#include "sinopia-flux-private.h"
#include "sinopia-weights.h"

typedef struct {
  SinopiaVkContext *ctx;
  const SinopiaSafetensors *st;
  SinopiaFluxNaming naming;
  const char *prefix;
  GHashTable *used;    /* tensor names consumed */
  GPtrArray *missing;  /* names not found */
  GError *error;       /* first hard error */
  uint64_t bytes;
} Loader;

static const SinopiaTensorInfo *
take (Loader *l, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static const SinopiaTensorInfo *
take (Loader *l, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *suffix = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_autofree char *name = g_strconcat (l->prefix, suffix, NULL);
  const SinopiaTensorInfo *t = sinopia_safetensors_lookup (l->st, name);
  if (t)
    g_hash_table_add (l->used, (gpointer) t->name);
  else if (!g_ptr_array_find_with_equal_func (l->missing, name, g_str_equal, NULL))
    g_ptr_array_add (l->missing, g_steal_pointer (&name));
  return t;
}

static SinopiaBuffer *
upload (Loader *l, const char *what, SinopiaWeightSource *src, uint64_t rows, uint64_t cols, gboolean vector)
{
  if (l->error)
    return NULL;
  for (guint i = 0; i < src->n_parts; i++)
    if (!src->parts[i].tensor)
      return NULL;  /* already listed as missing */
  SinopiaBuffer *buf = sinopia_weights_upload (l->ctx, sinopia_safetensors_name (l->st), what, src, rows, cols,
                                               vector, &l->error);
  if (buf)
    l->bytes += sinopia_buffer_size_bytes (buf);
  return buf;
}

static SinopiaBuffer *
upload_one (Loader *l, const SinopiaTensorInfo *t, uint64_t rows, uint64_t cols, gboolean vector)
{
  SinopiaWeightSource src = { .parts = { { t } }, .n_parts = 1 };
  return t ? upload (l, t->name, &src, rows, cols, vector) : NULL;
}

/* A Linear whose weight and bias are single tensors "<stem>.weight" / "<stem>.bias". */
static void
linear (Loader *l, SinopiaLinear *lin, const char *stem, uint32_t out, uint32_t in, gboolean bias)
{
  lin->out = out;
  lin->in = in;
  lin->w = upload_one (l, take (l, "%s.weight", stem), out, in, FALSE);
  if (bias)
    lin->b = upload_one (l, take (l, "%s.bias", stem), out, 1, TRUE);
}

/* A Linear assembled from row ranges or several tensors (q/k/v split, swapped halves). */
static void
linear_parts (Loader *l, SinopiaLinear *lin, const char *what, uint32_t out, uint32_t in, gboolean bias,
              const char *const *stems, const uint64_t *first_rows, const uint64_t *n_rows, guint n, gboolean swap)
{
  SinopiaWeightSource ws = { .n_parts = n, .swap_halves = swap }, bs = ws;
  lin->out = out;
  lin->in = in;
  for (guint i = 0; i < n; i++) {
    ws.parts[i] = (SinopiaWeightPart) { take (l, "%s.weight", stems[i]), first_rows ? first_rows[i] : 0,
                                        n_rows ? n_rows[i] : 0 };
    if (bias)
      bs.parts[i] = (SinopiaWeightPart) { take (l, "%s.bias", stems[i]), first_rows ? first_rows[i] : 0,
                                          n_rows ? n_rows[i] : 0 };
  }
  g_autofree char *wname = g_strdup_printf ("%s weight", what);
  g_autofree char *bname = g_strdup_printf ("%s bias", what);
  lin->w = upload (l, wname, &ws, out, in, FALSE);
  if (bias)
    lin->b = upload (l, bname, &bs, out, 1, TRUE);
}

static void
load_stream_bfl (Loader *l, SinopiaFluxStream *s, guint i, const char *sn, const SinopiaFluxConfig *c)
{
  uint32_t D = c->hidden_size, M = c->mlp_hidden, hd = sinopia_flux_head_dim (c);
  g_autofree char *mod = g_strdup_printf ("double_blocks.%u.%s_mod.lin", i, sn);
  g_autofree char *qkv = g_strdup_printf ("double_blocks.%u.%s_attn.qkv", i, sn);
  g_autofree char *proj = g_strdup_printf ("double_blocks.%u.%s_attn.proj", i, sn);
  g_autofree char *mlp0 = g_strdup_printf ("double_blocks.%u.%s_mlp.0", i, sn);
  g_autofree char *mlp2 = g_strdup_printf ("double_blocks.%u.%s_mlp.2", i, sn);
  linear (l, &s->mod, mod, 6 * D, D, TRUE);
  linear (l, &s->qkv, qkv, 3 * D, D, c->qkv_bias);
  linear (l, &s->proj, proj, D, D, TRUE);
  linear (l, &s->mlp0, mlp0, M, D, TRUE);
  linear (l, &s->mlp2, mlp2, D, M, TRUE);
  s->q_scale = upload_one (l, take (l, "double_blocks.%u.%s_attn.norm.query_norm.scale", i, sn), hd, 1, TRUE);
  s->k_scale = upload_one (l, take (l, "double_blocks.%u.%s_attn.norm.key_norm.scale", i, sn), hd, 1, TRUE);
}

/* diffusers: the image stream is attn.to_*, norm1, ff; the text stream add_*_proj,
 * norm1_context, ff_context, to_add_out. */
static void
load_stream_diffusers (Loader *l, SinopiaFluxStream *s, guint i, gboolean img, const SinopiaFluxConfig *c)
{
  uint32_t D = c->hidden_size, M = c->mlp_hidden, hd = sinopia_flux_head_dim (c);
  g_autofree char *b = g_strdup_printf ("transformer_blocks.%u", i);
  g_autofree char *mod = g_strdup_printf ("%s.%s.linear", b, img ? "norm1" : "norm1_context");
  g_autofree char *q = g_strdup_printf ("%s.attn.%s", b, img ? "to_q" : "add_q_proj");
  g_autofree char *k = g_strdup_printf ("%s.attn.%s", b, img ? "to_k" : "add_k_proj");
  g_autofree char *v = g_strdup_printf ("%s.attn.%s", b, img ? "to_v" : "add_v_proj");
  g_autofree char *proj = g_strdup_printf ("%s.attn.%s", b, img ? "to_out.0" : "to_add_out");
  g_autofree char *mlp0 = g_strdup_printf ("%s.%s.net.0.proj", b, img ? "ff" : "ff_context");
  g_autofree char *mlp2 = g_strdup_printf ("%s.%s.net.2", b, img ? "ff" : "ff_context");
  const char *qkv[3] = { q, k, v };
  g_autofree char *what = g_strdup_printf ("%s qkv", b);
  linear (l, &s->mod, mod, 6 * D, D, TRUE);
  linear_parts (l, &s->qkv, what, 3 * D, D, c->qkv_bias, qkv, NULL, NULL, 3, FALSE);
  linear (l, &s->proj, proj, D, D, TRUE);
  linear (l, &s->mlp0, mlp0, M, D, TRUE);
  linear (l, &s->mlp2, mlp2, D, M, TRUE);
  s->q_scale = upload_one (l, take (l, "%s.attn.%s.weight", b, img ? "norm_q" : "norm_added_q"), hd, 1, TRUE);
  s->k_scale = upload_one (l, take (l, "%s.attn.%s.weight", b, img ? "norm_k" : "norm_added_k"), hd, 1, TRUE);
}

static void
load_single (Loader *l, SinopiaFluxSingleBlock *s, guint i, const SinopiaFluxConfig *c)
{
  uint32_t D = c->hidden_size, M = c->mlp_hidden, hd = sinopia_flux_head_dim (c);
  if (l->naming == SINOPIA_FLUX_NAMING_BFL) {
    g_autofree char *b = g_strdup_printf ("single_blocks.%u", i);
    g_autofree char *mod = g_strdup_printf ("%s.modulation.lin", b);
    g_autofree char *l1 = g_strdup_printf ("%s.linear1", b);
    g_autofree char *l2 = g_strdup_printf ("%s.linear2", b);
    const char *stems[1] = { l1 };
    const uint64_t qkv_first = 0, qkv_rows = 3 * (uint64_t) D, mlp_first = 3 * (uint64_t) D, mlp_rows = M;
    g_autofree char *qkv_what = g_strdup_printf ("%s qkv", l1);
    g_autofree char *mlp_what = g_strdup_printf ("%s mlp", l1);
    linear (l, &s->mod, mod, 3 * D, D, TRUE);
    /* linear1 = [qkv | mlp]: kept as two matrices so GELU fuses into the MLP half. The
     * tensor is taken twice; its rows must add up, which the shape check of each half and
     * the total below ensure. */
    linear_parts (l, &s->qkv, qkv_what, 3 * D, D, TRUE, stems, &qkv_first, &qkv_rows, 1, FALSE);
    linear_parts (l, &s->mlp, mlp_what, M, D, TRUE, stems, &mlp_first, &mlp_rows, 1, FALSE);
    const SinopiaTensorInfo *t = take (l, "%s.weight", l1);
    if (t && !l->error && t->shape[0] != 3 * (uint64_t) D + M)
      g_set_error (&l->error, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_TENSORS,
                   "%s: tensor \"%s\" has %" G_GUINT64_FORMAT " rows, the model needs %" G_GUINT64_FORMAT,
                   sinopia_safetensors_name (l->st), t->name, t->shape[0], 3 * (uint64_t) D + M);
    linear (l, &s->linear2, l2, D, D + M, TRUE);
    s->q_scale = upload_one (l, take (l, "%s.norm.query_norm.scale", b), hd, 1, TRUE);
    s->k_scale = upload_one (l, take (l, "%s.norm.key_norm.scale", b), hd, 1, TRUE);
  } else {
    g_autofree char *b = g_strdup_printf ("single_transformer_blocks.%u", i);
    g_autofree char *mod = g_strdup_printf ("%s.norm.linear", b);
    g_autofree char *q = g_strdup_printf ("%s.attn.to_q", b);
    g_autofree char *k = g_strdup_printf ("%s.attn.to_k", b);
    g_autofree char *v = g_strdup_printf ("%s.attn.to_v", b);
    g_autofree char *mlp = g_strdup_printf ("%s.proj_mlp", b);
    g_autofree char *out = g_strdup_printf ("%s.proj_out", b);
    g_autofree char *what = g_strdup_printf ("%s qkv", b);
    const char *qkv[3] = { q, k, v };
    linear (l, &s->mod, mod, 3 * D, D, TRUE);
    linear_parts (l, &s->qkv, what, 3 * D, D, TRUE, qkv, NULL, NULL, 3, FALSE);
    linear (l, &s->mlp, mlp, M, D, TRUE);
    linear (l, &s->linear2, out, D, D + M, TRUE);
    s->q_scale = upload_one (l, take (l, "%s.attn.norm_q.weight", b), hd, 1, TRUE);
    s->k_scale = upload_one (l, take (l, "%s.attn.norm_k.weight", b), hd, 1, TRUE);
  }
}

static void
load_all (Loader *l, SinopiaFluxModel *m)
{
  const SinopiaFluxConfig *c = &m->cfg;
  uint32_t D = c->hidden_size;
  gboolean bfl = l->naming == SINOPIA_FLUX_NAMING_BFL;

  linear (l, &m->img_in, bfl ? "img_in" : "x_embedder", D, c->in_channels, TRUE);
  linear (l, &m->txt_in, bfl ? "txt_in" : "context_embedder", D, c->context_in_dim, TRUE);
  linear (l, &m->time_in[0], bfl ? "time_in.in_layer" : "time_text_embed.timestep_embedder.linear_1", D, 256, TRUE);
  linear (l, &m->time_in[1], bfl ? "time_in.out_layer" : "time_text_embed.timestep_embedder.linear_2", D, D, TRUE);
  linear (l, &m->vector_in[0], bfl ? "vector_in.in_layer" : "time_text_embed.text_embedder.linear_1", D,
          c->vec_in_dim, TRUE);
  linear (l, &m->vector_in[1], bfl ? "vector_in.out_layer" : "time_text_embed.text_embedder.linear_2", D, D, TRUE);
  if (c->guidance_embed) {
    linear (l, &m->guidance_in[0], bfl ? "guidance_in.in_layer" : "time_text_embed.guidance_embedder.linear_1", D,
            256, TRUE);
    linear (l, &m->guidance_in[1], bfl ? "guidance_in.out_layer" : "time_text_embed.guidance_embedder.linear_2",
            D, D, TRUE);
  }
  for (guint i = 0; i < c->depth && !l->error; i++) {
    if (bfl) {
      load_stream_bfl (l, &m->doubles[i].img, i, "img", c);
      load_stream_bfl (l, &m->doubles[i].txt, i, "txt", c);
    } else {
      load_stream_diffusers (l, &m->doubles[i].img, i, TRUE, c);
      load_stream_diffusers (l, &m->doubles[i].txt, i, FALSE, c);
    }
  }
  for (guint i = 0; i < c->depth_single && !l->error; i++)
    load_single (l, &m->singles[i], i, c);
  linear (l, &m->final_linear, bfl ? "final_layer.linear" : "proj_out", c->out_channels, D, TRUE);
  if (bfl) {
    linear (l, &m->final_mod, "final_layer.adaLN_modulation.1", 2 * D, D, TRUE);
  } else {
    /* diffusers stores (scale, shift); the reference chunks (shift, scale) */
    const char *stems[1] = { "norm_out.linear" };
    linear_parts (l, &m->final_mod, "norm_out.linear", 2 * D, D, TRUE, stems, NULL, NULL, 1, TRUE);
  }
}

static void
linear_free (SinopiaLinear *lin)
{
  g_clear_pointer (&lin->w, sinopia_buffer_free);
  g_clear_pointer (&lin->b, sinopia_buffer_free);
}

static void
stream_free (SinopiaFluxStream *s)
{
  linear_free (&s->mod);
  linear_free (&s->qkv);
  linear_free (&s->proj);
  linear_free (&s->mlp0);
  linear_free (&s->mlp2);
  g_clear_pointer (&s->q_scale, sinopia_buffer_free);
  g_clear_pointer (&s->k_scale, sinopia_buffer_free);
}

void
sinopia_flux_model_free (SinopiaFluxModel *m)
{
  if (!m)
    return;
  linear_free (&m->img_in);
  linear_free (&m->txt_in);
  for (guint i = 0; i < 2; i++) {
    linear_free (&m->time_in[i]);
    linear_free (&m->guidance_in[i]);
    linear_free (&m->vector_in[i]);
  }
  for (guint i = 0; m->doubles && i < m->cfg.depth; i++) {
    stream_free (&m->doubles[i].img);
    stream_free (&m->doubles[i].txt);
  }
  for (guint i = 0; m->singles && i < m->cfg.depth_single; i++) {
    SinopiaFluxSingleBlock *s = &m->singles[i];
    linear_free (&s->mod);
    linear_free (&s->qkv);
    linear_free (&s->mlp);
    linear_free (&s->linear2);
    g_clear_pointer (&s->q_scale, sinopia_buffer_free);
    g_clear_pointer (&s->k_scale, sinopia_buffer_free);
  }
  linear_free (&m->final_mod);
  linear_free (&m->final_linear);
  g_free (m->doubles);
  g_free (m->singles);
  g_free (m->double_mod_col);
  g_free (m->single_mod_col);
  g_free (m);
}

/* Device bytes the weights will take, from the checkpoint's own tensors. */
static uint64_t
weight_bytes_estimate (const SinopiaSafetensors *st, const char *prefix)
{
  uint64_t total = 0;
  gsize plen = strlen (prefix);
  for (gsize i = 0; i < sinopia_safetensors_n_tensors (st); i++) {
    const SinopiaTensorInfo *t = sinopia_safetensors_tensor (st, i);
    if (strncmp (t->name, prefix, plen) == 0)
      total += sinopia_weights_device_bytes (t->dtype, t->n_elements, t->n_dims <= 1);
  }
  return total;
}

static gboolean
check_fits (SinopiaVkContext *ctx, const SinopiaSafetensors *st, const SinopiaFluxConfig *cfg, const char *prefix,
            GError **error)
{
  const SinopiaVkDeviceInfo *info = sinopia_vk_context_device_info (ctx);
  uint64_t heap = 0;
  for (guint h = 0; h < info->n_heaps; h++)
    if (info->heap_device_local[h])
      heap = MAX (heap, info->heap_size[h]);
  /* The smallest useful job: 256×256 pixels (256 image tokens), 256 text tokens. */
  uint64_t need = weight_bytes_estimate (st, prefix) + sinopia_flux_activation_bytes (cfg, 256, 256, 1) +
                  sinopia_vk_context_allocated_bytes (ctx);
  if (need > heap) {
    g_set_error (error, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_TOO_LARGE,
                 "%s: the model needs %.2f GB of device memory, the device has %.2f GB. "
                 "Choose a smaller model or another device (SINOPIA_DEVICE).",
                 sinopia_safetensors_name (st), need / 1e9, heap / 1e9);
    return FALSE;
  }
  return TRUE;
}

static void
plan_modulation_columns (SinopiaFluxModel *m)
{
  uint32_t D = m->cfg.hidden_size, col = 0;
  m->double_mod_col = g_new0 (uint32_t, MAX (m->cfg.depth, 1));
  m->single_mod_col = g_new0 (uint32_t, MAX (m->cfg.depth_single, 1));
  for (guint i = 0; i < m->cfg.depth; i++, col += 12 * D)
    m->double_mod_col[i] = col;
  for (guint i = 0; i < m->cfg.depth_single; i++, col += 3 * D)
    m->single_mod_col[i] = col;
  m->final_mod_col = col;
  m->mod_cols = col + 2 * D;
}

SinopiaFluxModel *
sinopia_flux_model_load (SinopiaVkContext *ctx, const char *path, GError **error)
{
  g_autoptr (SinopiaSafetensors) st = sinopia_safetensors_open (path, error);
  g_autofree char *prefix = NULL;
  SinopiaFluxNaming naming;
  SinopiaFluxModel *m;

  if (!st)
    return NULL;
  m = g_new0 (SinopiaFluxModel, 1);
  m->ctx = ctx;
  if (!sinopia_flux_config_from_checkpoint (st, &m->cfg, &naming, &prefix, error) ||
      !check_fits (ctx, st, &m->cfg, prefix, error))
    goto fail;
  m->doubles = g_new0 (SinopiaFluxDoubleBlock, MAX (m->cfg.depth, 1));
  m->singles = g_new0 (SinopiaFluxSingleBlock, MAX (m->cfg.depth_single, 1));
  plan_modulation_columns (m);

  Loader l = {
    .ctx = ctx, .st = st, .naming = naming, .prefix = prefix,
    .used = g_hash_table_new (g_str_hash, g_str_equal),
    .missing = g_ptr_array_new_with_free_func (g_free),
  };
  load_all (&l, m);
  m->weight_bytes = l.bytes;
  if (!l.error && l.missing->len > 0) {
    GString *names = g_string_new (NULL);
    for (guint i = 0; i < MIN (l.missing->len, 8); i++)
      g_string_append_printf (names, "%s\"%s\"", i ? ", " : "", (char *) g_ptr_array_index (l.missing, i));
    if (l.missing->len > 8)
      g_string_append_printf (names, " and %u more", l.missing->len - 8);
    g_set_error (&l.error, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_TENSORS,
                 "%s: missing tensor%s %s", sinopia_safetensors_name (st), l.missing->len > 1 ? "s" : "", names->str);
    g_string_free (names, TRUE);
  }
  if (!l.error) {
    /* Anything under the transformer's prefix that the model did not take is an error: a
     * silently ignored tensor means a mismatched configuration. */
    gsize plen = strlen (prefix);
    for (gsize i = 0; i < sinopia_safetensors_n_tensors (st); i++) {
      const SinopiaTensorInfo *t = sinopia_safetensors_tensor (st, i);
      if (strncmp (t->name, prefix, plen) == 0 && !g_hash_table_contains (l.used, t->name)) {
        g_set_error (&l.error, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_TENSORS,
                     "%s: unexpected tensor \"%s\" (the configuration has %u double and %u single blocks%s)",
                     sinopia_safetensors_name (st), t->name, m->cfg.depth, m->cfg.depth_single,
                     m->cfg.guidance_embed ? ", guidance embedding" : ", no guidance embedding");
        break;
      }
    }
  }
  g_hash_table_unref (l.used);
  g_ptr_array_unref (l.missing);
  if (l.error) {
    g_propagate_error (error, l.error);
    goto fail;
  }
  return m;

fail:
  sinopia_flux_model_free (m);
  return NULL;
}

const SinopiaFluxConfig *
sinopia_flux_model_config (const SinopiaFluxModel *model)
{
  return &model->cfg;
}

uint64_t
sinopia_flux_model_weight_bytes (const SinopiaFluxModel *model)
{
  return model->weight_bytes;
}

SinopiaVkContext *
sinopia_flux_model_context (const SinopiaFluxModel *model)
{
  return model->ctx;
}
