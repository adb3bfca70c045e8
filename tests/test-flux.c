/* The FLUX transformer against the reference code's golden tensors, and its loader against
 * diffusers naming and broken checkpoints. */
#define G_LOG_DOMAIN "sinopia-test"

#include <glib/gstdio.h>
#include <string.h>

#include "sinopia-flux.h"
#include "sinopia-test-golden.h"
#include "sinopia-test-vk.h"

#define GOLDEN "flux-reference"

typedef struct {
  float *img, *img_ids, *txt, *txt_ids, *y, *t, *g;
  gsize n_img, n_txt;
} Inputs;

static void
inputs_read (SinopiaSafetensors *st, Inputs *in, uint32_t in_channels, uint32_t ctx_dim)
{
  gsize n;
  in->img = sinopia_test_golden_tensor (st, "input.img", &n);
  in->n_img = n / in_channels;
  in->img_ids = sinopia_test_golden_tensor (st, "input.img_ids", NULL);
  in->txt = sinopia_test_golden_tensor (st, "input.txt", &n);
  in->n_txt = n / ctx_dim;
  in->txt_ids = sinopia_test_golden_tensor (st, "input.txt_ids", NULL);
  in->y = sinopia_test_golden_tensor (st, "input.y", NULL);
  in->t = sinopia_test_golden_tensor (st, "input.timesteps", NULL);
  in->g = sinopia_test_golden_tensor (st, "input.guidance", NULL);
}

static void
inputs_clear (Inputs *in)
{
  g_free (in->img);
  g_free (in->img_ids);
  g_free (in->txt);
  g_free (in->txt_ids);
  g_free (in->y);
  g_free (in->t);
  g_free (in->g);
}

/* Runs one forward of `weights` on the golden inputs; returns the dump (with "output"). */
static SinopiaFluxDump *
run_forward (const char *weights, SinopiaSafetensors *io)
{
  g_autoptr (GError) error = NULL;
  SinopiaVkContext *ctx = sinopia_test_context ();
  SinopiaFluxModel *model = sinopia_flux_model_load (ctx, weights, &error);
  g_assert_no_error (error);
  const SinopiaFluxConfig *cfg = sinopia_flux_model_config (model);
  Inputs in = { 0 };
  inputs_read (io, &in, cfg->in_channels, cfg->context_in_dim);

  SinopiaFluxConditioning *cond = sinopia_flux_conditioning_new (model, in.txt, in.n_txt, in.txt_ids, in.y,
                                                                 in.img_ids, in.n_img, in.t, in.g, 1, &error);
  g_assert_no_error (error);
  SinopiaFluxWorkspace *ws = sinopia_flux_workspace_new (model, in.n_img, in.n_txt, &error);
  g_assert_no_error (error);
  SinopiaBuffer *img = sinopia_test_buffer (SINOPIA_DTYPE_F32, in.img, in.n_img * cfg->in_channels);
  SinopiaBuffer *pred = sinopia_test_output (in.n_img * cfg->out_channels);
  SinopiaTensor timg = sinopia_tensor (img, 0, in.n_img, cfg->in_channels);
  SinopiaTensor tpred = sinopia_tensor (pred, 0, in.n_img, cfg->out_channels);
  SinopiaFluxDump *dump = sinopia_flux_dump_new ();

  SinopiaRecorder *rec = sinopia_test_begin ();
  sinopia_flux_forward (model, ws, cond, 0, &timg, &tpred, rec, dump, &error);
  g_assert_no_error (error);
  sinopia_test_submit (rec);
  sinopia_flux_dump_collect (dump, &error);
  g_assert_no_error (error);

  gsize n = in.n_img * cfg->out_channels;
  float *out = sinopia_test_read (pred, n);
  g_hash_table_replace (dump->tensors, g_strdup ("output"), g_bytes_new_take (out, n * sizeof (float)));

  sinopia_buffer_free (img);
  sinopia_buffer_free (pred);
  sinopia_flux_workspace_free (ws);
  sinopia_flux_conditioning_free (cond);
  sinopia_flux_model_free (model);
  inputs_clear (&in);
  return dump;
}

static void
compare_dump (SinopiaFluxDump *dump, SinopiaSafetensors *io, const char *file, const char *const *required)
{
  guint compared = 0;
  for (gsize i = 0; i < sinopia_safetensors_n_tensors (io); i++) {
    const char *name = sinopia_safetensors_tensor (io, i)->name;
    GBytes *ours = g_hash_table_lookup (dump->tensors, name);
    if (!ours)
      continue;
    gsize n = 0, n_ours = 0;
    g_autofree float *want = sinopia_test_golden_tensor (io, name, &n);
    const float *got = g_bytes_get_data (ours, &n_ours);
    g_assert_cmpuint (n_ours / sizeof (float), ==, n);
    double atol = sinopia_test_golden_atol (GOLDEN, file, name);
    double err = sinopia_test_max_abs_diff (got, want, n);
    g_test_message ("%s %s: max abs error %.3g (tolerance %.3g)", file, name, err, atol);
    if (err > atol)
      g_error ("%s %s: max abs error %.3g exceeds the golden tolerance %.3g", file, name, err, atol);
    compared++;
  }
  for (guint i = 0; required[i]; i++)
    if (!g_hash_table_contains (dump->tensors, required[i]))
      g_error ("the forward did not produce %s", required[i]);
  g_assert_cmpuint (compared, >=, g_strv_length ((char **) required));
}

static void
golden_forward (const char *weights_file, const char *io_file, const char *const *required)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *weights = sinopia_test_golden_path (GOLDEN, weights_file);
  if (!weights)
    return;
  g_autofree char *io_path = sinopia_test_golden_path (GOLDEN, io_file);
  g_autoptr (SinopiaSafetensors) io = sinopia_safetensors_open (io_path, &error);
  g_assert_no_error (error);
  SinopiaFluxDump *dump = run_forward (weights, io);
  compare_dump (dump, io, io_file, required);
  sinopia_flux_dump_free (dump);
}

static void
test_golden_a1 (void)
{
  static const char *const required[] = {
    "output", "inter.vec", "inter.pe", "inter.img_in", "inter.txt_in",
    "inter.double_blocks.0.img", "inter.double_blocks.0.txt", "inter.double_blocks.1.img",
    "inter.double_blocks.1.txt", "inter.single_blocks.0", "inter.single_blocks.1", NULL,
  };
  golden_forward ("flux_a1_weights.safetensors", "flux_a1_forward.safetensors", required);
}

static void
test_golden_a2 (void)
{
  static const char *const required[] = {
    "output", "inter.vec", "inter.pe", "inter.double_blocks.0.img", "inter.double_blocks.0.txt",
    "inter.single_blocks.0", "inter.single_blocks.1", "inter.single_blocks.2", NULL,
  };
  golden_forward ("flux_a2_weights.safetensors", "flux_a2_forward.safetensors", required);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/flux/golden-a1-forward", test_golden_a1);
  g_test_add_func ("/flux/golden-a2-forward", test_golden_a2);
  int rc = g_test_run ();
  sinopia_test_context_finish ();
  return rc;
}
