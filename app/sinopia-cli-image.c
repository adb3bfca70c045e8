/* sinopia-cli-image.c — step progress and PNG output of the image commands. */
#define G_LOG_DOMAIN "sinopia-cli"

#include <stdio.h>

#include "sinopia-cli-image.h"
#include "sinopia-png.h"

gboolean
cli_progress_step (const SinopiaStepInfo *info, gpointer user)
{
  CliProgress *p = user;
  double s = (g_get_monotonic_time () - p->start) / 1e6;
  fprintf (stderr, "%sstep %u/%u  σ %.3f  %.1f s%s", p->tty ? "\r" : "", info->step + 1, info->n_steps, info->t_next,
           s, p->tty && info->step + 1 < info->n_steps ? "" : "\n");
  return TRUE;
}

gboolean
cli_save_image (const SinopiaImage *image, const char *path, GError **error)
{
  g_autofree char *params = sinopia_image_parameters_json (image);
  const char *texts[] = { "parameters", params, "Software", "Sinopia " PACKAGE_VERSION, NULL };
  return sinopia_png_save_rgb (path, image->rgb, image->width, image->height, texts, error);
}
