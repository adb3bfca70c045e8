/* The worker: one job at a time, wait and replace policies, cancel, shutdown while busy. */
#define G_LOG_DOMAIN "sinopia-test"

#include "sinopia-job.h"

typedef struct {
  GMutex lock;
  GString *order;     /* job names in the order they started */
  gint running;       /* jobs running at once, to prove there is never more than one */
  gint max_running;
  gint started;       /* set once the current looping job runs */
} Log;

typedef struct {
  Log *log;
  char name;
  gboolean loop_until_cancel;
  gint *calls;
} JobData;

static gboolean
job_func (gpointer data, const gint *cancel, GError **error)
{
  JobData *d = data;
  g_mutex_lock (&d->log->lock);
  g_string_append_c (d->log->order, d->name);
  d->log->running++;
  d->log->max_running = MAX (d->log->max_running, d->log->running);
  g_mutex_unlock (&d->log->lock);
  g_atomic_int_inc (d->calls);
  g_atomic_int_set (&d->log->started, 1);

  gboolean ok = TRUE;
  /* a "step" is 1 ms; a looping job gives up after 10 s so a bug cannot hang the suite */
  for (int step = 0; step < (d->loop_until_cancel ? 10000 : 20); step++) {
    if (g_atomic_int_get (cancel)) {
      g_set_error (error, SINOPIA_JOB_ERROR, SINOPIA_JOB_ERROR_CANCELLED, "Cancelled at step %d", step);
      ok = FALSE;
      break;
    }
    g_usleep (1000);
  }
  g_mutex_lock (&d->log->lock);
  d->log->running--;
  g_mutex_unlock (&d->log->lock);
  return ok;
}

static JobData *
job_data (Log *log, char name, gboolean loop, gint *calls)
{
  JobData *d = g_new0 (JobData, 1);
  d->log = log;
  d->name = name;
  d->loop_until_cancel = loop;
  d->calls = calls;
  return d;
}

static void
wait_started (Log *log)
{
  while (!g_atomic_int_get (&log->started))
    g_usleep (500);
  g_atomic_int_set (&log->started, 0);
}

static void
test_wait_policy (void)
{
  Log log = { .order = g_string_new (NULL) };
  gint calls = 0;
  SinopiaWorker *w = sinopia_worker_new ("test");
  SinopiaJob *jobs[4];
  for (int i = 0; i < 4; i++)
    jobs[i] = sinopia_worker_submit (w, job_func, job_data (&log, 'a' + i, FALSE, &calls), g_free, SINOPIA_JOB_WAIT);
  for (int i = 0; i < 4; i++) {
    g_autoptr (GError) error = NULL;
    g_assert_true (sinopia_job_wait (jobs[i], &error));
    g_assert_no_error (error);
    g_assert_true (sinopia_job_is_done (jobs[i]));
    sinopia_job_unref (jobs[i]);
  }
  g_assert_cmpstr (log.order->str, ==, "abcd");
  g_assert_cmpint (log.max_running, ==, 1);
  sinopia_worker_free (w);
  g_string_free (log.order, TRUE);
}

static void
test_replace_policy (void)
{
  g_autoptr (GError) error = NULL;
  Log log = { .order = g_string_new (NULL) };
  gint calls = 0;
  SinopiaWorker *w = sinopia_worker_new ("test");
  SinopiaJob *a = sinopia_worker_submit (w, job_func, job_data (&log, 'a', TRUE, &calls), g_free, SINOPIA_JOB_WAIT);
  wait_started (&log);
  SinopiaJob *b = sinopia_worker_submit (w, job_func, job_data (&log, 'b', TRUE, &calls), g_free, SINOPIA_JOB_WAIT);
  /* c replaces a (running) and b (queued): a stops, b never starts */
  SinopiaJob *c = sinopia_worker_submit (w, job_func, job_data (&log, 'c', FALSE, &calls), g_free,
                                         SINOPIA_JOB_REPLACE);
  g_assert_false (sinopia_job_wait (a, &error));
  g_assert_error (error, SINOPIA_JOB_ERROR, SINOPIA_JOB_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_false (sinopia_job_wait (b, &error));
  g_assert_error (error, SINOPIA_JOB_ERROR, SINOPIA_JOB_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_true (sinopia_job_wait (c, &error));
  g_assert_cmpstr (log.order->str, ==, "ac");
  g_assert_cmpint (calls, ==, 2);
  sinopia_job_unref (a);
  sinopia_job_unref (b);
  sinopia_job_unref (c);
  sinopia_worker_free (w);
  g_string_free (log.order, TRUE);
}

static void
test_cancel_running (void)
{
  g_autoptr (GError) error = NULL;
  Log log = { .order = g_string_new (NULL) };
  gint calls = 0;
  SinopiaWorker *w = sinopia_worker_new ("test");
  SinopiaJob *a = sinopia_worker_submit (w, job_func, job_data (&log, 'a', TRUE, &calls), g_free, SINOPIA_JOB_WAIT);
  wait_started (&log);
  sinopia_job_cancel (a);
  g_assert_false (sinopia_job_wait (a, &error));
  g_assert_error (error, SINOPIA_JOB_ERROR, SINOPIA_JOB_ERROR_CANCELLED);
  sinopia_job_unref (a);
  sinopia_worker_free (w);
  g_string_free (log.order, TRUE);
}

/* Freeing the worker while a job runs cancels it, waits for it, and ends queued jobs;
 * their handles stay usable afterwards. */
static void
test_free_while_running (void)
{
  g_autoptr (GError) error = NULL;
  Log log = { .order = g_string_new (NULL) };
  gint calls = 0;
  SinopiaWorker *w = sinopia_worker_new ("test");
  SinopiaJob *a = sinopia_worker_submit (w, job_func, job_data (&log, 'a', TRUE, &calls), g_free, SINOPIA_JOB_WAIT);
  SinopiaJob *b = sinopia_worker_submit (w, job_func, job_data (&log, 'b', TRUE, &calls), g_free, SINOPIA_JOB_WAIT);
  wait_started (&log);
  sinopia_worker_free (w);
  g_assert_true (sinopia_job_is_done (a));
  g_assert_false (sinopia_job_wait (a, &error));
  g_assert_error (error, SINOPIA_JOB_ERROR, SINOPIA_JOB_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_false (sinopia_job_wait (b, &error));
  g_assert_error (error, SINOPIA_JOB_ERROR, SINOPIA_JOB_ERROR_CANCELLED);
  g_assert_cmpint (calls, ==, 1);
  g_assert_cmpint (log.running, ==, 0);
  sinopia_job_unref (a);
  sinopia_job_unref (b);
  g_string_free (log.order, TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/job/wait-policy", test_wait_policy);
  g_test_add_func ("/job/replace-policy", test_replace_policy);
  g_test_add_func ("/job/cancel-running", test_cancel_running);
  g_test_add_func ("/job/free-while-running", test_free_while_running);
  return g_test_run ();
}
