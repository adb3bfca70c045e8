/* sinopia-cli-job.c — runs a long engine job on a worker while the main loop turns SIGINT
 * and SIGTERM into a cancel, so Ctrl-C stops between steps and nothing half-written stays. */
#define G_LOG_DOMAIN "sinopia-cli"

#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>

#include "sinopia-cli.h"

typedef struct {
  SinopiaJobFunc func;
  gpointer data;
  GMainLoop *loop;
} Cancellable;

static gboolean
quit_loop (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

/* On the worker: the job, then wake the main loop. */
static gboolean
run_then_quit (gpointer data, const gint *cancel, GError **error)
{
  Cancellable *c = data;
  gboolean ok = c->func (c->data, cancel, error);
  g_idle_add (quit_loop, c->loop);
  return ok;
}

static gboolean
on_signal (gpointer job)
{
  fprintf (stderr, "\nsinopia-cli: cancelling…\n");
  sinopia_job_cancel (job);
  return G_SOURCE_CONTINUE;
}

gboolean
cli_run_cancellable (const char *name, SinopiaJobFunc func, gpointer data, GError **error)
{
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  Cancellable c = { func, data, loop };
  SinopiaWorker *worker = sinopia_worker_new (name);
  g_autoptr (SinopiaJob) job = sinopia_worker_submit (worker, run_then_quit, &c, NULL, SINOPIA_JOB_WAIT);
  guint sigint = g_unix_signal_add (SIGINT, on_signal, job), sigterm = g_unix_signal_add (SIGTERM, on_signal, job);
  g_main_loop_run (loop);
  g_source_remove (sigint);
  g_source_remove (sigterm);
  gboolean ok = sinopia_job_wait (job, error);
  sinopia_worker_free (worker);
  return ok;
}
