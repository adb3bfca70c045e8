/* sinopia-job.c — the worker thread and its job queue. */
#define G_LOG_DOMAIN "sinopia-engine"

#include "sinopia-job.h"

G_DEFINE_QUARK (sinopia-job-error-quark, sinopia_job_error)

struct _SinopiaJob {
  gint ref_count;
  gint cancel;
  SinopiaJobFunc func;
  gpointer data;
  GDestroyNotify destroy;
  GMutex lock;       /* guards the result, so it outlives the worker */
  GCond ended;
  gboolean done;
  gboolean ok;
  GError *error;
};

struct _SinopiaWorker {
  GMutex mutex;
  GCond cond;        /* the queue changed or the worker is stopping */
  GQueue queue;      /* SinopiaJob*, each holding a reference */
  SinopiaJob *running;
  gboolean stopping;
  GThread *thread;
};

SinopiaJob *
sinopia_job_ref (SinopiaJob *job)
{
  g_atomic_int_inc (&job->ref_count);
  return job;
}

void
sinopia_job_unref (SinopiaJob *job)
{
  if (!job || !g_atomic_int_dec_and_test (&job->ref_count))
    return;
  if (job->destroy)
    job->destroy (job->data);
  g_clear_error (&job->error);
  g_mutex_clear (&job->lock);
  g_cond_clear (&job->ended);
  g_free (job);
}

/* Records the job's result (takes `error`) and wakes its waiters. */
static void
finish (SinopiaJob *job, gboolean ok, GError *error)
{
  g_mutex_lock (&job->lock);
  job->done = TRUE;
  job->ok = ok;
  job->error = error;
  g_cond_broadcast (&job->ended);
  g_mutex_unlock (&job->lock);
}

/* Ends every queued job as cancelled; called with the worker's mutex held. */
static void
drop_queued_locked (SinopiaWorker *w)
{
  SinopiaJob *job;
  while ((job = g_queue_pop_head (&w->queue))) {
    finish (job, FALSE, g_error_new (SINOPIA_JOB_ERROR, SINOPIA_JOB_ERROR_CANCELLED,
                                               "Cancelled before it started"));
    sinopia_job_unref (job);
  }
}

static gpointer
worker_main (gpointer user_data)
{
  SinopiaWorker *w = user_data;
  g_mutex_lock (&w->mutex);
  for (;;) {
    while (!w->stopping && g_queue_is_empty (&w->queue))
      g_cond_wait (&w->cond, &w->mutex);
    if (w->stopping)
      break;
    SinopiaJob *job = g_queue_pop_head (&w->queue);
    w->running = job;
    g_mutex_unlock (&w->mutex);

    GError *error = NULL;
    gboolean ok;
    if (g_atomic_int_get (&job->cancel)) {
      ok = FALSE;
      g_set_error (&error, SINOPIA_JOB_ERROR, SINOPIA_JOB_ERROR_CANCELLED, "Cancelled before it started");
    } else {
      ok = job->func (job->data, &job->cancel, &error);
    }

    g_mutex_lock (&w->mutex);
    w->running = NULL;
    finish (job, ok, ok ? NULL : error);
    if (ok)
      g_clear_error (&error);
    sinopia_job_unref (job);
  }
  drop_queued_locked (w);
  g_mutex_unlock (&w->mutex);
  return NULL;
}

SinopiaWorker *
sinopia_worker_new (const char *name)
{
  SinopiaWorker *w = g_new0 (SinopiaWorker, 1);
  g_mutex_init (&w->mutex);
  g_cond_init (&w->cond);
  g_queue_init (&w->queue);
  w->thread = g_thread_new (name ? name : "sinopia-worker", worker_main, w);
  return w;
}

void
sinopia_worker_free (SinopiaWorker *w)
{
  if (!w)
    return;
  g_mutex_lock (&w->mutex);
  w->stopping = TRUE;
  if (w->running)
    g_atomic_int_set (&w->running->cancel, 1);
  for (GList *l = w->queue.head; l; l = l->next)
    g_atomic_int_set (&((SinopiaJob *) l->data)->cancel, 1);
  g_cond_broadcast (&w->cond);
  g_mutex_unlock (&w->mutex);
  g_thread_join (w->thread);
  g_queue_clear (&w->queue);
  g_mutex_clear (&w->mutex);
  g_cond_clear (&w->cond);
  g_free (w);
}

SinopiaJob *
sinopia_worker_submit (SinopiaWorker *w, SinopiaJobFunc func, gpointer data, GDestroyNotify destroy,
                       SinopiaJobPolicy policy)
{
  SinopiaJob *job = g_new0 (SinopiaJob, 1);
  job->ref_count = 2;  /* the caller's and the queue's */
  job->func = func;
  job->data = data;
  job->destroy = destroy;
  g_mutex_init (&job->lock);
  g_cond_init (&job->ended);

  g_mutex_lock (&w->mutex);
  if (policy == SINOPIA_JOB_REPLACE) {
    if (w->running)
      g_atomic_int_set (&w->running->cancel, 1);
    drop_queued_locked (w);
  }
  if (w->stopping) {
    finish (job, FALSE, g_error_new (SINOPIA_JOB_ERROR, SINOPIA_JOB_ERROR_CANCELLED,
                                               "The engine is shutting down"));
    sinopia_job_unref (job);
  } else {
    g_queue_push_tail (&w->queue, job);
    g_cond_broadcast (&w->cond);
  }
  g_mutex_unlock (&w->mutex);
  return job;
}

void
sinopia_job_cancel (SinopiaJob *job)
{
  g_atomic_int_set (&job->cancel, 1);
}

gboolean
sinopia_job_wait (SinopiaJob *job, GError **error)
{
  g_mutex_lock (&job->lock);
  while (!job->done)
    g_cond_wait (&job->ended, &job->lock);
  gboolean ok = job->ok;
  if (!ok && job->error)
    g_propagate_error (error, g_error_copy (job->error));
  g_mutex_unlock (&job->lock);
  return ok;
}

gboolean
sinopia_job_is_done (SinopiaJob *job)
{
  g_mutex_lock (&job->lock);
  gboolean done = job->done;
  g_mutex_unlock (&job->lock);
  return done;
}
