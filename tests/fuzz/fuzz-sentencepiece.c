/* libFuzzer target: the sentencepiece `.model` reader on the input as a whole file; a model that
 * loads then encodes fixed texts (spaces, multi-byte and invalid UTF-8, NUL), its own pieces run
 * together, and the input's bytes as text, and every id must be a valid piece; special ids are
 * −1 or a piece of their type. */
#define G_LOG_DOMAIN "sinopia-fuzz"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sinopia-sentencepiece.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Longest slice of the input encoded as text: the encoder's cost grows with text × piece length. */
#define MAX_TEXT 2048

static const char *const texts[] = {
  "", " ", "   a  b   ", "hello world", "\t\n\r\x01\x7f", "caf\xc3\xa9 e\xcc\x81 \xef\xac\x81",
  "\xef\xbc\xa1\xef\xbc\xa2 \xe2\x91\xa0", "\xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x98\x80", "\xe2\x96\x81\xe2\x96\x81x",
  "\xff\xfe\xc3\xed\xa0\x80\xf4\x90\x80\x80", "<unk><s></s><pad><0x41>", "a\0b",
};

static void
check_encode (const SinopiaSentencepiece *sp, const char *text, gsize len)
{
  GError *error = NULL;
  gsize n = 0;
  int32_t *ids = sinopia_sentencepiece_encode (sp, text, len, &n, &error);
  g_assert (ids != NULL && error == NULL);
  for (gsize i = 0; i < n; i++) {
    g_assert (ids[i] >= 0 && (gsize) ids[i] < sinopia_sentencepiece_n_pieces (sp));
    g_assert (sinopia_sentencepiece_id_to_piece (sp, ids[i], NULL) != NULL);
  }
  g_free (ids);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* Exact-size copy: reads past the end are caught by AddressSanitizer. */
  guint8 *copy = g_memdup2 (data, size);
  GError *error = NULL;
  SinopiaSentencepiece *sp = sinopia_sentencepiece_new_from_data (copy, size, "fuzz", &error);
  if (sp == NULL) {
    g_assert (error != NULL && error->domain == SINOPIA_SENTENCEPIECE_ERROR);
    g_assert (g_str_has_prefix (error->message, "fuzz: "));
    g_error_free (error);
    g_free (copy);
    return 0;
  }
  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    check_encode (sp, texts[i], i + 1 == G_N_ELEMENTS (texts) ? 3 : strlen (texts[i]));

  GString *joined = g_string_new (NULL);
  for (gsize i = 0; i < sinopia_sentencepiece_n_pieces (sp) && joined->len < MAX_TEXT; i++) {
    gsize len;
    const char *p = sinopia_sentencepiece_id_to_piece (sp, (int32_t) i, &len);
    g_assert (p != NULL && sinopia_sentencepiece_piece_to_id (sp, p, (gssize) len) >= 0);
    g_string_append_len (joined, p, (gssize) MIN (len, 64));
    if (i % 3 == 0)
      g_string_append_c (joined, ' ');
  }
  check_encode (sp, joined->str, joined->len);
  g_string_free (joined, TRUE);
  check_encode (sp, (const char *) copy, MIN (size, MAX_TEXT));

  /* Like sentencepiece, a special id is −1 when trainer_spec names a piece of another type (the
   * unk_piece may name a normal piece); unknown text still maps to the model's UNKNOWN piece. */
  int32_t unk = sinopia_sentencepiece_unk_id (sp);
  g_assert (unk == -1 || sinopia_sentencepiece_type (sp, unk) == SINOPIA_PIECE_UNKNOWN);
  int32_t specials[] = { sinopia_sentencepiece_bos_id (sp), sinopia_sentencepiece_eos_id (sp),
                         sinopia_sentencepiece_pad_id (sp) };
  for (gsize i = 0; i < G_N_ELEMENTS (specials); i++)
    g_assert (specials[i] == -1 || sinopia_sentencepiece_type (sp, specials[i]) == SINOPIA_PIECE_CONTROL);
  const char unknown[] = "\xff\xfe no such piece \xff";
  g_assert (sinopia_sentencepiece_type (sp, sinopia_sentencepiece_piece_to_id (sp, unknown, -1)) ==
            SINOPIA_PIECE_UNKNOWN);
  sinopia_sentencepiece_free (sp);
  g_free (copy);
  return 0;
}
