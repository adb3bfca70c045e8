/* sinopia-job.h — one worker thread per model that runs jobs one at a time.
 *
 * A new job either waits for the ones before it or replaces them (they are cancelled).
 * sinopia_job_cancel is thread-safe and returns at once; the job function sees the flag
 * between steps. Freeing the worker cancels every job and waits for the running one.
 * Ownership: jobs are reference-counted; the worker holds a reference until a job ends.
 * Threads: submit/cancel/wait from any thread; job functions run on the worker thread. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SINOPIA_JOB_ERROR (sinopia_job_error_quark ())
GQuark sinopia_job_error_quark (void);

typedef enum {
  SINOPIA_JOB_ERROR_CANCELLED,
} SinopiaJobErrorCode;

typedef enum {
  SINOPIA_JOB_WAIT,     /* run after the jobs already queued */
  SINOPIA_JOB_REPLACE,  /* cancel the running and queued jobs, then run */
} SinopiaJobPolicy;

typedef struct _SinopiaWorker SinopiaWorker;
typedef struct _SinopiaJob SinopiaJob;

/* Runs on the worker. `cancel` is non-zero once the job is cancelled: check it between
 * steps (g_atomic_int_get) and fail with SINOPIA_JOB_ERROR_CANCELLED or the callee's own
 * cancelled error. */
typedef gboolean (*SinopiaJobFunc) (gpointer data, const gint *cancel, GError **error);

/* (transfer full): free with sinopia_worker_free. */
SinopiaWorker *sinopia_worker_new (const char *name);
void sinopia_worker_free (SinopiaWorker *worker);

/* Queues `func(data)`; `destroy` frees data after the job ended (or was dropped).
 * (transfer full) the job: release with sinopia_job_unref. */
SinopiaJob *sinopia_worker_submit (SinopiaWorker *worker, SinopiaJobFunc func, gpointer data,
                                   GDestroyNotify destroy, SinopiaJobPolicy policy);

void sinopia_job_cancel (SinopiaJob *job);
/* Blocks until the job ended; FALSE with its error (a cancelled job that never started
 * fails with SINOPIA_JOB_ERROR_CANCELLED). */
gboolean sinopia_job_wait (SinopiaJob *job, GError **error);
gboolean sinopia_job_is_done (SinopiaJob *job);
SinopiaJob *sinopia_job_ref (SinopiaJob *job);
void sinopia_job_unref (SinopiaJob *job);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SinopiaJob, sinopia_job_unref)

G_END_DECLS
