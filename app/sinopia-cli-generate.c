/* sinopia-cli-generate.c — `generate`: a prompt to a PNG with a model folder. */
#define G_LOG_DOMAIN "sinopia-cli"

#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include "sinopia-cli.h"
#include "sinopia-generate.h"
#include "sinopia-job.h"
#include "sinopia-png.h"

static int
usage (const char *fmt, ...) G_GNUC_PRINTF (1, 2);

static int
usage (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  fprintf (stderr, "sinopia-cli generate: %s\nTry 'sinopia-cli generate --help'.\n", msg);
  return CLI_USAGE;
}

/* The generation runs as a job on a worker thread, so the main thread can turn Ctrl-C into a
 * cancel while it runs. */
typedef struct {
  SinopiaModel *model;
  SinopiaGenerateParams params;
  SinopiaImage *image;
  gboolean tty;
  gint64 start;
} Run;

static gboolean
on_step (const SinopiaStepInfo *info, gpointer user)
{
  Run *run = user;
  double s = (g_get_monotonic_time () - run->start) / 1e6;
  fprintf (stderr, "%sstep %u/%u  σ %.3f  %.1f s%s", run->tty ? "\r" : "", info->step + 1, info->n_steps,
           info->t_next, s, run->tty && info->step + 1 < info->n_steps ? "" : "\n");
  return TRUE;
}

static gboolean
run_job (gpointer data, const gint *cancel, GError **error)
{
  Run *run = data;
  run->image = sinopia_generate (run->model, &run->params, cancel, on_step, run, error);
  return run->image != NULL;
}

/* Writes the image and its parameters chunk (atomically: a failed write leaves no file). */
static gboolean
save (const SinopiaImage *image, const char *path, GError **error)
{
  g_autofree char *params = sinopia_image_parameters_json (image);
  const char *texts[] = { "parameters", params, "Software", "Sinopia " PACKAGE_VERSION, NULL };
  return sinopia_png_save_rgb (path, image->rgb, image->width, image->height, texts, error);
}

int
cli_generate (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *prompt = NULL, *negative = NULL, *model_dir = NULL, *out_path = NULL, *seed_text = NULL;
  int width = -1, height = -1, steps = -1;
  double guidance = NAN;
  GOptionEntry entries[] = {
    { "prompt", 0, 0, G_OPTION_ARG_STRING, &prompt, "What to paint", "TEXT" },
    { "negative", 0, 0, G_OPTION_ARG_STRING, &negative, "What to steer away from (default: empty)", "TEXT" },
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model_dir,
      "Model folder (default: $SINOPIA_MODEL, then the built-in " SINOPIA_DEFAULT_MODEL ")", "DIR" },
    { "width", 0, 0, G_OPTION_ARG_INT, &width, "Width in pixels (default: the model's native size)", "W" },
    { "height", 0, 0, G_OPTION_ARG_INT, &height, "Height in pixels (default: the model's native size)", "H" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &steps, "Sampling steps (default: the model's)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_text, "Noise seed, 0 to 2^63−1 (default 0)", "S" },
    { "guidance", 0, 0, G_OPTION_ARG_DOUBLE, &guidance,
      "Classifier-free guidance scale, or the embedded guidance for models that have one (default: the model's)",
      "G" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out_path, "Output PNG (with a 'parameters' text chunk)", "OUT.png" },
    { NULL },
  };
  if (!cli_parse ("generate", NULL, "Generates an image from a text prompt.", entries, &argc, &argv))
    return CLI_USAGE;
  if (argc > 1)
    return usage ("unexpected argument '%s'", argv[1]);
  if (!prompt || !out_path)
    return usage ("--prompt and --out are required");
  if ((width != -1 && width <= 0) || (height != -1 && height <= 0))
    return usage ("--width and --height must be positive");
  if (steps != -1 && (steps < 1 || steps > (int) SINOPIA_MODEL_MAX_STEPS))
    return usage ("--steps must be between 1 and %u", SINOPIA_MODEL_MAX_STEPS);
  if (!isnan (guidance) && !isfinite (guidance))
    return usage ("--guidance must be a finite number");

  Run run = { .tty = isatty (STDERR_FILENO) };
  sinopia_generate_params_init (&run.params);
  if (seed_text && !g_ascii_string_to_unsigned (seed_text, 10, 0, G_MAXINT64, &run.params.seed, &error))
    return usage ("--seed: %s", error->message);
  if (!model_dir && !sinopia_model_find_default (&model_dir, &error))
    return cli_fail ("%s", error->message);

  /* sizes are checked against sinopia-model.json before the weights load */
  g_autofree char *info_path = g_build_filename (model_dir, SINOPIA_MODEL_INFO_FILE, NULL);
  g_autoptr (SinopiaModelInfo) info = sinopia_model_info_load (info_path, &error);
  if (!info)
    return cli_fail ("%s", error->message);
  run.params.prompt = prompt;
  run.params.negative = negative ? negative : "";
  run.params.width = width > 0 ? (uint32_t) width : info->native_width;
  run.params.height = height > 0 ? (uint32_t) height : info->native_height;
  run.params.steps = steps > 0 ? (guint) steps : 0;
  run.params.guidance = (float) guidance;
  if (!sinopia_generate_check_size (info, run.params.width, run.params.height, &error))
    return usage ("%s", error->message);

  SinopiaVkContext *ctx = sinopia_vk_context_new (NULL, &error);
  if (!ctx)
    return cli_fail ("%s", error->message);
  int rc = CLI_ERROR;
  gint64 t0 = g_get_monotonic_time ();
  fprintf (stderr, "sinopia-cli: loading %s\n", model_dir);
  if (!(run.model = sinopia_model_load (ctx, model_dir, &error)))
    goto out;
  fprintf (stderr, "sinopia-cli: loaded %s in %.1f s; %u×%u\n", sinopia_model_info (run.model)->name,
           (g_get_monotonic_time () - t0) / 1e6, run.params.width, run.params.height);
  run.start = g_get_monotonic_time ();
  if (!cli_run_cancellable ("sinopia-generate", run_job, &run, &error))
    goto out;
  for (char **w = run.image->warnings; *w; w++)
    fprintf (stderr, "sinopia-cli: warning: %s\n", *w);
  if (!save (run.image, out_path, &error))
    goto out;
  fprintf (stderr, "sinopia-cli: wrote %s (%u×%u, %u steps, seed %" G_GUINT64_FORMAT ", guidance %g) in %.1f s\n",
           out_path, run.image->width, run.image->height, run.image->steps, run.image->seed,
           run.image->guidance, (g_get_monotonic_time () - t0) / 1e6);
  rc = CLI_OK;

out:
  if (rc != CLI_OK)
    cli_fail ("%s", error->message);
  sinopia_image_free (run.image);
  sinopia_model_free (run.model);
  sinopia_vk_context_free (ctx);
  return rc;
}
