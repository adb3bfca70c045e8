/* sinopia-cli-flux.c — `dit-forward` and `sample`: the transformer and the sampler on
 * tensor files named like the reference goldens, so the goldens can be fed in directly. */
#define G_LOG_DOMAIN "sinopia-cli"

#include <stdio.h>
#include <string.h>

#include "sinopia-cli-tensors.h"
#include "sinopia-cli.h"
#include "sinopia-sampler.h"

typedef struct {
  float *img_ids, *txt, *txt_ids, *y;
  gsize n_img, n_txt;
} FluxInputs;

static void
flux_inputs_clear (FluxInputs *in)
{
  g_free (in->img_ids);
  g_free (in->txt);
  g_free (in->txt_ids);
  g_free (in->y);
}

/* Reads txt, txt_ids, y, and img_ids (computed for a latent of lat_h × lat_w when the
 * file has none) for `n_img` image tokens. */
static gboolean
flux_inputs_read (SinopiaSafetensors *st, const SinopiaFluxConfig *cfg, gsize n_img, uint32_t lat_h,
                  uint32_t lat_w, FluxInputs *in, GError **error)
{
  gsize n = 0;
  in->n_img = n_img;
  if (!(in->txt = cli_tensor_f32 (st, "input.txt", TRUE, 0, &n, error)))
    return FALSE;
  if (n % cfg->context_in_dim != 0) {
    g_set_error (error, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_INPUT,
                 "input.txt has %" G_GSIZE_FORMAT " values, not a multiple of the model's %u text features", n,
                 cfg->context_in_dim);
    return FALSE;
  }
  in->n_txt = n / cfg->context_in_dim;
  if (!(in->txt_ids = cli_tensor_f32 (st, "input.txt_ids", TRUE, in->n_txt * cfg->n_axes, NULL, error)) ||
      !(in->y = cli_tensor_f32 (st, "input.y", TRUE, cfg->vec_in_dim, NULL, error)))
    return FALSE;
  if (sinopia_safetensors_lookup (st, "input.img_ids") || !lat_h)
    return (in->img_ids = cli_tensor_f32 (st, "input.img_ids", TRUE, n_img * cfg->n_axes, NULL, error)) != NULL;
  in->img_ids = g_new (float, n_img * 3);
  sinopia_flux_img_ids (lat_h, lat_w, in->img_ids);
  return TRUE;
}

static int
usage_missing (const char *command, const char *what)
{
  fprintf (stderr, "sinopia-cli %s: %s is required\nTry 'sinopia-cli %s --help'.\n", command, what, command);
  return CLI_USAGE;
}

int
cli_dit_forward (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *weights = NULL, *inputs = NULL, *out_path = NULL;
  gboolean dump_inter = FALSE;
  GOptionEntry entries[] = {
    { "weights", 0, 0, G_OPTION_ARG_FILENAME, &weights, "Transformer checkpoint (BFL or diffusers naming)", "W" },
    { "inputs", 0, 0, G_OPTION_ARG_FILENAME, &inputs, "input.img, img_ids, txt, txt_ids, y, timesteps, guidance", "IN" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out_path, "Output safetensors (output [1, L, C])", "OUT" },
    { "dump-intermediates", 0, 0, G_OPTION_ARG_NONE, &dump_inter, "Also write the inter.* tensors", NULL },
    { NULL },
  };
  if (!cli_parse ("dit-forward", NULL, "Runs one FLUX transformer forward pass.", entries, &argc, &argv))
    return CLI_USAGE;
  if (!weights || !inputs || !out_path)
    return usage_missing ("dit-forward", "--weights, --inputs and --out");

  g_autoptr (SinopiaSafetensors) st = sinopia_safetensors_open (inputs, &error);
  if (!st)
    return cli_fail ("%s", error->message);
  SinopiaVkContext *ctx = sinopia_vk_context_new (NULL, &error);
  if (!ctx)
    return cli_fail ("%s", error->message);
  SinopiaFluxModel *model = NULL;
  SinopiaFluxConditioning *cond = NULL;
  SinopiaFluxWorkspace *ws = NULL;
  SinopiaBuffer *bimg = NULL, *bpred = NULL;
  SinopiaRecorder *rec = NULL;
  SinopiaDump *dump = dump_inter ? sinopia_dump_new () : NULL;
  g_autoptr (CliOutput) out = cli_output_new ();
  FluxInputs in = { 0 };
  g_autofree float *img = NULL, *t = NULL, *g = NULL;
  int rc = CLI_ERROR;
  gsize n = 0;

  if (!(model = sinopia_flux_model_load (ctx, weights, &error)))
    goto out;
  const SinopiaFluxConfig *cfg = sinopia_flux_model_config (model);
  if (!(img = cli_tensor_f32 (st, "input.img", TRUE, 0, &n, &error)))
    goto out;
  if (n % cfg->in_channels != 0) {
    g_set_error (&error, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_INPUT,
                 "input.img has %" G_GSIZE_FORMAT " values, not a multiple of %u features", n, cfg->in_channels);
    goto out;
  }
  if (!flux_inputs_read (st, cfg, n / cfg->in_channels, 0, 0, &in, &error) ||
      !(t = cli_tensor_f32 (st, "input.timesteps", TRUE, 1, NULL, &error)))
    goto out;
  g = cli_tensor_f32 (st, "input.guidance", cfg->guidance_embed, 1, NULL, &error);
  if (error)
    goto out;
  if (!(cond = sinopia_flux_conditioning_new (model, in.txt, in.n_txt, in.txt_ids, in.y, in.img_ids, in.n_img, t, g,
                                              1, &error)) ||
      !(ws = sinopia_flux_workspace_new (model, in.n_img, in.n_txt, &error)) ||
      !(bimg = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, n, &error)) ||
      !(bpred = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, in.n_img * cfg->out_channels, &error)) ||
      !sinopia_buffer_upload (bimg, 0, img, n * sizeof (float), &error) ||
      !(rec = sinopia_recorder_new (ctx, &error)) ||
      !sinopia_recorder_begin (rec, FALSE, &error))
    goto out;
  SinopiaTensor timg = sinopia_tensor (bimg, 0, in.n_img, cfg->in_channels);
  SinopiaTensor tpred = sinopia_tensor (bpred, 0, in.n_img, cfg->out_channels);
  if (!sinopia_flux_forward (model, ws, cond, 0, &timg, &tpred, rec, dump, &error)) {
    sinopia_recorder_submit (rec, NULL);
    goto out;
  }
  if (!sinopia_recorder_submit (rec, &error) || (dump && !sinopia_dump_collect (dump, &error)))
    goto out;

  gsize n_out = in.n_img * cfg->out_channels;
  float *pred = g_new (float, n_out);
  uint64_t shape[3] = { 1, in.n_img, cfg->out_channels };
  if (!sinopia_buffer_download (bpred, 0, pred, n_out * sizeof (float), &error)) {
    g_free (pred);
    goto out;
  }
  if (!cli_output_add (out, "output", 3, shape, pred, &error))
    goto out;
  if (dump) {
    g_autofree gpointer *names = g_hash_table_get_keys_as_array (dump->tensors, NULL);
    guint n_names = g_hash_table_size (dump->tensors);
    qsort (names, n_names, sizeof (gpointer), (GCompareFunc) g_strcmp0);
    for (guint i = 0; i < n_names; i++) {
      const char *name = *(const char **) &names[i];
      GBytes *bytes = g_hash_table_lookup (dump->tensors, name);
      GArray *dims = g_hash_table_lookup (dump->shapes, name);
      if (!cli_output_add (out, name, dims->len, (const uint64_t *) dims->data,
                           g_memdup2 (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes)), &error))
        goto out;
    }
  }
  if (cli_output_write (out, out_path, &error))
    rc = CLI_OK;

out:
  if (rc != CLI_OK)
    cli_fail ("%s", error->message);
  sinopia_recorder_free (rec);
  sinopia_buffer_free (bimg);
  sinopia_buffer_free (bpred);
  sinopia_flux_workspace_free (ws);
  sinopia_flux_conditioning_free (cond);
  sinopia_dump_free (dump);
  sinopia_flux_model_free (model);
  flux_inputs_clear (&in);
  sinopia_vk_context_free (ctx);
  return rc;
}

typedef struct {
  CliOutput *out;
  GError *error;
} SampleSteps;

static gboolean
record_step (const SinopiaStepInfo *info, gpointer user_data)
{
  SampleSteps *s = user_data;
  g_autofree char *name = g_strdup_printf ("step.%u.latent", info->step);
  uint64_t shape[3] = { 1, info->n_img, info->channels };
  gsize n = (gsize) info->n_img * info->channels;
  return cli_output_add (s->out, name, 3, shape, g_memdup2 (info->latent, n * sizeof (float)), &s->error);
}

int
cli_sample (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *weights = NULL, *inputs = NULL, *out_path = NULL;
  int steps = 0;
  double guidance = 3.5;
  gboolean no_shift = FALSE;
  GOptionEntry entries[] = {
    { "weights", 0, 0, G_OPTION_ARG_FILENAME, &weights, "Transformer checkpoint", "W" },
    { "inputs", 0, 0, G_OPTION_ARG_FILENAME, &inputs, "input.noise [1,C,H,W], txt, txt_ids, y (img_ids optional)",
      "IN" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &steps, "Sampling steps", "N" },
    { "guidance", 0, 0, G_OPTION_ARG_DOUBLE, &guidance, "Embedded guidance, or the CFG scale (default 3.5)", "G" },
    { "no-shift", 0, 0, G_OPTION_ARG_NONE, &no_shift, "Unshifted schedule (schnell-style models)", NULL },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out_path, "Output: final.latent and step.K.latent, packed [1,L,C]", "OUT" },
    { NULL },
  };
  if (!cli_parse ("sample", NULL, "Runs the flow-matching Euler sampler from given noise.", entries, &argc, &argv))
    return CLI_USAGE;
  if (!weights || !inputs || !out_path)
    return usage_missing ("sample", "--weights, --inputs and --out");
  if (steps < 1 || steps > 1000) {
    fprintf (stderr, "sinopia-cli sample: --steps must be between 1 and 1000\n");
    return CLI_USAGE;
  }

  g_autoptr (SinopiaSafetensors) st = sinopia_safetensors_open (inputs, &error);
  if (!st)
    return cli_fail ("%s", error->message);
  const SinopiaTensorInfo *noise_info = sinopia_safetensors_lookup (st, "input.noise");
  if (!noise_info || noise_info->n_dims != 4 || noise_info->shape[0] != 1 || noise_info->shape[2] % 2 ||
      noise_info->shape[3] % 2)
    return cli_fail ("%s: input.noise must be a [1, C, H, W] latent with even H and W", inputs);
  SinopiaVkContext *ctx = sinopia_vk_context_new (NULL, &error);
  if (!ctx)
    return cli_fail ("%s", error->message);

  SinopiaFluxModel *model = NULL;
  FluxInputs in = { 0 };
  g_autoptr (CliOutput) out = cli_output_new ();
  g_autofree float *noise = NULL, *ts = NULL, *t_eval = NULL, *dt = NULL;
  int rc = CLI_ERROR;
  uint32_t C = noise_info->shape[1], H = noise_info->shape[2], W = noise_info->shape[3];
  gsize n = 0;

  if (!(model = sinopia_flux_model_load (ctx, weights, &error)))
    goto out;
  const SinopiaFluxConfig *cfg = sinopia_flux_model_config (model);
  if (4 * C != cfg->in_channels) {
    g_set_error (&error, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_INPUT,
                 "input.noise has %u channels; the model packs 4 × %u", C, cfg->in_channels / 4);
    goto out;
  }
  if (!(noise = cli_tensor_f32 (st, "input.noise", TRUE, 0, &n, &error)) ||
      !flux_inputs_read (st, cfg, (gsize) (H / 2) * (W / 2), H, W, &in, &error))
    goto out;
  float *latent = g_new (float, n);
  sinopia_flux_pack (noise, C, H, W, latent);
  ts = g_new (float, steps + 1);
  t_eval = g_new (float, steps);
  dt = g_new (float, steps);
  sinopia_flux_schedule (steps, in.n_img, !no_shift, ts);
  sinopia_flux_steps_from_schedule (ts, steps, FALSE, t_eval, dt);
  SinopiaSampleRequest req = {
    .model = model, .txt = in.txt, .txt_ids = in.txt_ids, .y = in.y, .n_txt = in.n_txt,
    .guidance = (float) guidance, .img_ids = in.img_ids, .n_img = in.n_img,
    .t_eval = t_eval, .dt = dt, .n_steps = steps,
  };
  SampleSteps record = { out, NULL };
  uint64_t shape[3] = { 1, in.n_img, cfg->in_channels };
  if (!sinopia_flux_sample (&req, latent, record_step, &record, &error)) {
    g_free (latent);
    if (record.error) {
      g_clear_error (&error);
      g_propagate_error (&error, record.error);
    }
    goto out;
  }
  if (!cli_output_add (out, "final.latent", 3, shape, latent, &error))
    goto out;
  if (cli_output_write (out, out_path, &error))
    rc = CLI_OK;

out:
  if (rc != CLI_OK)
    cli_fail ("%s", error->message);
  flux_inputs_clear (&in);
  sinopia_flux_model_free (model);
  sinopia_vk_context_free (ctx);
  return rc;
}
