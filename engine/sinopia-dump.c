/* sinopia-dump.c — see sinopia-dump.h. */
#define G_LOG_DOMAIN "sinopia-engine"

#include "sinopia-dump.h"

typedef struct {
  char *name;
  SinopiaBuffer *buf;
  uint64_t n;
} PendingDump;

static void
pending_free (gpointer p)
{
  PendingDump *d = p;
  g_free (d->name);
  sinopia_buffer_free (d->buf);
  g_free (d);
}

SinopiaDump *
sinopia_dump_new (void)
{
  SinopiaDump *d = g_new0 (SinopiaDump, 1);
  d->tensors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_bytes_unref);
  d->shapes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_array_unref);
  d->pending = g_ptr_array_new_with_free_func (pending_free);
  return d;
}

void
sinopia_dump_free (SinopiaDump *d)
{
  if (!d)
    return;
  g_hash_table_unref (d->tensors);
  g_hash_table_unref (d->shapes);
  g_ptr_array_unref (d->pending);
  g_free (d);
}

static void
set_shape (SinopiaDump *d, const char *name, guint n_dims, const uint64_t *dims)
{
  GArray *shape = g_array_sized_new (FALSE, FALSE, sizeof (uint64_t), n_dims);
  g_array_append_vals (shape, dims, n_dims);
  g_hash_table_replace (d->shapes, g_strdup (name), shape);
}

gboolean
sinopia_dump_record (SinopiaDump *d, SinopiaVkContext *ctx, SinopiaRecorder *rec, const SinopiaTensor *t,
                     guint n_dims, const uint64_t *dims, GError **error, const char *fmt, ...)
{
  if (!d)
    return TRUE;
  va_list ap;
  va_start (ap, fmt);
  PendingDump *p = g_new0 (PendingDump, 1);
  p->name = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  p->n = (uint64_t) t->rows * t->cols;
  p->buf = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, p->n, error);
  if (!p->buf) {
    pending_free (p);
    return FALSE;
  }
  g_ptr_array_add (d->pending, p);
  if (dims)
    set_shape (d, p->name, n_dims, dims);
  else
    set_shape (d, p->name, 3, (uint64_t[]) { 1, t->rows, t->cols });
  SinopiaTensor dst = sinopia_tensor (p->buf, 0, t->rows, t->cols);
  return sinopia_op_activation (rec, t, SINOPIA_ACT_NONE, &dst, error);
}

void
sinopia_dump_host (SinopiaDump *d, const char *name, float *data, guint n_dims, const uint64_t *dims)
{
  uint64_t n = 1;
  for (guint i = 0; i < n_dims; i++)
    n *= dims[i];
  g_hash_table_replace (d->tensors, g_strdup (name), g_bytes_new_take (data, n * sizeof (float)));
  set_shape (d, name, n_dims, dims);
}

gboolean
sinopia_dump_collect (SinopiaDump *d, GError **error)
{
  for (guint i = 0; d && i < d->pending->len; i++) {
    PendingDump *p = g_ptr_array_index (d->pending, i);
    float *data = g_new (float, p->n);
    if (!sinopia_buffer_download (p->buf, 0, data, p->n * sizeof (float), error)) {
      g_free (data);
      sinopia_dump_discard (d);
      return FALSE;
    }
    g_hash_table_replace (d->tensors, g_strdup (p->name), g_bytes_new_take (data, p->n * sizeof (float)));
  }
  sinopia_dump_discard (d);
  return TRUE;
}

void
sinopia_dump_discard (SinopiaDump *d)
{
  if (d)
    g_ptr_array_set_size (d->pending, 0);
}
