/* libFuzzer target: the safetensors validator, on the input as a whole file and on the input
 * as a JSON header behind a correct length prefix; valid results go through the writer and
 * must read back identically. */
#define G_LOG_DOMAIN "sinopia-fuzz"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sinopia-safetensors.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Data area behind a synthesized header, so offsets in the input can land inside it. */
#define DATA_AREA 4096

static void
check_roundtrip (const SinopiaSafetensors *st)
{
  SinopiaSafetensorsWriter *w = sinopia_safetensors_writer_new ();
  for (gsize i = 0; i < sinopia_safetensors_n_tensors (st); i++) {
    const SinopiaTensorInfo *t = sinopia_safetensors_tensor (st, i);
    g_assert (sinopia_safetensors_lookup (st, t->name) == t);
    g_assert (t->n_bytes == t->n_elements * sinopia_st_dtype_size (t->dtype));
    if (t->n_elements <= 4096) {
      float *f = g_new (float, MAX (t->n_elements, 1));
      g_assert (sinopia_safetensors_read_f32 (t, f, NULL));
      g_free (f);
    }
    g_assert (sinopia_safetensors_writer_add (w, t->name, t->dtype, t->n_dims, t->shape, t->data, t->n_bytes, NULL));
  }
  for (const char *const *k = sinopia_safetensors_metadata_keys (st); *k; k++)
    g_assert (sinopia_safetensors_writer_set_metadata (w, *k, sinopia_safetensors_metadata (st, *k), NULL));

  GBytes *header = sinopia_safetensors_writer_header (w, NULL);
  if (header == NULL) {
    /* Only a header past the size limit can fail; escaping grows names by up to 6×. */
    sinopia_safetensors_writer_free (w);
    return;
  }
  GByteArray *file = g_byte_array_new ();
  gsize header_len;
  const guint8 *h = g_bytes_get_data (header, &header_len);
  g_byte_array_append (file, h, (guint) header_len);
  for (gsize i = 0; i < sinopia_safetensors_n_tensors (st); i++) {
    const SinopiaTensorInfo *t = sinopia_safetensors_tensor (st, i);
    g_byte_array_append (file, t->data, (guint) t->n_bytes);
  }
  GError *error = NULL;
  SinopiaSafetensors *back = sinopia_safetensors_parse_header (file->data, file->len, "copy", &error);
  if (back == NULL)
    g_error ("writer output rejected: %s", error->message);
  g_assert (sinopia_safetensors_n_tensors (back) == sinopia_safetensors_n_tensors (st));
  for (gsize i = 0; i < sinopia_safetensors_n_tensors (st); i++) {
    const SinopiaTensorInfo *a = sinopia_safetensors_tensor (st, i), *b = sinopia_safetensors_tensor (back, i);
    g_assert (strcmp (a->name, b->name) == 0 && a->dtype == b->dtype && a->n_dims == b->n_dims);
    g_assert (memcmp (a->shape, b->shape, sizeof a->shape) == 0 && a->n_bytes == b->n_bytes);
    g_assert (a->n_bytes == 0 || memcmp (a->data, b->data, a->n_bytes) == 0);
  }
  for (const char *const *k = sinopia_safetensors_metadata_keys (st); *k; k++)
    g_assert (g_strcmp0 (sinopia_safetensors_metadata (st, *k), sinopia_safetensors_metadata (back, *k)) == 0);
  sinopia_safetensors_close (back);
  g_byte_array_unref (file);
  g_bytes_unref (header);
  sinopia_safetensors_writer_free (w);
}

static void
run (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  SinopiaSafetensors *st = sinopia_safetensors_parse_header (data, size, "fuzz", &error);
  if (st == NULL) {
    g_assert (error != NULL && error->domain == SINOPIA_SAFETENSORS_ERROR);
    g_assert (g_str_has_prefix (error->message, "fuzz: "));
    g_error_free (error);
    return;
  }
  check_roundtrip (st);
  sinopia_safetensors_close (st);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* Exact-size copies: reads past the end are caught by AddressSanitizer. */
  guint8 *whole = g_memdup2 (data, size);
  run (whole, size);
  g_free (whole);

  gsize len = 8 + size + DATA_AREA;
  guint8 *file = g_malloc (len);
  for (int i = 0; i < 8; i++)
    file[i] = (guint8) ((uint64_t) size >> (8 * i));
  if (size > 0)
    memcpy (file + 8, data, size);
  for (gsize i = 0; i < DATA_AREA; i++)
    file[8 + size + i] = (guint8) (i * 37u);
  run (file, len);
  g_free (file);
  return 0;
}
