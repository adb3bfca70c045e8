/* sinopia-safetensors.c — safetensors reader (validating, over a memory map) and atomic writer. */
#define G_LOG_DOMAIN "sinopia-safetensors"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "sinopia-json.h"
#include "sinopia-safetensors.h"

G_DEFINE_QUARK (sinopia-safetensors-error-quark, sinopia_safetensors_error)

static const struct {
  const char *name;
  gsize size;
} dtypes[SINOPIA_ST_N_DTYPES] = {
  [SINOPIA_ST_BOOL] = { "BOOL", 1 },
  [SINOPIA_ST_U8] = { "U8", 1 },
  [SINOPIA_ST_I8] = { "I8", 1 },
  [SINOPIA_ST_U16] = { "U16", 2 },
  [SINOPIA_ST_I16] = { "I16", 2 },
  [SINOPIA_ST_F16] = { "F16", 2 },
  [SINOPIA_ST_BF16] = { "BF16", 2 },
  [SINOPIA_ST_U32] = { "U32", 4 },
  [SINOPIA_ST_I32] = { "I32", 4 },
  [SINOPIA_ST_F32] = { "F32", 4 },
  [SINOPIA_ST_U64] = { "U64", 8 },
  [SINOPIA_ST_I64] = { "I64", 8 },
  [SINOPIA_ST_F64] = { "F64", 8 },
  [SINOPIA_ST_F8_E4M3] = { "F8_E4M3", 1 },
  [SINOPIA_ST_F8_E5M2] = { "F8_E5M2", 1 },
};

gsize
sinopia_st_dtype_size (SinopiaStDType dtype)
{
  return (guint) dtype < SINOPIA_ST_N_DTYPES ? dtypes[dtype].size : 0;
}

const char *
sinopia_st_dtype_name (SinopiaStDType dtype)
{
  return (guint) dtype < SINOPIA_ST_N_DTYPES ? dtypes[dtype].name : NULL;
}

gboolean
sinopia_st_dtype_from_name (const char *name, gssize len, SinopiaStDType *out)
{
  g_return_val_if_fail (name != NULL && out != NULL, FALSE);
  gsize n = len < 0 ? strlen (name) : (gsize) len;
  for (guint i = 0; i < SINOPIA_ST_N_DTYPES; i++)
    if (strlen (dtypes[i].name) == n && memcmp (dtypes[i].name, name, n) == 0) {
      *out = (SinopiaStDType) i;
      return TRUE;
    }
  return FALSE;
}

/* ---- reader ---------------------------------------------------------------------------- */

struct _SinopiaSafetensors {
  char *name;
  GMappedFile *mapped; /* NULL when the bytes are borrowed from _parse_header's caller */
  SinopiaTensorInfo *tensors;
  gsize n_tensors;
  GHashTable *by_name;       /* name → SinopiaTensorInfo*, both borrowed */
  GHashTable *metadata;      /* key → value, both in `strings` */
  GPtrArray *metadata_keys;  /* NULL-terminated, header order */
  GStringChunk *strings;
};

G_GNUC_PRINTF (4, 5) static gboolean
set_error (GError **error, SinopiaSafetensorsErrorCode code, const char *file, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, SINOPIA_SAFETENSORS_ERROR, code, "%s: %s", file, msg);
  return FALSE;
}

static uint64_t
read_le64 (const uint8_t *p)
{
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

/* "-3", "2.5", "1.0" or "a string": what a JSON value is, for messages about numbers. */
static char *
describe (const SinopiaJsonNode *n)
{
  int64_t i;
  double d;
  if (sinopia_json_as_int64 (n, INT64_MIN, INT64_MAX, &i, NULL))
    return g_strdup_printf ("%" G_GINT64_FORMAT, i);
  if (sinopia_json_as_double (n, &d, NULL)) {
    /* "1.0", not "1": a number that is not an integer literal must not read like one. */
    char *s = g_strdup_printf ("%.17g", d);
    if (strpbrk (s, ".en") == NULL) {
      char *t = g_strconcat (s, ".0", NULL);
      g_free (s);
      s = t;
    }
    return s;
  }
  return g_strdup (sinopia_json_type_phrase (n));
}

static char *
format_shape (const SinopiaJsonNode *shape)
{
  GString *s = g_string_new ("[");
  for (gsize i = 0; i < sinopia_json_length (shape); i++) {
    g_autofree char *d = describe (sinopia_json_array_get (shape, i));
    g_string_append_printf (s, "%s%s", i ? ", " : "", d);
  }
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static gboolean
parse_dtype (const SinopiaJsonNode *entry, SinopiaTensorInfo *t, const char *file, GError **error)
{
  const SinopiaJsonNode *node = sinopia_json_object_get (entry, "dtype");
  if (node == NULL)
    return set_error (error, SINOPIA_SAFETENSORS_ERROR_ENTRY, file, "tensor \"%s\": no \"dtype\"", t->name);
  gsize len;
  const char *s = sinopia_json_as_string (node, &len);
  if (s == NULL)
    return set_error (error, SINOPIA_SAFETENSORS_ERROR_DTYPE, file, "tensor \"%s\": dtype is %s, expected a string",
                 t->name, sinopia_json_type_phrase (node));
  if (!sinopia_st_dtype_from_name (s, (gssize) len, &t->dtype)) {
    g_autofree char *shown = g_strndup (s, MIN (len, (gsize) 64));
    return set_error (error, SINOPIA_SAFETENSORS_ERROR_DTYPE, file, "tensor \"%s\": unknown dtype \"%s\"", t->name,
                 shown);
  }
  return TRUE;
}

static gboolean
parse_shape (const SinopiaJsonNode *entry, SinopiaTensorInfo *t, const char *file, GError **error)
{
  const SinopiaJsonNode *shape = sinopia_json_object_get (entry, "shape");
  if (shape == NULL)
    return set_error (error, SINOPIA_SAFETENSORS_ERROR_ENTRY, file, "tensor \"%s\": no \"shape\"", t->name);
  if (sinopia_json_type (shape) != SINOPIA_JSON_ARRAY)
    return set_error (error, SINOPIA_SAFETENSORS_ERROR_SHAPE, file, "tensor \"%s\": shape is %s, expected an array",
                 t->name, sinopia_json_type_phrase (shape));
  gsize n = sinopia_json_length (shape);
  if (n > SINOPIA_SAFETENSORS_MAX_DIMS)
    return set_error (error, SINOPIA_SAFETENSORS_ERROR_SHAPE, file,
                 "tensor \"%s\": shape has %" G_GSIZE_FORMAT " dimensions, at most %d are supported", t->name, n,
                 SINOPIA_SAFETENSORS_MAX_DIMS);
  t->n_dims = (guint) n;
  t->n_elements = 1;
  gboolean overflow = FALSE;
  for (gsize i = 0; i < n; i++) {
    const SinopiaJsonNode *d = sinopia_json_array_get (shape, i);
    int64_t v;
    if (!sinopia_json_as_int64 (d, 0, INT64_MAX, &v, NULL)) {
      g_autofree char *what = describe (d);
      return set_error (error, SINOPIA_SAFETENSORS_ERROR_SHAPE, file,
                   "tensor \"%s\": shape[%" G_GSIZE_FORMAT "] is %s, expected a non-negative integer", t->name, i,
                   what);
    }
    t->shape[i] = (uint64_t) v;
    overflow |= !g_uint64_checked_mul (&t->n_elements, t->n_elements, t->shape[i]);
  }
  /* A zero dimension makes the product 0 whatever overflowed before it. */
  for (gsize i = 0; i < n; i++)
    if (t->shape[i] == 0) {
      overflow = FALSE;
      t->n_elements = 0;
    }
  if (!overflow)
    overflow = !g_uint64_checked_mul (&t->n_bytes, t->n_elements, sinopia_st_dtype_size (t->dtype));
  if (overflow) {
    g_autofree char *s = format_shape (shape);
    return set_error (error, SINOPIA_SAFETENSORS_ERROR_SHAPE, file,
                 "tensor \"%s\": shape %s × %s overflows a 64-bit byte count", t->name, s,
                 sinopia_st_dtype_name (t->dtype));
  }
  return TRUE;
}

static gboolean
parse_offsets (const SinopiaJsonNode *entry, SinopiaTensorInfo *t, uint64_t data_size, const char *file,
               GError **error)
{
  const SinopiaJsonNode *offsets = sinopia_json_object_get (entry, "data_offsets");
  if (offsets == NULL)
    return set_error (error, SINOPIA_SAFETENSORS_ERROR_ENTRY, file, "tensor \"%s\": no \"data_offsets\"", t->name);
  if (sinopia_json_type (offsets) != SINOPIA_JSON_ARRAY || sinopia_json_length (offsets) != 2)
    return set_error (error, SINOPIA_SAFETENSORS_ERROR_OFFSETS, file,
                 "tensor \"%s\": data_offsets must be an array [begin, end]", t->name);
  int64_t be[2];
  for (gsize i = 0; i < 2; i++) {
    const SinopiaJsonNode *d = sinopia_json_array_get (offsets, i);
    if (!sinopia_json_as_int64 (d, 0, INT64_MAX, &be[i], NULL)) {
      g_autofree char *what = describe (d);
      return set_error (error, SINOPIA_SAFETENSORS_ERROR_OFFSETS, file,
                   "tensor \"%s\": data_offsets %s is %s, expected a non-negative integer", t->name,
                   i ? "end" : "begin", what);
    }
  }
  uint64_t begin = (uint64_t) be[0], end = (uint64_t) be[1];
  if (begin > end)
    return set_error (error, SINOPIA_SAFETENSORS_ERROR_OFFSETS, file,
                 "tensor \"%s\": data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "] end before begin",
                 t->name, begin, end);
  if (end - begin != t->n_bytes) {
    g_autofree char *s = format_shape (sinopia_json_object_get (entry, "shape"));
    return set_error (error, SINOPIA_SAFETENSORS_ERROR_OFFSETS, file,
                 "tensor \"%s\": shape %s × %s is %" G_GUINT64_FORMAT " bytes but data_offsets span %" G_GUINT64_FORMAT,
                 t->name, s, sinopia_st_dtype_name (t->dtype), t->n_bytes, end - begin);
  }
  if (end > data_size)
    return set_error (error, SINOPIA_SAFETENSORS_ERROR_OFFSETS, file,
                 "tensor \"%s\": data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                 "] run past the end of the data (%" G_GUINT64_FORMAT " bytes; is the file truncated?)",
                 t->name, begin, end, data_size);
  t->offset = begin;
  return TRUE;
}

static gboolean
parse_metadata (SinopiaSafetensors *st, const SinopiaJsonNode *md, GError **error)
{
  if (sinopia_json_type (md) != SINOPIA_JSON_OBJECT)
    return set_error (error, SINOPIA_SAFETENSORS_ERROR_METADATA, st->name, "__metadata__ is %s, expected an object",
                 sinopia_json_type_phrase (md));
  for (gsize i = 0; i < sinopia_json_length (md); i++) {
    gsize key_len, value_len;
    const char *key = sinopia_json_object_key (md, i, &key_len);
    const SinopiaJsonNode *v = sinopia_json_object_value (md, i);
    const char *value = sinopia_json_as_string (v, &value_len);
    if (key_len != strlen (key))
      return set_error (error, SINOPIA_SAFETENSORS_ERROR_METADATA, st->name, "__metadata__ key \"%s\" contains a NUL",
                   key);
    if (value == NULL)
      return set_error (error, SINOPIA_SAFETENSORS_ERROR_METADATA, st->name,
                   "__metadata__ \"%s\" is %s, expected a string", key, sinopia_json_type_phrase (v));
    if (value_len != strlen (value))
      return set_error (error, SINOPIA_SAFETENSORS_ERROR_METADATA, st->name, "__metadata__ \"%s\" contains a NUL",
                   key);
    const char *k = g_string_chunk_insert (st->strings, key);
    g_hash_table_insert (st->metadata, (gpointer) k, g_string_chunk_insert (st->strings, value));
    g_ptr_array_add (st->metadata_keys, (gpointer) k);
  }
  return TRUE;
}

static int
compare_by_offset (gconstpointer a, gconstpointer b)
{
  const SinopiaTensorInfo *x = a, *y = b;
  if (x->offset != y->offset)
    return x->offset < y->offset ? -1 : 1;
  /* Header order, kept in `data` until the pointers are set, makes the sort stable. */
  return (uintptr_t) x->data < (uintptr_t) y->data ? -1 : (uintptr_t) x->data > (uintptr_t) y->data;
}

static gboolean
check_overlaps (const SinopiaSafetensors *st, GError **error)
{
  const SinopiaTensorInfo *last = NULL; /* the non-empty tensor reaching furthest so far */
  for (gsize i = 0; i < st->n_tensors; i++) {
    const SinopiaTensorInfo *t = &st->tensors[i];
    if (t->n_bytes == 0)
      continue;
    if (last != NULL && t->offset < last->offset + last->n_bytes)
      return set_error (error, SINOPIA_SAFETENSORS_ERROR_OVERLAP, st->name,
                   "tensors \"%s\" [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ") and \"%s\" [%" G_GUINT64_FORMAT
                   ", %" G_GUINT64_FORMAT ") overlap",
                   last->name, last->offset, last->offset + last->n_bytes, t->name, t->offset,
                   t->offset + t->n_bytes);
    if (last == NULL || t->offset + t->n_bytes > last->offset + last->n_bytes)
      last = t;
  }
  return TRUE;
}

SinopiaSafetensors *
sinopia_safetensors_parse_header (const uint8_t *data, gsize len, const char *display_name, GError **error)
{
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  const char *file = display_name ? display_name : "safetensors";
  g_autoptr (GError) local = NULL;
  g_autoptr (SinopiaJson) doc = NULL;
  SinopiaSafetensors *st = g_new0 (SinopiaSafetensors, 1);
  st->name = g_strdup (file);
  st->strings = g_string_chunk_new (4096);
  st->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  st->metadata = g_hash_table_new (g_str_hash, g_str_equal);
  st->metadata_keys = g_ptr_array_new ();

  if (len < 8) {
    set_error (&local, SINOPIA_SAFETENSORS_ERROR_TRUNCATED, file,
          "file is %" G_GSIZE_FORMAT " bytes, too short for the 8-byte header length", len);
    goto fail;
  }
  uint64_t header_len = read_le64 (data);
  if (header_len > SINOPIA_SAFETENSORS_MAX_HEADER) {
    set_error (&local, SINOPIA_SAFETENSORS_ERROR_HEADER, file,
          "header length %" G_GUINT64_FORMAT " exceeds the limit of %u bytes", header_len,
          SINOPIA_SAFETENSORS_MAX_HEADER);
    goto fail;
  }
  if (header_len < 2) {
    set_error (&local, SINOPIA_SAFETENSORS_ERROR_HEADER, file,
          "header length %" G_GUINT64_FORMAT " is too small (\"{}\" needs 2 bytes)", header_len);
    goto fail;
  }
  if (header_len > len - 8) {
    set_error (&local, SINOPIA_SAFETENSORS_ERROR_TRUNCATED, file,
          "header length %" G_GUINT64_FORMAT " runs past the end of the file (%" G_GSIZE_FORMAT
          " bytes follow the length)", header_len, len - 8);
    goto fail;
  }
  const uint8_t *data_area = data + 8 + header_len;
  uint64_t data_size = len - 8 - header_len;

  doc = sinopia_json_parse ((const char *) data + 8, (gsize) header_len, &local);
  if (doc == NULL) {
    SinopiaSafetensorsErrorCode code = g_error_matches (local, SINOPIA_JSON_ERROR, SINOPIA_JSON_ERROR_DUPLICATE_KEY)
                                         ? SINOPIA_SAFETENSORS_ERROR_DUPLICATE
                                         : SINOPIA_SAFETENSORS_ERROR_HEADER;
    g_autofree char *why = g_strdup (local->message);
    g_clear_error (&local);
    set_error (&local, code, file, "header JSON: %s", why);
    goto fail;
  }
  const SinopiaJsonNode *root = sinopia_json_root (doc);
  if (sinopia_json_type (root) != SINOPIA_JSON_OBJECT) {
    set_error (&local, SINOPIA_SAFETENSORS_ERROR_HEADER, file, "header JSON is %s, expected an object",
          sinopia_json_type_phrase (root));
    goto fail;
  }

  gsize n_members = sinopia_json_length (root);
  st->tensors = g_new0 (SinopiaTensorInfo, MAX (n_members, 1));
  for (gsize i = 0; i < n_members; i++) {
    gsize key_len;
    const char *key = sinopia_json_object_key (root, i, &key_len);
    const SinopiaJsonNode *entry = sinopia_json_object_value (root, i);
    if (strcmp (key, "__metadata__") == 0 && key_len == strlen (key)) {
      if (!parse_metadata (st, entry, &local))
        goto fail;
      continue;
    }
    if (key_len != strlen (key)) {
      set_error (&local, SINOPIA_SAFETENSORS_ERROR_ENTRY, file, "tensor \"%s\": name contains a NUL", key);
      goto fail;
    }
    SinopiaTensorInfo *t = &st->tensors[st->n_tensors];
    t->name = g_string_chunk_insert (st->strings, key);
    if (sinopia_json_type (entry) != SINOPIA_JSON_OBJECT) {
      set_error (&local, SINOPIA_SAFETENSORS_ERROR_ENTRY, file, "tensor \"%s\": entry is %s, expected an object",
            t->name, sinopia_json_type_phrase (entry));
      goto fail;
    }
    if (!parse_dtype (entry, t, file, &local) || !parse_shape (entry, t, file, &local)
        || !parse_offsets (entry, t, data_size, file, &local))
      goto fail;
    /* Header position, for a stable sort; replaced by the data pointer below. */
    t->data = (const void *) (uintptr_t) st->n_tensors;
    st->n_tensors++;
  }
  g_ptr_array_add (st->metadata_keys, NULL);

  qsort (st->tensors, st->n_tensors, sizeof (SinopiaTensorInfo), compare_by_offset);
  if (!check_overlaps (st, &local))
    goto fail;
  for (gsize i = 0; i < st->n_tensors; i++) {
    st->tensors[i].data = data_area + st->tensors[i].offset;
    g_hash_table_insert (st->by_name, (gpointer) st->tensors[i].name, &st->tensors[i]);
  }
  return st;

fail:
  sinopia_safetensors_close (st);
  g_propagate_error (error, g_steal_pointer (&local));
  return NULL;
}

SinopiaSafetensors *
sinopia_safetensors_open (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  GMappedFile *mapped = g_mapped_file_new (path, FALSE, error);
  if (mapped == NULL)
    return NULL;
  g_autofree char *shown = g_filename_display_name (path);
  SinopiaSafetensors *st = sinopia_safetensors_parse_header ((const uint8_t *) g_mapped_file_get_contents (mapped),
                                                            g_mapped_file_get_length (mapped), shown, error);
  if (st == NULL) {
    g_mapped_file_unref (mapped);
    return NULL;
  }
  st->mapped = mapped;
  return st;
}

void
sinopia_safetensors_close (SinopiaSafetensors *st)
{
  if (st == NULL)
    return;
  g_hash_table_destroy (st->by_name);
  g_hash_table_destroy (st->metadata);
  g_ptr_array_free (st->metadata_keys, TRUE);
  g_string_chunk_free (st->strings);
  g_free (st->tensors);
  if (st->mapped)
    g_mapped_file_unref (st->mapped);
  g_free (st->name);
  g_free (st);
}

const char *
sinopia_safetensors_name (const SinopiaSafetensors *st)
{
  g_return_val_if_fail (st != NULL, NULL);
  return st->name;
}

gsize
sinopia_safetensors_n_tensors (const SinopiaSafetensors *st)
{
  g_return_val_if_fail (st != NULL, 0);
  return st->n_tensors;
}

const SinopiaTensorInfo *
sinopia_safetensors_tensor (const SinopiaSafetensors *st, gsize index)
{
  g_return_val_if_fail (st != NULL, NULL);
  return index < st->n_tensors ? &st->tensors[index] : NULL;
}

const SinopiaTensorInfo *
sinopia_safetensors_lookup (const SinopiaSafetensors *st, const char *name)
{
  g_return_val_if_fail (st != NULL && name != NULL, NULL);
  return g_hash_table_lookup (st->by_name, name);
}

const char *
sinopia_safetensors_metadata (const SinopiaSafetensors *st, const char *key)
{
  g_return_val_if_fail (st != NULL && key != NULL, NULL);
  return g_hash_table_lookup (st->metadata, key);
}

const char *const *
sinopia_safetensors_metadata_keys (const SinopiaSafetensors *st)
{
  g_return_val_if_fail (st != NULL, NULL);
  return (const char *const *) st->metadata_keys->pdata;
}

/* ---- conversion to f32 ---------------------------------------------------------------------- */

static float
bits_to_f32 (uint32_t bits)
{
  float f;
  memcpy (&f, &bits, sizeof f);
  return f;
}

static float
f16_to_f32 (uint16_t h)
{
  uint32_t sign = (uint32_t) (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  if (exp == 0x1f)
    return bits_to_f32 (sign | 0x7f800000u | (man << 13));
  if (exp == 0) {
    /* Subnormal: man · 2^-24, exact in float. */
    float v = (float) man * (1.0f / 16777216.0f);
    return sign ? -v : v;
  }
  return bits_to_f32 (sign | ((exp + 112u) << 23) | (man << 13));
}

static float
f8_e4m3_to_f32 (uint8_t b)
{
  uint32_t sign = (uint32_t) (b & 0x80u) << 24;
  uint32_t exp = (b >> 3) & 0xfu, man = b & 0x7u;
  if (exp == 0xf && man == 0x7)
    return bits_to_f32 (sign | 0x7fc00000u);
  if (exp == 0) {
    /* Subnormal: man/8 · 2^-6. */
    float v = (float) man * (1.0f / 512.0f);
    return sign ? -v : v;
  }
  return bits_to_f32 (sign | ((exp + 120u) << 23) | (man << 20));
}

gboolean
sinopia_safetensors_read_f32 (const SinopiaTensorInfo *t, float *out, GError **error)
{
  g_return_val_if_fail (t != NULL, FALSE);
  uint64_t bytes;
  if (!g_uint64_checked_mul (&bytes, t->n_elements, sinopia_st_dtype_size (t->dtype)) || bytes != t->n_bytes
      || sinopia_st_dtype_size (t->dtype) == 0 || (t->data == NULL && t->n_bytes > 0) || (out == NULL && t->n_elements > 0))
    return set_error (error, SINOPIA_SAFETENSORS_ERROR_INVALID_ARGUMENT, t->name ? t->name : "tensor",
                 "read_f32: inconsistent tensor info or no output");

  const uint8_t *p = t->data;
  uint64_t n = t->n_elements;
  switch (t->dtype) {
  case SINOPIA_ST_F32:
    if (n > 0)
      memcpy (out, p, n * 4);
    return TRUE;
  case SINOPIA_ST_F16:
    for (uint64_t i = 0; i < n; i++) {
      uint16_t v;
      memcpy (&v, p + 2 * i, 2);
      out[i] = f16_to_f32 (GUINT16_FROM_LE (v));
    }
    return TRUE;
  case SINOPIA_ST_BF16:
    for (uint64_t i = 0; i < n; i++) {
      uint16_t v;
      memcpy (&v, p + 2 * i, 2);
      out[i] = bits_to_f32 ((uint32_t) GUINT16_FROM_LE (v) << 16);
    }
    return TRUE;
  case SINOPIA_ST_F8_E4M3:
    for (uint64_t i = 0; i < n; i++)
      out[i] = f8_e4m3_to_f32 (p[i]);
    return TRUE;
  case SINOPIA_ST_F8_E5M2:
    /* E5M2 is the top byte of an IEEE half. */
    for (uint64_t i = 0; i < n; i++)
      out[i] = f16_to_f32 ((uint16_t) (p[i] << 8));
    return TRUE;
  case SINOPIA_ST_F64:
    for (uint64_t i = 0; i < n; i++) {
      double v;
      memcpy (&v, p + 8 * i, 8);
      out[i] = (float) v;
    }
    return TRUE;
  case SINOPIA_ST_BOOL:
    for (uint64_t i = 0; i < n; i++)
      out[i] = p[i] != 0 ? 1.0f : 0.0f;
    return TRUE;
  case SINOPIA_ST_U8:
    for (uint64_t i = 0; i < n; i++)
      out[i] = (float) p[i];
    return TRUE;
  case SINOPIA_ST_I8:
    for (uint64_t i = 0; i < n; i++)
      out[i] = (float) (int8_t) p[i];
    return TRUE;
  case SINOPIA_ST_U16:
  case SINOPIA_ST_I16:
    for (uint64_t i = 0; i < n; i++) {
      uint16_t v;
      memcpy (&v, p + 2 * i, 2);
      v = GUINT16_FROM_LE (v);
      out[i] = t->dtype == SINOPIA_ST_I16 ? (float) (int16_t) v : (float) v;
    }
    return TRUE;
  case SINOPIA_ST_U32:
  case SINOPIA_ST_I32:
    for (uint64_t i = 0; i < n; i++) {
      uint32_t v;
      memcpy (&v, p + 4 * i, 4);
      v = GUINT32_FROM_LE (v);
      out[i] = t->dtype == SINOPIA_ST_I32 ? (float) (int32_t) v : (float) v;
    }
    return TRUE;
  case SINOPIA_ST_U64:
  case SINOPIA_ST_I64:
    for (uint64_t i = 0; i < n; i++) {
      uint64_t v;
      memcpy (&v, p + 8 * i, 8);
      v = GUINT64_FROM_LE (v);
      out[i] = t->dtype == SINOPIA_ST_I64 ? (float) (int64_t) v : (float) v;
    }
    return TRUE;
  case SINOPIA_ST_N_DTYPES:
    break;
  }
  return set_error (error, SINOPIA_SAFETENSORS_ERROR_INVALID_ARGUMENT, t->name ? t->name : "tensor",
               "read_f32: invalid dtype %d", (int) t->dtype);
}

/* ---- writer ----------------------------------------------------------------------------- */

typedef struct {
  char *name;
  SinopiaStDType dtype;
  guint n_dims;
  uint64_t shape[SINOPIA_SAFETENSORS_MAX_DIMS];
  const void *data;
  uint64_t n_bytes;
} Entry;

struct _SinopiaSafetensorsWriter {
  GArray *entries;           /* Entry, insertion order */
  GHashTable *names;         /* set of entry names (borrowed from entries) */
  GPtrArray *metadata_keys;  /* owned, insertion order */
  GHashTable *metadata;      /* key (borrowed from metadata_keys) → value (owned) */
};

static void
entry_clear (gpointer p)
{
  g_free (((Entry *) p)->name);
}

SinopiaSafetensorsWriter *
sinopia_safetensors_writer_new (void)
{
  SinopiaSafetensorsWriter *w = g_new0 (SinopiaSafetensorsWriter, 1);
  w->entries = g_array_new (FALSE, TRUE, sizeof (Entry));
  g_array_set_clear_func (w->entries, entry_clear);
  w->names = g_hash_table_new (g_str_hash, g_str_equal);
  w->metadata_keys = g_ptr_array_new_with_free_func (g_free);
  w->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  return w;
}

void
sinopia_safetensors_writer_free (SinopiaSafetensorsWriter *w)
{
  if (w == NULL)
    return;
  g_hash_table_destroy (w->names);
  g_array_free (w->entries, TRUE);
  g_hash_table_destroy (w->metadata);
  g_ptr_array_free (w->metadata_keys, TRUE);
  g_free (w);
}

G_GNUC_PRINTF (2, 3) static gboolean
invalid (GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error_literal (error, SINOPIA_SAFETENSORS_ERROR, SINOPIA_SAFETENSORS_ERROR_INVALID_ARGUMENT, msg);
  return FALSE;
}

gboolean
sinopia_safetensors_writer_add (SinopiaSafetensorsWriter *w, const char *name, SinopiaStDType dtype, guint n_dims,
                                const uint64_t *shape, const void *data, uint64_t n_bytes, GError **error)
{
  g_return_val_if_fail (w != NULL, FALSE);
  if (name == NULL || !g_utf8_validate (name, -1, NULL))
    return invalid (error, "safetensors writer: tensor name is missing or not UTF-8");
  if (strcmp (name, "__metadata__") == 0)
    return invalid (error, "safetensors writer: \"__metadata__\" is reserved, not a tensor name");
  if (g_hash_table_contains (w->names, name))
    return invalid (error, "safetensors writer: tensor \"%s\" added twice", name);
  if (sinopia_st_dtype_size (dtype) == 0)
    return invalid (error, "safetensors writer: tensor \"%s\": invalid dtype %d", name, (int) dtype);
  if (n_dims > SINOPIA_SAFETENSORS_MAX_DIMS || (n_dims > 0 && shape == NULL))
    return invalid (error, "safetensors writer: tensor \"%s\": %u dimensions (at most %d, with a shape array)",
                    name, n_dims, SINOPIA_SAFETENSORS_MAX_DIMS);
  uint64_t elements = 1, bytes = 0;
  gboolean zero = FALSE, overflow = FALSE;
  for (guint i = 0; i < n_dims; i++) {
    if (shape[i] > INT64_MAX)
      return invalid (error, "safetensors writer: tensor \"%s\": dimension %u is too large", name, i);
    zero |= shape[i] == 0;
    overflow |= !g_uint64_checked_mul (&elements, elements, shape[i]);
  }
  if (!zero && (overflow || !g_uint64_checked_mul (&bytes, elements, sinopia_st_dtype_size (dtype))))
    return invalid (error, "safetensors writer: tensor \"%s\": byte size overflows 64 bits", name);
  if (bytes != n_bytes)
    return invalid (error,
                    "safetensors writer: tensor \"%s\": shape × %s is %" G_GUINT64_FORMAT " bytes, got %" G_GUINT64_FORMAT,
                    name, sinopia_st_dtype_name (dtype), bytes, n_bytes);
  if (data == NULL && n_bytes > 0)
    return invalid (error, "safetensors writer: tensor \"%s\": no data", name);

  Entry e = { .name = g_strdup (name), .dtype = dtype, .n_dims = n_dims, .data = data, .n_bytes = n_bytes };
  for (guint i = 0; i < n_dims; i++)
    e.shape[i] = shape[i];
  g_array_append_val (w->entries, e);
  g_hash_table_add (w->names, e.name);
  return TRUE;
}

gboolean
sinopia_safetensors_writer_set_metadata (SinopiaSafetensorsWriter *w, const char *key, const char *value,
                                         GError **error)
{
  g_return_val_if_fail (w != NULL, FALSE);
  if (key == NULL || value == NULL || !g_utf8_validate (key, -1, NULL) || !g_utf8_validate (value, -1, NULL))
    return invalid (error, "safetensors writer: metadata key or value missing or not UTF-8");
  gpointer old_key;
  if (g_hash_table_lookup_extended (w->metadata, key, &old_key, NULL)) {
    g_hash_table_insert (w->metadata, old_key, g_strdup (value));
    return TRUE;
  }
  char *k = g_strdup (key);
  g_ptr_array_add (w->metadata_keys, k);
  g_hash_table_insert (w->metadata, k, g_strdup (value));
  return TRUE;
}

GBytes *
sinopia_safetensors_writer_header (SinopiaSafetensorsWriter *w, GError **error)
{
  g_return_val_if_fail (w != NULL, NULL);
  GString *json = g_string_new (NULL);
  g_string_append_len (json, "\0\0\0\0\0\0\0\0", 8);
  g_string_append_c (json, '{');
  gboolean first = TRUE;
  if (w->metadata_keys->len > 0) {
    g_string_append (json, "\"__metadata__\":{");
    for (guint i = 0; i < w->metadata_keys->len; i++) {
      const char *k = w->metadata_keys->pdata[i];
      if (i > 0)
        g_string_append_c (json, ',');
      sinopia_json_append_string (json, k, -1);
      g_string_append_c (json, ':');
      sinopia_json_append_string (json, g_hash_table_lookup (w->metadata, k), -1);
    }
    g_string_append_c (json, '}');
    first = FALSE;
  }
  uint64_t offset = 0;
  for (guint i = 0; i < w->entries->len; i++) {
    const Entry *e = &g_array_index (w->entries, Entry, i);
    uint64_t end;
    if (!g_uint64_checked_add (&end, offset, e->n_bytes) || end > INT64_MAX) {
      g_string_free (json, TRUE);
      invalid (error, "safetensors writer: total data size overflows");
      return NULL;
    }
    if (!first)
      g_string_append_c (json, ',');
    first = FALSE;
    sinopia_json_append_string (json, e->name, -1);
    g_string_append_printf (json, ":{\"dtype\":\"%s\",\"shape\":[", sinopia_st_dtype_name (e->dtype));
    for (guint d = 0; d < e->n_dims; d++)
      g_string_append_printf (json, "%s%" G_GUINT64_FORMAT, d ? "," : "", e->shape[d]);
    g_string_append_printf (json, "],\"data_offsets\":[%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT "]}", offset, end);
    offset = end;
  }
  g_string_append_c (json, '}');
  while (json->len % 8 != 0)
    g_string_append_c (json, ' ');
  uint64_t header_len = json->len - 8;
  if (header_len > SINOPIA_SAFETENSORS_MAX_HEADER) {
    g_string_free (json, TRUE);
    invalid (error, "safetensors writer: header of %" G_GUINT64_FORMAT " bytes exceeds the limit of %u",
             header_len, SINOPIA_SAFETENSORS_MAX_HEADER);
    return NULL;
  }
  for (int i = 0; i < 8; i++)
    json->str[i] = (char) ((header_len >> (8 * i)) & 0xff);
  gsize len = json->len;
  return g_bytes_new_take (g_string_free (json, FALSE), len);
}

static gboolean
write_all (int fd, const void *data, uint64_t n)
{
  const uint8_t *p = data;
  while (n > 0) {
    /* Linux writes at most ~2 GiB per call. */
    size_t chunk = (size_t) MIN (n, (uint64_t) 1 << 30);
    ssize_t done = write (fd, p, chunk);
    if (done < 0) {
      if (errno == EINTR)
        continue;
      return FALSE;
    }
    p += done;
    n -= (uint64_t) done;
  }
  return TRUE;
}

static gboolean
io_error (GError **error, const char *shown, const char *what, int err)
{
  g_set_error (error, SINOPIA_SAFETENSORS_ERROR, SINOPIA_SAFETENSORS_ERROR_IO, "%s: %s: %s", shown, what,
               g_strerror (err));
  return FALSE;
}

gboolean
sinopia_safetensors_writer_write (SinopiaSafetensorsWriter *w, const char *path, GError **error)
{
  g_return_val_if_fail (w != NULL && path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_autoptr (GBytes) header = sinopia_safetensors_writer_header (w, error);
  if (header == NULL)
    return FALSE;
  g_autofree char *shown = g_filename_display_name (path);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *tmp_base = g_strdup_printf (".%s.XXXXXX", base);
  g_autofree char *tmp = g_build_filename (dir, tmp_base, NULL);

  int fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0666);
  if (fd < 0)
    return io_error (error, shown, "cannot create a temporary file next to it", errno);

  gsize header_len;
  const void *header_data = g_bytes_get_data (header, &header_len);
  gboolean ok = write_all (fd, header_data, header_len);
  for (guint i = 0; ok && i < w->entries->len; i++) {
    const Entry *e = &g_array_index (w->entries, Entry, i);
    ok = write_all (fd, e->data, e->n_bytes);
  }
  if (!ok) {
    int err = errno;
    close (fd);
    g_unlink (tmp);
    return io_error (error, shown, "write failed", err);
  }
  if (fsync (fd) != 0) {
    int err = errno;
    close (fd);
    g_unlink (tmp);
    return io_error (error, shown, "fsync failed", err);
  }
  if (close (fd) != 0) {
    int err = errno;
    g_unlink (tmp);
    return io_error (error, shown, "close failed", err);
  }
  if (g_rename (tmp, path) != 0) {
    int err = errno;
    g_unlink (tmp);
    return io_error (error, shown, "cannot rename the temporary file over it", err);
  }
  /* The rename itself is durable only once the folder is synced. */
  int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync (dfd);
    close (dfd);
  }
  return TRUE;
}

const SinopiaTensorInfo *
sinopia_safetensors_find_suffix (const SinopiaSafetensors *st, const char *suffix, char **prefix)
{
  if (*prefix) {
    g_autofree char *name = g_strconcat (*prefix, suffix, NULL);
    return sinopia_safetensors_lookup (st, name);
  }
  gsize n = sinopia_safetensors_n_tensors (st), slen = strlen (suffix);
  for (gsize i = 0; i < n; i++) {
    const SinopiaTensorInfo *t = sinopia_safetensors_tensor (st, i);
    gsize len = strlen (t->name);
    if (len >= slen && strcmp (t->name + len - slen, suffix) == 0 &&
        (len == slen || t->name[len - slen - 1] == '.')) {
      *prefix = g_strndup (t->name, len - slen);
      return t;
    }
  }
  return NULL;
}

uint32_t
sinopia_safetensors_count_indices (const SinopiaSafetensors *st, const char *prefix, const char *stem)
{
  g_autofree char *head = g_strconcat (prefix, stem, ".", NULL);
  gsize hl = strlen (head), n = sinopia_safetensors_n_tensors (st);
  uint32_t count = 0;
  for (gsize i = 0; i < n; i++) {
    const char *name = sinopia_safetensors_tensor (st, i)->name;
    if (strncmp (name, head, hl) != 0 || !g_ascii_isdigit (name[hl]))
      continue;
    guint64 idx = g_ascii_strtoull (name + hl, NULL, 10);
    if (idx < 100000)
      count = MAX (count, (uint32_t) idx + 1);
  }
  return count;
}
