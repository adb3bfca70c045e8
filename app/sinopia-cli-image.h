/* sinopia-cli-image.h — what the image commands (generate, inpaint, edit) share: the step
 * progress line on stderr and writing the result. Main thread, except cli_progress_step,
 * which runs on the job's worker. */
#pragma once

#include "sinopia-generate.h"

typedef struct {
  gboolean tty;    /* stderr is a terminal: one line rewritten in place */
  gint64 start;    /* g_get_monotonic_time () when the job started */
} CliProgress;

/* A SinopiaStepFunc printing "step k/n  σ  seconds" for a CliProgress. */
gboolean cli_progress_step (const SinopiaStepInfo *info, gpointer progress);

/* Writes the image with its parameters text chunk (atomically: a failed write leaves no file). */
gboolean cli_save_image (const SinopiaImage *image, const char *path, GError **error);
