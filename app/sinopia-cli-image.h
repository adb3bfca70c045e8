/* sinopia-cli-image.h — what the image commands (generate, inpaint, edit) share: usage
 * messages, the model folder's info before the weights load, and the run itself: load the
 * model, run the engine call on a worker while Ctrl-C cancels it, print the progress line and
 * the warnings, write the result. Main thread, except the job's run and cli_progress_step,
 * which run on the worker. */
#pragma once

#include "sinopia-generate.h"

/* Prints "sinopia-cli COMMAND: message" and the --help hint; returns CLI_USAGE. */
int cli_usage (const char *command, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

/* The model folder (`*model_dir`, or the default one found and stored there) and its
 * sinopia-model.json, read without the weights. (transfer full) */
SinopiaModelInfo *cli_model_info (char **model_dir, GError **error);

typedef struct {
  gboolean tty;    /* stderr is a terminal: one line rewritten in place */
  gint64 start;    /* g_get_monotonic_time () when the job started */
} CliProgress;

/* A SinopiaStepFunc printing "step k/n  σ  seconds" for a CliProgress. */
gboolean cli_progress_step (const SinopiaStepInfo *info, gpointer progress);

typedef struct _CliImageJob CliImageJob;
struct _CliImageJob {
  SinopiaModel *model;               /* loaded by cli_image_job before `run` */
  CliProgress progress;
  SinopiaImage *image, *reference;   /* set by `run`; the reference only for edit */
  /* The engine call, on the worker: sets image (and reference), or returns FALSE. */
  gboolean (*run) (CliImageJob *job, const gint *cancel, GError **error);
};

/* Loads the model of model_dir, runs job->run, writes job->image to `out` and the reference
 * to `reference_out` (may be NULL) with their parameters chunks (atomically), frees what the
 * job holds and returns the exit status. */
int cli_image_job (const char *name, const char *model_dir, CliImageJob *job, const char *out,
                   const char *reference_out);
