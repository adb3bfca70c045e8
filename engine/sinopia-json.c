/* sinopia-json.c — strict recursive-descent JSON parser into an arena-allocated tree. */
#define G_LOG_DOMAIN "sinopia-json"

#include <math.h>
#include <string.h>

#include "sinopia-json.h"

G_DEFINE_QUARK (sinopia-json-error-quark, sinopia_json_error)

/* Objects up to this size are searched linearly; bigger ones get a sorted index. */
#define LINEAR_MEMBERS 8
#define ARENA_BLOCK (64 * 1024)

typedef struct {
  const char *key;
  gsize key_len;
  gsize key_offset;
  const SinopiaJsonNode *value;
} Member;

struct _SinopiaJsonNode {
  SinopiaJsonType type;
  gsize offset;
  union {
    gboolean boolean;
    struct {
      double d;
      int64_t i;
      gboolean is_int;       /* integer literal that fits int64: `i` is exact */
      gboolean int_overflow; /* integer literal beyond int64 */
    } number;
    struct {
      const char *s;
      gsize len;
    } string;
    struct {
      const SinopiaJsonNode **items;
      gsize n;
    } array;
    struct {
      const Member *members;
      const uint32_t *sorted; /* member indices ordered by key; NULL for small objects */
      gsize n;
    } object;
  };
};

typedef struct _Block Block;
struct _Block {
  Block *next;
  gsize used, size;
  /* Keeps data[] aligned for doubles and pointers. */
  union {
    double d;
    void *p;
    int64_t i;
  } data[];
};

struct _SinopiaJson {
  Block *blocks;
  const SinopiaJsonNode *root;
};

typedef struct {
  const char *start, *p, *end;
  guint depth;
  SinopiaJson *doc;
  GPtrArray *items;  /* pending array elements of every open array, innermost last */
  GArray *members;   /* pending members of every open object, innermost last */
  GError **error;
} Parser;

static void *
arena_alloc (SinopiaJson *doc, gsize size)
{
  size = (size + 7) & ~(gsize) 7;
  Block *b = doc->blocks;
  if (b == NULL || b->size - b->used < size) {
    gsize cap = MAX (size, (gsize) ARENA_BLOCK);
    Block *nb = g_malloc (sizeof (Block) + cap);
    nb->used = 0;
    nb->size = cap;
    /* An oversized block goes behind the current one so the current keeps filling up. */
    if (b != NULL && cap > ARENA_BLOCK) {
      nb->next = b->next;
      b->next = nb;
    } else {
      nb->next = b;
      doc->blocks = nb;
    }
    b = nb;
  }
  void *p = (char *) b->data + b->used;
  b->used += size;
  return p;
}

void
sinopia_json_free (SinopiaJson *doc)
{
  if (doc == NULL)
    return;
  for (Block *b = doc->blocks, *next; b != NULL; b = next) {
    next = b->next;
    g_free (b);
  }
  g_free (doc);
}

G_GNUC_PRINTF (3, 4) static gboolean
fail_at (Parser *ps, gsize offset, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (ps->error, SINOPIA_JSON_ERROR, SINOPIA_JSON_ERROR_SYNTAX, "byte %" G_GSIZE_FORMAT ": %s", offset, msg);
  return FALSE;
}

static gsize
pos (const Parser *ps)
{
  return (gsize) (ps->p - ps->start);
}

/* Describes the byte at the cursor for error messages. */
static const char *
describe_here (const Parser *ps, char buf[16])
{
  if (ps->p >= ps->end)
    return "end of input";
  guchar c = (guchar) *ps->p;
  if (c >= 0x20 && c < 0x7f)
    g_snprintf (buf, 16, "'%c'", c);
  else
    g_snprintf (buf, 16, "byte 0x%02x", c);
  return buf;
}

static gboolean
fail_unexpected (Parser *ps, const char *expected)
{
  char buf[16];
  return fail_at (ps, pos (ps), "expected %s, found %s", expected, describe_here (ps, buf));
}

static void
skip_ws (Parser *ps)
{
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
    ps->p++;
}

static SinopiaJsonNode *
new_node (Parser *ps, SinopiaJsonType type, gsize offset)
{
  SinopiaJsonNode *n = arena_alloc (ps->doc, sizeof (SinopiaJsonNode));
  memset (n, 0, sizeof *n);
  n->type = type;
  n->offset = offset;
  return n;
}

static gboolean parse_value (Parser *ps, const SinopiaJsonNode **out);

static gboolean
match_word (Parser *ps, const char *word)
{
  gsize n = strlen (word);
  if ((gsize) (ps->end - ps->p) < n || memcmp (ps->p, word, n) != 0)
    return fail_unexpected (ps, "a JSON value");
  ps->p += n;
  return TRUE;
}

static int
hex_digit (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Reads the 4 hex digits after "\u" at `p` (which points at the backslash). */
static gboolean
read_u4 (Parser *ps, const char *p, uint32_t *out)
{
  uint32_t v = 0;
  for (int i = 2; i < 6; i++) {
    int d = p + i < ps->end ? hex_digit (p[i]) : -1;
    if (d < 0)
      return fail_at (ps, (gsize) (p - ps->start), "\\u escape needs 4 hex digits");
    v = (v << 4) | (uint32_t) d;
  }
  *out = v;
  return TRUE;
}

static char *
put_utf8 (char *o, uint32_t cp)
{
  if (cp < 0x80) {
    *o++ = (char) cp;
  } else if (cp < 0x800) {
    *o++ = (char) (0xc0 | (cp >> 6));
    *o++ = (char) (0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    *o++ = (char) (0xe0 | (cp >> 12));
    *o++ = (char) (0x80 | ((cp >> 6) & 0x3f));
    *o++ = (char) (0x80 | (cp & 0x3f));
  } else {
    *o++ = (char) (0xf0 | (cp >> 18));
    *o++ = (char) (0x80 | ((cp >> 12) & 0x3f));
    *o++ = (char) (0x80 | ((cp >> 6) & 0x3f));
    *o++ = (char) (0x80 | (cp & 0x3f));
  }
  return o;
}

/* Cursor on the opening quote. Decodes into the arena: the decoded form is never longer
 * than the raw text (an escape of 2, 6 or 12 bytes yields at most 1, 3 or 4 bytes). */
static gboolean
parse_string (Parser *ps, const char **out, gsize *out_len)
{
  const char *q = ps->p + 1;
  /* First pass: find the closing quote, validate raw bytes. */
  const char *seg = q;
  gsize raw_len;
  for (;;) {
    if (q >= ps->end)
      return fail_at (ps, pos (ps), "unterminated string");
    guchar c = (guchar) *q;
    if (c == '"')
      break;
    if (c < 0x20)
      return fail_at (ps, (gsize) (q - ps->start), "control character 0x%02x in string", c);
    if (c == '\\') {
      if (ps->end - q < 2)
        return fail_at (ps, pos (ps), "unterminated string");
      q += 2;
      continue;
    }
    if (c >= 0x80) {
      /* Validate one multi-byte sequence; its length comes from the lead byte. */
      gsize n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
      const char *bad = NULL;
      if ((gsize) (ps->end - q) < n || !g_utf8_validate_len (q, n, &bad) || bad != q + n)
        return fail_at (ps, (gsize) (q - ps->start), "invalid UTF-8 in string");
      q += n;
      continue;
    }
    q++;
  }
  raw_len = (gsize) (q - seg);

  char *buf = arena_alloc (ps->doc, raw_len + 1);
  char *o = buf;
  for (const char *r = seg; r < q;) {
    if (*r != '\\') {
      *o++ = *r++;
      continue;
    }
    uint32_t cp;
    switch (r[1]) {
    case '"': *o++ = '"'; r += 2; continue;
    case '\\': *o++ = '\\'; r += 2; continue;
    case '/': *o++ = '/'; r += 2; continue;
    case 'b': *o++ = '\b'; r += 2; continue;
    case 'f': *o++ = '\f'; r += 2; continue;
    case 'n': *o++ = '\n'; r += 2; continue;
    case 'r': *o++ = '\r'; r += 2; continue;
    case 't': *o++ = '\t'; r += 2; continue;
    case 'u':
      if (!read_u4 (ps, r, &cp))
        return FALSE;
      if (cp >= 0xdc00 && cp <= 0xdfff)
        return fail_at (ps, (gsize) (r - ps->start), "lone low surrogate \\u%04X", cp);
      if (cp >= 0xd800 && cp <= 0xdbff) {
        uint32_t lo;
        if (q - r < 12 || r[6] != '\\' || r[7] != 'u')
          return fail_at (ps, (gsize) (r - ps->start), "high surrogate \\u%04X not followed by a low one", cp);
        if (!read_u4 (ps, r + 6, &lo))
          return FALSE;
        if (lo < 0xdc00 || lo > 0xdfff)
          return fail_at (ps, (gsize) (r - ps->start), "high surrogate \\u%04X not followed by a low one", cp);
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        r += 6;
      }
      o = put_utf8 (o, cp);
      r += 6;
      continue;
    default:
      {
        char buf16[16];
        Parser at = *ps;
        at.p = r + 1;
        return fail_at (ps, (gsize) (r - ps->start), "invalid escape \\%s", describe_here (&at, buf16));
      }
    }
  }
  *o = '\0';
  ps->p = q + 1;
  *out = buf;
  *out_len = (gsize) (o - buf);
  return TRUE;
}

static gboolean
parse_number (Parser *ps, const SinopiaJsonNode **out)
{
  const char *s = ps->p, *q = s;
  gboolean neg = FALSE, integral = TRUE;
  if (q < ps->end && *q == '-') {
    neg = TRUE;
    q++;
  }
  if (q >= ps->end || !g_ascii_isdigit (*q)) {
    ps->p = q;
    return fail_unexpected (ps, "a digit");
  }
  const char *int_start = q;
  if (*q == '0') {
    q++;
  } else {
    while (q < ps->end && g_ascii_isdigit (*q))
      q++;
  }
  const char *int_end = q;
  if (q < ps->end && *q == '.') {
    integral = FALSE;
    q++;
    if (q >= ps->end || !g_ascii_isdigit (*q)) {
      ps->p = q;
      return fail_unexpected (ps, "a digit after '.'");
    }
    while (q < ps->end && g_ascii_isdigit (*q))
      q++;
  }
  if (q < ps->end && (*q == 'e' || *q == 'E')) {
    integral = FALSE;
    q++;
    if (q < ps->end && (*q == '+' || *q == '-'))
      q++;
    if (q >= ps->end || !g_ascii_isdigit (*q)) {
      ps->p = q;
      return fail_unexpected (ps, "a digit in the exponent");
    }
    while (q < ps->end && g_ascii_isdigit (*q))
      q++;
  }
  if (q < ps->end && g_ascii_isdigit (*q)) {
    ps->p = q;
    return fail_at (ps, pos (ps), "leading zeros are not allowed in numbers");
  }

  SinopiaJsonNode *n = new_node (ps, SINOPIA_JSON_NUMBER, pos (ps));
  gsize len = (gsize) (q - s);

  if (integral) {
    /* Exact: accumulate the magnitude in uint64; int64 min has one more magnitude than max. */
    uint64_t limit = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX, mag = 0;
    gboolean overflow = FALSE;
    for (const char *d = int_start; d < int_end; d++) {
      uint64_t digit = (uint64_t) (*d - '0');
      if (mag > (limit - digit) / 10) {
        overflow = TRUE;
        break;
      }
      mag = mag * 10 + digit;
    }
    if (!overflow) {
      n->number.is_int = TRUE;
      n->number.i = neg ? (mag == (uint64_t) INT64_MAX + 1 ? INT64_MIN : -(int64_t) mag) : (int64_t) mag;
      n->number.d = neg && mag == 0 ? -0.0 : (double) n->number.i;
      ps->p = q;
      *out = n;
      return TRUE;
    }
    n->number.int_overflow = TRUE;
  }

  /* g_ascii_strtod needs a NUL-terminated copy; it is locale-independent. */
  char small[64];
  g_autofree char *big = NULL;
  char *copy = small;
  if (len < sizeof small) {
    memcpy (small, s, len);
    small[len] = '\0';
  } else {
    copy = big = g_strndup (s, len);
  }
  double d = g_ascii_strtod (copy, NULL);
  if (isinf (d) || isnan (d)) {
    g_set_error (ps->error, SINOPIA_JSON_ERROR, SINOPIA_JSON_ERROR_NUMBER,
                 "byte %" G_GSIZE_FORMAT ": number %.*s%s is out of the range of a double", pos (ps),
                 (int) MIN (len, (gsize) 32), s, len > 32 ? "..." : "");
    return FALSE;
  }
  n->number.d = d;
  ps->p = q;
  *out = n;
  return TRUE;
}

static int
compare_members (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const Member *m = user_data;
  const Member *x = &m[*(const uint32_t *) a], *y = &m[*(const uint32_t *) b];
  int c = memcmp (x->key, y->key, MIN (x->key_len, y->key_len));
  if (c != 0)
    return c;
  if (x->key_len != y->key_len)
    return x->key_len < y->key_len ? -1 : 1;
  /* Equal keys: document order, so a duplicate is reported at its second occurrence. */
  return x->key_offset < y->key_offset ? -1 : 1;
}

static gboolean
same_key (const Member *a, const Member *b)
{
  return a->key_len == b->key_len && memcmp (a->key, b->key, a->key_len) == 0;
}

static gboolean
duplicate_key (Parser *ps, const Member *first, const Member *second)
{
  g_autofree char *shown = g_strndup (second->key, MIN (second->key_len, (gsize) 200));
  g_set_error (ps->error, SINOPIA_JSON_ERROR, SINOPIA_JSON_ERROR_DUPLICATE_KEY,
               "byte %" G_GSIZE_FORMAT ": duplicate key \"%s\" (first at byte %" G_GSIZE_FORMAT ")",
               second->key_offset, shown, first->key_offset);
  return FALSE;
}

/* Moves the innermost object's pending members into the arena, indexes and checks them. */
static gboolean
finish_object (Parser *ps, SinopiaJsonNode *node, guint first)
{
  gsize n = ps->members->len - first;
  Member *m = arena_alloc (ps->doc, n * sizeof (Member));
  if (n > 0)
    memcpy (m, &g_array_index (ps->members, Member, first), n * sizeof (Member));
  g_array_set_size (ps->members, first);
  node->object.members = m;
  node->object.n = n;

  if (n <= LINEAR_MEMBERS) {
    for (gsize i = 1; i < n; i++)
      for (gsize j = 0; j < i; j++)
        if (same_key (&m[j], &m[i]))
          return duplicate_key (ps, &m[j], &m[i]);
    return TRUE;
  }
  if (n > G_MAXINT)
    return fail_at (ps, node->offset, "object has too many members");
  uint32_t *sorted = arena_alloc (ps->doc, n * sizeof (uint32_t));
  for (gsize i = 0; i < n; i++)
    sorted[i] = (uint32_t) i;
  g_qsort_with_data (sorted, (gint) n, sizeof (uint32_t), compare_members, m);
  for (gsize i = 1; i < n; i++)
    if (same_key (&m[sorted[i - 1]], &m[sorted[i]]))
      return duplicate_key (ps, &m[sorted[i - 1]], &m[sorted[i]]);
  node->object.sorted = sorted;
  return TRUE;
}

static gboolean
parse_object (Parser *ps, const SinopiaJsonNode **out)
{
  SinopiaJsonNode *node = new_node (ps, SINOPIA_JSON_OBJECT, pos (ps));
  guint first = ps->members->len;
  ps->p++;
  skip_ws (ps);
  if (ps->p < ps->end && *ps->p == '}') {
    ps->p++;
    *out = node;
    return finish_object (ps, node, first);
  }
  for (;;) {
    Member m = { 0 };
    skip_ws (ps);
    if (ps->p >= ps->end || *ps->p != '"')
      return fail_unexpected (ps, "a string key");
    m.key_offset = pos (ps);
    if (!parse_string (ps, &m.key, &m.key_len))
      return FALSE;
    skip_ws (ps);
    if (ps->p >= ps->end || *ps->p != ':')
      return fail_unexpected (ps, "':'");
    ps->p++;
    if (!parse_value (ps, &m.value))
      return FALSE;
    g_array_append_val (ps->members, m);
    skip_ws (ps);
    if (ps->p < ps->end && *ps->p == ',') {
      ps->p++;
      continue;
    }
    if (ps->p < ps->end && *ps->p == '}') {
      ps->p++;
      *out = node;
      return finish_object (ps, node, first);
    }
    return fail_unexpected (ps, "',' or '}'");
  }
}

static void
finish_array (Parser *ps, SinopiaJsonNode *node, guint first)
{
  gsize n = ps->items->len - first;
  const SinopiaJsonNode **items = arena_alloc (ps->doc, n * sizeof (SinopiaJsonNode *));
  if (n > 0)
    memcpy (items, &ps->items->pdata[first], n * sizeof (SinopiaJsonNode *));
  g_ptr_array_set_size (ps->items, (gint) first);
  node->array.items = items;
  node->array.n = n;
}

static gboolean
parse_array (Parser *ps, const SinopiaJsonNode **out)
{
  SinopiaJsonNode *node = new_node (ps, SINOPIA_JSON_ARRAY, pos (ps));
  guint first = ps->items->len;
  ps->p++;
  skip_ws (ps);
  if (ps->p < ps->end && *ps->p == ']') {
    ps->p++;
    finish_array (ps, node, first);
    *out = node;
    return TRUE;
  }
  for (;;) {
    const SinopiaJsonNode *item;
    if (!parse_value (ps, &item))
      return FALSE;
    g_ptr_array_add (ps->items, (gpointer) item);
    skip_ws (ps);
    if (ps->p < ps->end && *ps->p == ',') {
      ps->p++;
      continue;
    }
    if (ps->p < ps->end && *ps->p == ']') {
      ps->p++;
      finish_array (ps, node, first);
      *out = node;
      return TRUE;
    }
    return fail_unexpected (ps, "',' or ']'");
  }
}

static gboolean
parse_value (Parser *ps, const SinopiaJsonNode **out)
{
  skip_ws (ps);
  if (ps->p >= ps->end)
    return fail_unexpected (ps, "a JSON value");
  gsize at = pos (ps);
  SinopiaJsonNode *n;
  switch (*ps->p) {
  case '{':
  case '[':
    if (ps->depth >= SINOPIA_JSON_MAX_DEPTH) {
      g_set_error (ps->error, SINOPIA_JSON_ERROR, SINOPIA_JSON_ERROR_DEPTH,
                   "byte %" G_GSIZE_FORMAT ": nesting deeper than %d levels", at, SINOPIA_JSON_MAX_DEPTH);
      return FALSE;
    }
    {
      ps->depth++;
      gboolean ok = *ps->p == '{' ? parse_object (ps, out) : parse_array (ps, out);
      ps->depth--;
      return ok;
    }
  case '"':
    n = new_node (ps, SINOPIA_JSON_STRING, at);
    if (!parse_string (ps, &n->string.s, &n->string.len))
      return FALSE;
    *out = n;
    return TRUE;
  case 't':
  case 'f':
    n = new_node (ps, SINOPIA_JSON_BOOL, at);
    n->boolean = *ps->p == 't';
    if (!match_word (ps, n->boolean ? "true" : "false"))
      return FALSE;
    *out = n;
    return TRUE;
  case 'n':
    n = new_node (ps, SINOPIA_JSON_NULL, at);
    if (!match_word (ps, "null"))
      return FALSE;
    *out = n;
    return TRUE;
  default:
    if (*ps->p == '-' || g_ascii_isdigit (*ps->p))
      return parse_number (ps, out);
    return fail_unexpected (ps, "a JSON value");
  }
}

SinopiaJson *
sinopia_json_parse (const char *data, gsize len, GError **error)
{
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Callers' error may be NULL; keep our own so failures are always detected. */
  g_autoptr (GError) local = NULL;
  SinopiaJson *doc = g_new0 (SinopiaJson, 1);
  Parser ps = {
    .start = data ? data : "",
    .p = data ? data : "",
    .end = (data ? data : "") + len,
    .doc = doc,
    .items = g_ptr_array_new (),
    .members = g_array_new (FALSE, FALSE, sizeof (Member)),
    .error = &local,
  };
  const SinopiaJsonNode *root = NULL;
  gboolean ok = parse_value (&ps, &root);
  if (ok) {
    skip_ws (&ps);
    if (ps.p < ps.end)
      ok = fail_unexpected (&ps, "end of input after the JSON value");
  }
  g_ptr_array_free (ps.items, TRUE);
  g_array_free (ps.members, TRUE);
  if (!ok) {
    sinopia_json_free (doc);
    g_propagate_error (error, g_steal_pointer (&local));
    return NULL;
  }
  doc->root = root;
  return doc;
}

const SinopiaJsonNode *
sinopia_json_root (const SinopiaJson *doc)
{
  return doc ? doc->root : NULL;
}

SinopiaJsonType
sinopia_json_type (const SinopiaJsonNode *node)
{
  return node ? node->type : SINOPIA_JSON_NULL;
}

const char *
sinopia_json_type_phrase (const SinopiaJsonNode *node)
{
  if (node == NULL)
    return "nothing";
  switch (node->type) {
  case SINOPIA_JSON_NULL: return "null";
  case SINOPIA_JSON_BOOL: return "a boolean";
  case SINOPIA_JSON_NUMBER: return "a number";
  case SINOPIA_JSON_STRING: return "a string";
  case SINOPIA_JSON_ARRAY: return "an array";
  case SINOPIA_JSON_OBJECT: return "an object";
  }
  return "an unknown value";
}

gsize
sinopia_json_offset (const SinopiaJsonNode *node)
{
  return node ? node->offset : 0;
}

gsize
sinopia_json_length (const SinopiaJsonNode *node)
{
  if (node == NULL)
    return 0;
  if (node->type == SINOPIA_JSON_ARRAY)
    return node->array.n;
  if (node->type == SINOPIA_JSON_OBJECT)
    return node->object.n;
  return 0;
}

const SinopiaJsonNode *
sinopia_json_array_get (const SinopiaJsonNode *node, gsize index)
{
  if (node == NULL || node->type != SINOPIA_JSON_ARRAY || index >= node->array.n)
    return NULL;
  return node->array.items[index];
}

const SinopiaJsonNode *
sinopia_json_object_get (const SinopiaJsonNode *node, const char *key)
{
  if (node == NULL || node->type != SINOPIA_JSON_OBJECT || key == NULL)
    return NULL;
  Member probe = { .key = key, .key_len = strlen (key) };
  const Member *m = node->object.members;
  if (node->object.sorted == NULL) {
    for (gsize i = 0; i < node->object.n; i++)
      if (same_key (&m[i], &probe))
        return m[i].value;
    return NULL;
  }
  gsize lo = 0, hi = node->object.n;
  while (lo < hi) {
    gsize mid = lo + (hi - lo) / 2;
    const Member *x = &m[node->object.sorted[mid]];
    int c = memcmp (x->key, probe.key, MIN (x->key_len, probe.key_len));
    if (c == 0 && x->key_len != probe.key_len)
      c = x->key_len < probe.key_len ? -1 : 1;
    if (c == 0)
      return x->value;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

const char *
sinopia_json_object_key (const SinopiaJsonNode *node, gsize index, gsize *key_len)
{
  if (node == NULL || node->type != SINOPIA_JSON_OBJECT || index >= node->object.n)
    return NULL;
  if (key_len)
    *key_len = node->object.members[index].key_len;
  return node->object.members[index].key;
}

const SinopiaJsonNode *
sinopia_json_object_value (const SinopiaJsonNode *node, gsize index)
{
  if (node == NULL || node->type != SINOPIA_JSON_OBJECT || index >= node->object.n)
    return NULL;
  return node->object.members[index].value;
}

const char *
sinopia_json_as_string (const SinopiaJsonNode *node, gsize *len)
{
  if (node == NULL || node->type != SINOPIA_JSON_STRING)
    return NULL;
  if (len)
    *len = node->string.len;
  return node->string.s;
}

static gboolean
type_error (const SinopiaJsonNode *node, const char *key, const char *expected, GError **error)
{
  if (key)
    g_set_error (error, SINOPIA_JSON_ERROR, SINOPIA_JSON_ERROR_TYPE,
                 "byte %" G_GSIZE_FORMAT ": \"%s\" is %s, expected %s", sinopia_json_offset (node), key,
                 sinopia_json_type_phrase (node), expected);
  else
    g_set_error (error, SINOPIA_JSON_ERROR, SINOPIA_JSON_ERROR_TYPE,
                 "byte %" G_GSIZE_FORMAT ": value is %s, expected %s", sinopia_json_offset (node),
                 sinopia_json_type_phrase (node), expected);
  return FALSE;
}

static gboolean
as_int64 (const SinopiaJsonNode *node, const char *key, int64_t min, int64_t max, int64_t *out, GError **error)
{
  if (node == NULL || node->type != SINOPIA_JSON_NUMBER)
    return type_error (node, key, "an integer", error);
  const char *label = key ? key : "value";
  if (!node->number.is_int && !node->number.int_overflow) {
    g_set_error (error, SINOPIA_JSON_ERROR, SINOPIA_JSON_ERROR_TYPE,
                 "byte %" G_GSIZE_FORMAT ": %s%s%s %g is not an integer (it has a fraction or an exponent)",
                 node->offset, key ? "\"" : "", label, key ? "\"" : "", node->number.d);
    return FALSE;
  }
  if (node->number.int_overflow || node->number.i < min || node->number.i > max) {
    g_autofree char *value = node->number.int_overflow ? g_strdup_printf ("%g", node->number.d)
                                                       : g_strdup_printf ("%" G_GINT64_FORMAT, node->number.i);
    g_set_error (error, SINOPIA_JSON_ERROR, SINOPIA_JSON_ERROR_RANGE,
                 "byte %" G_GSIZE_FORMAT ": %s%s%s %s is outside [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "]",
                 node->offset, key ? "\"" : "", label, key ? "\"" : "", value, min, max);
    return FALSE;
  }
  *out = node->number.i;
  return TRUE;
}

gboolean
sinopia_json_as_int64 (const SinopiaJsonNode *node, int64_t min, int64_t max, int64_t *out, GError **error)
{
  g_return_val_if_fail (out != NULL, FALSE);
  return as_int64 (node, NULL, min, max, out, error);
}

gboolean
sinopia_json_as_double (const SinopiaJsonNode *node, double *out, GError **error)
{
  g_return_val_if_fail (out != NULL, FALSE);
  if (node == NULL || node->type != SINOPIA_JSON_NUMBER)
    return type_error (node, NULL, "a number", error);
  *out = node->number.d;
  return TRUE;
}

gboolean
sinopia_json_as_bool (const SinopiaJsonNode *node, gboolean *out, GError **error)
{
  g_return_val_if_fail (out != NULL, FALSE);
  if (node == NULL || node->type != SINOPIA_JSON_BOOL)
    return type_error (node, NULL, "true or false", error);
  *out = node->boolean;
  return TRUE;
}

static const SinopiaJsonNode *
member (const SinopiaJsonNode *object, const char *key, GError **error)
{
  if (object == NULL || object->type != SINOPIA_JSON_OBJECT) {
    g_set_error (error, SINOPIA_JSON_ERROR, SINOPIA_JSON_ERROR_TYPE,
                 "byte %" G_GSIZE_FORMAT ": looking up \"%s\" in %s, expected an object",
                 sinopia_json_offset (object), key, sinopia_json_type_phrase (object));
    return NULL;
  }
  const SinopiaJsonNode *v = sinopia_json_object_get (object, key);
  if (v == NULL)
    g_set_error (error, SINOPIA_JSON_ERROR, SINOPIA_JSON_ERROR_MISSING,
                 "byte %" G_GSIZE_FORMAT ": object has no member \"%s\"", object->offset, key);
  return v;
}

gboolean
sinopia_json_get_int64 (const SinopiaJsonNode *object, const char *key, int64_t min, int64_t max, int64_t *out,
                        GError **error)
{
  g_return_val_if_fail (key != NULL && out != NULL, FALSE);
  const SinopiaJsonNode *v = member (object, key, error);
  return v != NULL && as_int64 (v, key, min, max, out, error);
}

gboolean
sinopia_json_get_double (const SinopiaJsonNode *object, const char *key, double *out, GError **error)
{
  g_return_val_if_fail (key != NULL && out != NULL, FALSE);
  const SinopiaJsonNode *v = member (object, key, error);
  if (v == NULL)
    return FALSE;
  if (v->type != SINOPIA_JSON_NUMBER)
    return type_error (v, key, "a number", error);
  *out = v->number.d;
  return TRUE;
}

gboolean
sinopia_json_get_bool (const SinopiaJsonNode *object, const char *key, gboolean *out, GError **error)
{
  g_return_val_if_fail (key != NULL && out != NULL, FALSE);
  const SinopiaJsonNode *v = member (object, key, error);
  if (v == NULL)
    return FALSE;
  if (v->type != SINOPIA_JSON_BOOL)
    return type_error (v, key, "true or false", error);
  *out = v->boolean;
  return TRUE;
}

const char *
sinopia_json_get_string (const SinopiaJsonNode *object, const char *key, GError **error)
{
  g_return_val_if_fail (key != NULL, NULL);
  const SinopiaJsonNode *v = member (object, key, error);
  if (v == NULL)
    return NULL;
  if (v->type != SINOPIA_JSON_STRING || strlen (v->string.s) != v->string.len) {
    type_error (v, key, "a string without NUL characters", error);
    return NULL;
  }
  return v->string.s;
}

void
sinopia_json_append_string (GString *out, const char *s, gssize len)
{
  g_return_if_fail (out != NULL && s != NULL);
  gsize n = len < 0 ? strlen (s) : (gsize) len;
  g_string_append_c (out, '"');
  for (gsize i = 0; i < n; i++) {
    guchar c = (guchar) s[i];
    switch (c) {
    case '"': g_string_append (out, "\\\""); break;
    case '\\': g_string_append (out, "\\\\"); break;
    case '\b': g_string_append (out, "\\b"); break;
    case '\f': g_string_append (out, "\\f"); break;
    case '\n': g_string_append (out, "\\n"); break;
    case '\r': g_string_append (out, "\\r"); break;
    case '\t': g_string_append (out, "\\t"); break;
    default:
      if (c < 0x20)
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_c (out, (char) c);
    }
  }
  g_string_append_c (out, '"');
}
