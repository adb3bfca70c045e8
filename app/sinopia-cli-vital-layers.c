/* sinopia-cli-vital-layers.c — `vital-layers`: rank a model's layers by how much bypassing
 * each changes its images, and print the vital ones for sinopia-model.json. */
#define G_LOG_DOMAIN "sinopia-cli"

#include <math.h>
#include <stdio.h>

#include "sinopia-cli.h"
#include "sinopia-vital-layers.h"

/* Shapes-world captions of one to three objects over the grid and the colours. */
static const char *const default_prompts[] = {
  "a large red circle in the center on a white background",
  "a small blue square at the top left and a green triangle at the bottom right on a yellow background",
  "a yellow star at the top and a purple ring at the bottom on a blue background",
  "a medium green circle at the left and a red square at the right on a black background",
  "an orange triangle at the bottom left, a cyan circle in the center and a white square at the top right on "
  "a red background",
  "a large blue ring in the center on a green background",
};

typedef struct {
  SinopiaModel *model;
  SinopiaVitalLayersParams params;
  double *scores;
} Run;

static gboolean
progress (guint done, guint total, gpointer user)
{
  (void) user;
  fprintf (stderr, "\rgenerated %u/%u", done, total);
  if (done == total)
    fprintf (stderr, "\n");
  return TRUE;
}

static gboolean
run_job (gpointer data, const gint *cancel, GError **error)
{
  Run *run = data;
  return sinopia_vital_layers_measure (run->model, &run->params, cancel, progress, NULL, run->scores, error);
}

int
cli_vital_layers (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *model_dir = NULL, *seed_text = NULL;
  int steps = -1, count = -1;
  double guidance = NAN;
  GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model_dir,
      "Model folder (default: $SINOPIA_MODEL, then the built-in " SINOPIA_DEFAULT_MODEL ")", "DIR" },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_text, "Seed of the first prompt; each next prompt adds 1 (default 0)",
      "S" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &steps, "Sampling steps (default: the model's)", "N" },
    { "guidance", 0, 0, G_OPTION_ARG_DOUBLE, &guidance, "Guidance (default: the model's)", "G" },
    { "count", 0, 0, G_OPTION_ARG_INT, &count,
      "How many layers are vital (default: the share FLUX.1-dev's 9 of 57 layers, at least 1)", "K" },
    { NULL },
  };
  if (!cli_parse ("vital-layers", "[PROMPT…]",
                  "Bypasses each layer in turn and scores it by 1 − SSIM between the images with and without it "
                  "(mean over the prompts; built-in shapes-world prompts when none are given).",
                  entries, &argc, &argv))
    return CLI_USAGE;
  if ((steps != -1 && (steps < 1 || steps > (int) SINOPIA_MODEL_MAX_STEPS)) || count == 0 || count < -1 ||
      (!isnan (guidance) && !isfinite (guidance))) {
    fprintf (stderr, "sinopia-cli vital-layers: --steps must be between 1 and %u, --count at least 1 and "
                     "--guidance finite\n", SINOPIA_MODEL_MAX_STEPS);
    return CLI_USAGE;
  }
  Run run = { 0 };
  run.params.prompts = argc > 1 ? (const char *const *) argv + 1 : default_prompts;
  run.params.n_prompts = argc > 1 ? (guint) argc - 1 : G_N_ELEMENTS (default_prompts);
  run.params.steps = steps > 0 ? (guint) steps : 0;
  run.params.guidance = (float) guidance;
  if (seed_text && !g_ascii_string_to_unsigned (seed_text, 10, 0, G_MAXINT64, &run.params.seed, &error)) {
    fprintf (stderr, "sinopia-cli vital-layers: --seed: %s\n", error->message);
    return CLI_USAGE;
  }
  if (!model_dir && !sinopia_model_find_default (&model_dir, &error))
    return cli_fail ("%s", error->message);

  SinopiaVkContext *ctx = sinopia_vk_context_new (NULL, &error);
  if (!ctx)
    return cli_fail ("%s", error->message);
  int rc = CLI_ERROR;
  g_autofree double *scores = NULL;
  g_autofree guint *vital = NULL;
  if (!(run.model = sinopia_model_load (ctx, model_dir, &error)))
    goto out;
  const SinopiaFluxConfig *cfg = sinopia_flux_model_config (sinopia_model_flux (run.model));
  guint n_layers = sinopia_flux_n_layers (cfg);
  guint k = count > 0 ? (guint) count : MAX (1u, (guint) lround (n_layers * 9.0 / 57.0));
  scores = run.scores = g_new (double, n_layers);
  vital = g_new (guint, n_layers);
  if (!cli_run_cancellable ("sinopia-vital", run_job, &run, &error))
    goto out;
  guint n = sinopia_vital_layers_select (scores, n_layers, k, vital);
  for (guint l = 0; l < n_layers; l++)
    printf ("layer %2u  %s block %2u  1 − SSIM %.4f\n", l, l < cfg->depth ? "double" : "single",
            l < cfg->depth ? l : l - cfg->depth, scores[l]);
  printf ("\"vital_layers\": {\"layers\": [");
  for (guint i = 0; i < n; i++)
    printf ("%s%u", i ? ", " : "", vital[i]);
  printf ("]}\n");
  rc = CLI_OK;

out:
  if (rc != CLI_OK)
    cli_fail ("%s", error->message);
  sinopia_model_free (run.model);
  sinopia_vk_context_free (ctx);
  return rc;
}
