/* sinopia-json.h — a small strict JSON parser (RFC 8259) and string escaping for writers.
 *
 * Used for safetensors headers, model config files and the JSON strings stored in
 * safetensors metadata. Strict means: no comments, no trailing commas, no leading BOM,
 * nothing but whitespace after the value, valid UTF-8 only, lone surrogates rejected,
 * duplicate keys in one object rejected, numbers that overflow a double rejected, nesting
 * at most SINOPIA_JSON_MAX_DEPTH deep. The parser never reads outside [data, data + len)
 * and the input need not be NUL-terminated. Every error message starts with "byte N:"
 * (offset into the input).
 *
 * Ownership: a SinopiaJson owns every node and string reachable from its root; they stay
 * valid until sinopia_json_free. Nodes are read-only.
 * Threads: a parsed document may be read from several threads at once.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define SINOPIA_JSON_ERROR (sinopia_json_error_quark ())
GQuark sinopia_json_error_quark (void);

typedef enum {
  SINOPIA_JSON_ERROR_SYNTAX,        /* malformed text, bad UTF-8, bad escape, trailing garbage */
  SINOPIA_JSON_ERROR_DEPTH,         /* nesting deeper than SINOPIA_JSON_MAX_DEPTH */
  SINOPIA_JSON_ERROR_DUPLICATE_KEY, /* the same key twice in one object */
  SINOPIA_JSON_ERROR_NUMBER,        /* a number literal too large for a double */
  SINOPIA_JSON_ERROR_TYPE,          /* accessor: the value has another type */
  SINOPIA_JSON_ERROR_RANGE,         /* accessor: integer outside the requested range */
  SINOPIA_JSON_ERROR_MISSING,       /* accessor: object member absent */
} SinopiaJsonErrorCode;

/* Arrays and objects nested deeper than this are rejected; the parser recurses once per level. */
#define SINOPIA_JSON_MAX_DEPTH 64

typedef enum {
  SINOPIA_JSON_NULL,
  SINOPIA_JSON_BOOL,
  SINOPIA_JSON_NUMBER,
  SINOPIA_JSON_STRING,
  SINOPIA_JSON_ARRAY,
  SINOPIA_JSON_OBJECT,
} SinopiaJsonType;

typedef struct _SinopiaJson SinopiaJson;
typedef struct _SinopiaJsonNode SinopiaJsonNode;

/* Parses exactly `len` bytes. Returns (transfer full) a document to free with
 * sinopia_json_free, or NULL with `error` set. */
SinopiaJson *sinopia_json_parse (const char *data, gsize len, GError **error);
void sinopia_json_free (SinopiaJson *doc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SinopiaJson, sinopia_json_free)

/* Borrowed from `doc`. */
const SinopiaJsonNode *sinopia_json_root (const SinopiaJson *doc);

/* Every accessor below accepts NULL nodes (they then report absence / a type error), so
 * lookups can be chained: sinopia_json_array_get (sinopia_json_object_get (o, "k"), 0). */
SinopiaJsonType sinopia_json_type (const SinopiaJsonNode *node);
/* For messages: "null", "a boolean", "a number", "a string", "an array", "an object";
 * "nothing" for NULL. */
const char *sinopia_json_type_phrase (const SinopiaJsonNode *node);
/* Offset of the value's first byte in the parsed input (0 for NULL). */
gsize sinopia_json_offset (const SinopiaJsonNode *node);

/* Number of array elements or object members; 0 for anything else. */
gsize sinopia_json_length (const SinopiaJsonNode *node);
/* Element `index` of an array, NULL when out of range or not an array. */
const SinopiaJsonNode *sinopia_json_array_get (const SinopiaJsonNode *node, gsize index);
/* Member `key` of an object (exact byte comparison), NULL when absent or not an object.
 * Logarithmic in the number of members for large objects. */
const SinopiaJsonNode *sinopia_json_object_get (const SinopiaJsonNode *node, const char *key);
/* Members in document order: key (NUL-terminated, borrowed; `key_len` receives its byte
 * length, which is shorter than strlen only when the key contains \u0000) and value.
 * NULL when out of range or not an object. */
const char *sinopia_json_object_key (const SinopiaJsonNode *node, gsize index, gsize *key_len);
const SinopiaJsonNode *sinopia_json_object_value (const SinopiaJsonNode *node, gsize index);

/* Strings: borrowed, NUL-terminated UTF-8; `len` (may be NULL) receives the byte length,
 * which differs from strlen when the string contains \u0000. NULL if not a string. */
const char *sinopia_json_as_string (const SinopiaJsonNode *node, gsize *len);

/* Numbers written without fraction or exponent that fit in int64 are kept exactly; the
 * value must lie in [min, max]. A number with a fraction or exponent (even 3.0 or 1e2) is
 * not an integer: TYPE error. Out of range or beyond int64: RANGE error. */
gboolean sinopia_json_as_int64 (const SinopiaJsonNode *node, int64_t min, int64_t max, int64_t *out,
                                GError **error);
/* Any number, rounded to the nearest double. */
gboolean sinopia_json_as_double (const SinopiaJsonNode *node, double *out, GError **error);
gboolean sinopia_json_as_bool (const SinopiaJsonNode *node, gboolean *out, GError **error);

/* Object member shortcuts for config files: MISSING error when `key` is absent, TYPE or
 * RANGE error when its value does not fit; messages name the key. The string is borrowed
 * and must not contain \u0000 (TYPE error otherwise). */
gboolean sinopia_json_get_int64 (const SinopiaJsonNode *object, const char *key, int64_t min, int64_t max,
                                 int64_t *out, GError **error);
gboolean sinopia_json_get_double (const SinopiaJsonNode *object, const char *key, double *out, GError **error);
gboolean sinopia_json_get_bool (const SinopiaJsonNode *object, const char *key, gboolean *out, GError **error);
const char *sinopia_json_get_string (const SinopiaJsonNode *object, const char *key, GError **error);

/* Appends `s` (`len` bytes, or up to its NUL when len < 0) as a quoted JSON string:
 * '"' and '\' are backslash-escaped, control characters become \n, \t, ... or \u00XX,
 * everything else is copied. `s` must be valid UTF-8 (check with g_utf8_validate_len). */
void sinopia_json_append_string (GString *out, const char *s, gssize len);

G_END_DECLS
