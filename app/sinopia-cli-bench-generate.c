/* sinopia-cli-bench-generate.c — `bench generate`: seconds per image at the native size with
 * guidance, cold (device, model load, pipeline creation and the first image) and warm. */
#define G_LOG_DOMAIN "sinopia-cli"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "sinopia-cli.h"
#include "sinopia-generate.h"

#define DEFAULT_STEPS 20
#define WARM_RUNS 5
/* A 3-object canonical caption: the longest text the shapes world asks for. */
#define PROMPT "a large red circle at the top left and a small blue star in the center and a medium green " \
               "square at the bottom right on a yellow background"

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static gboolean
time_image (SinopiaModel *model, const SinopiaGenerateParams *p, gint64 since, double *seconds, GError **error)
{
  g_autoptr (SinopiaImage) image = sinopia_generate (model, p, NULL, NULL, NULL, error);
  *seconds = (g_get_monotonic_time () - since) / 1e6;
  return image != NULL;
}

int
cli_bench_generate (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *model_dir = NULL;
  int steps = DEFAULT_STEPS;
  double guidance = NAN;
  GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model_dir,
      "Model folder (default: $SINOPIA_MODEL, then the built-in " SINOPIA_DEFAULT_MODEL ")", "DIR" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &steps, "Sampling steps (default 20)", "N" },
    { "guidance", 0, 0, G_OPTION_ARG_DOUBLE, &guidance,
      "Classifier-free guidance scale, or the embedded guidance for models that have one (default: the model's)",
      "G" },
    { NULL },
  };
  if (!cli_parse ("bench generate", NULL,
                  "Times text-to-image generation at the model's native size: cold (the first image in the\n"
                  "process, with device start, model load and pipeline creation) and warm (median of 5).",
                  entries, &argc, &argv))
    return CLI_USAGE;
  if (argc > 1 || steps < 1 || steps > (int) SINOPIA_MODEL_MAX_STEPS || (!isnan (guidance) && !isfinite (guidance))) {
    fprintf (stderr, "sinopia-cli bench generate: %s\nTry 'sinopia-cli bench generate --help'.\n",
             argc > 1 ? "unexpected argument" : "--steps must be 1..1000 and --guidance finite");
    return CLI_USAGE;
  }
  if (!model_dir && !sinopia_model_find_default (&model_dir, &error))
    return cli_fail ("%s", error->message);

  gint64 t0 = g_get_monotonic_time ();
  SinopiaVkContext *ctx = sinopia_vk_context_new (NULL, &error);
  if (!ctx)
    return cli_fail ("%s", error->message);
  SinopiaModel *model = sinopia_model_load (ctx, model_dir, &error);
  int rc = CLI_ERROR;
  double load = (g_get_monotonic_time () - t0) / 1e6, cold = 0, warm[WARM_RUNS];
  SinopiaGenerateParams p;
  sinopia_generate_params_init (&p);
  p.prompt = PROMPT;
  p.steps = (guint) steps;
  p.guidance = (float) guidance;
  if (!model || !time_image (model, &p, t0, &cold, &error))
    goto out;
  fprintf (stderr, "sinopia-cli: device and model load %.2f s, first image %.2f s\n", load, cold - load);
  for (guint i = 0; i < WARM_RUNS; i++) {
    p.seed = i + 1;
    if (!time_image (model, &p, g_get_monotonic_time (), &warm[i], &error))
      goto out;
    fprintf (stderr, "sinopia-cli: warm run %u: %.2f s\n", i + 1, warm[i]);
  }
  qsort (warm, WARM_RUNS, sizeof (double), compare_double);
  const SinopiaModelInfo *info = sinopia_model_info (model);
  char *device = cli_device_label (ctx);
  printf ("generate: cold %.2f s, warm %.2f s/image (%d steps, %ux%u, guidance %g, %s, %s%s)\n", cold,
          warm[WARM_RUNS / 2], steps, info->native_width, info->native_height,
          isnan (guidance) ? info->default_guidance : guidance, info->name, device,
          sinopia_model_negative_flux (model) ? ", guidance passes side by side" : "");
  g_free (device);
  rc = CLI_OK;

out:
  if (rc != CLI_OK)
    cli_fail ("%s", error->message);
  sinopia_model_free (model);
  sinopia_vk_context_free (ctx);
  return rc;
}
