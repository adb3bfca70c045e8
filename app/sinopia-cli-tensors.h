/* sinopia-cli-tensors.h — reading named f32 tensors from an inputs file and writing the
 * results atomically, for the reference-style subcommands (dit-forward, sample, ...). */
#pragma once

#include "sinopia-safetensors.h"

typedef struct _CliOutput CliOutput;

/* The tensor `name` of `st` as f32. NULL with an error naming the file and tensor when it
 * is missing (and `required`) or its element count is not `expect` (0: any).
 * (transfer full): g_free. */
float *cli_tensor_f32 (SinopiaSafetensors *st, const char *name, gboolean required, gsize expect, gsize *n,
                       GError **error);

CliOutput *cli_output_new (void);
void cli_output_free (CliOutput *out);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CliOutput, cli_output_free)
/* Adds an f32 tensor; takes ownership of `data`. */
gboolean cli_output_add (CliOutput *out, const char *name, guint n_dims, const uint64_t *shape, float *data,
                         GError **error);
/* Writes every tensor added (temporary file, then rename). */
gboolean cli_output_write (CliOutput *out, const char *path, GError **error);
