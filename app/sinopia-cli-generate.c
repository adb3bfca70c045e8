/* sinopia-cli-generate.c — `generate`: a prompt to a PNG with a model folder. */
#define G_LOG_DOMAIN "sinopia-cli"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sinopia-cli-image.h"
#include "sinopia-cli.h"
#include "sinopia-job.h"
#include "sinopia-mask.h"

#define usage(...) cli_usage ("generate", __VA_ARGS__)

/* "X,Y,W,H=TEXT" (is_rect) or "MASK.png=TEXT" (split at the first '=') into a region; masks
 * are read at the output size. */
static gboolean
parse_region (const char *value, gboolean is_rect, uint32_t width, uint32_t height, SinopiaRegion *region,
              GPtrArray *owned, GError **error)
{
  const char *eq = strchr (value, '=');
  const char *flag = is_rect ? "--region" : "--region-mask";
  if (!eq || eq == value || !eq[1]) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s '%s': expected %s=TEXT", flag, value,
                 is_rect ? "X,Y,W,H" : "MASK.png");
    return FALSE;
  }
  g_autofree char *where = g_strndup (value, eq - value);
  region->prompt = eq + 1;
  if (!is_rect) {
    guint8 *mask = sinopia_mask_load (where, width, height, error);
    if (!mask)
      return FALSE;
    g_ptr_array_add (owned, mask);
    region->mask = mask;
    return TRUE;
  }
  g_auto (GStrv) parts = g_strsplit (where, ",", -1);
  uint32_t *fields[] = { &region->x, &region->y, &region->w, &region->h };
  guint64 v;
  if (g_strv_length (parts) != 4) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 "--region '%s': expected four numbers X,Y,W,H (pixels, origin top-left)", where);
    return FALSE;
  }
  for (guint i = 0; i < 4; i++) {
    if (!g_ascii_string_to_unsigned (parts[i], 10, 0, G_MAXUINT32, &v, NULL)) {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--region '%s': '%s' is not a pixel count",
                   where, parts[i]);
      return FALSE;
    }
    *fields[i] = (uint32_t) v;
  }
  /* checked here as well as in the engine, so the mistake is reported before the weights load */
  if (!region->w || !region->h || (guint64) region->x + region->w > width || (guint64) region->y + region->h > height) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 "--region '%s' must be a non-empty rectangle inside the %u×%u image", where, width, height);
    return FALSE;
  }
  return TRUE;
}

typedef struct {
  CliImageJob job;     /* first: the runner passes the job */
  SinopiaGenerateParams params;
} Run;

static gboolean
run_generate (CliImageJob *job, const gint *cancel, GError **error)
{
  Run *run = (Run *) job;
  job->image = sinopia_generate (job->model, &run->params, cancel, cli_progress_step, &job->progress, error);
  return job->image != NULL;
}

int
cli_generate (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *prompt = NULL, *negative = NULL, *model_dir = NULL, *out_path = NULL, *seed_text = NULL;
  g_autofree char *background = NULL;
  int width = -1, height = -1, steps = -1, inject_steps = -1, double_interval = -1, single_interval = -1;
  double guidance = NAN, base_ratio = NAN;
  g_auto (GStrv) rects = NULL, mask_args = NULL;
  g_autoptr (GPtrArray) masks = g_ptr_array_new_with_free_func (g_free);
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
    { "region", 0, 0, G_OPTION_ARG_STRING_ARRAY, &rects,
      "A region with its own prompt: a rectangle in output pixels, origin top-left (repeatable, up to 8 regions "
      "in all)", "X,Y,W,H=TEXT" },
    { "region-mask", 0, 0, G_OPTION_ARG_STRING_ARRAY, &mask_args,
      "A region given by a mask PNG of the output's size (grey ≥ 128 inside, alpha ignored) with its own prompt",
      "MASK.png=TEXT" },
    { "background-prompt", 0, 0, G_OPTION_ARG_STRING, &background,
      "Prompt for the area no region covers (default: the prompt)", "TEXT" },
    { "base-ratio", 0, 0, G_OPTION_ARG_DOUBLE, &base_ratio,
      "Weight of the whole-image prompt in the regions' attention, 0 to 1 (default: the model's)", "F" },
    { "mask-inject-steps", 0, 0, G_OPTION_ARG_INT, &inject_steps,
      "Steps that use the regions, from the first (default: the model's)", "N" },
    { "double-interval", 0, 0, G_OPTION_ARG_INT, &double_interval,
      "Apply the region rule in every N-th double block, from block 0 (default: the model's)", "N" },
    { "single-interval", 0, 0, G_OPTION_ARG_INT, &single_interval,
      "Apply the region rule in every N-th single block, from block 0 (default: the model's)", "N" },
    { NULL },
  };
  if (!cli_parse ("generate", NULL, "Generates an image from a text prompt, optionally with regional prompts.",
                  entries, &argc, &argv))
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
  guint n_rects = rects ? g_strv_length (rects) : 0, n_regions = n_rects + (mask_args ? g_strv_length (mask_args) : 0);
  if (n_regions > SINOPIA_MAX_REGIONS)
    return usage ("%u regions given; at most %u are allowed", n_regions, SINOPIA_MAX_REGIONS);
  if (!isnan (base_ratio) && !(base_ratio >= 0 && base_ratio <= 1))
    return usage ("--base-ratio must lie between 0 and 1");
  if (inject_steps < -1 || double_interval == 0 || double_interval < -1 || single_interval == 0 ||
      single_interval < -1)
    return usage ("--mask-inject-steps must not be negative and the intervals must be at least 1");

  Run run = { .job.run = run_generate };
  sinopia_generate_params_init (&run.params);
  if (seed_text && !g_ascii_string_to_unsigned (seed_text, 10, 0, G_MAXINT64, &run.params.seed, &error))
    return usage ("--seed: %s", error->message);
  /* sizes are checked against sinopia-model.json before the weights load */
  g_autoptr (SinopiaModelInfo) info = cli_model_info (&model_dir, &error);
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
  SinopiaRegion regions[SINOPIA_MAX_REGIONS] = { 0 };
  /* rectangles first, then masks: the order only numbers the regions in messages */
  for (guint i = 0; i < n_regions; i++)
    if (!parse_region (i < n_rects ? rects[i] : mask_args[i - n_rects], i < n_rects, run.params.width,
                       run.params.height, &regions[i], masks, &error))
      return g_error_matches (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE) ||
                 g_error_matches (error, SINOPIA_MASK_ERROR, SINOPIA_MASK_ERROR_SIZE)
               ? usage ("%s", error->message)
               : cli_fail ("%s", error->message);
  run.params.regions = regions;
  run.params.n_regions = n_regions;
  run.params.background_prompt = background;
  run.params.base_ratio = (float) base_ratio;
  run.params.mask_inject_steps = inject_steps;
  run.params.double_interval = double_interval;
  run.params.single_interval = single_interval;

  return cli_image_job ("sinopia-generate", model_dir, &run.job, out_path, NULL);
}
