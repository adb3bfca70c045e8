/* sinopia-text-private.h — loader, recording and dump helpers shared by the T5 and CLIP
 * encoders (engine/sinopia-t5.c, engine/sinopia-clip.c, engine/sinopia-text.c only).
 * Thread rules as in sinopia-text.h. */
#pragma once

#include "sinopia-ops.h"
#include "sinopia-text.h"
#include "sinopia-weights.h"

/* y = x Wᵀ (+ b): W [out, in] in its stored dtype, b [out] f32 or NULL. */
typedef struct {
  SinopiaBuffer *w, *b;
  uint32_t out, in;
} SinopiaTextLinear;

/* Collects every tensor a model takes under one name prefix; the first upload error and
 * the names not found are kept for sinopia__text_loader_finish. */
typedef struct {
  SinopiaVkContext *ctx;
  const SinopiaSafetensors *st;
  const char *prefix;    /* borrowed; prepended to every name taken */
  GHashTable *used;      /* full names taken (borrowed from st) */
  GPtrArray *missing;    /* full names not found */
  GError *error;
  uint64_t bytes;        /* device bytes uploaded */
} SinopiaTextLoader;

void sinopia__text_loader_init (SinopiaTextLoader *l, SinopiaVkContext *ctx, const SinopiaSafetensors *st,
                                const char *prefix);
/* Looks up prefix + printf(fmt); records it as used, or as missing. */
const SinopiaTensorInfo *sinopia__text_take (SinopiaTextLoader *l, const char *fmt, ...) G_GNUC_PRINTF (2, 3);
/* Marks `full_name` used when the file has it (tensors the model accepts and ignores). */
void sinopia__text_accept (SinopiaTextLoader *l, const char *full_name);
/* Uploads the matrix `t` checked against [rows, cols] (f32: converted, for tables the ops
 * read as f32; otherwise in its stored dtype). NULL without a new error when `t` is NULL or
 * an error is pending. */
SinopiaBuffer *sinopia__text_upload (SinopiaTextLoader *l, const SinopiaTensorInfo *t, uint64_t rows, uint64_t cols,
                                     gboolean f32);
/* The same for a 1-D vector of n elements (norm gains), converted to f32. */
SinopiaBuffer *sinopia__text_vector (SinopiaTextLoader *l, const SinopiaTensorInfo *t, uint64_t n);
/* A Linear stacked along its outputs from "<stem>.weight" (and "<stem>.bias") of n ≤ 4 stems,
 * `out` rows in all (q, k and v become one matrix). `what` names it in errors. */
void sinopia__text_linear (SinopiaTextLoader *l, SinopiaTextLinear *lin, const char *what, const char *const *stems,
                           guint n, uint32_t out, uint32_t in, gboolean bias);
void sinopia__text_linear_clear (SinopiaTextLinear *lin);
/* Ends loading: a pending upload error, else the missing names, else the first tensor whose
 * name starts with `scope` that was not taken and that `ignore` (may be NULL; gets the name
 * after `scope`) does not excuse. Frees the loader's tables either way. `model` names the
 * model in the unexpected-tensor message. */
gboolean sinopia__text_loader_finish (SinopiaTextLoader *l, const char *scope, gboolean (*ignore) (const char *rest),
                                      const char *model, GError **error);

/* The prefix P ("" or ending in '.') for which P + suffix names a tensor. TRUE with *prefix
 * NULL when there is none; TENSORS error when several prefixes match. (transfer full). */
gboolean sinopia__text_find_prefix (const SinopiaSafetensors *st, const char *suffix, char **prefix,
                                    GError **error);
/* TOO_LARGE error when the tensors under `prefix` (at their device dtypes) plus `activations`
 * bytes do not fit the largest device-local heap. */
gboolean sinopia__text_check_fits (SinopiaVkContext *ctx, const SinopiaSafetensors *st, const char *prefix,
                                   uint64_t activations, GError **error);

/* A new device buffer holding `n` (≥ 1) host values. (transfer full). */
SinopiaBuffer *sinopia__text_upload_f32 (SinopiaVkContext *ctx, const float *data, uint64_t n, GError **error);
SinopiaBuffer *sinopia__text_upload_u32 (SinopiaVkContext *ctx, const uint32_t *data, uint64_t n, GError **error);
gboolean sinopia__text_record_linear (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaTextLinear *lin,
                                      SinopiaActivation act, gboolean accumulate, const SinopiaTensor *y,
                                      GError **error);


