/* sinopia-dump.h — named intermediates of a forward pass, as the golden files name them
 * ("inter.vec", "inter.double_blocks.0.img", ...), for tests and the reference-style CLI.
 * A forward records device copies into the dump; sinopia_dump_collect downloads them after
 * the submit. Ownership: the dump owns everything in it. Threads: one at a time. */
#pragma once

#include "sinopia-ops.h"

G_BEGIN_DECLS

typedef struct {
  GHashTable *tensors;   /* char* name -> GBytes of f32 */
  GHashTable *shapes;    /* char* name -> GArray of uint64 dims (batch first, as the golden) */
  GPtrArray *pending;    /* device copies waiting for sinopia_dump_collect */
} SinopiaDump;

/* (transfer full): free with sinopia_dump_free. */
SinopiaDump *sinopia_dump_new (void);
void sinopia_dump_free (SinopiaDump *dump);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SinopiaDump, sinopia_dump_free)

/* Records a copy of `t` (no-op when dump is NULL) under printf(fmt) with shape `dims`, or
 * [1, rows, cols] when dims is NULL. */
gboolean sinopia_dump_record (SinopiaDump *dump, SinopiaVkContext *ctx, SinopiaRecorder *rec, const SinopiaTensor *t,
                              guint n_dims, const uint64_t *dims, GError **error, const char *fmt, ...)
  G_GNUC_PRINTF (8, 9);
/* Stores host data (transfer full) under `name` with the given shape. */
void sinopia_dump_host (SinopiaDump *dump, const char *name, float *data, guint n_dims, const uint64_t *dims);
/* After the submit: downloads the recorded copies. */
gboolean sinopia_dump_collect (SinopiaDump *dump, GError **error);
/* Drops recorded copies of a forward that failed before its submit. */
void sinopia_dump_discard (SinopiaDump *dump);

G_END_DECLS
