/* sinopia-sentencepiece.c — sentencepiece `.model` reader (own protobuf wire-format parser) and
 * the unigram encoder: charsmap normalisation, Viterbi, unk merging, byte fallback. */
#define G_LOG_DOMAIN "sinopia-sentencepiece"

#include "sinopia-sentencepiece.h"

#include <float.h>
#include <stdio.h>
#include <string.h>

G_DEFINE_QUARK (sinopia-sentencepiece-error-quark, sinopia_sentencepiece_error)

/* Unknown characters score this far below the lowest NORMAL piece (sentencepiece's kUnkPenalty). */
#define UNK_PENALTY 10.0f
/* protobuf's own default recursion limit; only skipped groups nest here. */
#define MAX_GROUP_DEPTH 100

/* ------------------------------------------------------------------------------------------ */
/* Protobuf wire format. */

enum { WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_LEN = 2, WIRE_GROUP_START = 3, WIRE_GROUP_END = 4, WIRE_FIXED32 = 5 };

typedef struct {
  const guint8 *start; /* of the whole file, for error offsets */
  const guint8 *p, *end;
} PbReader;

typedef struct {
  guint32 field;
  guint wire;
  uint64_t varint;        /* WIRE_VARINT, and the bits of WIRE_FIXED32 / WIRE_FIXED64 */
  const guint8 *data;     /* WIRE_LEN */
  gsize len;
} PbField;

typedef struct {
  const char *name; /* error prefix */
  GError **error;
} LoadCtx;

static gboolean
pb_fail (LoadCtx *ctx, const PbReader *r, const char *what)
{
  g_set_error (ctx->error, SINOPIA_SENTENCEPIECE_ERROR, SINOPIA_SENTENCEPIECE_ERROR_FORMAT,
               "%s: byte %" G_GSIZE_FORMAT ": %s", ctx->name, (gsize) (r->p - r->start), what);
  return FALSE;
}

static gboolean
pb_varint (LoadCtx *ctx, PbReader *r, uint64_t *out)
{
  uint64_t v = 0;
  for (guint shift = 0; shift < 70; shift += 7) {
    if (r->p >= r->end)
      return pb_fail (ctx, r, "truncated varint");
    guint8 b = *r->p++;
    v |= (uint64_t) (b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return TRUE;
    }
  }
  return pb_fail (ctx, r, "varint longer than 10 bytes");
}

static gboolean
pb_skip (LoadCtx *ctx, PbReader *r, gsize n)
{
  if (n > (gsize) (r->end - r->p))
    return pb_fail (ctx, r, "field runs past the end of its message");
  r->p += n;
  return TRUE;
}

/* Reads a tag and its payload, except for groups: a group start leaves the reader after the
 * tag (pb_next skips the group itself). */
static gboolean
pb_tag (LoadCtx *ctx, PbReader *r, PbField *f)
{
  uint64_t tag;
  if (!pb_varint (ctx, r, &tag))
    return FALSE;
  if (tag >> 32 || (tag >> 3) == 0)
    return pb_fail (ctx, r, "invalid field number");
  f->field = (guint32) (tag >> 3);
  f->wire = (guint) (tag & 7);
  f->data = NULL;
  f->len = 0;
  f->varint = 0;
  switch (f->wire) {
  case WIRE_VARINT:
    return pb_varint (ctx, r, &f->varint);
  case WIRE_FIXED64:
  case WIRE_FIXED32: {
    gsize n = f->wire == WIRE_FIXED64 ? 8 : 4;
    const guint8 *p = r->p;
    if (!pb_skip (ctx, r, n))
      return FALSE;
    for (gsize i = 0; i < n; i++)
      f->varint |= (uint64_t) p[i] << (8 * i);
    return TRUE;
  }
  case WIRE_LEN: {
    uint64_t len;
    if (!pb_varint (ctx, r, &len))
      return FALSE;
    if (len > (uint64_t) (r->end - r->p))
      return pb_fail (ctx, r, "length-delimited field runs past the end of its message");
    f->data = r->p;
    f->len = (gsize) len;
    r->p += len;
    return TRUE;
  }
  case WIRE_GROUP_START:
  case WIRE_GROUP_END:
    return TRUE;
  default:
    return pb_fail (ctx, r, "invalid wire type");
  }
}

/* The next field of the message in `r`; *done at its end. Groups (a deprecated encoding no
 * field of ModelProto uses) are skipped whole, matching field numbers checked. */
static gboolean
pb_next (LoadCtx *ctx, PbReader *r, PbField *f, gboolean *done)
{
  for (;;) {
    *done = r->p == r->end;
    if (*done)
      return TRUE;
    if (!pb_tag (ctx, r, f))
      return FALSE;
    if (f->wire == WIRE_GROUP_END)
      return pb_fail (ctx, r, "group end without a group start");
    if (f->wire != WIRE_GROUP_START)
      return TRUE;
    guint32 open[MAX_GROUP_DEPTH];
    guint depth = 0;
    open[depth++] = f->field;
    while (depth > 0) {
      PbField g;
      if (r->p == r->end)
        return pb_fail (ctx, r, "unterminated group");
      if (!pb_tag (ctx, r, &g))
        return FALSE;
      if (g.wire == WIRE_GROUP_START) {
        if (depth == MAX_GROUP_DEPTH)
          return pb_fail (ctx, r, "groups nested too deeply");
        open[depth++] = g.field;
      } else if (g.wire == WIRE_GROUP_END) {
        if (open[--depth] != g.field)
          return pb_fail (ctx, r, "group end does not match its start");
      }
    }
  }
}

static void
pb_sub (const PbReader *parent, const PbField *f, PbReader *sub)
{
  sub->start = parent->start;
  sub->p = f->data;
  sub->end = f->data + f->len;
}

static char *
pb_string (const PbField *f)
{
  return g_strndup ((const char *) f->data, f->len);
}

/* ------------------------------------------------------------------------------------------ */
/* The model. */

typedef struct {
  char *piece; /* NUL-terminated copy; may hold NUL bytes in a CONTROL / UNKNOWN piece */
  guint32 len;
  float score;
  SinopiaPieceType type;
} Piece;

/* A string → id entry; a sorted array of these is both a map and, for the vocabulary, the
 * trie the Viterbi walks (entries sharing a prefix are contiguous). */
typedef struct {
  const char *s;
  guint32 len;
  int32_t id;
} Entry;

typedef struct {
  Entry *e;
  gsize n;
} Dict;

struct _SinopiaSentencepiece {
  Piece *pieces;
  gsize n_pieces;
  Dict vocab;    /* NORMAL, USER_DEFINED, UNUSED: what the Viterbi can emit */
  Dict reserved; /* CONTROL, UNKNOWN, BYTE */
  Dict user;     /* USER_DEFINED only: kept whole by the normaliser */
  int32_t unk;
  int32_t byte_ids[256]; /* with byte_fallback */
  float min_score, max_score;

  /* trainer_spec */
  int model_type;
  gboolean byte_fallback;
  gboolean whitespace_suffix;
  char *special[4]; /* unk, bos, eos, pad piece names */

  /* normalizer_spec (its rule-set name does not matter: the charsmap holds the rules) */
  gboolean add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces;
  guint32 *trie;   /* precompiled_charsmap: double-array units (host order) */
  gsize n_trie;
  char *replacements; /* NUL-separated replacement strings, NUL-terminated at the end */
  gsize n_replacements;
};

enum { SPECIAL_UNK, SPECIAL_BOS, SPECIAL_EOS, SPECIAL_PAD };
static const char *const special_defaults[4] = { "<unk>", "<s>", "</s>", "<pad>" };

static int
entry_cmp (const void *pa, const void *pb)
{
  const Entry *a = pa, *b = pb;
  int c = memcmp (a->s, b->s, MIN (a->len, b->len));
  if (c != 0)
    return c;
  return a->len < b->len ? -1 : a->len > b->len;
}

static const Entry *
dict_find (const Dict *d, const char *s, gsize len)
{
  if (len > G_MAXUINT32)
    return NULL;
  Entry key = { s, (guint32) len, 0 };
  return d->n ? bsearch (&key, d->e, d->n, sizeof *d->e, entry_cmp) : NULL;
}

/* Narrows [*lo, *hi) — entries that share their first `depth` bytes — to those whose byte at
 * `depth` is c. A sorted range puts the entry of length `depth` first, then orders by that byte. */
static void
dict_step (const Dict *d, gsize *lo, gsize *hi, gsize depth, guint8 c)
{
  gsize a = *lo, b = *hi;
  while (a < b) {
    gsize m = a + (b - a) / 2;
    if (d->e[m].len <= depth || (guint8) d->e[m].s[depth] < c)
      a = m + 1;
    else
      b = m;
  }
  gsize first = a;
  b = *hi;
  while (a < b) {
    gsize m = a + (b - a) / 2;
    if ((guint8) d->e[m].s[depth] <= c)
      a = m + 1;
    else
      b = m;
  }
  *lo = first;
  *hi = a;
}

/* Length of the longest entry that prefixes text[0, len), 0 if none. */
static gsize
dict_longest_prefix (const Dict *d, const char *text, gsize len)
{
  gsize lo = 0, hi = d->n, best = 0;
  for (gsize i = 0; i < len && lo < hi; i++) {
    dict_step (d, &lo, &hi, i, (guint8) text[i]);
    if (lo < hi && d->e[lo].len == i + 1)
      best = i + 1;
  }
  return best;
}

static gboolean
model_fail (LoadCtx *ctx, int code, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

static gboolean
model_fail (LoadCtx *ctx, int code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (ctx->error, SINOPIA_SENTENCEPIECE_ERROR, code, "%s: %s", ctx->name, msg);
  return FALSE;
}

static gboolean
parse_piece (LoadCtx *ctx, PbReader *r, Piece *out)
{
  PbField f;
  gboolean done;
  out->type = SINOPIA_PIECE_NORMAL;
  while (pb_next (ctx, r, &f, &done)) {
    if (done)
      return TRUE;
    if (f.field == 1 && f.wire == WIRE_LEN) {
      if (f.len > G_MAXUINT32)
        return pb_fail (ctx, r, "piece too long");
      g_free (out->piece);
      out->piece = pb_string (&f);
      out->len = (guint32) f.len;
    } else if (f.field == 2 && f.wire == WIRE_FIXED32) {
      guint32 bits = (guint32) f.varint;
      memcpy (&out->score, &bits, sizeof bits);
    } else if (f.field == 3 && f.wire == WIRE_VARINT) {
      /* proto2 enums are closed: an unknown value is kept aside and the field stays as it was. */
      int32_t v = (int32_t) (guint32) f.varint;
      if (v >= SINOPIA_PIECE_NORMAL && v <= SINOPIA_PIECE_BYTE)
        out->type = v;
    }
  }
  return FALSE;
}

static gboolean
parse_trainer_spec (LoadCtx *ctx, PbReader *r, SinopiaSentencepiece *sp)
{
  PbField f;
  gboolean done;
  while (pb_next (ctx, r, &f, &done)) {
    if (done)
      return TRUE;
    if (f.field == 3 && f.wire == WIRE_VARINT) {
      int32_t v = (int32_t) (guint32) f.varint;
      if (v >= 1 && v <= 4)
        sp->model_type = v;
    } else if (f.field == 35 && f.wire == WIRE_VARINT) {
      sp->byte_fallback = f.varint != 0;
    } else if (f.field == 24 && f.wire == WIRE_VARINT) {
      sp->whitespace_suffix = f.varint != 0;
    } else if (f.field >= 45 && f.field <= 48 && f.wire == WIRE_LEN) {
      static const int which[4] = { SPECIAL_UNK, SPECIAL_BOS, SPECIAL_EOS, SPECIAL_PAD };
      int k = which[f.field - 45];
      g_free (sp->special[k]);
      sp->special[k] = pb_string (&f);
    }
  }
  return FALSE;
}

static gboolean
parse_normalizer_spec (LoadCtx *ctx, PbReader *r, SinopiaSentencepiece *sp, GBytes **charsmap)
{
  PbField f;
  gboolean done;
  while (pb_next (ctx, r, &f, &done)) {
    if (done)
      return TRUE;
    if (f.field == 2 && f.wire == WIRE_LEN) {
      g_clear_pointer (charsmap, g_bytes_unref);
      *charsmap = g_bytes_new_static (f.data, f.len);
    } else if (f.field >= 3 && f.field <= 5 && f.wire == WIRE_VARINT) {
      gboolean *flag[3] = { &sp->add_dummy_prefix, &sp->remove_extra_whitespaces, &sp->escape_whitespaces };
      *flag[f.field - 3] = f.varint != 0;
    }
  }
  return FALSE;
}

/* precompiled_charsmap: u32 little-endian trie size T, T bytes of double-array units, then
 * the replacement strings the trie's values point into. */
static gboolean
load_charsmap (LoadCtx *ctx, SinopiaSentencepiece *sp, GBytes *blob)
{
  gsize size;
  const guint8 *b = g_bytes_get_data (blob, &size);
  if (size == 0)
    return TRUE;
  if (size <= 4)
    return model_fail (ctx, SINOPIA_SENTENCEPIECE_ERROR_MODEL, "precompiled_charsmap is broken");
  guint32 trie_size = (guint32) b[0] | (guint32) b[1] << 8 | (guint32) b[2] << 16 | (guint32) b[3] << 24;
  if (trie_size > size - 4)
    return model_fail (ctx, SINOPIA_SENTENCEPIECE_ERROR_MODEL, "precompiled_charsmap: trie size exceeds the blob");
  sp->n_trie = trie_size / 4;
  sp->trie = g_new (guint32, MAX (sp->n_trie, 1));
  for (gsize i = 0; i < sp->n_trie; i++) {
    const guint8 *u = b + 4 + 4 * i;
    sp->trie[i] = (guint32) u[0] | (guint32) u[1] << 8 | (guint32) u[2] << 16 | (guint32) u[3] << 24;
  }
  sp->n_replacements = size - 4 - trie_size;
  sp->replacements = g_malloc (sp->n_replacements + 1);
  memcpy (sp->replacements, b + 4 + trie_size, sp->n_replacements);
  sp->replacements[sp->n_replacements] = '\0';
  return TRUE;
}

static gboolean
byte_piece_value (const Piece *p, int *byte)
{
  static const char hex[] = "0123456789ABCDEF";
  if (p->len != 6 || memcmp (p->piece, "<0x", 3) != 0 || p->piece[5] != '>')
    return FALSE;
  const char *hi = memchr (hex, p->piece[3], 16), *lo = memchr (hex, p->piece[4], 16);
  if (hi == NULL || lo == NULL)
    return FALSE;
  *byte = (int) ((hi - hex) * 16 + (lo - hex));
  return TRUE;
}

static gboolean
dict_build (LoadCtx *ctx, const SinopiaSentencepiece *sp, Dict *d, GArray *ids)
{
  d->n = ids->len;
  d->e = g_new (Entry, MAX (d->n, 1));
  for (gsize i = 0; i < d->n; i++) {
    const Piece *p = &sp->pieces[g_array_index (ids, int32_t, i)];
    d->e[i] = (Entry) { p->piece, p->len, g_array_index (ids, int32_t, i) };
  }
  qsort (d->e, d->n, sizeof *d->e, entry_cmp);
  for (gsize i = 1; i < d->n; i++)
    if (entry_cmp (&d->e[i - 1], &d->e[i]) == 0) {
      int32_t id = MAX (d->e[i - 1].id, d->e[i].id);
      return model_fail (ctx, SINOPIA_SENTENCEPIECE_ERROR_MODEL, "piece %d \"%s\" is already defined", id,
                         sp->pieces[id].piece);
    }
  return TRUE;
}

/* sentencepiece's checks on the vocabulary, then the lookup tables. */
static gboolean
build_vocab (LoadCtx *ctx, SinopiaSentencepiece *sp)
{
  g_autoptr (GArray) vocab = g_array_new (FALSE, FALSE, sizeof (int32_t));
  g_autoptr (GArray) reserved = g_array_new (FALSE, FALSE, sizeof (int32_t));
  g_autoptr (GArray) user = g_array_new (FALSE, FALSE, sizeof (int32_t));
  gboolean byte_found[256] = { FALSE };
  sp->unk = -1;
  sp->min_score = FLT_MAX;
  sp->max_score = FLT_MIN; /* sentencepiece's start value, the smallest positive float */
  for (gsize i = 0; i < sp->n_pieces; i++) {
    const Piece *p = &sp->pieces[i];
    int32_t id = (int32_t) i;
    if (p->len == 0)
      return model_fail (ctx, SINOPIA_SENTENCEPIECE_ERROR_MODEL, "piece %d is empty", id);
    switch (p->type) {
    case SINOPIA_PIECE_NORMAL:
      sp->min_score = MIN (sp->min_score, p->score);
      sp->max_score = MAX (sp->max_score, p->score);
      G_GNUC_FALLTHROUGH;
    case SINOPIA_PIECE_USER_DEFINED:
    case SINOPIA_PIECE_UNUSED:
      /* The reference keys its tries by C string; a NUL there would silently shorten the piece. */
      if (memchr (p->piece, '\0', p->len))
        return model_fail (ctx, SINOPIA_SENTENCEPIECE_ERROR_MODEL, "piece %d holds a NUL byte", id);
      g_array_append_val (vocab, id);
      if (p->type == SINOPIA_PIECE_USER_DEFINED)
        g_array_append_val (user, id);
      break;
    case SINOPIA_PIECE_UNKNOWN:
      if (sp->unk >= 0)
        return model_fail (ctx, SINOPIA_SENTENCEPIECE_ERROR_MODEL, "unk is already defined (pieces %d and %d)",
                           sp->unk, id);
      sp->unk = id;
      g_array_append_val (reserved, id);
      break;
    case SINOPIA_PIECE_BYTE: {
      int byte;
      if (!sp->byte_fallback)
        return model_fail (ctx, SINOPIA_SENTENCEPIECE_ERROR_MODEL,
                           "byte piece %d is found although byte_fallback is false", id);
      if (!byte_piece_value (p, &byte))
        return model_fail (ctx, SINOPIA_SENTENCEPIECE_ERROR_MODEL, "byte piece %d is invalid", id);
      byte_found[byte] = TRUE;
      g_array_append_val (reserved, id);
      break;
    }
    case SINOPIA_PIECE_CONTROL:
      g_array_append_val (reserved, id);
      break;
    }
  }
  if (sp->unk < 0)
    return model_fail (ctx, SINOPIA_SENTENCEPIECE_ERROR_MODEL, "unk is not defined");
  if (vocab->len == 0)
    return model_fail (ctx, SINOPIA_SENTENCEPIECE_ERROR_MODEL, "no pieces are loaded");
  if (!dict_build (ctx, sp, &sp->vocab, vocab) || !dict_build (ctx, sp, &sp->reserved, reserved) ||
      !dict_build (ctx, sp, &sp->user, user))
    return FALSE;
  if (sp->byte_fallback) {
    for (int b = 0; b < 256; b++) {
      char name[8];
      snprintf (name, sizeof name, "<0x%02X>", b);
      if (!byte_found[b])
        return model_fail (ctx, SINOPIA_SENTENCEPIECE_ERROR_MODEL,
                           "byte_fallback is true but there is no byte piece %s", name);
      sp->byte_ids[b] = sinopia_sentencepiece_piece_to_id (sp, name, 6);
    }
  }
  return TRUE;
}

static gboolean
parse_model (LoadCtx *ctx, SinopiaSentencepiece *sp, const guint8 *data, gsize len)
{
  PbReader r = { data, data, data + len };
  PbField f;
  gboolean done;
  g_autoptr (GBytes) charsmap = NULL;
  g_autoptr (GArray) pieces = g_array_new (FALSE, TRUE, sizeof (Piece));
  gboolean ok = FALSE;
  sp->model_type = 1;
  sp->add_dummy_prefix = sp->remove_extra_whitespaces = sp->escape_whitespaces = TRUE;
  while (pb_next (ctx, &r, &f, &done)) {
    if (done) {
      ok = TRUE;
      break;
    }
    PbReader sub;
    if (f.wire != WIRE_LEN || f.field > 3)
      continue;
    pb_sub (&r, &f, &sub);
    if (f.field == 1) {
      Piece p = { 0 };
      gboolean piece_ok = parse_piece (ctx, &sub, &p);
      if (p.piece == NULL)
        p.piece = g_strdup ("");
      g_array_append_val (pieces, p);
      if (!piece_ok)
        break;
      if (pieces->len > G_MAXINT32) {
        model_fail (ctx, SINOPIA_SENTENCEPIECE_ERROR_MODEL, "more than %d pieces", G_MAXINT32);
        break;
      }
    } else if (f.field == 2 ? !parse_trainer_spec (ctx, &sub, sp) : !parse_normalizer_spec (ctx, &sub, sp, &charsmap)) {
      break;
    }
  }
  sp->n_pieces = pieces->len;
  sp->pieces = (Piece *) g_array_free (g_steal_pointer (&pieces), FALSE);
  if (!ok)
    return FALSE;
  for (int k = 0; k < 4; k++)
    if (sp->special[k] == NULL || sp->special[k][0] == '\0') {
      g_free (sp->special[k]);
      sp->special[k] = g_strdup (special_defaults[k]);
    }
  if (sp->model_type != 1) {
    static const char *const names[] = { "", "UNIGRAM", "BPE", "WORD", "CHAR" };
    return model_fail (ctx, SINOPIA_SENTENCEPIECE_ERROR_UNSUPPORTED, "%s models are not supported, only UNIGRAM",
                       names[sp->model_type]);
  }
  if (charsmap && !load_charsmap (ctx, sp, charsmap))
    return FALSE;
  return build_vocab (ctx, sp);
}

SinopiaSentencepiece *
sinopia_sentencepiece_new_from_data (const void *data, gsize len, const char *name, GError **error)
{
  if (data == NULL && len > 0) {
    g_set_error (error, SINOPIA_SENTENCEPIECE_ERROR, SINOPIA_SENTENCEPIECE_ERROR_INVALID_ARGUMENT,
                 "no model data");
    return NULL;
  }
  LoadCtx ctx = { name ? name : "sentencepiece model", error };
  SinopiaSentencepiece *sp = g_new0 (SinopiaSentencepiece, 1);
  if (!parse_model (&ctx, sp, data ? data : (const void *) "", len)) {
    sinopia_sentencepiece_free (sp);
    return NULL;
  }
  return sp;
}

SinopiaSentencepiece *
sinopia_sentencepiece_load (const char *path, GError **error)
{
  g_autofree char *contents = NULL;
  gsize len;
  g_autoptr (GError) local = NULL;
  if (path == NULL) {
    g_set_error (error, SINOPIA_SENTENCEPIECE_ERROR, SINOPIA_SENTENCEPIECE_ERROR_INVALID_ARGUMENT, "no path");
    return NULL;
  }
  if (!g_file_get_contents (path, &contents, &len, &local)) {
    g_set_error (error, SINOPIA_SENTENCEPIECE_ERROR, SINOPIA_SENTENCEPIECE_ERROR_IO, "%s", local->message);
    return NULL;
  }
  return sinopia_sentencepiece_new_from_data (contents, len, path, error);
}

void
sinopia_sentencepiece_free (SinopiaSentencepiece *sp)
{
  if (sp == NULL)
    return;
  for (gsize i = 0; i < sp->n_pieces; i++)
    g_free (sp->pieces[i].piece);
  g_free (sp->pieces);
  g_free (sp->vocab.e);
  g_free (sp->reserved.e);
  g_free (sp->user.e);
  for (int k = 0; k < 4; k++)
    g_free (sp->special[k]);
  g_free (sp->trie);
  g_free (sp->replacements);
  g_free (sp);
}

/* ------------------------------------------------------------------------------------------ */
/* Normalisation. */

/* Length of the valid UTF-8 sequence at s (sentencepiece's rules: no overlongs, no
 * surrogates, at most U+10FFFF), or 0 if s[0] does not start one. */
static gsize
utf8_valid_len (const guint8 *s, gsize len)
{
  if (s[0] < 0x80)
    return 1;
  gsize n = (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
  if (n == 0 || len < n)
    return 0;
  guint32 c = s[0] & (0x7f >> n);
  for (gsize i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    c = c << 6 | (s[i] & 0x3f);
  }
  static const guint32 min_cp[5] = { 0, 0, 0x80, 0x800, 0x10000 };
  if (c < min_cp[n] || (c >= 0xd800 && c < 0xe000) || c > 0x10ffff)
    return 0;
  return n;
}

/* The charsmap rule for the longest key prefixing s (a walk of darts-clone's double array:
 * unit bits 0-7 label, 8 has-leaf, 9 offset scale, 10-30 offset, 31 leaf; a leaf unit's low 31
 * bits are the replacement's offset). Every index is checked, so a corrupt trie only fails to
 * match. Returns the matched length, 0 if none, with *repl the replacement (NUL-terminated). */
static gsize
charsmap_match (const SinopiaSentencepiece *sp, const guint8 *s, gsize len, const char **repl)
{
  if (sp->n_trie == 0)
    return 0;
  gsize best = 0;
  guint32 unit = sp->trie[0];
  gsize pos = (gsize) ((unit >> 10) << ((unit & (1u << 9)) >> 6));
  len = MIN (len, SINOPIA_SENTENCEPIECE_MAX_RULE);
  for (gsize i = 0; i < len; i++) {
    pos ^= s[i];
    if (pos >= sp->n_trie)
      break;
    unit = sp->trie[pos];
    if ((unit & ((1u << 31) | 0xff)) != s[i])
      break;
    pos ^= (gsize) ((unit >> 10) << ((unit & (1u << 9)) >> 6));
    if (unit & (1u << 8)) {
      if (pos >= sp->n_trie)
        break;
      gsize value = sp->trie[pos] & 0x7fffffffu;
      if (value < sp->n_replacements) {
        best = i + 1;
        *repl = sp->replacements + value;
      }
    }
  }
  return best;
}

/* sentencepiece's Normalizer::NormalizePrefix: the normalised form of the text's first unit
 * and how many input bytes it consumed (≥ 1). */
static gsize
normalize_prefix (const SinopiaSentencepiece *sp, const guint8 *s, gsize len, const char **out, gsize *out_len)
{
  gsize n = dict_longest_prefix (&sp->user, (const char *) s, len);
  if (n > 0) {
    *out = (const char *) s;
    *out_len = n;
    return n;
  }
  const char *repl = NULL;
  n = charsmap_match (sp, s, len, &repl);
  if (n > 0) {
    *out = repl;
    *out_len = strlen (repl);
    return n;
  }
  n = utf8_valid_len (s, len);
  if (n == 0) {
    /* U+FFFD for one bad byte, as sentencepiece. */
    *out = "\xef\xbf\xbd";
    *out_len = 3;
    return 1;
  }
  *out = (const char *) s;
  *out_len = n;
  return n;
}

#define SPACE_SYMBOL "\xe2\x96\x81"

static void
append_space (const SinopiaSentencepiece *sp, GString *out)
{
  if (sp->escape_whitespaces)
    g_string_append_len (out, SPACE_SYMBOL, 3);
  else
    g_string_append_c (out, ' ');
}

/* sentencepiece's Normalizer::Normalize, without the offset bookkeeping. */
static GString *
normalize (const SinopiaSentencepiece *sp, const guint8 *s, gsize len)
{
  GString *out = g_string_sized_new (len * 3 / 2 + 8);
  const char *piece;
  gsize piece_len;
  if (sp->remove_extra_whitespaces) {
    while (len > 0) {
      gsize used = normalize_prefix (sp, s, len, &piece, &piece_len);
      if (!(piece_len == 1 && piece[0] == ' '))
        break;
      s += used;
      len -= used;
    }
  }
  if (len == 0)
    return out;
  if (!sp->whitespace_suffix && sp->add_dummy_prefix)
    append_space (sp, out);
  gboolean prev_space = sp->remove_extra_whitespaces;
  while (len > 0) {
    gsize used = normalize_prefix (sp, s, len, &piece, &piece_len);
    if (prev_space)
      while (piece_len > 0 && piece[0] == ' ') {
        piece++;
        piece_len--;
      }
    if (piece_len > 0) {
      for (gsize i = 0; i < piece_len; i++) {
        if (sp->escape_whitespaces && piece[i] == ' ')
          g_string_append_len (out, SPACE_SYMBOL, 3);
        else
          g_string_append_c (out, piece[i]);
      }
      prev_space = piece[piece_len - 1] == ' ';
    }
    s += used;
    len -= used;
    if (!sp->remove_extra_whitespaces)
      prev_space = FALSE;
  }
  if (sp->remove_extra_whitespaces) {
    const char *space = sp->escape_whitespaces ? SPACE_SYMBOL : " ";
    gsize n = sp->escape_whitespaces ? 3 : 1;
    while (out->len >= n && memcmp (out->str + out->len - n, space, n) == 0)
      g_string_truncate (out, out->len - n);
  }
  if (sp->whitespace_suffix && sp->add_dummy_prefix)
    append_space (sp, out);
  return out;
}

/* ------------------------------------------------------------------------------------------ */
/* Encoding. */

typedef struct {
  int32_t id;
  float score;      /* of the best path ending here */
  gssize starts_at; /* −1: no path ends here */
} BestNode;

/* Byte length of the UTF-8 character whose lead byte is b (1 for a stray byte), as
 * sentencepiece's OneCharLen. */
static gsize
one_char_len (guint8 b)
{
  static const guint8 len[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4 };
  return len[b >> 4];
}

/* sentencepiece's optimised unigram Viterbi (Model::EncodeOptimized), with its mixed
 * float/double arithmetic kept: piece scores sum in double and are stored as float, the unk
 * score is float, ties keep the first candidate (shorter pieces, earlier starts). Returns
 * (transfer full) the best path's last piece ending at each byte offset of `text`; every
 * character boundary is reached, so the path backtracks from `size` to 0. */
static BestNode *
viterbi (const SinopiaSentencepiece *sp, const char *text, gsize size)
{
  BestNode *best = g_new (BestNode, size + 1);
  for (gsize i = 0; i <= size; i++)
    best[i] = (BestNode) { -1, 0.0f, -1 };
  const float unk_score = sp->min_score - UNK_PENALTY;
  gsize start = 0;
  while (start < size) {
    const float here = best[start].score;
    const gsize mblen = MIN (one_char_len ((guint8) text[start]), size - start);
    gboolean single = FALSE;
    gsize lo = 0, hi = sp->vocab.n;
    for (gsize end = start; end < size && lo < hi; end++) {
      dict_step (&sp->vocab, &lo, &hi, end - start, (guint8) text[end]);
      if (lo == hi || sp->vocab.e[lo].len != end - start + 1)
        continue;
      int32_t id = sp->vocab.e[lo].id;
      const Piece *p = &sp->pieces[id];
      if (p->type == SINOPIA_PIECE_UNUSED)
        continue;
      gsize length = end - start + 1;
      double score = p->type == SINOPIA_PIECE_USER_DEFINED ? (double) ((float) length * sp->max_score) - 0.1
                                                            : (double) p->score;
      double candidate = score + (double) here;
      BestNode *target = &best[end + 1];
      if (target->starts_at == -1 || candidate > (double) target->score)
        *target = (BestNode) { id, (float) candidate, (gssize) start };
      if (length == mblen)
        single = TRUE;
    }
    if (!single) {
      float candidate = unk_score + here;
      BestNode *target = &best[start + mblen];
      if (target->starts_at == -1 || candidate > target->score)
        *target = (BestNode) { sp->unk, candidate, (gssize) start };
    }
    start += mblen;
  }
  return best;
}

int32_t *
sinopia_sentencepiece_encode (const SinopiaSentencepiece *sp, const char *text, gsize len, gsize *n_ids,
                              GError **error)
{
  if (sp == NULL || n_ids == NULL || (text == NULL && len > 0)) {
    g_set_error (error, SINOPIA_SENTENCEPIECE_ERROR, SINOPIA_SENTENCEPIECE_ERROR_INVALID_ARGUMENT,
                 "encode: %s is NULL", sp == NULL ? "the tokenizer" : n_ids == NULL ? "n_ids" : "the text");
    return NULL;
  }
  GString *norm = normalize (sp, (const guint8 *) text, len);
  BestNode *best = viterbi (sp, norm->str, norm->len);
  g_autoptr (GArray) ends = g_array_new (FALSE, FALSE, sizeof (gsize));
  for (gsize end = norm->len; end > 0; end = (gsize) best[end].starts_at)
    g_array_append_val (ends, end);
  /* Reserved space, so that an empty result is still a non-NULL array. */
  GArray *ids = g_array_sized_new (FALSE, FALSE, sizeof (int32_t), (guint) MIN (ends->len + 1, 4096));
  gboolean prev_unk = FALSE;
  for (guint i = ends->len; i-- > 0;) {
    gsize end = g_array_index (ends, gsize, i);
    const BestNode *node = &best[end];
    gboolean unk = sp->pieces[node->id].type == SINOPIA_PIECE_UNKNOWN;
    if (unk && sp->byte_fallback) {
      for (gsize k = (gsize) node->starts_at; k < end; k++)
        g_array_append_val (ids, sp->byte_ids[(guint8) norm->str[k]]);
    } else if (!(unk && prev_unk)) {
      /* A run of unknown characters is one unk, as sentencepiece merges them. */
      g_array_append_val (ids, node->id);
    }
    prev_unk = unk;
  }
  g_free (best);
  g_string_free (norm, TRUE);
  *n_ids = ids->len;
  return (int32_t *) g_array_free (ids, FALSE);
}

int32_t *
sinopia_sentencepiece_encode_truncated (const SinopiaSentencepiece *sp, const char *text, gsize len, gsize max_ids,
                                        gsize *n_ids, gboolean *truncated, GError **error)
{
  int32_t *ids = sinopia_sentencepiece_encode (sp, text, len, n_ids, error);
  if (ids == NULL)
    return NULL;
  if (truncated)
    *truncated = *n_ids > max_ids;
  *n_ids = MIN (*n_ids, max_ids);
  return ids;
}

/* ------------------------------------------------------------------------------------------ */
/* Lookups. */

gsize
sinopia_sentencepiece_n_pieces (const SinopiaSentencepiece *sp)
{
  return sp ? sp->n_pieces : 0;
}

const char *
sinopia_sentencepiece_id_to_piece (const SinopiaSentencepiece *sp, int32_t id, gsize *len)
{
  if (sp == NULL || id < 0 || (gsize) id >= sp->n_pieces)
    return NULL;
  if (len)
    *len = sp->pieces[id].len;
  return sp->pieces[id].piece;
}

float
sinopia_sentencepiece_score (const SinopiaSentencepiece *sp, int32_t id)
{
  if (sp == NULL || id < 0 || (gsize) id >= sp->n_pieces)
    return 0.0f;
  return sp->pieces[id].score;
}

SinopiaPieceType
sinopia_sentencepiece_type (const SinopiaSentencepiece *sp, int32_t id)
{
  if (sp == NULL || id < 0 || (gsize) id >= sp->n_pieces)
    return 0;
  return sp->pieces[id].type;
}

int32_t
sinopia_sentencepiece_piece_to_id (const SinopiaSentencepiece *sp, const char *piece, gssize len)
{
  if (sp == NULL || piece == NULL)
    return -1;
  gsize n = len < 0 ? strlen (piece) : (gsize) len;
  const Entry *e = dict_find (&sp->reserved, piece, n);
  if (e == NULL)
    e = dict_find (&sp->vocab, piece, n);
  return e ? e->id : sp->unk;
}

static int32_t
special_id (const SinopiaSentencepiece *sp, int which, SinopiaPieceType type)
{
  if (sp == NULL)
    return -1;
  int32_t id = sinopia_sentencepiece_piece_to_id (sp, sp->special[which], -1);
  return sp->pieces[id].type == type ? id : -1;
}

int32_t
sinopia_sentencepiece_unk_id (const SinopiaSentencepiece *sp)
{
  return special_id (sp, SPECIAL_UNK, SINOPIA_PIECE_UNKNOWN);
}

int32_t
sinopia_sentencepiece_bos_id (const SinopiaSentencepiece *sp)
{
  return special_id (sp, SPECIAL_BOS, SINOPIA_PIECE_CONTROL);
}

int32_t
sinopia_sentencepiece_eos_id (const SinopiaSentencepiece *sp)
{
  return special_id (sp, SPECIAL_EOS, SINOPIA_PIECE_CONTROL);
}

int32_t
sinopia_sentencepiece_pad_id (const SinopiaSentencepiece *sp)
{
  return special_id (sp, SPECIAL_PAD, SINOPIA_PIECE_CONTROL);
}
