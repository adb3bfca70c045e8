/* sinopia-cli-image.c — usage messages, model info, progress and the run of the image commands. */
#define G_LOG_DOMAIN "sinopia-cli"

#include <stdio.h>
#include <unistd.h>

#include "sinopia-cli-image.h"
#include "sinopia-cli.h"
#include "sinopia-png.h"

int
cli_usage (const char *command, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  fprintf (stderr, "sinopia-cli %s: %s\nTry 'sinopia-cli %s --help'.\n", command, msg, command);
  return CLI_USAGE;
}

SinopiaModelInfo *
cli_model_info (char **model_dir, GError **error)
{
  if (!*model_dir && !sinopia_model_find_default (model_dir, error))
    return NULL;
  g_autofree char *path = g_build_filename (*model_dir, SINOPIA_MODEL_INFO_FILE, NULL);
  return sinopia_model_info_load (path, error);
}

gboolean
cli_progress_step (const SinopiaStepInfo *info, gpointer user)
{
  CliProgress *p = user;
  double s = (g_get_monotonic_time () - p->start) / 1e6;
  fprintf (stderr, "%sstep %u/%u  σ %.3f  %.1f s%s", p->tty ? "\r" : "", info->step + 1, info->n_steps, info->t_next,
           s, p->tty && info->step + 1 < info->n_steps ? "" : "\n");
  return TRUE;
}

/* Writes the image with its parameters text chunk (atomically: a failed write leaves no file). */
static gboolean
save (const SinopiaImage *image, const char *path, GError **error)
{
  g_autofree char *params = sinopia_image_parameters_json (image);
  const char *texts[] = { "parameters", params, "Software", "Sinopia " PACKAGE_VERSION, NULL };
  return sinopia_png_save_rgb (path, image->rgb, image->width, image->height, texts, error);
}

static gboolean
run_job (gpointer data, const gint *cancel, GError **error)
{
  CliImageJob *job = data;
  return job->run (job, cancel, error);
}

int
cli_image_job (const char *name, const char *model_dir, CliImageJob *job, const char *out, const char *reference_out)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *cache = NULL;
  /* One image per process: the second context's pipeline compilation (~0.3 s) costs more than
   * running the guidance passes side by side saves over 20 steps. The editor and the benchmarks,
   * which make many images, keep the default; a value the user set stays. */
  g_setenv ("SINOPIA_PARALLEL_GUIDANCE", "0", FALSE);
  SinopiaVkContext *ctx = sinopia_vk_context_new (NULL, &error);
  if (!ctx)
    return cli_fail ("%s", error->message);
  int rc = CLI_ERROR;
  gint64 t0 = g_get_monotonic_time ();
  job->progress.tty = isatty (STDERR_FILENO);
  fprintf (stderr, "sinopia-cli: loading %s\n", model_dir);
  if (!(job->model = sinopia_model_load (ctx, model_dir, &error)))
    goto out;
  fprintf (stderr, "sinopia-cli: loaded %s in %.1f s\n", sinopia_model_info (job->model)->name,
           (g_get_monotonic_time () - t0) / 1e6);
  job->progress.start = g_get_monotonic_time ();
  if (!cli_run_cancellable (name, run_job, job, &error))
    goto out;
  for (char **w = job->image->warnings; *w; w++)
    fprintf (stderr, "sinopia-cli: warning: %s\n", *w);
  if (!save (job->image, out, &error) || (reference_out && !save (job->reference, reference_out, &error)))
    goto out;
  const SinopiaImage *img = job->image;
  cache = img->kv_cache_bytes ? g_strdup_printf (", KV cache %.2f MB", img->kv_cache_bytes / 1e6) : g_strdup ("");
  fprintf (stderr, "sinopia-cli: wrote %s (%u×%u, %u steps, seed %" G_GUINT64_FORMAT ", guidance %g%s) in %.1f s\n",
           out, img->width, img->height, img->steps, img->seed, img->guidance, cache,
           (g_get_monotonic_time () - t0) / 1e6);
  rc = CLI_OK;

out:
  if (rc != CLI_OK)
    cli_fail ("%s", error->message);
  g_clear_pointer (&job->image, sinopia_image_free);
  g_clear_pointer (&job->reference, sinopia_image_free);
  g_clear_pointer (&job->model, sinopia_model_free);
  sinopia_vk_context_free (ctx);
  return rc;
}
