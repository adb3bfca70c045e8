/* sinopia-cli-bench-model.c — `bench model`: milliseconds per transformer step (cold and
 * warm), dispatches per step, peak device memory, and optionally an AE decode. */
#define G_LOG_DOMAIN "sinopia-cli"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sinopia-ae.h"
#include "sinopia-cli-tensors.h"
#include "sinopia-cli.h"
#include "sinopia-sampler.h"

#define WARM_RUNS 7

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

/* Inputs: from a golden-named file when given, else seeded random ones of the asked size. */
typedef struct {
  float *img, *img_ids, *txt, *txt_ids, *y;
  uint32_t n_img, n_txt;
} BenchInputs;

static void
bench_inputs_clear (BenchInputs *in)
{
  g_free (in->img);
  g_free (in->img_ids);
  g_free (in->txt);
  g_free (in->txt_ids);
  g_free (in->y);
}

static gboolean
bench_inputs (const char *path, const SinopiaFluxConfig *cfg, uint32_t width, uint32_t height, uint32_t n_txt,
              BenchInputs *in, GError **error)
{
  if (path) {
    g_autoptr (SinopiaSafetensors) st = sinopia_safetensors_open (path, error);
    gsize n = 0, nt = 0;
    if (!st || !(in->img = cli_tensor_f32 (st, "input.img", TRUE, 0, &n, error)) ||
        !(in->txt = cli_tensor_f32 (st, "input.txt", TRUE, 0, &nt, error)))
      return FALSE;
    in->n_img = n / cfg->in_channels;
    in->n_txt = nt / cfg->context_in_dim;
    return (in->img_ids = cli_tensor_f32 (st, "input.img_ids", TRUE, (gsize) in->n_img * cfg->n_axes, NULL, error)) &&
           (in->txt_ids = cli_tensor_f32 (st, "input.txt_ids", TRUE, (gsize) in->n_txt * cfg->n_axes, NULL, error)) &&
           (in->y = cli_tensor_f32 (st, "input.y", TRUE, cfg->vec_in_dim, NULL, error));
  }
  uint32_t lh = height / 8, lw = width / 8;
  in->n_img = (lh / 2) * (lw / 2);
  in->n_txt = n_txt;
  in->img = g_new (float, (gsize) in->n_img * cfg->in_channels);
  in->img_ids = g_new (float, (gsize) in->n_img * 3);
  in->txt = g_new (float, (gsize) n_txt * cfg->context_in_dim);
  in->txt_ids = g_new0 (float, (gsize) n_txt * cfg->n_axes);
  in->y = g_new (float, cfg->vec_in_dim);
  sinopia_noise (1, in->img, (gsize) in->n_img * cfg->in_channels);
  sinopia_noise (2, in->txt, (gsize) n_txt * cfg->context_in_dim);
  sinopia_noise (3, in->y, cfg->vec_in_dim);
  sinopia_flux_img_ids (lh, lw, in->img_ids);
  return TRUE;
}

/* One step as the sampler runs it: forward + Euler update, one submission. */
static gboolean
time_step (SinopiaFluxModel *m, SinopiaFluxWorkspace *ws, SinopiaFluxConditioning *c, SinopiaRecorder *rec,
           const SinopiaTensor *x, const SinopiaTensor *v, gboolean profile, double *ms, guint *dispatches,
           GError **error)
{
  gint64 t0 = g_get_monotonic_time ();
  if (!sinopia_recorder_begin (rec, profile, error))
    return FALSE;
  if (!sinopia_flux_forward (m, ws, c, 0, x, v, rec, NULL, error) ||
      !sinopia_op_mul_add (rec, v, NULL, x, -0.05f, x, error)) {
    sinopia_recorder_submit (rec, NULL);
    return FALSE;
  }
  *dispatches = sinopia_recorder_n_dispatches (rec);
  if (!sinopia_recorder_submit (rec, error))
    return FALSE;
  *ms = (g_get_monotonic_time () - t0) / 1000.0;
  return TRUE;
}

typedef struct {
  const char *op;
  double ms;
  guint count;
} OpTotal;

static int
compare_op_total (const void *a, const void *b)
{
  const OpTotal *x = a, *y = b;
  return x->ms < y->ms ? 1 : x->ms > y->ms ? -1 : 0;
}

/* Device time per shader over one profiled step, largest first: where a step's time goes
 * (the wall time also holds what the timestamps do not see, such as barriers and submission). */
static gboolean
print_step_profile (SinopiaFluxModel *m, SinopiaFluxWorkspace *ws, SinopiaFluxConditioning *c, SinopiaRecorder *rec,
                    const SinopiaTensor *x, const SinopiaTensor *v, GError **error)
{
  double wall;
  guint dispatches, n;
  if (!time_step (m, ws, c, rec, x, v, TRUE, &wall, &dispatches, error))
    return FALSE;
  const SinopiaProfileEntry *entries = sinopia_recorder_profile (rec, &n);
  if (n == 0) {
    printf ("profile: this device has no compute timestamps\n");
    return TRUE;
  }
  g_autoptr (GArray) totals = g_array_new (FALSE, TRUE, sizeof (OpTotal));
  double sum = 0;
  for (guint i = 0; i < n; i++) {
    guint j = 0;
    while (j < totals->len && strcmp (g_array_index (totals, OpTotal, j).op, entries[i].op) != 0)
      j++;
    if (j == totals->len)
      g_array_append_val (totals, ((OpTotal) { .op = entries[i].op }));
    OpTotal *t = &g_array_index (totals, OpTotal, j);
    t->ms += entries[i].ms;
    t->count++;
    sum += entries[i].ms;
  }
  qsort (totals->data, totals->len, sizeof (OpTotal), compare_op_total);
  printf ("profile of one step (%.2f ms wall, %.2f ms in dispatches):\n", wall, sum);
  for (guint j = 0; j < totals->len; j++) {
    const OpTotal *t = &g_array_index (totals, OpTotal, j);
    printf ("  %-20s %3u dispatches %8.3f ms %5.1f %%\n", t->op, t->count, t->ms, 100.0 * t->ms / sum);
  }
  return TRUE;
}

static gboolean
bench_ae (SinopiaVkContext *ctx, const char *path, uint32_t width, uint32_t height, GError **error)
{
  SinopiaAeModel *ae = sinopia_ae_load (ctx, path, error);
  if (!ae)
    return FALSE;
  const SinopiaAeConfig *cfg = sinopia_ae_config (ae);
  uint32_t h = height / 8, w = width / 8;
  g_autofree float *latent = g_new (float, (gsize) cfg->z_channels * h * w);
  g_autofree float *image = g_new (float, (gsize) cfg->out_ch * height * width);
  sinopia_noise (4, latent, (gsize) cfg->z_channels * h * w);
  double times[WARM_RUNS + 1];
  gboolean ok = TRUE;
  for (guint i = 0; i <= WARM_RUNS && ok; i++) {
    gint64 t0 = g_get_monotonic_time ();
    ok = sinopia_ae_decode (ae, latent, h, w, image, NULL, NULL, error);
    times[i] = (g_get_monotonic_time () - t0) / 1000.0;
  }
  if (ok) {
    qsort (times + 1, WARM_RUNS, sizeof (double), compare_double);
    printf ("AE decode %ux%u: %.1f ms (first run %.1f ms)\n", width, height, times[1 + WARM_RUNS / 2], times[0]);
  }
  sinopia_ae_free (ae);
  return ok;
}

int
cli_bench_model (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *weights = NULL, *inputs = NULL, *ae_path = NULL;
  int width = 128, height = 128, n_txt = 16;
  gboolean profile = FALSE;
  GOptionEntry entries[] = {
    { "weights", 0, 0, G_OPTION_ARG_FILENAME, &weights, "Transformer checkpoint", "W" },
    { "inputs", 0, 0, G_OPTION_ARG_FILENAME, &inputs, "Golden-named inputs (default: random of --width/--height)",
      "IN" },
    { "width", 0, 0, G_OPTION_ARG_INT, &width, "Image width in pixels (default 128)", "W" },
    { "height", 0, 0, G_OPTION_ARG_INT, &height, "Image height in pixels (default 128)", "H" },
    { "txt-tokens", 0, 0, G_OPTION_ARG_INT, &n_txt, "Text tokens (default 16)", "T" },
    { "ae", 0, 0, G_OPTION_ARG_FILENAME, &ae_path, "Also time a decode with this autoencoder", "AE" },
    { "profile", 0, 0, G_OPTION_ARG_NONE, &profile, "Also print each shader's device time over one step", NULL },
    { NULL },
  };
  if (!cli_parse ("bench model", NULL, "Times transformer steps (and an AE decode) on the chosen device.", entries,
                  &argc, &argv))
    return CLI_USAGE;
  if (!weights) {
    fprintf (stderr, "sinopia-cli bench model: --weights is required\n");
    return CLI_USAGE;
  }
  if (width < 16 || height < 16 || width % 16 || height % 16 || width > 4096 || height > 4096 || n_txt < 1 ||
      n_txt > 4096) {
    fprintf (stderr, "sinopia-cli bench model: sizes must be multiples of 16 up to 4096, text tokens 1..4096\n");
    return CLI_USAGE;
  }

  gint64 cold0 = g_get_monotonic_time ();
  SinopiaVkContext *ctx = sinopia_vk_context_new (NULL, &error);
  if (!ctx)
    return cli_fail ("%s", error->message);
  SinopiaFluxModel *m = NULL;
  SinopiaFluxConditioning *c = NULL;
  SinopiaFluxWorkspace *ws = NULL;
  SinopiaBuffer *bx = NULL, *bv = NULL;
  SinopiaRecorder *rec = NULL;
  BenchInputs in = { 0 };
  int rc = CLI_ERROR;
  float t = 0.7f, g = 3.5f;
  double first = 0, times[WARM_RUNS];
  guint dispatches = 0;

  if (!(m = sinopia_flux_model_load (ctx, weights, &error)))
    goto out;
  const SinopiaFluxConfig *cfg = sinopia_flux_model_config (m);
  if (!bench_inputs (inputs, cfg, width, height, n_txt, &in, &error) ||
      !(c = sinopia_flux_conditioning_new (m, in.txt, in.n_txt, in.txt_ids, in.y, in.img_ids, in.n_img, &t, &g, 1,
                                           &error)) ||
      !(ws = sinopia_flux_workspace_new (m, in.n_img, in.n_txt, &error)) ||
      !(bx = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, (uint64_t) in.n_img * cfg->in_channels, &error)) ||
      !(bv = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, (uint64_t) in.n_img * cfg->out_channels, &error)) ||
      !sinopia_buffer_upload (bx, 0, in.img, (uint64_t) in.n_img * cfg->in_channels * sizeof (float), &error) ||
      !(rec = sinopia_recorder_new (ctx, &error)))
    goto out;
  SinopiaTensor x = sinopia_tensor (bx, 0, in.n_img, cfg->in_channels);
  SinopiaTensor v = sinopia_tensor (bv, 0, in.n_img, cfg->out_channels);
  if (!time_step (m, ws, c, rec, &x, &v, FALSE, &first, &dispatches, &error))
    goto out;
  double cold = (g_get_monotonic_time () - cold0) / 1000.0;
  for (guint i = 0; i < WARM_RUNS; i++)
    if (!time_step (m, ws, c, rec, &x, &v, FALSE, &times[i], &dispatches, &error))
      goto out;
  qsort (times, WARM_RUNS, sizeof (double), compare_double);

  char *device = cli_device_label (ctx);
  printf ("device: %s\n", device);
  g_free (device);
  printf ("model: hidden %u, %u double + %u single blocks, %.2f M parameters, %.1f MB of weights on the device\n",
          cfg->hidden_size, cfg->depth, cfg->depth_single, sinopia_flux_param_count (cfg) / 1e6,
          sinopia_flux_model_weight_bytes (m) / 1e6);
  printf ("tokens: %u image + %u text\n", in.n_img, in.n_txt);
  printf ("transformer step: %.2f ms/step (warm median of %d; first step %.1f ms with pipeline creation)\n",
          times[WARM_RUNS / 2], WARM_RUNS, first);
  printf ("cold start (device, model load, first step): %.1f ms\n", cold);
  printf ("dispatches per step: %u (one submission)\n", dispatches);
  printf ("peak device memory: %.1f MB\n", sinopia_vk_context_peak_bytes (ctx) / 1e6);
  if (profile && !print_step_profile (m, ws, c, rec, &x, &v, &error))
    goto out;
  if (ae_path && !bench_ae (ctx, ae_path, width, height, &error))
    goto out;
  rc = CLI_OK;

out:
  if (rc != CLI_OK)
    cli_fail ("%s", error->message);
  sinopia_recorder_free (rec);
  sinopia_buffer_free (bx);
  sinopia_buffer_free (bv);
  sinopia_flux_workspace_free (ws);
  sinopia_flux_conditioning_free (c);
  sinopia_flux_model_free (m);
  bench_inputs_clear (&in);
  sinopia_vk_context_free (ctx);
  return rc;
}
