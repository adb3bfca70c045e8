/* sinopia-text.c — what the T5 and CLIP encoders share: recognising a checkpoint, loading
 * named tensors with missing/unexpected reporting, device-fit check, dumps. */
#define G_LOG_DOMAIN "sinopia-engine"

#include <string.h>

#include "sinopia-text-private.h"

G_DEFINE_QUARK (sinopia-text-error-quark, sinopia_text_error)

/* ---- names --------------------------------------------------------------------------- */

/* Whether `name` is P + suffix with P empty or ending in '.'; *plen gets P's length. */
static gboolean
has_suffix (const char *name, const char *suffix, gsize *plen)
{
  gsize len = strlen (name), slen = strlen (suffix);
  if (len < slen || strcmp (name + len - slen, suffix) != 0 || (len > slen && name[len - slen - 1] != '.'))
    return FALSE;
  *plen = len - slen;
  return TRUE;
}

gboolean
sinopia__text_find_prefix (const SinopiaSafetensors *st, const char *suffix, char **prefix, GError **error)
{
  *prefix = NULL;
  for (gsize i = 0; i < sinopia_safetensors_n_tensors (st); i++) {
    const char *name = sinopia_safetensors_tensor (st, i)->name;
    gsize plen;
    if (!has_suffix (name, suffix, &plen))
      continue;
    if (*prefix && (strlen (*prefix) != plen || strncmp (*prefix, name, plen) != 0)) {
      g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_TENSORS,
                   "%s: \"%s\" appears under two prefixes (\"%s\" and \"%.*s\"); the file holds several "
                   "encoders", sinopia_safetensors_name (st), suffix, *prefix, (int) plen, name);
      g_clear_pointer (prefix, g_free);
      return FALSE;
    }
    if (!*prefix)
      *prefix = g_strndup (name, plen);
  }
  return TRUE;
}

gboolean
sinopia_text_detect (const SinopiaSafetensors *st, SinopiaTextArch *arch, GError **error)
{
  g_autofree char *t5 = NULL, *clip = NULL;
  /* A prefix clash inside one architecture is reported by its loader, not here. */
  if (!sinopia__text_find_prefix (st, "SelfAttention.relative_attention_bias.weight", &t5, NULL))
    t5 = g_strdup ("");
  if (!sinopia__text_find_prefix (st, "embeddings.token_embedding.weight", &clip, NULL))
    clip = g_strdup ("");
  if (t5 && clip) {
    g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_TENSORS,
                 "%s holds both a T5 encoder (relative_attention_bias) and a CLIP text model "
                 "(token_embedding); give each its own file", sinopia_safetensors_name (st));
    return FALSE;
  }
  if (!t5 && !clip) {
    g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_TENSORS,
                 "%s is not a text encoder: it has neither a T5 \"...SelfAttention.relative_attention_bias.weight\" "
                 "nor a CLIP \"...embeddings.token_embedding.weight\"", sinopia_safetensors_name (st));
    return FALSE;
  }
  *arch = t5 ? SINOPIA_TEXT_ARCH_T5 : SINOPIA_TEXT_ARCH_CLIP;
  return TRUE;
}

/* ---- loading --------------------------------------------------------------------------- */

void
sinopia__text_loader_init (SinopiaTextLoader *l, SinopiaVkContext *ctx, const SinopiaSafetensors *st,
                           const char *prefix)
{
  *l = (SinopiaTextLoader) {
    .ctx = ctx, .st = st, .prefix = prefix,
    .used = g_hash_table_new (g_str_hash, g_str_equal),
    .missing = g_ptr_array_new_with_free_func (g_free),
  };
}

const SinopiaTensorInfo *
sinopia__text_take (SinopiaTextLoader *l, const char *fmt, ...)
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

void
sinopia__text_accept (SinopiaTextLoader *l, const char *full_name)
{
  const SinopiaTensorInfo *t = sinopia_safetensors_lookup (l->st, full_name);
  if (t)
    g_hash_table_add (l->used, (gpointer) t->name);
}

static SinopiaBuffer *
upload_source (SinopiaTextLoader *l, const char *what, const SinopiaWeightSource *src, uint64_t rows, uint64_t cols,
               gboolean f32)
{
  if (l->error)
    return NULL;
  for (guint i = 0; i < src->n_parts; i++)
    if (!src->parts[i].tensor)
      return NULL;  /* already listed as missing */
  SinopiaBuffer *buf = sinopia_weights_upload (l->ctx, sinopia_safetensors_name (l->st), what, src, rows, cols, f32,
                                               &l->error);
  if (buf)
    l->bytes += sinopia_buffer_size_bytes (buf);
  return buf;
}

static gboolean
check_dims (SinopiaTextLoader *l, const SinopiaTensorInfo *t, guint n_dims)
{
  if (!t || l->error || t->n_dims == n_dims)
    return TRUE;
  g_set_error (&l->error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_TENSORS,
               "%s: tensor \"%s\" has %u dimensions, the model needs %u", sinopia_safetensors_name (l->st),
               t->name, t->n_dims, n_dims);
  return FALSE;
}

SinopiaBuffer *
sinopia__text_upload (SinopiaTextLoader *l, const SinopiaTensorInfo *t, uint64_t rows, uint64_t cols, gboolean f32)
{
  SinopiaWeightSource src = { .parts = { { t } }, .n_parts = 1 };
  return t && check_dims (l, t, 2) ? upload_source (l, t->name, &src, rows, cols, f32) : NULL;
}

SinopiaBuffer *
sinopia__text_vector (SinopiaTextLoader *l, const SinopiaTensorInfo *t, uint64_t n)
{
  SinopiaWeightSource src = { .parts = { { t } }, .n_parts = 1 };
  return t && check_dims (l, t, 1) ? upload_source (l, t->name, &src, n, 1, TRUE) : NULL;
}

void
sinopia__text_linear (SinopiaTextLoader *l, SinopiaTextLinear *lin, const char *what, const char *const *stems,
                      guint n, uint32_t out, uint32_t in, gboolean bias)
{
  SinopiaWeightSource ws = { .n_parts = n }, bs = { .n_parts = n };
  g_return_if_fail (n >= 1 && n <= 4);
  lin->out = out;
  lin->in = in;
  for (guint i = 0; i < n; i++) {
    ws.parts[i].tensor = sinopia__text_take (l, "%s.weight", stems[i]);
    if (bias)
      bs.parts[i].tensor = sinopia__text_take (l, "%s.bias", stems[i]);
  }
  /* Each part is checked on its own so an error names the tensor, not the stack. */
  for (guint i = 0; i < n && !l->error; i++) {
    const SinopiaTensorInfo *w = ws.parts[i].tensor, *b = bs.parts[i].tensor;
    if (!check_dims (l, w, 2) || (bias && !check_dims (l, b, 1)))
      break;
    if (w && (w->shape[0] != out / n || w->shape[1] != in))
      g_set_error (&l->error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_TENSORS,
                   "%s: tensor \"%s\" has shape [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "], the model needs "
                   "[%u, %u]", sinopia_safetensors_name (l->st), w->name, w->shape[0], w->shape[1], out / n, in);
    else if (bias && b && b->shape[0] != out / n)
      g_set_error (&l->error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_TENSORS,
                   "%s: tensor \"%s\" has %" G_GUINT64_FORMAT " elements, the model needs %u",
                   sinopia_safetensors_name (l->st), b->name, b->shape[0], out / n);
  }
  g_autofree char *wname = n > 1 ? g_strdup_printf ("%s weight", what) : g_strdup (ws.parts[0].tensor ?
                                                                                    ws.parts[0].tensor->name : what);
  lin->w = upload_source (l, wname, &ws, out, in, FALSE);
  if (bias) {
    g_autofree char *bname = n > 1 ? g_strdup_printf ("%s bias", what) : g_strdup (bs.parts[0].tensor ?
                                                                                    bs.parts[0].tensor->name : what);
    lin->b = upload_source (l, bname, &bs, out, 1, TRUE);
  }
}

void
sinopia__text_linear_clear (SinopiaTextLinear *lin)
{
  g_clear_pointer (&lin->w, sinopia_buffer_free);
  g_clear_pointer (&lin->b, sinopia_buffer_free);
}

gboolean
sinopia__text_loader_finish (SinopiaTextLoader *l, const char *scope, gboolean (*ignore) (const char *rest),
                             const char *model, GError **error)
{
  const char *file = sinopia_safetensors_name (l->st);
  if (!l->error && l->missing->len > 0) {
    GString *names = g_string_new (NULL);
    for (guint i = 0; i < MIN (l->missing->len, 8); i++)
      g_string_append_printf (names, "%s\"%s\"", i ? ", " : "", (char *) g_ptr_array_index (l->missing, i));
    if (l->missing->len > 8)
      g_string_append_printf (names, " and %u more", l->missing->len - 8);
    g_set_error (&l->error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_TENSORS, "%s: missing tensor%s %s", file,
                 l->missing->len > 1 ? "s" : "", names->str);
    g_string_free (names, TRUE);
  }
  if (!l->error) {
    /* A tensor the model did not take means a configuration that does not match the file. */
    gsize slen = strlen (scope);
    for (gsize i = 0; i < sinopia_safetensors_n_tensors (l->st); i++) {
      const char *name = sinopia_safetensors_tensor (l->st, i)->name;
      if (strncmp (name, scope, slen) != 0 || g_hash_table_contains (l->used, name) ||
          (ignore && ignore (name + slen)))
        continue;
      g_set_error (&l->error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_TENSORS,
                   "%s: unexpected tensor \"%s\" (the configuration is %s)", file, name, model);
      break;
    }
  }
  g_clear_pointer (&l->used, g_hash_table_unref);
  g_clear_pointer (&l->missing, g_ptr_array_unref);
  if (l->error) {
    g_propagate_error (error, g_steal_pointer (&l->error));
    return FALSE;
  }
  return TRUE;
}

gboolean
sinopia__text_check_fits (SinopiaVkContext *ctx, const SinopiaSafetensors *st, const char *prefix,
                          uint64_t activations, GError **error)
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
  uint64_t need = weights + activations + sinopia_vk_context_allocated_bytes (ctx);
  if (need > heap) {
    g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_TOO_LARGE,
                 "%s: the text encoder needs %.2f GB of device memory, the device has %.2f GB. "
                 "Use a smaller (fp8/bf16) copy of the encoder or another device (SINOPIA_DEVICE).",
                 sinopia_safetensors_name (st), need / 1e9, heap / 1e9);
    return FALSE;
  }
  return TRUE;
}

/* ---- recording ------------------------------------------------------------------------- */

static SinopiaBuffer *
upload_values (SinopiaVkContext *ctx, SinopiaDType dt, const void *data, uint64_t n, GError **error)
{
  SinopiaBuffer *buf = sinopia_buffer_new (ctx, dt, MAX (n, 1), error);
  if (buf && n && !sinopia_buffer_upload (buf, 0, data, n * 4, error))
    g_clear_pointer (&buf, sinopia_buffer_free);
  return buf;
}

SinopiaBuffer *
sinopia__text_upload_f32 (SinopiaVkContext *ctx, const float *data, uint64_t n, GError **error)
{
  return upload_values (ctx, SINOPIA_DTYPE_F32, data, n, error);
}

SinopiaBuffer *
sinopia__text_upload_u32 (SinopiaVkContext *ctx, const uint32_t *data, uint64_t n, GError **error)
{
  return upload_values (ctx, SINOPIA_DTYPE_U32, data, n, error);
}

gboolean
sinopia__text_record_linear (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaTextLinear *lin,
                             SinopiaActivation act, gboolean accumulate, const SinopiaTensor *y, GError **error)
{
  SinopiaTensor w = sinopia_tensor (lin->w, 0, lin->out, lin->in), b;
  if (lin->b)
    b = sinopia_tensor (lin->b, 0, 1, lin->out);
  return sinopia_op_matmul (rec, x, &w, lin->b ? &b : NULL, act, accumulate, y, error);
}

