/* sinopia-cli-edit.c — `edit`: Stable Flow editing of a generated (--seed) or real (--image) image. */
#define G_LOG_DOMAIN "sinopia-cli"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sinopia-cli-image.h"
#include "sinopia-cli.h"
#include "sinopia-edit.h"
#include "sinopia-png.h"

#define usage(...) cli_usage ("edit", __VA_ARGS__)

typedef struct {
  CliImageJob job;     /* first: the runner passes the job */
  SinopiaEditParams params;
  gboolean want_reference;
} Run;

static gboolean
run_edit (CliImageJob *job, const gint *cancel, GError **error)
{
  Run *run = (Run *) job;
  job->image = sinopia_edit (job->model, &run->params, cancel, cli_progress_step, &job->progress,
                             run->want_reference ? &job->reference : NULL, error);
  return job->image != NULL;
}

/* "0,1,17" (global indices) or "none" into an array. */
static gboolean
parse_layers (const char *text, GArray *layers)
{
  if (strcmp (text, "none") == 0)
    return TRUE;
  g_auto (GStrv) parts = g_strsplit (text, ",", -1);
  for (guint i = 0; parts[i]; i++) {
    guint64 v;
    if (!g_ascii_string_to_unsigned (g_strstrip (parts[i]), 10, 0, 65535, &v, NULL))
      return FALSE;
    guint layer = (guint) v;
    g_array_append_val (layers, layer);
  }
  return layers->len > 0;
}

int
cli_edit (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *image_path = NULL, *source = NULL, *prompt = NULL, *negative = NULL, *model_dir = NULL;
  g_autofree char *out_path = NULL, *ref_path = NULL, *seed_text = NULL, *layers_text = NULL;
  int width = -1, height = -1, steps = -1;
  double guidance = NAN;
  gboolean aligned = FALSE;
  GOptionEntry entries[] = {
    { "image", 0, 0, G_OPTION_ARG_FILENAME, &image_path, "A real image to edit (PNG; alpha is dropped)", "IN.png" },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_text, "Or edit the image generated from this seed, 0 to 2^63−1", "S" },
    { "source-prompt", 0, 0, G_OPTION_ARG_STRING, &source, "What the image shows (the reference)", "TEXT" },
    { "prompt", 0, 0, G_OPTION_ARG_STRING, &prompt, "What the edited image shows (a description)", "TEXT" },
    { "negative", 0, 0, G_OPTION_ARG_STRING, &negative, "What to steer away from (default: empty)", "TEXT" },
    { "vital-layers", 0, 0, G_OPTION_ARG_STRING, &layers_text,
      "Layers whose image keys and values the edit takes from the reference: global indices from 0, double "
      "blocks first, or 'none' (default: the model's)", "LIST" },
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model_dir,
      "Model folder (default: $SINOPIA_MODEL, then the built-in " SINOPIA_DEFAULT_MODEL ")", "DIR" },
    { "width", 0, 0, G_OPTION_ARG_INT, &width, "Width of a generated image (default: the model's native size)", "W" },
    { "height", 0, 0, G_OPTION_ARG_INT, &height, "Height of a generated image (default: the model's native size)",
      "H" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &steps, "Sampling (and inversion) steps (default: the model's)", "N" },
    { "guidance", 0, 0, G_OPTION_ARG_DOUBLE, &guidance, "The edit's guidance (default: the model's)", "G" },
    { "aligned", 0, 0, G_OPTION_ARG_NONE, &aligned,
      "Real images: force the reference to the inversion at the level each step reached (the reference code "
      "lags two levels)", NULL },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out_path, "The edited image", "OUT.png" },
    { "reference-out", 0, 0, G_OPTION_ARG_FILENAME, &ref_path, "Also write the reference image", "REF.png" },
    { NULL },
  };
  if (!cli_parse ("edit", NULL, "Edits an image consistently with Stable Flow: the reference and its edit share "
                                "the vital layers' image keys and values.", entries, &argc, &argv))
    return CLI_USAGE;
  if (argc > 1)
    return usage ("unexpected argument '%s'", argv[1]);
  if (!source || !prompt || !out_path)
    return usage ("--source-prompt, --prompt and --out are required");
  if (!image_path == !seed_text)
    return usage ("give either --image (a real image) or --seed (a generated one)");
  if (image_path && (width != -1 || height != -1))
    return usage ("--width and --height are for generated images; a real image keeps its size");
  if ((width != -1 && width <= 0) || (height != -1 && height <= 0))
    return usage ("--width and --height must be positive");
  if (steps != -1 && (steps < 1 || steps > (int) SINOPIA_MODEL_MAX_STEPS))
    return usage ("--steps must be between 1 and %u", SINOPIA_MODEL_MAX_STEPS);
  if (!isnan (guidance) && !isfinite (guidance))
    return usage ("--guidance must be a finite number");

  Run run = { .job.run = run_edit, .want_reference = ref_path != NULL };
  SinopiaEditParams *p = &run.params;
  sinopia_edit_params_init (p);
  g_autoptr (GArray) layers = g_array_new (FALSE, FALSE, sizeof (guint));
  if (layers_text) {
    if (!parse_layers (layers_text, layers))
      return usage ("--vital-layers '%s': expected layer indices separated by commas, or 'none'", layers_text);
    p->vital_layers = (const guint *) layers->data;
    p->n_vital_layers = (int) layers->len;
  }
  if (seed_text && !g_ascii_string_to_unsigned (seed_text, 10, 0, G_MAXINT64, &p->seed, &error))
    return usage ("--seed: %s", error->message);
  g_autoptr (SinopiaModelInfo) info = cli_model_info (&model_dir, &error);
  if (!info)
    return cli_fail ("%s", error->message);

  g_autoptr (SinopiaPngImage) png = NULL;
  g_autofree guint8 *rgb = NULL;
  if (image_path) {
    if (!(png = sinopia_png_load (image_path, 0, &error)))
      return cli_fail ("%s", error->message);
    if (!sinopia_generate_check_size (info, png->width, png->height, &error))
      return usage ("%s: %s (crop or resize the image)", image_path, error->message);
    rgb = sinopia_png_image_to_rgb (png, NULL);
    p->image = rgb;
    p->width = png->width;
    p->height = png->height;
  } else {
    p->width = width > 0 ? (uint32_t) width : info->native_width;
    p->height = height > 0 ? (uint32_t) height : info->native_height;
    if (!sinopia_generate_check_size (info, p->width, p->height, &error))
      return usage ("%s", error->message);
  }
  p->source_prompt = source;
  p->prompt = prompt;
  p->negative = negative ? negative : "";
  p->steps = steps > 0 ? (guint) steps : 0;
  p->guidance = (float) guidance;
  p->aligned = aligned;

  return cli_image_job ("sinopia-edit", model_dir, &run.job, out_path, ref_path);
}
