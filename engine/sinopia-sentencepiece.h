/* sinopia-sentencepiece.h — the sentencepiece unigram tokenizer (T5's): reads a `.model` file
 * (a ModelProto protobuf) and encodes UTF-8 text into piece ids exactly as sentencepiece's
 * SentencePieceProcessor::Encode does (python3-sentencepiece 0.1.97 `encode(text)`: no
 * sampling, no BOS/EOS added).
 *
 * Loading validates the protobuf wire format (every length against the buffer, unknown
 * fields skipped, groups skipped up to a nesting limit) and rejects the models sentencepiece
 * rejects: an empty piece, a piece defined twice, no or two UNKNOWN pieces, BYTE pieces
 * without byte_fallback or not spelled <0xHH>, byte_fallback without all 256 byte pieces, no
 * NORMAL / USER_DEFINED / UNUSED piece, a broken precompiled_charsmap. Only UNIGRAM models
 * are supported (BPE / WORD / CHAR give SINOPIA_SENTENCEPIECE_ERROR_UNSUPPORTED).
 *
 * Encoding:
 * - Normalisation with the model's precompiled_charsmap (whatever rule set it was built
 *   from: nfkc, nmt_nfkc, nfkc_cf, custom TSV rules; none means identity): longest-match
 *   replacement through its double-array trie, user-defined pieces left untouched;
 *   remove_extra_whitespaces (leading, trailing and repeated spaces after the rules),
 *   add_dummy_prefix, escape_whitespaces (space → U+2581 "▁"); treat_whitespace_as_suffix.
 * - Invalid UTF-8 is not an error: each byte that does not start a valid sequence becomes
 *   U+FFFD, as sentencepiece does (python's encode of bytes gives the same ids).
 * - Viterbi over all vocabulary pieces matching at each character (UNUSED pieces skipped,
 *   USER_DEFINED pieces scored length × max score − 0.1 so they always win), characters no
 *   piece covers become unk (score min − 10); consecutive unks merge into one id, or with
 *   byte_fallback each unk character becomes its UTF-8 bytes' <0xHH> ids.
 * Deviation, for hostile files only: a charsmap rule longer than
 * SINOPIA_SENTENCEPIECE_MAX_RULE bytes is not matched (real rule sets stay far below).
 *
 * Ownership: a SinopiaSentencepiece copies what it needs from the file; piece strings
 * returned stay valid until sinopia_sentencepiece_free.
 * Threads: a loaded tokenizer is read-only; several threads may encode with it at once.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define SINOPIA_SENTENCEPIECE_ERROR (sinopia_sentencepiece_error_quark ())
GQuark sinopia_sentencepiece_error_quark (void);

typedef enum {
  SINOPIA_SENTENCEPIECE_ERROR_IO,          /* the file cannot be read */
  SINOPIA_SENTENCEPIECE_ERROR_FORMAT,      /* malformed protobuf: truncated, bad varint, bad wire type */
  SINOPIA_SENTENCEPIECE_ERROR_MODEL,       /* well-formed protobuf, but a model sentencepiece rejects */
  SINOPIA_SENTENCEPIECE_ERROR_UNSUPPORTED, /* not a unigram model */
  SINOPIA_SENTENCEPIECE_ERROR_INVALID_ARGUMENT, /* API misuse */
} SinopiaSentencepieceErrorCode;

/* Longest charsmap rule source matched, in bytes; see the deviation note above. */
#define SINOPIA_SENTENCEPIECE_MAX_RULE 1024

/* Piece types, as in sentencepiece_model.proto. */
typedef enum {
  SINOPIA_PIECE_NORMAL = 1,
  SINOPIA_PIECE_UNKNOWN = 2,
  SINOPIA_PIECE_CONTROL = 3,
  SINOPIA_PIECE_USER_DEFINED = 4,
  SINOPIA_PIECE_UNUSED = 5,
  SINOPIA_PIECE_BYTE = 6,
} SinopiaPieceType;

typedef struct _SinopiaSentencepiece SinopiaSentencepiece;

/* Reads a `.model` file. Returns (transfer full) a tokenizer to free with
 * sinopia_sentencepiece_free, or NULL with `error` set; messages start with the file name. */
SinopiaSentencepiece *sinopia_sentencepiece_load (const char *path, GError **error);
/* The same from `len` bytes of a serialized ModelProto (copied; `data` may be freed after).
 * `name` prefixes error messages. */
SinopiaSentencepiece *sinopia_sentencepiece_new_from_data (const void *data, gsize len, const char *name,
                                                           GError **error);
void sinopia_sentencepiece_free (SinopiaSentencepiece *sp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SinopiaSentencepiece, sinopia_sentencepiece_free)

/* Encodes `len` bytes of text (NUL bytes included; `text` may be NULL when len is 0).
 * Returns (transfer full, g_free) the ids, *n_ids their count (the array is never NULL on
 * success, even when empty), or NULL with `error` set for invalid arguments. */
int32_t *sinopia_sentencepiece_encode (const SinopiaSentencepiece *sp, const char *text, gsize len, gsize *n_ids,
                                       GError **error);
/* sinopia_sentencepiece_encode keeping at most `max_ids` ids; *truncated (may be NULL) says
 * whether ids were dropped, so that callers can warn about a prompt being cut. */
int32_t *sinopia_sentencepiece_encode_truncated (const SinopiaSentencepiece *sp, const char *text, gsize len,
                                                 gsize max_ids, gsize *n_ids, gboolean *truncated,
                                                 GError **error);

/* Number of pieces (ids are 0 .. n − 1). */
gsize sinopia_sentencepiece_n_pieces (const SinopiaSentencepiece *sp);
/* The piece string of `id` (borrowed, NUL-terminated) and, if `len` is not NULL, its length in
 * bytes (a CONTROL or UNKNOWN piece may hold NUL bytes); NULL when id is out of range. */
const char *sinopia_sentencepiece_id_to_piece (const SinopiaSentencepiece *sp, int32_t id, gsize *len);
/* The piece's score and type; 0 / 0 when id is out of range. */
float sinopia_sentencepiece_score (const SinopiaSentencepiece *sp, int32_t id);
SinopiaPieceType sinopia_sentencepiece_type (const SinopiaSentencepiece *sp, int32_t id);
/* The id of the `len`-byte piece (NUL-terminated when len < 0); like sentencepiece,
 * CONTROL / UNKNOWN / BYTE pieces first, and the unk id for a string that is no piece. */
int32_t sinopia_sentencepiece_piece_to_id (const SinopiaSentencepiece *sp, const char *piece, gssize len);
/* Special ids as sentencepiece reports them: the id of trainer_spec's unk_piece / bos_piece /
 * eos_piece / pad_piece ("<unk>", "<s>", "</s>", "<pad>" by default) when that piece exists with
 * the right type (UNKNOWN for unk, CONTROL for the others), else −1. */
int32_t sinopia_sentencepiece_unk_id (const SinopiaSentencepiece *sp);
int32_t sinopia_sentencepiece_bos_id (const SinopiaSentencepiece *sp);
int32_t sinopia_sentencepiece_eos_id (const SinopiaSentencepiece *sp);
int32_t sinopia_sentencepiece_pad_id (const SinopiaSentencepiece *sp);

G_END_DECLS
