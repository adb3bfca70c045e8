/* libFuzzer target: the JSON parser on arbitrary bytes, then every accessor on the tree. */
#define G_LOG_DOMAIN "sinopia-fuzz"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sinopia-json.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Visits every node; re-serialises strings and checks they parse back to the same bytes. */
static void
walk (const SinopiaJsonNode *n, guint depth)
{
  g_assert (depth <= SINOPIA_JSON_MAX_DEPTH);
  int64_t i;
  double d;
  gboolean b;
  gsize len;
  switch (sinopia_json_type (n)) {
  case SINOPIA_JSON_NUMBER:
    g_assert (sinopia_json_as_double (n, &d, NULL));
    if (sinopia_json_as_int64 (n, INT64_MIN, INT64_MAX, &i, NULL))
      g_assert (sinopia_json_as_int64 (n, i, i, &i, NULL));
    break;
  case SINOPIA_JSON_BOOL:
    g_assert (sinopia_json_as_bool (n, &b, NULL));
    break;
  case SINOPIA_JSON_STRING: {
    const char *s = sinopia_json_as_string (n, &len);
    g_assert (s != NULL && s[len] == '\0' && g_utf8_validate_len (s, len, NULL) == (strlen (s) == len));
    GString *out = g_string_new (NULL);
    sinopia_json_append_string (out, s, (gssize) len);
    SinopiaJson *back = sinopia_json_parse (out->str, out->len, NULL);
    gsize back_len;
    const char *bs = sinopia_json_as_string (sinopia_json_root (back), &back_len);
    g_assert (bs != NULL && back_len == len && memcmp (bs, s, len) == 0);
    sinopia_json_free (back);
    g_string_free (out, TRUE);
    break;
  }
  case SINOPIA_JSON_ARRAY:
    for (gsize k = 0; k < sinopia_json_length (n); k++)
      walk (sinopia_json_array_get (n, k), depth + 1);
    g_assert (sinopia_json_array_get (n, sinopia_json_length (n)) == NULL);
    break;
  case SINOPIA_JSON_OBJECT:
    for (gsize k = 0; k < sinopia_json_length (n); k++) {
      gsize key_len;
      const char *key = sinopia_json_object_key (n, k, &key_len);
      const SinopiaJsonNode *v = sinopia_json_object_value (n, k);
      /* Lookup by C string finds this member unless the key holds a NUL. */
      if (strlen (key) == key_len)
        g_assert (sinopia_json_object_get (n, key) == v);
      walk (v, depth + 1);
    }
    break;
  case SINOPIA_JSON_NULL:
    break;
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  SinopiaJson *doc = sinopia_json_parse ((const char *) data, size, &error);
  if (doc == NULL) {
    g_assert (error != NULL && g_str_has_prefix (error->message, "byte "));
    g_error_free (error);
    return 0;
  }
  g_assert (error == NULL);
  walk (sinopia_json_root (doc), 0);
  sinopia_json_free (doc);
  return 0;
}
