/* sinopia-test-golden.c — see sinopia-test-golden.h. */
#define G_LOG_DOMAIN "sinopia-test"

#include <math.h>
#include <sys/wait.h>

#include "sinopia-json.h"
#include "sinopia-test-golden.h"
#include "sinopia-test-vk.h"

char *
sinopia_test_golden_path (const char *dir, const char *file)
{
  const char *shared = g_getenv ("SINOPIA_SHARED_DIR");
  g_autofree char *folder = g_build_filename (shared ? shared : "../shared", "golden", dir, NULL);
  if (!g_file_test (folder, G_FILE_TEST_IS_DIR)) {
    g_autofree char *msg = g_strdup_printf ("golden data not found at %s (set SINOPIA_SHARED_DIR)", folder);
    g_test_skip (msg);
    return NULL;
  }
  return g_build_filename (folder, file, NULL);
}

float *
sinopia_test_golden_tensor (SinopiaSafetensors *st, const char *name, gsize *n)
{
  g_autoptr (GError) error = NULL;
  const SinopiaTensorInfo *t = sinopia_safetensors_lookup (st, name);
  if (!t)
    g_error ("golden tensor %s missing from %s", name, sinopia_safetensors_name (st));
  float *v = g_new (float, MAX (t->n_elements, 1));
  sinopia_safetensors_read_f32 (t, v, &error);
  g_assert_no_error (error);
  if (n)
    *n = t->n_elements;
  return v;
}

double
sinopia_test_golden_atol (const char *dir, const char *file, const char *tensor)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = sinopia_test_golden_path (dir, "tolerances.json");
  g_autofree char *text = NULL;
  gsize len = 0;
  double atol = 0;
  g_assert_nonnull (path);
  g_file_get_contents (path, &text, &len, &error);
  g_assert_no_error (error);
  g_autoptr (SinopiaJson) doc = sinopia_json_parse (text, len, &error);
  g_assert_no_error (error);
  const SinopiaJsonNode *files = sinopia_json_object_get (sinopia_json_root (doc), "files");
  const SinopiaJsonNode *f = files ? sinopia_json_object_get (files, file) : NULL;
  const SinopiaJsonNode *t = f ? sinopia_json_object_get (f, tensor) : NULL;
  if (!t)
    g_error ("no tolerance for %s %s in %s", file, tensor, path);
  sinopia_json_get_double (t, "atol", &atol, &error);
  g_assert_no_error (error);
  return atol;
}

double
sinopia_test_max_abs_diff (const float *a, const float *b, gsize n)
{
  double m = 0;
  for (gsize i = 0; i < n; i++) {
    double d = fabs ((double) a[i] - b[i]);
    if (isnan (d))
      return INFINITY;
    m = MAX (m, d);
  }
  return m;
}

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

SinopiaDump *
sinopia_test_flux_forward (const char *weights, SinopiaSafetensors *io, gboolean intermediates)
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
  SinopiaDump *dump = sinopia_dump_new ();

  SinopiaRecorder *rec = sinopia_test_begin ();
  sinopia_flux_forward (model, ws, cond, 0, &timg, &tpred, rec, intermediates ? dump : NULL, &error);
  g_assert_no_error (error);
  sinopia_test_submit (rec);
  sinopia_dump_collect (dump, &error);
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

void
sinopia_test_run_clear (SinopiaTestRun *r)
{
  g_clear_pointer (&r->out, g_free);
  g_clear_pointer (&r->err, g_free);
}

SinopiaTestRun
sinopia_test_run_cli (const char *first, ...)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  const char *cli = g_getenv ("SINOPIA_CLI");
  va_list ap;
  SinopiaTestRun r = { 0 };
  g_assert_nonnull (cli);
  g_ptr_array_add (argv, (char *) cli);
  va_start (ap, first);
  for (const char *a = first; a; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (char *) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  int wait_status = 0;
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &r.out, &r.err, &wait_status,
                &error);
  g_assert_no_error (error);
  /* a signal is never an acceptable way to end */
  g_assert_true (WIFEXITED (wait_status));
  r.status = WEXITSTATUS (wait_status);
  return r;
}
