/* JSON parser and safetensors reader/writer: round trips, golden files, malformed inputs. */
#define G_LOG_DOMAIN "sinopia-test"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "sinopia-json.h"
#include "sinopia-safetensors.h"

/* ---- JSON ---------------------------------------------------------------------------------- */

/* Parses from an exact-size heap copy, so a read past `len` is caught by AddressSanitizer. */
static SinopiaJson *
parse_exact (const char *text, gsize len, GError **error)
{
  g_autofree char *copy = g_memdup2 (text, len);
  return sinopia_json_parse (copy, len, error);
}

static SinopiaJson *
parse_ok (const char *text)
{
  g_autoptr (GError) error = NULL;
  SinopiaJson *doc = parse_exact (text, strlen (text), &error);
  g_assert_no_error (error);
  g_assert_nonnull (doc);
  return doc;
}

static void
parse_bad (const char *text, gsize len, SinopiaJsonErrorCode code, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaJson) doc = parse_exact (text, len, &error);
  g_assert_null (doc);
  g_assert_error (error, SINOPIA_JSON_ERROR, (gint) code);
  g_assert_true (g_str_has_prefix (error->message, "byte "));
  if (strstr (error->message, needle) == NULL)
    g_error ("JSON %.*s: error \"%s\" lacks \"%s\"", (int) MIN (len, (gsize) 60), text, error->message, needle);
}

static void
test_json_values (void)
{
  g_autoptr (SinopiaJson) doc = parse_ok (" {\"a\": [1, -2, 3.5, true, false, null, \"x\"], \"b\": {\"c\": \"d\"}, \"\": 0}\n");
  const SinopiaJsonNode *root = sinopia_json_root (doc);
  g_assert_cmpint (sinopia_json_type (root), ==, SINOPIA_JSON_OBJECT);
  g_assert_cmpuint (sinopia_json_offset (root), ==, 1);
  g_assert_cmpuint (sinopia_json_length (root), ==, 3);
  g_assert_cmpstr (sinopia_json_object_key (root, 0, NULL), ==, "a");
  g_assert_cmpstr (sinopia_json_object_key (root, 1, NULL), ==, "b");
  g_assert_cmpstr (sinopia_json_object_key (root, 2, NULL), ==, "");
  g_assert_null (sinopia_json_object_key (root, 3, NULL));
  g_assert_true (sinopia_json_object_value (root, 2) == sinopia_json_object_get (root, ""));

  const SinopiaJsonNode *a = sinopia_json_object_get (root, "a");
  g_assert_cmpint (sinopia_json_type (a), ==, SINOPIA_JSON_ARRAY);
  g_assert_cmpuint (sinopia_json_length (a), ==, 7);
  int64_t i;
  double d;
  gboolean b;
  g_assert_true (sinopia_json_as_int64 (sinopia_json_array_get (a, 0), 0, 10, &i, NULL));
  g_assert_cmpint (i, ==, 1);
  g_assert_true (sinopia_json_as_int64 (sinopia_json_array_get (a, 1), INT64_MIN, 0, &i, NULL));
  g_assert_cmpint (i, ==, -2);
  g_assert_true (sinopia_json_as_double (sinopia_json_array_get (a, 2), &d, NULL));
  g_assert_cmpfloat (d, ==, 3.5);
  g_assert_true (sinopia_json_as_bool (sinopia_json_array_get (a, 3), &b, NULL) && b);
  g_assert_true (sinopia_json_as_bool (sinopia_json_array_get (a, 4), &b, NULL) && !b);
  g_assert_cmpint (sinopia_json_type (sinopia_json_array_get (a, 5)), ==, SINOPIA_JSON_NULL);
  g_assert_cmpstr (sinopia_json_type_phrase (sinopia_json_array_get (a, 5)), ==, "null");
  g_assert_cmpstr (sinopia_json_as_string (sinopia_json_array_get (a, 6), NULL), ==, "x");
  g_assert_null (sinopia_json_array_get (a, 7));
  g_assert_null (sinopia_json_as_string (sinopia_json_array_get (a, 0), NULL));
  g_assert_cmpstr (sinopia_json_as_string (sinopia_json_object_get (sinopia_json_object_get (root, "b"), "c"), NULL),
                   ==, "d");
  g_assert_null (sinopia_json_object_get (root, "missing"));
  g_assert_null (sinopia_json_object_get (a, "a"));
  g_assert_null (sinopia_json_array_get (sinopia_json_object_get (root, "nope"), 0));

  g_autoptr (GError) error = NULL;
  g_assert_false (sinopia_json_as_int64 (sinopia_json_array_get (a, 6), 0, 1, &i, &error));
  g_assert_error (error, SINOPIA_JSON_ERROR, SINOPIA_JSON_ERROR_TYPE);
  g_clear_error (&error);
  g_assert_false (sinopia_json_as_double (NULL, &d, &error));
  g_assert_error (error, SINOPIA_JSON_ERROR, SINOPIA_JSON_ERROR_TYPE);

  /* Scalars are valid documents, and only `len` bytes are read. */
  g_autoptr (SinopiaJson) scalar = parse_exact ("42garbage", 2, NULL);
  g_assert_true (sinopia_json_as_int64 (sinopia_json_root (scalar), 0, 100, &i, NULL));
  g_assert_cmpint (i, ==, 42);
}

static void
test_json_strings (void)
{
  g_autoptr (SinopiaJson) doc =
    parse_ok ("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\", \"\\u00e9\\u20AC\", \"\\ud83d\\uDE00\", \"a\\u0000b\", \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]");
  const SinopiaJsonNode *root = sinopia_json_root (doc);
  gsize len;
  g_assert_cmpstr (sinopia_json_as_string (sinopia_json_array_get (root, 0), NULL), ==, "\"\\/\b\f\n\r\t");
  g_assert_cmpstr (sinopia_json_as_string (sinopia_json_array_get (root, 1), NULL), ==, "\xc3\xa9\xe2\x82\xac");
  g_assert_cmpstr (sinopia_json_as_string (sinopia_json_array_get (root, 2), NULL), ==, "\xf0\x9f\x98\x80");
  const char *nul = sinopia_json_as_string (sinopia_json_array_get (root, 3), &len);
  g_assert_cmpuint (len, ==, 3);
  g_assert_true (memcmp (nul, "a\0b", 4) == 0);
  g_assert_cmpstr (sinopia_json_as_string (sinopia_json_array_get (root, 4), NULL), ==,
                   "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");

#define BAD(text, code, needle) parse_bad (text, sizeof (text) - 1, code, needle)
  BAD ("\"\\ud800\"", SINOPIA_JSON_ERROR_SYNTAX, "high surrogate \\uD800 not followed by a low one");
  BAD ("\"\\ud800\\u0041\"", SINOPIA_JSON_ERROR_SYNTAX, "not followed by a low one");
  BAD ("\"\\ud800\\ud800\"", SINOPIA_JSON_ERROR_SYNTAX, "not followed by a low one");
  BAD ("\"\\udc00\"", SINOPIA_JSON_ERROR_SYNTAX, "lone low surrogate");
  BAD ("\"\\x\"", SINOPIA_JSON_ERROR_SYNTAX, "invalid escape \\'x'");
  BAD ("\"\\u12\"", SINOPIA_JSON_ERROR_SYNTAX, "byte 1: \\u escape needs 4 hex digits");
  BAD ("\"\\u12", SINOPIA_JSON_ERROR_SYNTAX, "byte 0: unterminated string");
  BAD ("\"ab\ncd\"", SINOPIA_JSON_ERROR_SYNTAX, "byte 3: control character 0x0a");
  BAD ("\"ab", SINOPIA_JSON_ERROR_SYNTAX, "unterminated string");
  BAD ("\"\\", SINOPIA_JSON_ERROR_SYNTAX, "unterminated string");
  BAD ("\"\xff\"", SINOPIA_JSON_ERROR_SYNTAX, "byte 1: invalid UTF-8");
  BAD ("\"\xc0\x80\"", SINOPIA_JSON_ERROR_SYNTAX, "invalid UTF-8");     /* overlong NUL */
  BAD ("\"\xed\xa0\x80\"", SINOPIA_JSON_ERROR_SYNTAX, "invalid UTF-8"); /* encoded surrogate */
  BAD ("\"\xf4\x90\x80\x80\"", SINOPIA_JSON_ERROR_SYNTAX, "invalid UTF-8"); /* above U+10FFFF */
  BAD ("\"\xe2\x82\"", SINOPIA_JSON_ERROR_SYNTAX, "invalid UTF-8");
  BAD ("\"\xe2\x82", SINOPIA_JSON_ERROR_SYNTAX, "invalid UTF-8");
  BAD ("\"a\0b\"", SINOPIA_JSON_ERROR_SYNTAX, "byte 2: control character 0x00");
  BAD ("{'a': 1}", SINOPIA_JSON_ERROR_SYNTAX, "byte 1: expected a string key, found '''");
#undef BAD

  /* The writer helper's output parses back to the same bytes. */
  char all[256];
  for (int c = 1; c < 128; c++)
    all[c - 1] = (char) c;
  strcpy (all + 127, "\xc3\xa9\xf0\x9f\x98\x80");
  g_autoptr (GString) out = g_string_new (NULL);
  sinopia_json_append_string (out, all, -1);
  g_assert_null (strchr (out->str, '\n'));
  g_autoptr (SinopiaJson) back = parse_ok (out->str);
  g_assert_cmpstr (sinopia_json_as_string (sinopia_json_root (back), NULL), ==, all);
  g_string_truncate (out, 0);
  sinopia_json_append_string (out, "a\0\"", 3);
  g_assert_cmpstr (out->str, ==, "\"a\\u0000\\\"\"");
}

static void
test_json_numbers (void)
{
  g_autoptr (SinopiaJson) doc = parse_ok ("[9223372036854775807, -9223372036854775808, 9223372036854775808, -0, 0, "
                                          "1.5, 1e2, 3.0, -1.25E-3, 1e-400, 123456789012345678901234567890]");
  const SinopiaJsonNode *root = sinopia_json_root (doc);
  int64_t i;
  double d;
  g_autoptr (GError) error = NULL;

  g_assert_true (sinopia_json_as_int64 (sinopia_json_array_get (root, 0), INT64_MIN, INT64_MAX, &i, NULL));
  g_assert_cmpint (i, ==, INT64_MAX);
  g_assert_true (sinopia_json_as_int64 (sinopia_json_array_get (root, 1), INT64_MIN, INT64_MAX, &i, NULL));
  g_assert_cmpint (i, ==, INT64_MIN);
  g_assert_false (sinopia_json_as_int64 (sinopia_json_array_get (root, 2), INT64_MIN, INT64_MAX, &i, &error));
  g_assert_error (error, SINOPIA_JSON_ERROR, SINOPIA_JSON_ERROR_RANGE);
  g_clear_error (&error);
  g_assert_true (sinopia_json_as_double (sinopia_json_array_get (root, 2), &d, NULL));
  g_assert_cmpfloat (d, ==, 9223372036854775808.0);
  g_assert_true (sinopia_json_as_int64 (sinopia_json_array_get (root, 3), 0, 0, &i, NULL));
  g_assert_cmpint (i, ==, 0);
  g_assert_true (sinopia_json_as_double (sinopia_json_array_get (root, 3), &d, NULL));
  g_assert_true (d == 0.0 && signbit (d));
  g_assert_false (sinopia_json_as_int64 (sinopia_json_array_get (root, 4), 1, 10, &i, &error));
  g_assert_error (error, SINOPIA_JSON_ERROR, SINOPIA_JSON_ERROR_RANGE);
  g_assert_nonnull (strstr (error->message, "0 is outside [1, 10]"));
  g_clear_error (&error);
  for (guint k = 5; k <= 8; k++) {
    g_assert_false (sinopia_json_as_int64 (sinopia_json_array_get (root, k), INT64_MIN, INT64_MAX, &i, &error));
    g_assert_error (error, SINOPIA_JSON_ERROR, SINOPIA_JSON_ERROR_TYPE);
    g_clear_error (&error);
  }
  g_assert_true (sinopia_json_as_double (sinopia_json_array_get (root, 6), &d, NULL));
  g_assert_cmpfloat (d, ==, 100.0);
  g_assert_true (sinopia_json_as_double (sinopia_json_array_get (root, 8), &d, NULL));
  g_assert_cmpfloat (d, ==, -1.25e-3);
  g_assert_true (sinopia_json_as_double (sinopia_json_array_get (root, 9), &d, NULL));
  g_assert_cmpfloat (d, ==, 0.0);
  g_assert_false (sinopia_json_as_int64 (sinopia_json_array_get (root, 10), INT64_MIN, INT64_MAX, &i, &error));
  g_assert_error (error, SINOPIA_JSON_ERROR, SINOPIA_JSON_ERROR_RANGE);
  g_clear_error (&error);
  g_assert_true (sinopia_json_as_double (sinopia_json_array_get (root, 10), &d, NULL));
  g_assert_cmpfloat (fabs (d / 1.2345678901234568e29 - 1.0), <, 1e-15);

#define BAD(text, code, needle) parse_bad (text, sizeof (text) - 1, code, needle)
  BAD ("1e400", SINOPIA_JSON_ERROR_NUMBER, "out of the range of a double");
  BAD ("[0, -1e999]", SINOPIA_JSON_ERROR_NUMBER, "byte 4: number -1e999");
  BAD ("01", SINOPIA_JSON_ERROR_SYNTAX, "byte 1: leading zeros");
  BAD ("-01", SINOPIA_JSON_ERROR_SYNTAX, "leading zeros");
  BAD ("1.", SINOPIA_JSON_ERROR_SYNTAX, "a digit after '.'");
  BAD (".5", SINOPIA_JSON_ERROR_SYNTAX, "expected a JSON value");
  BAD ("-", SINOPIA_JSON_ERROR_SYNTAX, "expected a digit, found end of input");
  BAD ("+1", SINOPIA_JSON_ERROR_SYNTAX, "expected a JSON value");
  BAD ("1e", SINOPIA_JSON_ERROR_SYNTAX, "a digit in the exponent");
  BAD ("1e+", SINOPIA_JSON_ERROR_SYNTAX, "a digit in the exponent");
  BAD ("0x10", SINOPIA_JSON_ERROR_SYNTAX, "end of input after the JSON value");
  BAD ("NaN", SINOPIA_JSON_ERROR_SYNTAX, "expected a JSON value");
  BAD ("Infinity", SINOPIA_JSON_ERROR_SYNTAX, "expected a JSON value");
  BAD ("-Infinity", SINOPIA_JSON_ERROR_SYNTAX, "expected a digit");
#undef BAD
}

static void
test_json_structure (void)
{
#define BAD(text, code, needle) parse_bad (text, sizeof (text) - 1, code, needle)
  BAD ("", SINOPIA_JSON_ERROR_SYNTAX, "byte 0: expected a JSON value, found end of input");
  BAD (" \n\t", SINOPIA_JSON_ERROR_SYNTAX, "byte 3: expected a JSON value");
  BAD ("\xef\xbb\xbf{}", SINOPIA_JSON_ERROR_SYNTAX, "byte 0: expected a JSON value, found byte 0xef");
  BAD ("{} x", SINOPIA_JSON_ERROR_SYNTAX, "byte 3: expected end of input after the JSON value, found 'x'");
  BAD ("{}{}", SINOPIA_JSON_ERROR_SYNTAX, "byte 2: expected end of input");
  BAD ("{\"a\":1,}", SINOPIA_JSON_ERROR_SYNTAX, "byte 7: expected a string key");
  BAD ("[1,]", SINOPIA_JSON_ERROR_SYNTAX, "byte 3: expected a JSON value");
  BAD ("[1 2]", SINOPIA_JSON_ERROR_SYNTAX, "byte 3: expected ',' or ']'");
  BAD ("{\"a\" 1}", SINOPIA_JSON_ERROR_SYNTAX, "byte 5: expected ':'");
  BAD ("{\"a\":1 \"b\":2}", SINOPIA_JSON_ERROR_SYNTAX, "expected ',' or '}'");
  BAD ("{\"a\": tru}", SINOPIA_JSON_ERROR_SYNTAX, "byte 6: expected a JSON value");
  BAD ("[nul", SINOPIA_JSON_ERROR_SYNTAX, "byte 1");
  BAD ("[1", SINOPIA_JSON_ERROR_SYNTAX, "byte 2: expected ',' or ']', found end of input");
  BAD ("/* c */ 1", SINOPIA_JSON_ERROR_SYNTAX, "byte 0");
  BAD ("{\"a\":1,\"a\":2}", SINOPIA_JSON_ERROR_DUPLICATE_KEY, "byte 7: duplicate key \"a\" (first at byte 1)");
  BAD ("{\"k0\":0,\"k1\":0,\"k2\":0,\"k3\":0,\"k4\":0,\"k5\":0,\"k6\":0,\"k7\":0,\"k8\":0,\"k9\":0,\"k3\":1}",
       SINOPIA_JSON_ERROR_DUPLICATE_KEY, "duplicate key \"k3\" (first at byte 22)");
  BAD ("{\"a\\u0000\":1,\"a\\u0000\":2}", SINOPIA_JSON_ERROR_DUPLICATE_KEY, "duplicate key");
#undef BAD
  /* Keys that differ only after an embedded NUL are different keys. */
  g_autoptr (SinopiaJson) nul_keys = parse_ok ("{\"a\\u0000x\":1,\"a\\u0000y\":2,\"a\":3}");
  g_assert_cmpuint (sinopia_json_length (sinopia_json_root (nul_keys)), ==, 3);
  int64_t v;
  g_assert_true (sinopia_json_get_int64 (sinopia_json_root (nul_keys), "a", 0, 9, &v, NULL));
  g_assert_cmpint (v, ==, 3);

  /* Nesting: SINOPIA_JSON_MAX_DEPTH levels parse, one more does not. */
  for (int extra = 0; extra <= 1; extra++) {
    int depth = SINOPIA_JSON_MAX_DEPTH + extra;
    GString *s = g_string_new (NULL);
    for (int k = 0; k < depth; k++)
      g_string_append (s, k % 2 ? "{\"k\":" : "[");
    g_string_append (s, "1");
    for (int k = depth - 1; k >= 0; k--)
      g_string_append (s, k % 2 ? "}" : "]");
    g_autoptr (GError) error = NULL;
    g_autoptr (SinopiaJson) doc = parse_exact (s->str, s->len, &error);
    if (extra == 0) {
      g_assert_no_error (error);
    } else {
      g_assert_null (doc);
      g_assert_error (error, SINOPIA_JSON_ERROR, SINOPIA_JSON_ERROR_DEPTH);
      g_assert_nonnull (strstr (error->message, "nesting deeper than 64 levels"));
    }
    g_string_free (s, TRUE);
  }
  /* A deep unterminated prefix fails on depth, not on the stack. */
  g_autofree char *deep = g_strnfill (100000, '[');
  parse_bad (deep, 100000, SINOPIA_JSON_ERROR_DEPTH, "byte 64: nesting");

  /* A large object: every key found through the sorted index. */
  GString *big = g_string_new ("{");
  for (int k = 0; k < 1000; k++)
    g_string_append_printf (big, "%s\"key%d\":%d", k ? "," : "", (k * 7919) % 1000, k);
  g_string_append (big, "}");
  g_autoptr (SinopiaJson) doc = parse_ok (big->str);
  g_string_free (big, TRUE);
  const SinopiaJsonNode *root = sinopia_json_root (doc);
  g_assert_cmpuint (sinopia_json_length (root), ==, 1000);
  for (int k = 0; k < 1000; k++) {
    char key[16];
    g_snprintf (key, sizeof key, "key%d", (k * 7919) % 1000);
    g_assert_true (sinopia_json_as_int64 (sinopia_json_object_get (root, key), 0, 999, &v, NULL));
    g_assert_cmpint (v, ==, k);
    g_assert_cmpstr (sinopia_json_object_key (root, (gsize) k, NULL), ==, key);
  }
  g_assert_null (sinopia_json_object_get (root, "key1000"));
  g_assert_null (sinopia_json_object_get (root, "key"));
  g_assert_null (sinopia_json_object_get (root, "key99x"));
}

static void
test_json_getters (void)
{
  g_autoptr (SinopiaJson) doc =
    parse_ok ("{\"hidden\": 3072, \"ratio\": 4.0, \"bias\": true, \"name\": \"flux\", \"nul\": \"a\\u0000\", \"neg\": -1}");
  const SinopiaJsonNode *root = sinopia_json_root (doc);
  int64_t i;
  double d;
  gboolean b;
  g_autoptr (GError) error = NULL;
  g_assert_true (sinopia_json_get_int64 (root, "hidden", 1, 1 << 20, &i, &error));
  g_assert_cmpint (i, ==, 3072);
  g_assert_true (sinopia_json_get_double (root, "ratio", &d, &error));
  g_assert_cmpfloat (d, ==, 4.0);
  g_assert_true (sinopia_json_get_double (root, "hidden", &d, &error));
  g_assert_cmpfloat (d, ==, 3072.0);
  g_assert_true (sinopia_json_get_bool (root, "bias", &b, &error) && b);
  g_assert_cmpstr (sinopia_json_get_string (root, "name", &error), ==, "flux");
  g_assert_no_error (error);

  g_assert_false (sinopia_json_get_int64 (root, "depth", 0, 100, &i, &error));
  g_assert_error (error, SINOPIA_JSON_ERROR, SINOPIA_JSON_ERROR_MISSING);
  g_assert_nonnull (strstr (error->message, "no member \"depth\""));
  g_clear_error (&error);
  g_assert_false (sinopia_json_get_int64 (root, "ratio", 0, 100, &i, &error));
  g_assert_error (error, SINOPIA_JSON_ERROR, SINOPIA_JSON_ERROR_TYPE);
  g_assert_nonnull (strstr (error->message, "\"ratio\" 4 is not an integer"));
  g_clear_error (&error);
  g_assert_false (sinopia_json_get_int64 (root, "neg", 0, 100, &i, &error));
  g_assert_error (error, SINOPIA_JSON_ERROR, SINOPIA_JSON_ERROR_RANGE);
  g_assert_nonnull (strstr (error->message, "\"neg\" -1 is outside [0, 100]"));
  g_clear_error (&error);
  g_assert_false (sinopia_json_get_bool (root, "name", &b, &error));
  g_assert_error (error, SINOPIA_JSON_ERROR, SINOPIA_JSON_ERROR_TYPE);
  g_assert_nonnull (strstr (error->message, "\"name\" is a string, expected true or false"));
  g_clear_error (&error);
  g_assert_null (sinopia_json_get_string (root, "nul", &error));
  g_assert_error (error, SINOPIA_JSON_ERROR, SINOPIA_JSON_ERROR_TYPE);
  g_clear_error (&error);
  g_assert_null (sinopia_json_get_string (root, "hidden", &error));
  g_assert_error (error, SINOPIA_JSON_ERROR, SINOPIA_JSON_ERROR_TYPE);
  g_clear_error (&error);
  g_assert_false (sinopia_json_get_double (sinopia_json_object_get (root, "name"), "x", &d, &error));
  g_assert_error (error, SINOPIA_JSON_ERROR, SINOPIA_JSON_ERROR_TYPE);
  g_assert_nonnull (strstr (error->message, "looking up \"x\" in a string"));
}

/* ---- safetensors helpers ------------------------------------------------------------------- */

static char *
tmp_dir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("sinopia-st-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

static void
rm_dir (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (d);
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL) {
    g_autofree char *p = g_build_filename (dir, name, NULL);
    g_assert_cmpint (g_unlink (p), ==, 0);
  }
  g_dir_close (d);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static guint
count_files (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  guint n = 0;
  while (g_dir_read_name (d) != NULL)
    n++;
  g_dir_close (d);
  return n;
}

/* A file image: u64 header length, `json`, then `data_len` bytes 0, 1, 2, ... */
static GByteArray *
make_file (const char *json, gsize data_len)
{
  GByteArray *b = g_byte_array_new ();
  uint64_t n = strlen (json);
  for (int i = 0; i < 8; i++) {
    guint8 c = (guint8) (n >> (8 * i));
    g_byte_array_append (b, &c, 1);
  }
  g_byte_array_append (b, (const guint8 *) json, (guint) n);
  for (gsize i = 0; i < data_len; i++) {
    guint8 c = (guint8) i;
    g_byte_array_append (b, &c, 1);
  }
  return b;
}

static SinopiaSafetensors *
parse_bytes (const guint8 *data, gsize len, GError **error)
{
  return sinopia_safetensors_parse_header (data, len, "bad.safetensors", error);
}

static void
check_error (const GError *error, SinopiaSafetensorsErrorCode code, const char *needle, const char *what)
{
  g_assert_nonnull (error);
  g_test_message ("%s -> %s", what, error->message);
  g_assert_error (error, SINOPIA_SAFETENSORS_ERROR, (gint) code);
  g_assert_true (g_str_has_prefix (error->message, "bad.safetensors: "));
  if (strstr (error->message, needle) == NULL)
    g_error ("%s: error \"%s\" lacks \"%s\"", what, error->message, needle);
}

static void
expect_bad_bytes (const guint8 *data, gsize len, SinopiaSafetensorsErrorCode code, const char *needle,
                  const char *what)
{
  g_autoptr (GError) error = NULL;
  /* Exact-size heap copy: AddressSanitizer sees any read outside it. */
  g_autofree guint8 *copy = len ? g_memdup2 (data, len) : NULL;
  g_autoptr (SinopiaSafetensors) st = parse_bytes (copy, len, &error);
  g_assert_null (st);
  check_error (error, code, needle, what);
}

static void
expect_bad (const char *json, gsize data_len, SinopiaSafetensorsErrorCode code, const char *needle)
{
  GByteArray *b = make_file (json, data_len);
  expect_bad_bytes (b->data, b->len, code, needle, json);
  g_byte_array_unref (b);
}

/* ---- safetensors ------------------------------------------------------------------------- */

typedef struct {
  SinopiaStDType dtype;
  guint8 bytes[16]; /* two little-endian elements */
  float want[2];
} DTypeCase;

static void
test_roundtrip (void)
{
  const float inf = INFINITY;
  static const DTypeCase cases[] = {
    { SINOPIA_ST_BOOL, { 1, 0 }, { 1.0f, 0.0f } },
    { SINOPIA_ST_U8, { 255, 7 }, { 255.0f, 7.0f } },
    { SINOPIA_ST_I8, { 0x80, 0x7f }, { -128.0f, 127.0f } },
    { SINOPIA_ST_U16, { 0xff, 0xff, 1, 0 }, { 65535.0f, 1.0f } },
    { SINOPIA_ST_I16, { 0x00, 0x80, 0xfe, 0xff }, { -32768.0f, -2.0f } },
    { SINOPIA_ST_F16, { 0x00, 0x3c, 0x00, 0xc0 }, { 1.0f, -2.0f } },
    { SINOPIA_ST_BF16, { 0x80, 0x3f, 0x40, 0xc0 }, { 1.0f, -3.0f } },
    { SINOPIA_ST_U32, { 0xff, 0xff, 0xff, 0xff, 5, 0, 0, 0 }, { 4294967295.0f, 5.0f } },
    { SINOPIA_ST_I32, { 0xfb, 0xff, 0xff, 0xff, 0, 0, 0, 0x80 }, { -5.0f, -2147483648.0f } },
    { SINOPIA_ST_F32, { 0, 0, 0xc0, 0x3f, 0, 0, 0x80, 0x7f }, { 1.5f, INFINITY } },
    { SINOPIA_ST_U64, { 0, 0, 0, 0, 0, 0, 0, 0x80, 3 }, { 9223372036854775808.0f, 3.0f } },
    { SINOPIA_ST_I64, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1 }, { -1.0f, 4294967296.0f } },
    { SINOPIA_ST_F64, { 0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f, 0, 0, 0, 0, 0, 0, 0xf0, 0xbf },
      { 0.1f, -1.0f } },
    { SINOPIA_ST_F8_E4M3, { 0x38, 0xfe }, { 1.0f, -448.0f } },
    { SINOPIA_ST_F8_E5M2, { 0x3c, 0x7c }, { 1.0f, INFINITY } },
  };
  g_autofree char *dir = tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "round trip.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaSafetensorsWriter) w = sinopia_safetensors_writer_new ();

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *name = g_strdup_printf ("t%u.%s", i, sinopia_st_dtype_name (cases[i].dtype));
    uint64_t shape[2] = { 2, 1 };
    g_assert_true (sinopia_safetensors_writer_add (w, name, cases[i].dtype, 2, shape, cases[i].bytes,
                                                   2 * sinopia_st_dtype_size (cases[i].dtype), &error));
    g_assert_no_error (error);
  }
  /* Special values: subnormals, NaN, and names/metadata that need escaping. */
  static const guint8 f16_special[] = { 0x01, 0x00, 0x00, 0x7c, 0x01, 0x7c, 0x00, 0x80 };
  static const guint8 e4m3_special[] = { 0x01, 0x7f, 0x7e, 0x08, 0xff, 0x80 };
  static const guint8 bf16_special[] = { 0x01, 0x00, 0xc1, 0x7f };
  uint64_t n4 = 4, n6 = 6, n2 = 2;
  g_assert_true (sinopia_safetensors_writer_add (w, "f16 \"special\"\n", SINOPIA_ST_F16, 1, &n4, f16_special, 8,
                                                 &error));
  g_assert_true (sinopia_safetensors_writer_add (w, "e4m3\\special", SINOPIA_ST_F8_E4M3, 1, &n6, e4m3_special, 6,
                                                 &error));
  g_assert_true (sinopia_safetensors_writer_add (w, "bf16.\xc3\xa9", SINOPIA_ST_BF16, 1, &n2, bf16_special, 4,
                                                 &error));
  /* A scalar and an empty tensor. */
  static const float scalar = 42.0f;
  uint64_t empty_shape[3] = { 4, 0, 3 };
  g_assert_true (sinopia_safetensors_writer_add (w, "scalar", SINOPIA_ST_F32, 0, NULL, &scalar, 4, &error));
  g_assert_true (sinopia_safetensors_writer_add (w, "empty", SINOPIA_ST_F32, 3, empty_shape, NULL, 0, &error));
  g_assert_true (sinopia_safetensors_writer_set_metadata (w, "flux_params", "{\"hidden_size\": 64}", &error));
  g_assert_true (sinopia_safetensors_writer_set_metadata (w, "note", "first", &error));
  g_assert_true (sinopia_safetensors_writer_set_metadata (w, "q\"uote", "tab\there \xe2\x82\xac", &error));
  g_assert_true (sinopia_safetensors_writer_set_metadata (w, "note", "replaced", &error));
  g_assert_no_error (error);
  g_assert_true (sinopia_safetensors_writer_write (w, path, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_files (dir), ==, 1);

  g_autoptr (SinopiaSafetensors) st = sinopia_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sinopia_safetensors_name (st), ==, path);
  g_assert_cmpuint (sinopia_safetensors_n_tensors (st), ==, G_N_ELEMENTS (cases) + 5);

  /* Layout: header padded to 8, tensors back to back in insertion order. */
  g_autofree char *contents = NULL;
  gsize file_len;
  g_assert_true (g_file_get_contents (path, &contents, &file_len, NULL));
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; i--)
    header_len = (header_len << 8) | (guint8) contents[i];
  g_assert_cmpuint (header_len % 8, ==, 0);
  g_assert_cmpint (contents[8 + header_len - 1], !=, '\0');
  uint64_t expect_offset = 0;
  for (gsize i = 0; i < sinopia_safetensors_n_tensors (st); i++) {
    const SinopiaTensorInfo *t = sinopia_safetensors_tensor (st, i);
    g_assert_cmpuint (t->offset, ==, expect_offset);
    g_assert_true ((const char *) t->data == (const char *) sinopia_safetensors_tensor (st, 0)->data + t->offset);
    expect_offset += t->n_bytes;
    g_assert_true (sinopia_safetensors_lookup (st, t->name) == t);
  }
  g_assert_cmpuint (file_len, ==, 8 + header_len + expect_offset);
  g_assert_null (sinopia_safetensors_tensor (st, sinopia_safetensors_n_tensors (st)));
  g_assert_null (sinopia_safetensors_lookup (st, "absent"));

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    const SinopiaTensorInfo *t = sinopia_safetensors_tensor (st, i);
    g_autofree char *name = g_strdup_printf ("t%u.%s", i, sinopia_st_dtype_name (cases[i].dtype));
    g_assert_cmpstr (t->name, ==, name);
    g_assert_cmpint (t->dtype, ==, cases[i].dtype);
    g_assert_cmpuint (t->n_dims, ==, 2);
    g_assert_cmpuint (t->shape[0], ==, 2);
    g_assert_cmpuint (t->shape[1], ==, 1);
    g_assert_cmpuint (t->n_elements, ==, 2);
    g_assert_cmpuint (t->n_bytes, ==, 2 * sinopia_st_dtype_size (cases[i].dtype));
    g_assert_cmpmem (t->data, t->n_bytes, cases[i].bytes, t->n_bytes);
    float got[2];
    g_assert_true (sinopia_safetensors_read_f32 (t, got, &error));
    g_assert_no_error (error);
    g_assert_cmpfloat (got[0], ==, cases[i].want[0]);
    g_assert_cmpfloat (got[1], ==, cases[i].want[1]);
  }

  float f16[4], e4m3[6], bf16[2], s;
  g_assert_true (sinopia_safetensors_read_f32 (sinopia_safetensors_lookup (st, "f16 \"special\"\n"), f16, NULL));
  g_assert_cmpfloat (f16[0], ==, ldexpf (1.0f, -24));
  g_assert_cmpfloat (f16[1], ==, inf);
  g_assert_true (isnan (f16[2]));
  g_assert_true (f16[3] == 0.0f && signbit (f16[3]));
  g_assert_true (sinopia_safetensors_read_f32 (sinopia_safetensors_lookup (st, "e4m3\\special"), e4m3, NULL));
  g_assert_cmpfloat (e4m3[0], ==, ldexpf (1.0f, -9));
  g_assert_true (isnan (e4m3[1]));
  g_assert_cmpfloat (e4m3[2], ==, 448.0f);
  g_assert_cmpfloat (e4m3[3], ==, ldexpf (1.0f, -6));
  g_assert_true (isnan (e4m3[4]));
  g_assert_true (e4m3[5] == 0.0f && signbit (e4m3[5]));
  g_assert_true (sinopia_safetensors_read_f32 (sinopia_safetensors_lookup (st, "bf16.\xc3\xa9"), bf16, NULL));
  g_assert_cmpfloat (bf16[0], ==, ldexpf (1.0f, -133));
  g_assert_true (isnan (bf16[1]));

  const SinopiaTensorInfo *sc = sinopia_safetensors_lookup (st, "scalar");
  g_assert_cmpuint (sc->n_dims, ==, 0);
  g_assert_cmpuint (sc->n_elements, ==, 1);
  g_assert_true (sinopia_safetensors_read_f32 (sc, &s, NULL));
  g_assert_cmpfloat (s, ==, 42.0f);
  const SinopiaTensorInfo *em = sinopia_safetensors_lookup (st, "empty");
  g_assert_cmpuint (em->n_dims, ==, 3);
  g_assert_cmpuint (em->shape[2], ==, 3);
  g_assert_cmpuint (em->n_elements, ==, 0);
  g_assert_cmpuint (em->n_bytes, ==, 0);
  g_assert_true (sinopia_safetensors_read_f32 (em, NULL, NULL));

  g_assert_cmpstr (sinopia_safetensors_metadata (st, "flux_params"), ==, "{\"hidden_size\": 64}");
  g_assert_cmpstr (sinopia_safetensors_metadata (st, "note"), ==, "replaced");
  g_assert_cmpstr (sinopia_safetensors_metadata (st, "q\"uote"), ==, "tab\there \xe2\x82\xac");
  g_assert_null (sinopia_safetensors_metadata (st, "absent"));
  const char *const *keys = sinopia_safetensors_metadata_keys (st);
  g_assert_cmpstr (keys[0], ==, "flux_params");
  g_assert_cmpstr (keys[1], ==, "note");
  g_assert_cmpstr (keys[2], ==, "q\"uote");
  g_assert_null (keys[3]);

  /* The header the writer reports is what it wrote. */
  g_autoptr (GBytes) header = sinopia_safetensors_writer_header (w, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (header), ==, 8 + header_len);
  g_assert_cmpmem (g_bytes_get_data (header, NULL), 8 + header_len, contents, 8 + header_len);

  /* Rewriting replaces the file; the open mapping keeps the old contents. */
  g_autoptr (SinopiaSafetensorsWriter) w2 = sinopia_safetensors_writer_new ();
  g_assert_true (sinopia_safetensors_writer_write (w2, path, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_files (dir), ==, 1);
  float old;
  memcpy (&old, sinopia_safetensors_lookup (st, "scalar")->data, sizeof old);
  g_assert_cmpfloat (old, ==, 42.0f);
  g_autoptr (SinopiaSafetensors) st2 = sinopia_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sinopia_safetensors_n_tensors (st2), ==, 0);
  g_assert_null (sinopia_safetensors_metadata_keys (st2)[0]);
  g_autofree char *empty_contents = NULL;
  gsize empty_len;
  g_assert_true (g_file_get_contents (path, &empty_contents, &empty_len, NULL));
  g_assert_cmpmem (empty_contents, empty_len, "\x08\0\0\0\0\0\0\0{}      ", 16);

  rm_dir (dir);
}

static void
test_writer_errors (void)
{
  g_autoptr (SinopiaSafetensorsWriter) w = sinopia_safetensors_writer_new ();
  g_autoptr (GError) error = NULL;
  float data[6] = { 0 };
  uint64_t shape[9] = { 2, 3, 1, 1, 1, 1, 1, 1, 1 };
  uint64_t huge[3] = { 4294967296u, 4294967296u, 16 };

  g_assert_true (sinopia_safetensors_writer_add (w, "a", SINOPIA_ST_F32, 2, shape, data, 24, &error));
  g_assert_no_error (error);
#define BAD_ADD(name, dt, nd, sh, d, nb, needle)                                                 \
  do {                                                                                           \
    g_assert_false (sinopia_safetensors_writer_add (w, name, dt, nd, sh, d, nb, &error));        \
    g_assert_error (error, SINOPIA_SAFETENSORS_ERROR, SINOPIA_SAFETENSORS_ERROR_INVALID_ARGUMENT); \
    if (strstr (error->message, needle) == NULL)                                                 \
      g_error ("writer error \"%s\" lacks \"%s\"", error->message, needle);                      \
    g_clear_error (&error);                                                                      \
  } while (0)
  BAD_ADD ("a", SINOPIA_ST_F32, 2, shape, data, 24, "\"a\" added twice");
  BAD_ADD ("__metadata__", SINOPIA_ST_F32, 2, shape, data, 24, "reserved");
  BAD_ADD ("b", SINOPIA_ST_F32, 2, shape, data, 20, "is 24 bytes, got 20");
  BAD_ADD ("b", SINOPIA_ST_F16, 2, shape, data, 24, "is 12 bytes, got 24");
  BAD_ADD ("b", SINOPIA_ST_F32, 9, shape, data, 24, "9 dimensions");
  BAD_ADD ("b", SINOPIA_ST_N_DTYPES, 2, shape, data, 24, "invalid dtype");
  BAD_ADD ("b", SINOPIA_ST_F32, 3, huge, data, 24, "overflows");
  BAD_ADD ("b", SINOPIA_ST_F32, 2, shape, NULL, 24, "no data");
  BAD_ADD ("\xff", SINOPIA_ST_F32, 2, shape, data, 24, "not UTF-8");
#undef BAD_ADD
  g_assert_false (sinopia_safetensors_writer_set_metadata (w, "k", "\xc0\x80", &error));
  g_assert_error (error, SINOPIA_SAFETENSORS_ERROR, SINOPIA_SAFETENSORS_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* Unwritable destination: an IO error naming the file, nothing left behind. */
  g_autofree char *dir = tmp_dir ();
  g_autofree char *missing = g_build_filename (dir, "no-such-folder", "x.safetensors", NULL);
  g_assert_false (sinopia_safetensors_writer_write (w, missing, &error));
  g_assert_error (error, SINOPIA_SAFETENSORS_ERROR, SINOPIA_SAFETENSORS_ERROR_IO);
  g_assert_true (g_str_has_prefix (error->message, missing));
  g_clear_error (&error);
  /* Renaming over a folder fails after the data is written: the temporary file goes away. */
  g_autofree char *folder = g_build_filename (dir, "folder.safetensors", NULL);
  g_assert_cmpint (g_mkdir (folder, 0700), ==, 0);
  g_autofree char *inside = g_build_filename (folder, "keep", NULL);
  g_assert_true (g_file_set_contents (inside, "x", 1, NULL));
  g_assert_false (sinopia_safetensors_writer_write (w, folder, &error));
  g_assert_error (error, SINOPIA_SAFETENSORS_ERROR, SINOPIA_SAFETENSORS_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "cannot rename"));
  g_clear_error (&error);
  g_assert_cmpuint (count_files (dir), ==, 1);
  rm_dir (folder);
  rm_dir (dir);
}

/* Header-level defects, each with its own error. */
static void
test_bad_headers (void)
{
  static const guint8 five[5] = { 1, 2, 3, 4, 5 };
  expect_bad_bytes (five, 5, SINOPIA_SAFETENSORS_ERROR_TRUNCATED, "file is 5 bytes, too short", "5-byte file");
  expect_bad_bytes (NULL, 0, SINOPIA_SAFETENSORS_ERROR_TRUNCATED, "file is 0 bytes", "empty file");
  static const guint8 past[12] = { 100, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ' };
  expect_bad_bytes (past, 12, SINOPIA_SAFETENSORS_ERROR_TRUNCATED,
                    "header length 100 runs past the end of the file (4 bytes follow the length)", "past the end");
  static const guint8 zero[10] = { 0, 0, 0, 0, 0, 0, 0, 0, '{', '}' };
  expect_bad_bytes (zero, 10, SINOPIA_SAFETENSORS_ERROR_HEADER, "header length 0 is too small", "length 0");
  static const guint8 one[10] = { 1, 0, 0, 0, 0, 0, 0, 0, '{', '}' };
  expect_bad_bytes (one, 10, SINOPIA_SAFETENSORS_ERROR_HEADER, "header length 1 is too small", "length 1");
  static const guint8 huge[10] = { 0, 0, 0, 0, 0, 0, 0, 0x80, '{', '}' };
  expect_bad_bytes (huge, 10, SINOPIA_SAFETENSORS_ERROR_HEADER,
                    "header length 9223372036854775808 exceeds the limit of 100000000 bytes", "huge length");
  static const guint8 over[10] = { 0x01, 0xe1, 0xf5, 0x05, 0, 0, 0, 0, '{', '}' };
  expect_bad_bytes (over, 10, SINOPIA_SAFETENSORS_ERROR_HEADER, "header length 100000001 exceeds", "100 MB + 1");

  expect_bad ("{abc}", 0, SINOPIA_SAFETENSORS_ERROR_HEADER, "header JSON: byte 1: expected a string key");
  expect_bad ("not json", 0, SINOPIA_SAFETENSORS_ERROR_HEADER, "header JSON: byte 0: expected a JSON value");
  expect_bad ("[1, 2]", 0, SINOPIA_SAFETENSORS_ERROR_HEADER, "header JSON is an array, expected an object");
  expect_bad ("\"{}\"", 0, SINOPIA_SAFETENSORS_ERROR_HEADER, "header JSON is a string");
  expect_bad ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} x", 4,
              SINOPIA_SAFETENSORS_ERROR_HEADER, "byte 55: expected end of input after the JSON value, found 'x'");
  static const guint8 nul_pad[16] = { 8, 0, 0, 0, 0, 0, 0, 0, '{', '}', 0, 0, 0, 0, 0, 0 };
  expect_bad_bytes (nul_pad, 16, SINOPIA_SAFETENSORS_ERROR_HEADER, "byte 2: expected end of input", "NUL padding");
}

static void
test_bad_entries (void)
{
  expect_bad ("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
              "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}",
              24, SINOPIA_SAFETENSORS_ERROR_OVERLAP, "tensors \"a\" [0, 16) and \"b\" [8, 24) overlap");
  /* Listed out of order, the overlap is still found; a long tensor covering a later one too. */
  expect_bad ("{\"c\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[20,22]},"
              "\"a\":{\"dtype\":\"U8\",\"shape\":[32],\"data_offsets\":[0,32]},"
              "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}",
              32, SINOPIA_SAFETENSORS_ERROR_OVERLAP, "\"a\" [0, 32) and \"b\" [4, 8) overlap");
  expect_bad ("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
              "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}",
              4, SINOPIA_SAFETENSORS_ERROR_OVERLAP, "overlap");
  expect_bad ("{\"double_blocks.0.img_attn.qkv.weight\":{\"dtype\":\"BF16\",\"shape\":[3072,64],"
              "\"data_offsets\":[0,393214]}}",
              393216, SINOPIA_SAFETENSORS_ERROR_OFFSETS,
              "tensor \"double_blocks.0.img_attn.qkv.weight\": shape [3072, 64] × BF16 is 393216 bytes but "
              "data_offsets span 393214");
  expect_bad ("{\"w\":{\"dtype\":\"Q4_0\",\"shape\":[32],\"data_offsets\":[0,18]}}", 18,
              SINOPIA_SAFETENSORS_ERROR_DTYPE, "tensor \"w\": unknown dtype \"Q4_0\"");
  expect_bad ("{\"w\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, SINOPIA_SAFETENSORS_ERROR_DTYPE,
              "unknown dtype \"f32\"");
  expect_bad ("{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, SINOPIA_SAFETENSORS_ERROR_DTYPE,
              "tensor \"w\": dtype is a number");
  expect_bad ("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, SINOPIA_SAFETENSORS_ERROR_SHAPE,
              "tensor \"w\": shape[0] is -1, expected a non-negative integer");
  expect_bad ("{\"w\":{\"dtype\":\"F32\",\"shape\":[2, 2.5],\"data_offsets\":[0,20]}}", 20,
              SINOPIA_SAFETENSORS_ERROR_SHAPE, "shape[1] is 2.5, expected");
  expect_bad ("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", 4, SINOPIA_SAFETENSORS_ERROR_SHAPE,
              "shape[0] is 1.0, expected a non-negative integer");
  expect_bad ("{\"w\":{\"dtype\":\"F32\",\"shape\":[\"4\"],\"data_offsets\":[0,16]}}", 16,
              SINOPIA_SAFETENSORS_ERROR_SHAPE, "shape[0] is a string");
  expect_bad ("{\"w\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}", 4,
              SINOPIA_SAFETENSORS_ERROR_SHAPE, "shape[0] is 1e+20");
  expect_bad ("{\"w\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,16]}}", 16, SINOPIA_SAFETENSORS_ERROR_SHAPE,
              "shape is a number, expected an array");
  expect_bad ("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
              SINOPIA_SAFETENSORS_ERROR_SHAPE, "shape has 9 dimensions, at most 8");
  expect_bad ("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,0]}}", 0,
              SINOPIA_SAFETENSORS_ERROR_SHAPE,
              "tensor \"w\": shape [4294967296, 4294967296, 16] × F32 overflows a 64-bit byte count");
  /* Elements fit in 64 bits, bytes do not. */
  expect_bad ("{\"w\":{\"dtype\":\"I64\",\"shape\":[4611686018427387904],\"data_offsets\":[0,0]}}", 0,
              SINOPIA_SAFETENSORS_ERROR_SHAPE, "× I64 overflows");
  expect_bad ("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, SINOPIA_SAFETENSORS_ERROR_OFFSETS,
              "tensor \"w\": data_offsets [0, 16] run past the end of the data (8 bytes; is the file truncated?)");
  expect_bad ("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[9,9]}}", 8, SINOPIA_SAFETENSORS_ERROR_OFFSETS,
              "data_offsets [9, 9] run past the end");
  expect_bad ("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,0]}}", 16, SINOPIA_SAFETENSORS_ERROR_OFFSETS,
              "data_offsets [16, 0] end before begin");
  expect_bad ("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0]}}", 16, SINOPIA_SAFETENSORS_ERROR_OFFSETS,
              "data_offsets must be an array [begin, end]");
  expect_bad ("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,\"16\"]}}", 16,
              SINOPIA_SAFETENSORS_ERROR_OFFSETS, "data_offsets end is a string");
  expect_bad ("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[-16,0]}}", 16,
              SINOPIA_SAFETENSORS_ERROR_OFFSETS, "data_offsets begin is -16");
  expect_bad ("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
              "\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}",
              32, SINOPIA_SAFETENSORS_ERROR_DUPLICATE, "duplicate key \"w\"");
  expect_bad ("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16],\"dtype\":\"F16\"}}", 16,
              SINOPIA_SAFETENSORS_ERROR_DUPLICATE, "duplicate key \"dtype\"");
  expect_bad ("{\"w\":[1]}", 0, SINOPIA_SAFETENSORS_ERROR_ENTRY, "tensor \"w\": entry is an array, expected an object");
  expect_bad ("{\"w\":{\"shape\":[4],\"data_offsets\":[0,16]}}", 16, SINOPIA_SAFETENSORS_ERROR_ENTRY,
              "tensor \"w\": no \"dtype\"");
  expect_bad ("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,16]}}", 16, SINOPIA_SAFETENSORS_ERROR_ENTRY,
              "tensor \"w\": no \"shape\"");
  expect_bad ("{\"w\":{\"dtype\":\"F32\",\"shape\":[4]}}", 16, SINOPIA_SAFETENSORS_ERROR_ENTRY,
              "tensor \"w\": no \"data_offsets\"");
  expect_bad ("{\"w\\u0000x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16,
              SINOPIA_SAFETENSORS_ERROR_ENTRY, "name contains a NUL");
  expect_bad ("{\"__metadata__\":{\"k\":1}}", 0, SINOPIA_SAFETENSORS_ERROR_METADATA,
              "__metadata__ \"k\" is a number, expected a string");
  expect_bad ("{\"__metadata__\":{\"k\":\"v\",\"j\":{}}}", 0, SINOPIA_SAFETENSORS_ERROR_METADATA,
              "__metadata__ \"j\" is an object");
  expect_bad ("{\"__metadata__\":[\"k\"]}", 0, SINOPIA_SAFETENSORS_ERROR_METADATA,
              "__metadata__ is an array, expected an object");
  expect_bad ("{\"__metadata__\":{\"k\":\"a\\u0000\"}}", 0, SINOPIA_SAFETENSORS_ERROR_METADATA, "contains a NUL");
  expect_bad ("{\"__metadata__\":{},\"__metadata__\":{}}", 0, SINOPIA_SAFETENSORS_ERROR_DUPLICATE,
              "duplicate key \"__metadata__\"");
}

/* Valid corner cases: what the reader must accept. */
static void
test_valid_corners (void)
{
  g_autoptr (GError) error = NULL;
  /* "{}" with no padding; trailing spaces; gaps; out-of-order entries; empty tensors anywhere;
   * a huge but zero-sized shape; data after the last tensor; an unaligned data area. */
  GByteArray *b = make_file ("{}", 0);
  g_autoptr (SinopiaSafetensors) st = parse_bytes (b->data, b->len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sinopia_safetensors_n_tensors (st), ==, 0);
  g_byte_array_unref (b);

  b = make_file ("{\"b\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[10,16]},"
                 "\"z\":{\"dtype\":\"F32\",\"shape\":[0,4294967296,4294967296,16],\"data_offsets\":[12,12]},"
                 "\"a\":{\"dtype\":\"U8\",\"shape\":[5],\"data_offsets\":[1,6]},"
                 "\"__metadata__\":{},"
                 "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}, \"unknown_field_ok\":"
                 "{\"dtype\":\"BOOL\",\"shape\":[],\"data_offsets\":[16,17],\"extra\":[1,2]}}   \n ",
                 20);
  g_autoptr (SinopiaSafetensors) st2 = parse_bytes (b->data, b->len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sinopia_safetensors_n_tensors (st2), ==, 5);
  static const char *order[] = { "e", "a", "b", "z", "unknown_field_ok" };
  for (guint i = 0; i < 5; i++)
    g_assert_cmpstr (sinopia_safetensors_tensor (st2, i)->name, ==, order[i]);
  const SinopiaTensorInfo *t = sinopia_safetensors_lookup (st2, "b");
  gsize header_len = b->len - 8 - 20;
  g_assert_true ((const guint8 *) t->data == b->data + 8 + header_len + 10);
  float f[3];
  g_assert_true (sinopia_safetensors_read_f32 (t, f, &error));
  /* Data bytes are 0, 1, 2, ...: bytes 10, 11 make the half 0x0b0a = 2^(2−15) · (1 + 778/1024). */
  g_assert_cmpfloat (f[0], ==, ldexpf (1.0f + 778.0f / 1024.0f, -13));
  float u8[5];
  g_assert_true (sinopia_safetensors_read_f32 (sinopia_safetensors_lookup (st2, "a"), u8, &error));
  for (int i = 0; i < 5; i++)
    g_assert_cmpfloat (u8[i], ==, (float) (i + 1));
  const SinopiaTensorInfo *z = sinopia_safetensors_lookup (st2, "z");
  g_assert_cmpuint (z->n_elements, ==, 0);
  g_assert_cmpuint (z->n_dims, ==, 4);
  g_assert_cmpuint (sinopia_safetensors_lookup (st2, "unknown_field_ok")->n_dims, ==, 0);
  g_assert_null (sinopia_safetensors_metadata_keys (st2)[0]);
  g_byte_array_unref (b);

  /* dtype round trip of the names. */
  for (int d = 0; d < SINOPIA_ST_N_DTYPES; d++) {
    SinopiaStDType back;
    g_assert_true (sinopia_st_dtype_from_name (sinopia_st_dtype_name ((SinopiaStDType) d), -1, &back));
    g_assert_cmpint (back, ==, d);
  }
  g_assert_null (sinopia_st_dtype_name (SINOPIA_ST_N_DTYPES));
  g_assert_cmpuint (sinopia_st_dtype_size (SINOPIA_ST_N_DTYPES), ==, 0);
}

static void
test_open_errors (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = tmp_dir ();
  g_autofree char *missing = g_build_filename (dir, "missing.safetensors", NULL);
  g_assert_null (sinopia_safetensors_open (missing, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_clear_error (&error);

  /* A valid file cut short in its data, then in its header, then in its length. */
  g_autoptr (SinopiaSafetensorsWriter) w = sinopia_safetensors_writer_new ();
  float data[16] = { 0 };
  uint64_t n = 16;
  g_assert_true (sinopia_safetensors_writer_add (w, "w", SINOPIA_ST_F32, 1, &n, data, sizeof data, NULL));
  g_autofree char *path = g_build_filename (dir, "cut.safetensors", NULL);
  g_assert_true (sinopia_safetensors_writer_write (w, path, &error));
  g_autofree char *contents = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  static const struct {
    gsize cut;
    SinopiaSafetensorsErrorCode code;
    const char *needle;
  } cuts[] = {
    { 1, SINOPIA_SAFETENSORS_ERROR_OFFSETS, "tensor \"w\": data_offsets [0, 64] run past the end of the data (63 bytes" },
    { 64, SINOPIA_SAFETENSORS_ERROR_OFFSETS, "(0 bytes; is the file truncated?)" },
    { 70, SINOPIA_SAFETENSORS_ERROR_TRUNCATED, "runs past the end of the file" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cuts); i++) {
    g_assert_true (g_file_set_contents (path, contents, (gssize) (len - cuts[i].cut), NULL));
    g_autoptr (SinopiaSafetensors) st = sinopia_safetensors_open (path, &error);
    g_assert_null (st);
    g_assert_error (error, SINOPIA_SAFETENSORS_ERROR, (gint) cuts[i].code);
    g_assert_true (g_str_has_prefix (error->message, path));
    if (strstr (error->message, cuts[i].needle) == NULL)
      g_error ("cut %" G_GSIZE_FORMAT ": \"%s\" lacks \"%s\"", cuts[i].cut, error->message, cuts[i].needle);
    g_clear_error (&error);
  }
  g_assert_true (g_file_set_contents (path, contents, 3, NULL));
  g_assert_null (sinopia_safetensors_open (path, &error));
  g_assert_error (error, SINOPIA_SAFETENSORS_ERROR, SINOPIA_SAFETENSORS_ERROR_TRUNCATED);
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (path, "", 0, NULL));
  g_assert_null (sinopia_safetensors_open (path, &error));
  g_assert_error (error, SINOPIA_SAFETENSORS_ERROR, SINOPIA_SAFETENSORS_ERROR_TRUNCATED);
  g_clear_error (&error);
  rm_dir (dir);
}

/* ---- golden files --------------------------------------------------------------------------- */

static char *
golden_dir (const char *sub)
{
  const char *shared = g_getenv ("SINOPIA_SHARED_DIR");
  if (shared == NULL)
    return NULL;
  char *dir = g_build_filename (shared, "golden", sub, NULL);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR)) {
    g_free (dir);
    return NULL;
  }
  return dir;
}

static void
test_golden_flux (void)
{
  g_autofree char *dir = golden_dir ("flux-reference");
  if (dir == NULL) {
    g_test_skip ("golden data not found: set SINOPIA_SHARED_DIR to the folder holding golden/flux-reference");
    return;
  }
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (dir, "flux_a1_weights.safetensors", NULL);
  g_autoptr (SinopiaSafetensors) st = sinopia_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sinopia_safetensors_n_tensors (st), ==, 84);

  const SinopiaTensorInfo *t = sinopia_safetensors_lookup (st, "img_in.weight");
  g_assert_nonnull (t);
  g_assert_cmpint (t->dtype, ==, SINOPIA_ST_F32);

  /* stacks and components found by name */
  g_assert_cmpuint (sinopia_safetensors_count_indices (st, "", "double_blocks"), ==, 2);
  g_assert_cmpuint (sinopia_safetensors_count_indices (st, "", "single_blocks"), ==, 2);
  g_assert_cmpuint (sinopia_safetensors_count_indices (st, "model.", "double_blocks"), ==, 0);
  g_autofree char *prefix = NULL;
  g_assert_true (sinopia_safetensors_find_suffix (st, "img_attn.qkv.weight", &prefix) != NULL);
  g_assert_cmpstr (prefix, ==, "double_blocks.0.");
  g_assert_true (sinopia_safetensors_find_suffix (st, "img_attn.qkv.bias", &prefix) ==
                 sinopia_safetensors_lookup (st, "double_blocks.0.img_attn.qkv.bias"));
  g_autofree char *none = NULL;
  g_assert_null (sinopia_safetensors_find_suffix (st, "mg_in.weight", &none));
  g_assert_null (none);
  g_assert_cmpuint (t->n_dims, ==, 2);
  g_assert_cmpuint (t->shape[0], ==, 64);
  g_assert_cmpuint (t->shape[1], ==, 64);
  g_assert_cmpuint (t->offset, ==, 0);
  g_assert_cmpuint (t->n_bytes, ==, 16384);
  g_assert_true (sinopia_safetensors_tensor (st, 0) == t);
  const SinopiaTensorInfo *tw = sinopia_safetensors_lookup (st, "time_in.in_layer.weight");
  g_assert_cmpuint (tw->shape[0], ==, 64);
  g_assert_cmpuint (tw->shape[1], ==, 256);
  g_assert_cmpuint (tw->offset, ==, 16640);

  /* F32 conversion is a plain copy; the weights are N(0, 0.05), no zeros. */
  g_autofree float *w = g_new (float, t->n_elements);
  g_assert_true (sinopia_safetensors_read_f32 (t, w, &error));
  g_assert_cmpmem (w, t->n_bytes, t->data, t->n_bytes);
  for (uint64_t i = 0; i < t->n_elements; i++)
    g_assert_true (w[i] != 0.0f && fabsf (w[i]) < 1.0f);

  const char *params = sinopia_safetensors_metadata (st, "flux_params");
  g_assert_nonnull (params);
  g_autoptr (SinopiaJson) doc = sinopia_json_parse (params, strlen (params), &error);
  g_assert_no_error (error);
  const SinopiaJsonNode *p = sinopia_json_root (doc);
  int64_t v;
  double d;
  gboolean b;
  g_assert_true (sinopia_json_get_int64 (p, "hidden_size", 1, 65536, &v, &error));
  g_assert_cmpint (v, ==, 64);
  g_assert_true (sinopia_json_get_int64 (p, "num_heads", 1, 1024, &v, &error));
  g_assert_cmpint (v, ==, 4);
  g_assert_true (sinopia_json_get_int64 (p, "depth", 0, 1024, &v, &error));
  g_assert_cmpint (v, ==, 2);
  g_assert_true (sinopia_json_get_double (p, "mlp_ratio", &d, &error));
  g_assert_cmpfloat (d, ==, 4.0);
  g_assert_true (sinopia_json_get_bool (p, "qkv_bias", &b, &error) && b);
  g_assert_no_error (error);
  const SinopiaJsonNode *axes = sinopia_json_object_get (p, "axes_dim");
  g_assert_cmpuint (sinopia_json_length (axes), ==, 3);
  static const int64_t want_axes[3] = { 4, 6, 6 };
  for (gsize i = 0; i < 3; i++) {
    g_assert_true (sinopia_json_as_int64 (sinopia_json_array_get (axes, i), 1, 1024, &v, &error));
    g_assert_cmpint (v, ==, want_axes[i]);
  }
  g_assert_nonnull (sinopia_safetensors_metadata (st, "reference_commit"));

  /* Copy every tensor through the writer and compare the result. */
  g_autofree char *tmp = tmp_dir ();
  g_autofree char *copy = g_build_filename (tmp, "copy.safetensors", NULL);
  g_autoptr (SinopiaSafetensorsWriter) writer = sinopia_safetensors_writer_new ();
  for (gsize i = 0; i < sinopia_safetensors_n_tensors (st); i++) {
    const SinopiaTensorInfo *s = sinopia_safetensors_tensor (st, i);
    g_assert_true (sinopia_safetensors_writer_add (writer, s->name, s->dtype, s->n_dims, s->shape, s->data,
                                                   s->n_bytes, &error));
  }
  for (const char *const *k = sinopia_safetensors_metadata_keys (st); *k; k++)
    g_assert_true (sinopia_safetensors_writer_set_metadata (writer, *k, sinopia_safetensors_metadata (st, *k), &error));
  g_assert_true (sinopia_safetensors_writer_write (writer, copy, &error));
  g_assert_no_error (error);
  g_autoptr (SinopiaSafetensors) back = sinopia_safetensors_open (copy, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sinopia_safetensors_n_tensors (back), ==, 84);
  for (gsize i = 0; i < 84; i++) {
    const SinopiaTensorInfo *x = sinopia_safetensors_tensor (st, i), *y = sinopia_safetensors_tensor (back, i);
    g_assert_cmpstr (x->name, ==, y->name);
    g_assert_cmpuint (x->offset, ==, y->offset);
    g_assert_cmpmem (x->shape, sizeof x->shape, y->shape, sizeof y->shape);
    g_assert_cmpmem (x->data, x->n_bytes, y->data, y->n_bytes);
  }
  g_assert_cmpstr (sinopia_safetensors_metadata (back, "flux_params"), ==, params);
  rm_dir (tmp);
}

/* Every safetensors file in the shared golden folders opens and converts. */
static void
test_golden_all (void)
{
  static const char *subs[] = { "flux-reference", "text-encoders" };
  guint files = 0;
  for (guint s = 0; s < G_N_ELEMENTS (subs); s++) {
    g_autofree char *dir = golden_dir (subs[s]);
    if (dir == NULL)
      continue;
    GDir *d = g_dir_open (dir, 0, NULL);
    const char *name;
    while ((name = g_dir_read_name (d)) != NULL) {
      if (!g_str_has_suffix (name, ".safetensors"))
        continue;
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autoptr (GError) error = NULL;
      g_autoptr (SinopiaSafetensors) st = sinopia_safetensors_open (path, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (sinopia_safetensors_n_tensors (st), >, 0);
      for (gsize i = 0; i < sinopia_safetensors_n_tensors (st); i++) {
        const SinopiaTensorInfo *t = sinopia_safetensors_tensor (st, i);
        g_autofree float *f = g_new (float, MAX (t->n_elements, 1));
        g_assert_true (sinopia_safetensors_read_f32 (t, f, &error));
        for (uint64_t k = 0; k < t->n_elements; k++)
          g_assert_true (isfinite (f[k]));
      }
      files++;
    }
    g_dir_close (d);
  }
  if (files == 0)
    g_test_skip ("golden data not found: set SINOPIA_SHARED_DIR to the folder holding golden/");
  else
    g_test_message ("%u golden files read", files);
}

/* The fuzz seed corpus: ok-* files must parse, bad-* files must fail cleanly. */
static void
test_fuzz_corpus (void)
{
  g_autofree char *dir = g_test_build_filename (G_TEST_DIST, "fuzz", "corpus", "safetensors", NULL);
  GDir *d = g_dir_open (dir, 0, NULL);
  if (d == NULL) {
    g_test_skip ("fuzz corpus not found (G_TEST_SRCDIR unset?)");
    return;
  }
  guint n = 0;
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL) {
    g_autofree char *path = g_build_filename (dir, name, NULL);
    g_autoptr (GError) error = NULL;
    g_autoptr (SinopiaSafetensors) st = sinopia_safetensors_open (path, &error);
    if (g_str_has_prefix (name, "ok-")) {
      g_assert_no_error (error);
    } else {
      g_assert_true (g_str_has_prefix (name, "bad-"));
      g_assert_null (st);
      g_assert_nonnull (error);
    }
    n++;
  }
  g_dir_close (d);
  g_assert_cmpuint (n, >, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/json/values", test_json_values);
  g_test_add_func ("/json/strings", test_json_strings);
  g_test_add_func ("/json/numbers", test_json_numbers);
  g_test_add_func ("/json/structure", test_json_structure);
  g_test_add_func ("/json/getters", test_json_getters);
  g_test_add_func ("/safetensors/roundtrip", test_roundtrip);
  g_test_add_func ("/safetensors/writer-errors", test_writer_errors);
  g_test_add_func ("/safetensors/bad-headers", test_bad_headers);
  g_test_add_func ("/safetensors/bad-entries", test_bad_entries);
  g_test_add_func ("/safetensors/valid-corners", test_valid_corners);
  g_test_add_func ("/safetensors/open-errors", test_open_errors);
  g_test_add_func ("/safetensors/golden-flux", test_golden_flux);
  g_test_add_func ("/safetensors/golden-all", test_golden_all);
  g_test_add_func ("/safetensors/fuzz-corpus", test_fuzz_corpus);
  return g_test_run ();
}
