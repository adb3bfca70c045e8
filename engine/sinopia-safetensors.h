/* sinopia-safetensors.h — safetensors checkpoint files: a validating reader over a memory
 * map and an atomic writer.
 *
 * Layout: u64 little-endian header length N, N bytes of JSON
 *   {name: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {str: str}}
 * then the data area; offsets are relative to its first byte.
 *
 * The reader validates everything before returning: header length (2 ≤ N ≤ file size − 8 and
 * ≤ SINOPIA_SAFETENSORS_MAX_HEADER), strict JSON (see sinopia-json.h), every entry's dtype,
 * shape (non-negative integers, at most SINOPIA_SAFETENSORS_MAX_DIMS) and data_offsets
 * (begin ≤ end ≤ data area size, end − begin = elements × dtype size, computed without
 * overflow), no two non-empty ranges overlapping, no duplicate names, and `__metadata__` an
 * object of strings. Gaps between tensors and bytes after the last one are allowed. Tensor
 * names and metadata must not contain NUL characters. Each defect is a
 * SINOPIA_SAFETENSORS_ERROR whose message starts with the file name and names the tensor.
 *
 * Ownership: a SinopiaSafetensors owns its tensor infos, names and metadata strings; all of
 * them, and the tensor data they point into, stay valid until sinopia_safetensors_close.
 * Threads: an open file is read-only and may be read from several threads at once.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define SINOPIA_SAFETENSORS_ERROR (sinopia_safetensors_error_quark ())
GQuark sinopia_safetensors_error_quark (void);

typedef enum {
  SINOPIA_SAFETENSORS_ERROR_TRUNCATED,  /* the file ends before its header or its header's length says */
  SINOPIA_SAFETENSORS_ERROR_HEADER,     /* header length out of bounds, JSON malformed or not an object */
  SINOPIA_SAFETENSORS_ERROR_ENTRY,      /* a tensor entry is not an object, lacks a field or has a bad name */
  SINOPIA_SAFETENSORS_ERROR_DTYPE,      /* unknown dtype */
  SINOPIA_SAFETENSORS_ERROR_SHAPE,      /* bad dimension, too many dimensions, byte size overflows */
  SINOPIA_SAFETENSORS_ERROR_OFFSETS,    /* malformed data_offsets, range outside the data, size mismatch */
  SINOPIA_SAFETENSORS_ERROR_OVERLAP,    /* two tensors share bytes */
  SINOPIA_SAFETENSORS_ERROR_DUPLICATE,  /* the same key twice in one JSON object (tensor names included) */
  SINOPIA_SAFETENSORS_ERROR_METADATA,   /* __metadata__ not an object of strings */
  SINOPIA_SAFETENSORS_ERROR_INVALID_ARGUMENT, /* API misuse: bad name, shape/size mismatch, ... */
  SINOPIA_SAFETENSORS_ERROR_IO,         /* writing failed */
} SinopiaSafetensorsErrorCode;

/* The reference implementation's cap on the JSON header, in bytes. */
#define SINOPIA_SAFETENSORS_MAX_HEADER 100000000u
#define SINOPIA_SAFETENSORS_MAX_DIMS 8

/* Element types of the safetensors format. */
typedef enum {
  SINOPIA_ST_BOOL,
  SINOPIA_ST_U8,
  SINOPIA_ST_I8,
  SINOPIA_ST_U16,
  SINOPIA_ST_I16,
  SINOPIA_ST_F16,
  SINOPIA_ST_BF16,
  SINOPIA_ST_U32,
  SINOPIA_ST_I32,
  SINOPIA_ST_F32,
  SINOPIA_ST_U64,
  SINOPIA_ST_I64,
  SINOPIA_ST_F64,
  SINOPIA_ST_F8_E4M3, /* torch float8_e4m3fn: bias 7, no infinities, S.1111.111 is NaN */
  SINOPIA_ST_F8_E5M2, /* IEEE-like: bias 15, with infinities */
  SINOPIA_ST_N_DTYPES
} SinopiaStDType;

/* Bytes per element; 0 for an invalid value. */
gsize sinopia_st_dtype_size (SinopiaStDType dtype);
/* The format's spelling ("F32", "BF16", "F8_E4M3", ...); NULL for an invalid value. */
const char *sinopia_st_dtype_name (SinopiaStDType dtype);
/* Parses a dtype name of `len` bytes (or NUL-terminated when len < 0); FALSE if unknown. */
gboolean sinopia_st_dtype_from_name (const char *name, gssize len, SinopiaStDType *out);

typedef struct {
  const char *name;      /* borrowed from the SinopiaSafetensors */
  SinopiaStDType dtype;
  guint n_dims;          /* 0 for a scalar */
  uint64_t shape[SINOPIA_SAFETENSORS_MAX_DIMS]; /* entries past n_dims are 0 */
  uint64_t n_elements;   /* product of the shape; 1 for a scalar */
  uint64_t offset;       /* data_offsets begin, relative to the data area */
  uint64_t n_bytes;      /* data_offsets end − begin */
  /* Into the mapped file (or the buffer given to _parse_header). Aligned to the element
   * size only when the writer made it so (the header length is a multiple of 8 in files from
   * sinopia_safetensors_writer_write, but tensors follow each other back to back): read
   * through memcpy or sinopia_safetensors_read_f32, not by casting. */
  const void *data;
} SinopiaTensorInfo;

typedef struct _SinopiaSafetensors SinopiaSafetensors;

/* Maps `path` read-only and validates it (see above). Returns (transfer full) a handle to
 * release with sinopia_safetensors_close, or NULL with `error` set: G_FILE_ERROR when the file
 * cannot be opened or mapped, SINOPIA_SAFETENSORS_ERROR when its contents are invalid. */
SinopiaSafetensors *sinopia_safetensors_open (const char *path, GError **error);

/* Validates a whole safetensors file held in memory (`len` bytes: length prefix, header and
 * data). `display_name` (copied) starts every error message. The result borrows `data`,
 * which must stay valid and unchanged until sinopia_safetensors_close. */
SinopiaSafetensors *sinopia_safetensors_parse_header (const uint8_t *data, gsize len, const char *display_name,
                                                      GError **error);

void sinopia_safetensors_close (SinopiaSafetensors *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SinopiaSafetensors, sinopia_safetensors_close)

/* The name given to _open or _parse_header (borrowed). */
const char *sinopia_safetensors_name (const SinopiaSafetensors *st);
gsize sinopia_safetensors_n_tensors (const SinopiaSafetensors *st);
/* Tensors in the order of their data in the file (by data_offsets begin; empty tensors that
 * share an offset keep their header order). NULL when `index` is out of range. */
const SinopiaTensorInfo *sinopia_safetensors_tensor (const SinopiaSafetensors *st, gsize index);
/* NULL when there is no tensor `name`. */
const SinopiaTensorInfo *sinopia_safetensors_lookup (const SinopiaSafetensors *st, const char *name);
/* Value of `__metadata__[key]` (borrowed), NULL when absent. */
const char *sinopia_safetensors_metadata (const SinopiaSafetensors *st, const char *key);
/* All metadata keys in header order, NULL-terminated (borrowed; never NULL itself). */
const char *const *sinopia_safetensors_metadata_keys (const SinopiaSafetensors *st);

/* Finds the tensor "<*prefix><suffix>". When *prefix is NULL, takes the first tensor (in
 * data order) whose name is `suffix` or ends in ".suffix", and sets *prefix (transfer full,
 * g_free) to what precedes the suffix — how a component is found inside a combined file. */
const SinopiaTensorInfo *sinopia_safetensors_find_suffix (const SinopiaSafetensors *st, const char *suffix,
                                                          char **prefix);
/* Highest N + 1 among names "<prefix><stem>.<N>…" (N below 100000), 0 when there is none:
 * the number of blocks of a stack. */
uint32_t sinopia_safetensors_count_indices (const SinopiaSafetensors *st, const char *prefix, const char *stem);

/* Converts all t->n_elements elements to float into `out` (caller-allocated): floats are
 * widened or rounded to nearest, integers and BOOL converted by value (large 64-bit values
 * round). Fails (INVALID_ARGUMENT) only when `t` is inconsistent. */
gboolean sinopia_safetensors_read_f32 (const SinopiaTensorInfo *t, float *out, GError **error);

/* ---- writer -------------------------------------------------------------------------- */

typedef struct _SinopiaSafetensorsWriter SinopiaSafetensorsWriter;

/* (transfer full) free with sinopia_safetensors_writer_free. */
SinopiaSafetensorsWriter *sinopia_safetensors_writer_new (void);
void sinopia_safetensors_writer_free (SinopiaSafetensorsWriter *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SinopiaSafetensorsWriter, sinopia_safetensors_writer_free)

/* Adds a tensor after the ones added before. `name` and `shape` are copied; `data` is
 * BORROWED (never copied, so checkpoints can be written straight from mapped or device-read
 * memory): it must hold `n_bytes` bytes and stay valid and unchanged until the last
 * _write / _header call. INVALID_ARGUMENT when `name` is not UTF-8, is "__metadata__" or
 * was added before, when n_dims > SINOPIA_SAFETENSORS_MAX_DIMS, or when n_bytes ≠
 * product(shape) × dtype size. */
gboolean sinopia_safetensors_writer_add (SinopiaSafetensorsWriter *w, const char *name, SinopiaStDType dtype,
                                         guint n_dims, const uint64_t *shape, const void *data, uint64_t n_bytes,
                                         GError **error);
/* Sets (or replaces) `__metadata__[key]`; both are copied and must be UTF-8. */
gboolean sinopia_safetensors_writer_set_metadata (SinopiaSafetensorsWriter *w, const char *key, const char *value,
                                                  GError **error);
/* The bytes that precede the tensor data: length prefix and JSON header (metadata first,
 * then tensors in insertion order, back to back from offset 0), padded with spaces so the
 * data area starts at a multiple of 8. (transfer full). INVALID_ARGUMENT when the header
 * would exceed SINOPIA_SAFETENSORS_MAX_HEADER or the data 2^63 bytes. */
GBytes *sinopia_safetensors_writer_header (SinopiaSafetensorsWriter *w, GError **error);
/* Writes the file atomically: a temporary file in the same folder, fsync, rename over
 * `path`, fsync of the folder. On failure (IO) nothing is left behind and an existing
 * `path` is untouched. */
gboolean sinopia_safetensors_writer_write (SinopiaSafetensorsWriter *w, const char *path, GError **error);

G_END_DECLS
