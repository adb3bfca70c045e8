/* test-sentencepiece.c — the sentencepiece unigram tokenizer against python3-sentencepiece 0.1.97:
 * the golden tokenizer cases, the fixture of tests/data (made by tools/make-tokenizer-fixture.py),
 * id lookups, truncation, broken model files, arbitrary input and the `tokenize` command. */
#define G_LOG_DOMAIN "sinopia-test"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "sinopia-json.h"
#include "sinopia-sentencepiece.h"
#include "sinopia-test-golden.h"

#define GOLDEN_DIR "text-encoders"
#define GOLDEN_MODEL "sentencepiece_test_model.model"

static char *
data_path (const char *file)
{
  return g_test_build_filename (G_TEST_DIST, "data", file, NULL);
}

static GBytes *
hex_decode (const char *hex)
{
  if (strcmp (hex, "-") == 0)
    return g_bytes_new (NULL, 0);
  gsize n = strlen (hex);
  g_assert_cmpuint (n % 2, ==, 0);
  guint8 *b = g_malloc (n / 2 + 1);
  for (gsize i = 0; i < n / 2; i++) {
    int hi = g_ascii_xdigit_value (hex[2 * i]), lo = g_ascii_xdigit_value (hex[2 * i + 1]);
    g_assert_true (hi >= 0 && lo >= 0);
    b[i] = (guint8) (hi * 16 + lo);
  }
  return g_bytes_new_take (b, n / 2);
}

static GString *
ids_to_string (const int32_t *ids, gsize n)
{
  GString *s = g_string_new (NULL);
  for (gsize i = 0; i < n; i++)
    g_string_append_printf (s, i ? " %d" : "%d", ids[i]);
  return s;
}

static void
assert_encodes (const SinopiaSentencepiece *sp, GBytes *text, const char *expected, const char *what)
{
  g_autoptr (GError) error = NULL;
  gsize len, n = 999;
  const char *t = g_bytes_get_data (text, &len);
  g_autofree int32_t *ids = sinopia_sentencepiece_encode (sp, t, len, &n, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ids);
  g_autoptr (GString) got = ids_to_string (ids, n);
  if (strcmp (got->str, expected) != 0) {
    g_autofree char *shown = g_strescape (len ? t : "", NULL);
    g_error ("%s: \"%s\" gives [%s], python3-sentencepiece gives [%s]", what, shown, got->str, expected);
  }
}

/* The golden set: tokenizer_cases.json, sentencepiece ids and pieces, and the T5 wrapper
 * layout (ids[:15] + [1] + [0] * pad) built with the truncating encoder. */
static void
test_golden_cases (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *model_path = sinopia_test_golden_path (GOLDEN_DIR, GOLDEN_MODEL);
  if (model_path == NULL)
    return;
  g_autofree char *cases_path = sinopia_test_golden_path (GOLDEN_DIR, "tokenizer_cases.json");
  g_autoptr (SinopiaSentencepiece) sp = sinopia_sentencepiece_load (model_path, &error);
  g_assert_no_error (error);
  g_autofree char *json = NULL;
  gsize json_len;
  g_file_get_contents (cases_path, &json, &json_len, &error);
  g_assert_no_error (error);
  g_autoptr (SinopiaJson) doc = sinopia_json_parse (json, json_len, &error);
  g_assert_no_error (error);
  const SinopiaJsonNode *cases = sinopia_json_object_get (sinopia_json_root (doc), "cases");
  g_assert_nonnull (cases);
  guint n_checked = 0;
  for (gsize c = 0; c < sinopia_json_length (cases); c++) {
    const SinopiaJsonNode *tc = sinopia_json_array_get (cases, c);
    const SinopiaJsonNode *spc = sinopia_json_object_get (tc, "sentencepiece");
    if (spc == NULL)
      continue;
    const char *hex = sinopia_json_get_string (tc, "text_utf8_hex", &error);
    g_assert_no_error (error);
    g_autoptr (GBytes) text = hex_decode (hex[0] ? hex : "-");
    const SinopiaJsonNode *want = sinopia_json_object_get (spc, "ids");
    const SinopiaJsonNode *pieces = sinopia_json_object_get (spc, "pieces");
    const SinopiaJsonNode *t5 = sinopia_json_object_get (spc, "t5_max_len_16");
    g_autoptr (GString) expected = g_string_new (NULL);
    for (gsize i = 0; i < sinopia_json_length (want); i++) {
      int64_t id;
      g_assert_true (sinopia_json_as_int64 (sinopia_json_array_get (want, i), 0, G_MAXINT32, &id, NULL));
      g_string_append_printf (expected, i ? " %d" : "%d", (int) id);
      /* Merged unknown runs carry their surface as piece; every other piece is the vocabulary's. */
      gsize plen;
      const char *piece = sinopia_json_as_string (sinopia_json_array_get (pieces, i), &plen);
      g_assert_nonnull (piece);
      if (id != sinopia_sentencepiece_unk_id (sp))
        g_assert_cmpstr (sinopia_sentencepiece_id_to_piece (sp, (int32_t) id, NULL), ==, piece);
    }
    g_autofree char *what = g_strdup_printf ("golden case %" G_GSIZE_FORMAT, c);
    assert_encodes (sp, text, expected->str, what);

    gsize len, n;
    gboolean truncated;
    const char *t = g_bytes_get_data (text, &len);
    g_autofree int32_t *ids = sinopia_sentencepiece_encode_truncated (sp, t, len, 15, &n, &truncated, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (truncated, ==, sinopia_json_length (want) > 15);
    int32_t layout[16];
    for (gsize i = 0; i < 16; i++)
      layout[i] = i < n ? ids[i] : i == n ? 1 : 0;
    for (gsize i = 0; i < 16; i++) {
      int64_t v;
      g_assert_true (sinopia_json_as_int64 (sinopia_json_array_get (t5, i), 0, G_MAXINT32, &v, NULL));
      g_assert_cmpint (layout[i], ==, v);
    }
    n_checked++;
  }
  g_assert_cmpuint (n_checked, ==, 40);
  g_test_message ("%u golden sentencepiece cases match", n_checked);
}

/* The fixture file (format in tools/make-tokenizer-fixture.py). `golden` picks the models under
 * golden/ (skipped without the shared folder) or the ones in tests/data. */
static void
run_fixture (gboolean golden)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = data_path ("sentencepiece-cases.txt");
  g_autofree char *contents = NULL;
  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  g_auto (GStrv) lines = g_strsplit (contents, "\n", -1);
  g_autoptr (SinopiaSentencepiece) sp = NULL;
  g_autofree char *model = NULL;
  guint n_cases = 0, n_models = 0;
  for (char **l = lines; *l; l++) {
    if (**l == '\0' || **l == '#')
      continue;
    g_auto (GStrv) w = g_strsplit (*l, " ", 3);
    if (strcmp (w[0], "model") == 0) {
      g_clear_pointer (&sp, sinopia_sentencepiece_free);
      g_free (model);
      model = g_strdup (w[1]);
      gboolean is_golden = g_str_has_prefix (model, "golden/");
      if (is_golden != golden)
        continue;
      g_autofree char *file = NULL;
      if (is_golden) {
        file = sinopia_test_golden_path (GOLDEN_DIR, model + strlen ("golden/"));
        if (file == NULL)
          return;
      } else {
        file = data_path (model);
      }
      sp = sinopia_sentencepiece_load (file, &error);
      g_assert_no_error (error);
      n_models++;
      continue;
    }
    if (sp == NULL)
      continue;
    g_assert_nonnull (w[1]);
    if (strcmp (w[0], "special") == 0) {
      int unk, bos, eos, pad;
      gsize n;
      g_assert_cmpint (sscanf (*l, "special %d %d %d %d %" G_GSIZE_FORMAT, &unk, &bos, &eos, &pad, &n), ==, 5);
      g_assert_cmpint (sinopia_sentencepiece_unk_id (sp), ==, unk);
      g_assert_cmpint (sinopia_sentencepiece_bos_id (sp), ==, bos);
      g_assert_cmpint (sinopia_sentencepiece_eos_id (sp), ==, eos);
      g_assert_cmpint (sinopia_sentencepiece_pad_id (sp), ==, pad);
      g_assert_cmpuint (sinopia_sentencepiece_n_pieces (sp), ==, n);
    } else if (strcmp (w[0], "piece") == 0) {
      int32_t id = (int32_t) g_ascii_strtoll (w[1], NULL, 10);
      g_autoptr (GBytes) piece = hex_decode (w[2]);
      gsize len, plen;
      const char *p = g_bytes_get_data (piece, &len);
      const char *got = sinopia_sentencepiece_id_to_piece (sp, id, &plen);
      g_assert_nonnull (got);
      g_assert_cmpmem (got, plen, p, len);
      g_assert_cmpint (sinopia_sentencepiece_piece_to_id (sp, p, (gssize) len), ==, id);
    } else if (strcmp (w[0], "lookup") == 0) {
      g_autoptr (GBytes) piece = hex_decode (w[1]);
      gsize len;
      const char *p = g_bytes_get_data (piece, &len);
      g_assert_cmpint (sinopia_sentencepiece_piece_to_id (sp, p, (gssize) len), ==, g_ascii_strtoll (w[2], NULL, 10));
    } else {
      g_assert_cmpstr (w[0], ==, "case");
      g_autoptr (GBytes) text = hex_decode (w[1]);
      g_autofree char *what = g_strdup_printf ("%s, line %d", model, (int) (l - lines) + 1);
      assert_encodes (sp, text, w[2] ? w[2] : "", what);
      n_cases++;
    }
  }
  g_assert_cmpuint (n_models, >, 0);
  g_test_message ("%u fixture cases match over %u models", n_cases, n_models);
}

static void
test_fixture_golden (void)
{
  run_fixture (TRUE);
}

static void
test_fixture_local (void)
{
  run_fixture (FALSE);
}

static SinopiaSentencepiece *
load_data (const char *file)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = data_path (file);
  SinopiaSentencepiece *sp = sinopia_sentencepiece_load (path, &error);
  g_assert_no_error (error);
  return sp;
}

static void
test_lookups (void)
{
  g_autoptr (SinopiaSentencepiece) sp = load_data ("spm-rules-bytes.model");
  gsize n = sinopia_sentencepiece_n_pieces (sp);
  for (gsize i = 0; i < n; i++) {
    gsize len;
    const char *p = sinopia_sentencepiece_id_to_piece (sp, (int32_t) i, &len);
    g_assert_nonnull (p);
    g_assert_cmpint (sinopia_sentencepiece_piece_to_id (sp, p, (gssize) len), ==, (int32_t) i);
    SinopiaPieceType type = sinopia_sentencepiece_type (sp, (int32_t) i);
    g_assert_true (type >= SINOPIA_PIECE_NORMAL && type <= SINOPIA_PIECE_BYTE);
  }
  g_assert_null (sinopia_sentencepiece_id_to_piece (sp, -1, NULL));
  g_assert_null (sinopia_sentencepiece_id_to_piece (sp, (int32_t) n, NULL));
  g_assert_cmpint (sinopia_sentencepiece_type (sp, (int32_t) n), ==, 0);
  g_assert_cmpint (sinopia_sentencepiece_piece_to_id (sp, "<0x41>", -1), ==, 72);
  g_assert_cmpint (sinopia_sentencepiece_type (sp, 72), ==, SINOPIA_PIECE_BYTE);
  g_assert_cmpint (sinopia_sentencepiece_type (sp, 0), ==, SINOPIA_PIECE_UNKNOWN);
  g_assert_cmpint (sinopia_sentencepiece_type (sp, 3), ==, SINOPIA_PIECE_CONTROL);
  g_assert_cmpint (sinopia_sentencepiece_type (sp, 4), ==, SINOPIA_PIECE_USER_DEFINED);
  g_assert_cmpint (sinopia_sentencepiece_piece_to_id (sp, "not a piece", -1), ==, 0);
  g_assert_cmpfloat (sinopia_sentencepiece_score (sp, (int32_t) n), ==, 0.0f);
  g_assert_cmpfloat (sinopia_sentencepiece_score (sp, 300), <, 0.0f);
  g_assert_cmpint (sinopia_sentencepiece_unk_id (NULL), ==, -1);
  g_assert_cmpuint (sinopia_sentencepiece_n_pieces (NULL), ==, 0);

  g_autoptr (SinopiaSentencepiece) nmt = load_data ("spm-nmt.model");
  g_assert_cmpint (sinopia_sentencepiece_pad_id (nmt), ==, 0);
  g_assert_cmpint (sinopia_sentencepiece_eos_id (nmt), ==, 1);
  g_assert_cmpint (sinopia_sentencepiece_unk_id (nmt), ==, 2);
  g_assert_cmpint (sinopia_sentencepiece_bos_id (nmt), ==, -1);
}

static void
test_truncate (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaSentencepiece) sp = load_data ("spm-nmt.model");
  const char *text = "a photo of a cat in the style of a painting";
  gsize n_all, n;
  gboolean truncated = TRUE;
  g_autofree int32_t *all = sinopia_sentencepiece_encode (sp, text, strlen (text), &n_all, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n_all, >, 5);
  g_autofree int32_t *same = sinopia_sentencepiece_encode_truncated (sp, text, strlen (text), n_all, &n, &truncated,
                                                                     &error);
  g_assert_no_error (error);
  g_assert_false (truncated);
  g_assert_cmpmem (same, n * sizeof *same, all, n_all * sizeof *all);
  g_autofree int32_t *cut = sinopia_sentencepiece_encode_truncated (sp, text, strlen (text), 5, &n, &truncated, &error);
  g_assert_no_error (error);
  g_assert_true (truncated);
  g_assert_cmpmem (cut, n * sizeof *cut, all, 5 * sizeof *all);
  g_autofree int32_t *none = sinopia_sentencepiece_encode_truncated (sp, text, strlen (text), 0, &n, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (none);
  g_assert_cmpuint (n, ==, 0);
}

static void
test_bad_arguments (void)
{
  g_autoptr (SinopiaSentencepiece) sp = load_data ("spm-identity.model");
  gsize n;
  GError *error = NULL;
  g_assert_null (sinopia_sentencepiece_encode (sp, NULL, 3, &n, &error));
  g_assert_error (error, SINOPIA_SENTENCEPIECE_ERROR, SINOPIA_SENTENCEPIECE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (sinopia_sentencepiece_encode (NULL, "a", 1, &n, &error));
  g_assert_error (error, SINOPIA_SENTENCEPIECE_ERROR, SINOPIA_SENTENCEPIECE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (sinopia_sentencepiece_encode (sp, "a", 1, NULL, &error));
  g_assert_error (error, SINOPIA_SENTENCEPIECE_ERROR, SINOPIA_SENTENCEPIECE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_autofree int32_t *empty = sinopia_sentencepiece_encode (sp, NULL, 0, &n, &error);
  g_assert_no_error (error);
  g_assert_nonnull (empty);
  g_assert_cmpuint (n, ==, 0);

  g_assert_null (sinopia_sentencepiece_load ("/nonexistent/x.model", &error));
  g_assert_error (error, SINOPIA_SENTENCEPIECE_ERROR, SINOPIA_SENTENCEPIECE_ERROR_IO);
  g_clear_error (&error);
  g_assert_null (sinopia_sentencepiece_new_from_data (NULL, 4, "x", &error));
  g_assert_error (error, SINOPIA_SENTENCEPIECE_ERROR, SINOPIA_SENTENCEPIECE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* An empty file is a ModelProto without pieces. */
  g_assert_null (sinopia_sentencepiece_new_from_data ("", 0, "empty", &error));
  g_assert_error (error, SINOPIA_SENTENCEPIECE_ERROR, SINOPIA_SENTENCEPIECE_ERROR_MODEL);
  g_assert_true (g_str_has_prefix (error->message, "empty: "));
  g_clear_error (&error);
}

/* The fuzz seeds: bad-* files are rejected with the right error, the others load, and every
 * prefix of a valid model is either rejected cleanly or loads. */
static void
test_broken_models (void)
{
  static const struct {
    const char *file;
    int code;
  } bad[] = {
    { "bad-truncated.model", SINOPIA_SENTENCEPIECE_ERROR_FORMAT },
    { "bad-varint.model", SINOPIA_SENTENCEPIECE_ERROR_FORMAT },
    { "bad-length.model", SINOPIA_SENTENCEPIECE_ERROR_FORMAT },
    { "bad-wire-type.model", SINOPIA_SENTENCEPIECE_ERROR_FORMAT },
    { "bad-group-end.model", SINOPIA_SENTENCEPIECE_ERROR_FORMAT },
    { "bad-duplicate.model", SINOPIA_SENTENCEPIECE_ERROR_MODEL },
    { "bad-no-unk.model", SINOPIA_SENTENCEPIECE_ERROR_MODEL },
    { "bad-two-unk.model", SINOPIA_SENTENCEPIECE_ERROR_MODEL },
    { "bad-empty-piece.model", SINOPIA_SENTENCEPIECE_ERROR_MODEL },
    { "bad-byte-piece.model", SINOPIA_SENTENCEPIECE_ERROR_MODEL },
    { "bad-charsmap.model", SINOPIA_SENTENCEPIECE_ERROR_MODEL },
    { "bad-bpe.model", SINOPIA_SENTENCEPIECE_ERROR_UNSUPPORTED },
  };
  static const char *const good[] = { "group-skipped.model", "unknown-fields.model", "negative-ids.model",
                                      "charsmap-garbage.model", "identity.model" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fuzz", "corpus", "sentencepiece", bad[i].file, NULL);
    GError *error = NULL;
    g_assert_null (sinopia_sentencepiece_load (path, &error));
    if (error == NULL || error->code != bad[i].code)
      g_error ("%s: expected error code %d, got %s", bad[i].file, bad[i].code, error ? error->message : "none");
    g_assert_true (g_str_has_prefix (error->message, path));
    g_error_free (error);
  }
  for (gsize i = 0; i < G_N_ELEMENTS (good); i++) {
    g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fuzz", "corpus", "sentencepiece", good[i], NULL);
    g_autoptr (GError) error = NULL;
    g_autoptr (SinopiaSentencepiece) sp = sinopia_sentencepiece_load (path, &error);
    g_assert_no_error (error);
    gsize n;
    g_autofree int32_t *ids = sinopia_sentencepiece_encode (sp, "hello wörld", strlen ("hello wörld"), &n, &error);
    g_assert_no_error (error);
    g_assert_nonnull (ids);
    g_assert_cmpuint (n, >, 0);
  }

  g_autofree char *path = data_path ("spm-rules-bytes.model");
  g_autofree char *model = NULL;
  gsize len;
  g_file_get_contents (path, &model, &len, NULL);
  g_assert_nonnull (model);
  for (gsize cut = 0; cut < len; cut += 1 + cut / 64) {
    g_autoptr (GError) error = NULL;
    g_autoptr (SinopiaSentencepiece) sp = sinopia_sentencepiece_new_from_data (model, cut, "cut", &error);
    g_assert_true ((sp == NULL) != (error == NULL));
  }
}

/* A random string mixing ASCII, spaces, multi-byte characters, invalid bytes and NULs. */
static GString *
random_text (guint max_len)
{
  static const char *const pool[] = { "a", "b", "z", "Q", " ", " ", "  ", "\t", "\n", "\x01", "", ".", "é",
                                      "e\xcc\x81", "\xef\xac\x81", "\xef\xbc\xa1", "\xe6\x9d\xb1", "\xf0\x9f\x98\x80",
                                      "\xe2\x96\x81", "\xe2\x80\x8b", "\xc2\xa0", "\xff", "\xc3", "\xed\xa0\x80",
                                      "\xf4\x90\x80\x80", "<sep>", "qu", "ka", "<extra_id_0>", "AB", "\xe3\x80\x80" };
  GString *s = g_string_new (NULL);
  guint n = (guint) g_test_rand_int_range (0, (gint32) max_len);
  for (guint i = 0; i < n; i++) {
    if (g_test_rand_int_range (0, 8) == 0) {
      g_string_append_c (s, (char) g_test_rand_int_range (0, 256));
      continue;
    }
    const char *p = pool[g_test_rand_int_range (0, G_N_ELEMENTS (pool))];
    g_string_append_len (s, p, p[0] ? (gssize) strlen (p) : 1);
  }
  return s;
}

/* Arbitrary bytes through every model: no crash (the sanitizer build checks the memory
 * accesses), ids in range, the same result twice, and a very long input in bounded time. */
static void
test_arbitrary_input (void)
{
  static const char *const models[] = { "spm-nmt.model", "spm-rules-bytes.model", "spm-identity.model",
                                         "spm-suffix-noescape.model", "spm-unk-renamed.model" };
  for (gsize m = 0; m < G_N_ELEMENTS (models); m++) {
    g_autoptr (SinopiaSentencepiece) sp = load_data (models[m]);
    gsize n_pieces = sinopia_sentencepiece_n_pieces (sp);
    for (guint iter = 0; iter < 300; iter++) {
      g_autoptr (GError) error = NULL;
      g_autoptr (GString) text = random_text (60);
      gsize n, n2;
      g_autofree int32_t *ids = sinopia_sentencepiece_encode (sp, text->str, text->len, &n, &error);
      g_assert_no_error (error);
      g_autofree int32_t *again = sinopia_sentencepiece_encode (sp, text->str, text->len, &n2, &error);
      g_assert_no_error (error);
      g_assert_cmpmem (ids, n * sizeof *ids, again, n2 * sizeof *again);
      for (gsize i = 0; i < n; i++)
        g_assert_true (ids[i] >= 0 && (gsize) ids[i] < n_pieces);
    }
    GString *big = g_string_new (NULL);
    while (big->len < 200000) {
      g_autoptr (GString) part = random_text (40);
      g_string_append_len (big, part->str, (gssize) part->len);
    }
    gint64 t0 = g_get_monotonic_time ();
    gsize n;
    g_autoptr (GError) error = NULL;
    g_autofree int32_t *ids = sinopia_sentencepiece_encode (sp, big->str, big->len, &n, &error);
    g_assert_no_error (error);
    g_assert_nonnull (ids);
    g_assert_cmpuint (n, >, 1000);
    g_test_message ("%s: %" G_GSIZE_FORMAT " bytes -> %" G_GSIZE_FORMAT " ids in %.1f ms", models[m], big->len, n,
                    (g_get_monotonic_time () - t0) / 1000.0);
    g_string_free (big, TRUE);
  }
}

/* `sinopia-cli tokenize`: one line per text, the fixture's ids. */
static void
test_cli (void)
{
  const char *cli = g_getenv ("SINOPIA_CLI");
  if (cli == NULL) {
    g_test_skip ("SINOPIA_CLI is not set");
    return;
  }
  g_autofree char *model = data_path ("spm-nmt.model");
  g_autoptr (SinopiaSentencepiece) sp = load_data ("spm-nmt.model");
  const char *texts[] = { "a photo of a cat", "", "  café  ①  ", "-starts with a dash" };
  const char *argv[] = { cli, "tokenize", "--tokenizer", model, "--", texts[0], texts[1], texts[2], texts[3], NULL };
  g_autofree char *out = NULL, *err = NULL;
  int status;
  g_autoptr (GError) error = NULL;
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_autoptr (GString) expected = g_string_new (NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++) {
    gsize n;
    g_autofree int32_t *ids = sinopia_sentencepiece_encode (sp, texts[i], strlen (texts[i]), &n, &error);
    g_assert_no_error (error);
    g_autoptr (GString) line = ids_to_string (ids, n);
    g_string_append_printf (expected, "%s\n", line->str);
  }
  g_assert_cmpstr (out, ==, expected->str);

  const char *missing[] = { cli, "tokenize", "hello", NULL };
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_spawn_sync (NULL, (char **) missing, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 2);
  g_assert_true (strstr (err, "--tokenizer") != NULL);

  const char *broken[] = { cli, "tokenize", "--tokenizer", "/nonexistent.model", "hello", NULL };
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_spawn_sync (NULL, (char **) broken, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 1);
  g_assert_cmpstr (out, ==, "");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sentencepiece/golden-cases", test_golden_cases);
  g_test_add_func ("/sentencepiece/fixture/golden-model", test_fixture_golden);
  g_test_add_func ("/sentencepiece/fixture/local-models", test_fixture_local);
  g_test_add_func ("/sentencepiece/lookups", test_lookups);
  g_test_add_func ("/sentencepiece/truncate", test_truncate);
  g_test_add_func ("/sentencepiece/bad-arguments", test_bad_arguments);
  g_test_add_func ("/sentencepiece/broken-models", test_broken_models);
  g_test_add_func ("/sentencepiece/arbitrary-input", test_arbitrary_input);
  g_test_add_func ("/sentencepiece/cli", test_cli);
  return g_test_run ();
}
