/* sinopia-cli-inpaint.c — `inpaint`: KV-Edit inpainting of a PNG under a mask PNG, or its
 * no-cache baseline. */
#define G_LOG_DOMAIN "sinopia-cli"

#include <math.h>
#include <stdio.h>

#include "sinopia-cli-image.h"
#include "sinopia-cli.h"
#include "sinopia-inpaint.h"
#include "sinopia-mask.h"
#include "sinopia-png.h"

#define usage(...) cli_usage ("inpaint", __VA_ARGS__)

typedef struct {
  CliImageJob job;     /* first: the runner passes the job */
  SinopiaInpaintParams params;
} Run;

static gboolean
run_inpaint (CliImageJob *job, const gint *cancel, GError **error)
{
  Run *run = (Run *) job;
  job->image = sinopia_inpaint (job->model, &run->params, cancel, cli_progress_step, &job->progress, error);
  return job->image != NULL;
}

int
cli_inpaint (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *image_path = NULL, *mask_path = NULL, *source = NULL, *prompt = NULL, *negative = NULL;
  g_autofree char *model_dir = NULL, *out_path = NULL, *seed_text = NULL;
  int steps = -1, skip = -1;
  double guidance = NAN, inv_guidance = NAN, attn_scale = NAN;
  gboolean reinit = FALSE, reinit_inverted = FALSE, inversion_free = FALSE, aligned = FALSE, attn_mask = FALSE;
  gboolean no_cache = FALSE;
  GOptionEntry entries[] = {
    { "image", 0, 0, G_OPTION_ARG_FILENAME, &image_path, "The image to edit (PNG of any kind; alpha is dropped)",
      "IN.png" },
    { "mask", 0, 0, G_OPTION_ARG_FILENAME, &mask_path,
      "What to regenerate: a PNG of the image's size, grey ≥ 128 inside (alpha ignored)", "MASK.png" },
    { "source-prompt", 0, 0, G_OPTION_ARG_STRING, &source, "What the image shows (unused by --no-cache)", "TEXT" },
    { "prompt", 0, 0, G_OPTION_ARG_STRING, &prompt, "What the masked area should show", "TEXT" },
    { "negative", 0, 0, G_OPTION_ARG_STRING, &negative, "What to steer away from (default: empty)", "TEXT" },
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model_dir,
      "Model folder (default: $SINOPIA_MODEL, then the built-in " SINOPIA_DEFAULT_MODEL ")", "DIR" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &steps, "Inversion and editing steps (default: the model's)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_text,
      "Seed of the re-init noise and of --no-cache's, 0 to 2^63−1 (default 0)", "S" },
    { "guidance", 0, 0, G_OPTION_ARG_DOUBLE, &guidance, "Guidance of the editing steps (default: the model's)",
      "G" },
    { "inversion-guidance", 0, 0, G_OPTION_ARG_DOUBLE, &inv_guidance,
      "Guidance of the inversion (default: the model's)", "G" },
    { "skip-step", 0, 0, G_OPTION_ARG_INT, &skip, "Editing skips the first K steps (default: the model's)", "K" },
    { "reinit", 0, 0, G_OPTION_ARG_NONE, &reinit,
      "Start the masked area from the noised input, not the inversion (the reference code's re-init)", NULL },
    { "reinit-from-inversion", 0, 0, G_OPTION_ARG_NONE, &reinit_inverted,
      "Start the masked area from the inversion at the first editing step's level, noised (the paper's re-init)",
      NULL },
    { "attn-scale", 0, 0, G_OPTION_ARG_DOUBLE, &attn_scale,
      "Added to the attention scores of background keys (default: the model's)", "F" },
    { "inversion-free", 0, 0, G_OPTION_ARG_NONE, &inversion_free,
      "No inversion: memory of one step's cache, whatever the steps", NULL },
    { "aligned-start", 0, 0, G_OPTION_ARG_NONE, &aligned,
      "Start from the inversion at the first editing step's level (the reference starts one level above 0)", NULL },
    { "attn-mask", 0, 0, G_OPTION_ARG_NONE, &attn_mask,
      "Mask-guided inversion: the background's keys and values do not see the masked area", NULL },
    { "no-cache", 0, 0, G_OPTION_ARG_NONE, &no_cache,
      "The baseline instead of KV-Edit: plain masked regeneration, no inversion and no cache; the rest of the image "
      "is put back on its noising path before every step. Same steps, skip, guidance, seed and composite; none of "
      "the inversion's or the cache's options", NULL },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out_path, "Output PNG", "OUT.png" },
    { NULL },
  };
  if (!cli_parse ("inpaint", NULL,
                  "Regenerates the masked area of an image from a prompt, keeping the rest (KV-Edit with the "
                  "reference code's defaults; --aligned-start and --reinit-from-inversion are the paper's "
                  "variants, --no-cache the baseline without the cache).", entries,
                  &argc, &argv))
    return CLI_USAGE;
  if (argc > 1)
    return usage ("unexpected argument '%s'", argv[1]);
  if (!image_path || !mask_path || (!source && !no_cache) || !prompt || !out_path)
    return usage ("--image, --mask, --source-prompt (but with --no-cache), --prompt and --out are required");
  if (reinit && reinit_inverted)
    return usage ("--reinit and --reinit-from-inversion are two variants of one option: give one");
  if (no_cache && (reinit || reinit_inverted || inversion_free || aligned || attn_mask ||
                   !isnan (inv_guidance) || !isnan (attn_scale)))
    return usage ("--no-cache has no inversion and no cache: it takes none of --reinit, "
                  "--reinit-from-inversion, --inversion-free, --aligned-start, --attn-mask, --inversion-guidance "
                  "and --attn-scale");
  if (inversion_free && (reinit || reinit_inverted || aligned))
    return usage ("--inversion-free starts from the input itself: it takes none of --reinit, "
                  "--reinit-from-inversion and --aligned-start");
  if (steps != -1 && (steps < 1 || steps > (int) SINOPIA_MODEL_MAX_STEPS))
    return usage ("--steps must be between 1 and %u", SINOPIA_MODEL_MAX_STEPS);
  if (skip < -1 || (!isnan (guidance) && !isfinite (guidance)) || (!isnan (inv_guidance) && !isfinite (inv_guidance)) ||
      (!isnan (attn_scale) && !isfinite (attn_scale)))
    return usage ("--skip-step must not be negative; guidances and --attn-scale must be finite numbers");

  Run run = { .job.run = run_inpaint };
  SinopiaInpaintParams *p = &run.params;
  sinopia_inpaint_params_init (p);
  if (seed_text && !g_ascii_string_to_unsigned (seed_text, 10, 0, G_MAXINT64, &p->seed, &error))
    return usage ("--seed: %s", error->message);
  g_autoptr (SinopiaModelInfo) info = cli_model_info (&model_dir, &error);
  if (!info)
    return cli_fail ("%s", error->message);
  if (steps > 0 && skip >= steps)
    return usage ("--skip-step %d must be below --steps %d", skip, steps);

  /* the image and the mask are checked before the weights load */
  g_autoptr (SinopiaPngImage) png = sinopia_png_load (image_path, 0, &error);
  if (!png)
    return cli_fail ("%s", error->message);
  if (!sinopia_generate_check_size (info, png->width, png->height, &error))
    return usage ("%s: %s (crop or resize the image)", image_path, error->message);
  g_autofree guint8 *rgb = sinopia_png_image_to_rgb (png, NULL);
  g_autofree guint8 *mask = sinopia_mask_load (mask_path, png->width, png->height, &error);
  if (!mask)
    return g_error_matches (error, SINOPIA_MASK_ERROR, SINOPIA_MASK_ERROR_SIZE) ? usage ("%s", error->message)
                                                                               : cli_fail ("%s", error->message);
  p->image = rgb;
  p->mask = mask;
  p->width = png->width;
  p->height = png->height;
  p->source_prompt = source;
  p->prompt = prompt;
  p->negative = negative ? negative : "";
  p->steps = steps > 0 ? (guint) steps : 0;
  p->guidance = (float) guidance;
  p->inversion_guidance = (float) inv_guidance;
  p->skip_step = skip;
  p->attn_scale = (float) attn_scale;
  p->reinit = reinit            ? SINOPIA_KV_EDIT_REINIT_INPUT
              : reinit_inverted ? SINOPIA_KV_EDIT_REINIT_INVERSION
                                : -1;
  p->inversion_free = inversion_free;
  p->aligned_start = aligned;
  p->attn_mask = attn_mask;
  p->no_cache = no_cache;

  return cli_image_job ("sinopia-inpaint", model_dir, &run.job, out_path, NULL);
}
