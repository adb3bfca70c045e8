/* sinopia-cli-tensors.c — see sinopia-cli-tensors.h. */
#define G_LOG_DOMAIN "sinopia-cli"

#include "sinopia-cli-tensors.h"

struct _CliOutput {
  SinopiaSafetensorsWriter *writer;
  GPtrArray *data;  /* the writer borrows; we own */
};

float *
cli_tensor_f32 (SinopiaSafetensors *st, const char *name, gboolean required, gsize expect, gsize *n,
                GError **error)
{
  const SinopiaTensorInfo *t = sinopia_safetensors_lookup (st, name);
  if (!t) {
    if (required)
      g_set_error (error, SINOPIA_SAFETENSORS_ERROR, SINOPIA_SAFETENSORS_ERROR_INVALID_ARGUMENT,
                   "%s has no tensor \"%s\"", sinopia_safetensors_name (st), name);
    return NULL;
  }
  if (expect && t->n_elements != expect) {
    g_set_error (error, SINOPIA_SAFETENSORS_ERROR, SINOPIA_SAFETENSORS_ERROR_SHAPE,
                 "%s: tensor \"%s\" has %" G_GUINT64_FORMAT " elements, expected %" G_GSIZE_FORMAT,
                 sinopia_safetensors_name (st), name, t->n_elements, expect);
    return NULL;
  }
  float *v = g_new (float, MAX (t->n_elements, 1));
  if (!sinopia_safetensors_read_f32 (t, v, error)) {
    g_free (v);
    return NULL;
  }
  if (n)
    *n = t->n_elements;
  return v;
}

CliOutput *
cli_output_new (void)
{
  CliOutput *out = g_new0 (CliOutput, 1);
  out->writer = sinopia_safetensors_writer_new ();
  out->data = g_ptr_array_new_with_free_func (g_free);
  return out;
}

void
cli_output_free (CliOutput *out)
{
  if (!out)
    return;
  sinopia_safetensors_writer_free (out->writer);
  g_ptr_array_unref (out->data);
  g_free (out);
}

gboolean
cli_output_add (CliOutput *out, const char *name, guint n_dims, const uint64_t *shape, float *data, GError **error)
{
  uint64_t n = 1;
  for (guint i = 0; i < n_dims; i++)
    n *= shape[i];
  g_ptr_array_add (out->data, data);
  return sinopia_safetensors_writer_add (out->writer, name, SINOPIA_ST_F32, n_dims, shape, data, n * sizeof (float),
                                         error);
}

gboolean
cli_output_write (CliOutput *out, const char *path, GError **error)
{
  return sinopia_safetensors_writer_write (out->writer, path, error);
}
