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

/* Both streams' Linears of one role stacked in one weight and one bias buffer, text first:
 * `txt` and `img` name each stream's n source tensors, whose rows must add up to `out` per
 * stream (a total alone could hide rows moved from one stream to the other). */
static void
stream_pair (Loader *l, SinopiaLinear *lin, const char *what, uint32_t out, uint32_t in, gboolean bias,
             const char *const *txt, const char *const *img, guint n)
{
  const char *stems[2 * 3];  /* at most three tensors a stream: diffusers' q, k, v */
  g_return_if_fail (n <= 3);
  for (guint s = 0; s < 2; s++) {
    uint64_t rows = 0;
    gboolean complete = TRUE;
    const char *first = NULL;
    for (guint i = 0; i < n; i++) {
      stems[s * n + i] = (s ? img : txt)[i];
      const SinopiaTensorInfo *t = take (l, "%s.weight", stems[s * n + i]);
      complete = complete && t;
      rows += t && t->n_dims > 0 ? t->shape[0] : 0;
      first = first ? first : t ? t->name : NULL;
    }
    if (complete && rows != out && !l->error)
      g_set_error (&l->error, SINOPIA_SAFETENSORS_ERROR, SINOPIA_SAFETENSORS_ERROR_SHAPE,
                   "%s: tensor \"%s\"%s has %" G_GUINT64_FORMAT " rows, the model needs %u for %s (%s stream)",
                   sinopia_safetensors_name (l->st), first, n > 1 ? " with its siblings" : "", rows, out, what,
                   s ? "image" : "text");
  }
  g_autofree char *both = g_strdup_printf ("%s (text and image streams)", what);
  linear_parts (l, lin, both, 2 * out, in, bias, stems, NULL, NULL, 2 * n, FALSE);
  lin->out = out;
}

/* The two streams' norm scales, [2 · head_dim]: text, then image. */
static SinopiaBuffer *
scale_pair (Loader *l, const char *what, const SinopiaTensorInfo *txt, const SinopiaTensorInfo *img, uint32_t hd)
{
  SinopiaWeightSource src = { .parts = { { txt }, { img } }, .n_parts = 2 };
  for (guint s = 0; s < 2 && txt && img && !l->error; s++) {
    const SinopiaTensorInfo *t = s ? img : txt;
    if (t->n_elements != hd)
      g_set_error (&l->error, SINOPIA_SAFETENSORS_ERROR, SINOPIA_SAFETENSORS_ERROR_SHAPE,
                   "%s: tensor \"%s\" has %" G_GUINT64_FORMAT " elements, the model needs %u for %s",
                   sinopia_safetensors_name (l->st), t->name, t->n_elements, hd, what);
  }
  return upload (l, what, &src, 2 * (uint64_t) hd, 1, TRUE);
}

static void
load_double_bfl (Loader *l, SinopiaFluxDoubleBlock *b, guint i, const SinopiaFluxConfig *c)
{
  uint32_t D = c->hidden_size, M = c->mlp_hidden, hd = sinopia_flux_head_dim (c);
  static const char *const roles[] = { "attn.qkv", "attn.proj", "mlp.0", "mlp.2" };
  SinopiaLinear *lins[] = { &b->qkv, &b->proj, &b->mlp0, &b->mlp2 };
  const uint32_t outs[] = { 3 * D, D, M, D }, ins[] = { D, D, D, M };
  for (guint r = 0; r < G_N_ELEMENTS (roles); r++) {
    g_autofree char *txt = g_strdup_printf ("double_blocks.%u.txt_%s", i, roles[r]);
    g_autofree char *img = g_strdup_printf ("double_blocks.%u.img_%s", i, roles[r]);
    g_autofree char *what = g_strdup_printf ("double_blocks.%u %s", i, roles[r]);
    const char *t[1] = { txt }, *m[1] = { img };
    stream_pair (l, lins[r], what, outs[r], ins[r], r > 0 || c->qkv_bias, t, m, 1);
  }
  for (guint s = 0; s < 2; s++) {
    g_autofree char *mod = g_strdup_printf ("double_blocks.%u.%s_mod.lin", i, s ? "img" : "txt");
    linear (l, &b->mod[s], mod, 6 * D, D, TRUE);
  }
  g_autofree char *qs = g_strdup_printf ("double_blocks.%u query norm scales", i);
  g_autofree char *ks = g_strdup_printf ("double_blocks.%u key norm scales", i);
  b->q_scale = scale_pair (l, qs, take (l, "double_blocks.%u.txt_attn.norm.query_norm.scale", i),
                           take (l, "double_blocks.%u.img_attn.norm.query_norm.scale", i), hd);
  b->k_scale = scale_pair (l, ks, take (l, "double_blocks.%u.txt_attn.norm.key_norm.scale", i),
                           take (l, "double_blocks.%u.img_attn.norm.key_norm.scale", i), hd);
}

/* diffusers: the image stream is attn.to_*, norm1, ff; the text stream add_*_proj,
 * norm1_context, ff_context, to_add_out. */
static void
load_double_diffusers (Loader *l, SinopiaFluxDoubleBlock *b, guint i, const SinopiaFluxConfig *c)
{
  uint32_t D = c->hidden_size, M = c->mlp_hidden, hd = sinopia_flux_head_dim (c);
  g_autofree char *p = g_strdup_printf ("transformer_blocks.%u", i);
  g_autofree char *tq = g_strdup_printf ("%s.attn.add_q_proj", p), *iq = g_strdup_printf ("%s.attn.to_q", p);
  g_autofree char *tk = g_strdup_printf ("%s.attn.add_k_proj", p), *ik = g_strdup_printf ("%s.attn.to_k", p);
  g_autofree char *tv = g_strdup_printf ("%s.attn.add_v_proj", p), *iv = g_strdup_printf ("%s.attn.to_v", p);
  g_autofree char *to = g_strdup_printf ("%s.attn.to_add_out", p), *io = g_strdup_printf ("%s.attn.to_out.0", p);
  g_autofree char *t0 = g_strdup_printf ("%s.ff_context.net.0.proj", p), *i0 = g_strdup_printf ("%s.ff.net.0.proj", p);
  g_autofree char *t2 = g_strdup_printf ("%s.ff_context.net.2", p), *i2 = g_strdup_printf ("%s.ff.net.2", p);
  g_autofree char *qkv = g_strdup_printf ("%s qkv", p), *proj = g_strdup_printf ("%s attention output", p);
  g_autofree char *mlp0 = g_strdup_printf ("%s feed-forward in", p), *mlp2 = g_strdup_printf ("%s feed-forward out", p);
  const char *txt_qkv[3] = { tq, tk, tv }, *img_qkv[3] = { iq, ik, iv };
  stream_pair (l, &b->qkv, qkv, 3 * D, D, c->qkv_bias, txt_qkv, img_qkv, 3);
  stream_pair (l, &b->proj, proj, D, D, TRUE, (const char *[]) { to }, (const char *[]) { io }, 1);
  stream_pair (l, &b->mlp0, mlp0, M, D, TRUE, (const char *[]) { t0 }, (const char *[]) { i0 }, 1);
  stream_pair (l, &b->mlp2, mlp2, D, M, TRUE, (const char *[]) { t2 }, (const char *[]) { i2 }, 1);
  g_autofree char *tmod = g_strdup_printf ("%s.norm1_context.linear", p), *imod = g_strdup_printf ("%s.norm1.linear", p);
  linear (l, &b->mod[SINOPIA_FLUX_TXT], tmod, 6 * D, D, TRUE);
  linear (l, &b->mod[SINOPIA_FLUX_IMG], imod, 6 * D, D, TRUE);
  g_autofree char *qs = g_strdup_printf ("%s query norm scales", p), *ks = g_strdup_printf ("%s key norm scales", p);
  b->q_scale = scale_pair (l, qs, take (l, "%s.attn.norm_added_q.weight", p), take (l, "%s.attn.norm_q.weight", p), hd);
  b->k_scale = scale_pair (l, ks, take (l, "%s.attn.norm_added_k.weight", p), take (l, "%s.attn.norm_k.weight", p), hd);
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
    if (bfl)
      load_double_bfl (l, &m->doubles[i], i, c);
    else
      load_double_diffusers (l, &m->doubles[i], i, c);
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
double_free (SinopiaFluxDoubleBlock *b)
{
  linear_free (&b->mod[SINOPIA_FLUX_TXT]);
  linear_free (&b->mod[SINOPIA_FLUX_IMG]);
  linear_free (&b->qkv);
  linear_free (&b->proj);
  linear_free (&b->mlp0);
  linear_free (&b->mlp2);
  g_clear_pointer (&b->q_scale, sinopia_buffer_free);
  g_clear_pointer (&b->k_scale, sinopia_buffer_free);
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
  for (guint i = 0; m->doubles && i < m->cfg.depth; i++)
    double_free (&m->doubles[i]);
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
