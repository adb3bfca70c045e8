/* sinopia-cli as a user runs it: exit statuses, help, and the reference-style commands on
 * the golden files. The binary comes from $SINOPIA_CLI (set by meson). */
#define G_LOG_DOMAIN "sinopia-test"

#include <glib/gstdio.h>
#include <string.h>

#include "sinopia-test-golden.h"

#define GOLDEN "flux-reference"

static void
test_usage (void)
{
  SinopiaTestRun r = sinopia_test_run_cli ("--help", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "dit-forward"));
  sinopia_test_run_clear (&r);
  r = sinopia_test_run_cli ("--version", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (g_str_has_prefix (r.out, "sinopia-cli "));
  sinopia_test_run_clear (&r);
  r = sinopia_test_run_cli ("no-such-command", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "no-such-command"));
  sinopia_test_run_clear (&r);
  r = sinopia_test_run_cli (NULL);
  g_assert_cmpint (r.status, ==, 2);
  sinopia_test_run_clear (&r);
  r = sinopia_test_run_cli ("sample", "--help", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "--steps"));
  sinopia_test_run_clear (&r);
  r = sinopia_test_run_cli ("sample", "--steps", "4", NULL);
  g_assert_cmpint (r.status, ==, 2);
  sinopia_test_run_clear (&r);
  r = sinopia_test_run_cli ("dit-forward", "--bogus-flag", NULL);
  g_assert_cmpint (r.status, ==, 2);
  sinopia_test_run_clear (&r);
}

static void
test_devices (void)
{
  SinopiaTestRun r = sinopia_test_run_cli ("devices", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "(chosen)"));
  g_assert_nonnull (strstr (r.out, "subgroup size"));
  sinopia_test_run_clear (&r);
}

static void
compare_file (const char *ours_path, const char *golden_file, const char *const *names)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *golden_path = sinopia_test_golden_path (GOLDEN, golden_file);
  g_autoptr (SinopiaSafetensors) ours = sinopia_safetensors_open (ours_path, &error);
  g_assert_no_error (error);
  g_autoptr (SinopiaSafetensors) gold = sinopia_safetensors_open (golden_path, &error);
  g_assert_no_error (error);
  for (guint i = 0; names[i]; i++) {
    gsize n_ours, n_gold;
    g_autofree float *a = sinopia_test_golden_tensor (ours, names[i], &n_ours);
    g_autofree float *b = sinopia_test_golden_tensor (gold, names[i], &n_gold);
    g_assert_cmpuint (n_ours, ==, n_gold);
    double atol = sinopia_test_golden_atol (GOLDEN, golden_file, names[i]);
    double err = sinopia_test_max_abs_diff (a, b, n_ours);
    g_test_message ("%s: %.3g (tolerance %.3g)", names[i], err, atol);
    g_assert_cmpfloat (err, <=, atol);
  }
}

static void
test_dit_forward (void)
{
  g_autofree char *weights = sinopia_test_golden_path (GOLDEN, "flux_a2_weights.safetensors");
  if (!weights)
    return;
  g_autofree char *inputs = sinopia_test_golden_path (GOLDEN, "flux_a2_forward.safetensors");
  g_autofree char *dir = g_dir_make_tmp ("sinopia-cli-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "out.safetensors", NULL);
  SinopiaTestRun r = sinopia_test_run_cli ("dit-forward", "--weights", weights, "--inputs", inputs, "--out", out,
                                           "--dump-intermediates", NULL);
  g_assert_cmpint (r.status, ==, 0);
  sinopia_test_run_clear (&r);
  static const char *const names[] = { "output", "inter.vec", "inter.pe", "inter.double_blocks.0.img",
                                       "inter.double_blocks.0.txt", "inter.single_blocks.2", NULL };
  compare_file (out, "flux_a2_forward.safetensors", names);
  g_remove (out);
  g_rmdir (dir);
}

static void
test_sample (void)
{
  g_autofree char *weights = sinopia_test_golden_path (GOLDEN, "flux_a1_weights.safetensors");
  if (!weights)
    return;
  g_autofree char *inputs = sinopia_test_golden_path (GOLDEN, "flux_a1_sampling.safetensors");
  g_autofree char *dir = g_dir_make_tmp ("sinopia-cli-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "out.safetensors", NULL);
  SinopiaTestRun r = sinopia_test_run_cli ("sample", "--weights", weights, "--inputs", inputs, "--steps", "4",
                                           "--guidance", "3.5", "--out", out, NULL);
  g_assert_cmpint (r.status, ==, 0);
  sinopia_test_run_clear (&r);
  static const char *const names[] = { "step.0.latent", "step.1.latent", "step.2.latent", "step.3.latent",
                                       "final.latent", NULL };
  compare_file (out, "flux_a1_sampling.safetensors", names);
  g_remove (out);
  g_rmdir (dir);
}

/* Failures say what went wrong, exit 1, and leave no partial output behind. */
static void
test_errors (void)
{
  g_autofree char *weights = sinopia_test_golden_path (GOLDEN, "flux_a1_weights.safetensors");
  if (!weights)
    return;
  g_autofree char *inputs = sinopia_test_golden_path (GOLDEN, "flux_a1_forward.safetensors");
  g_autofree char *dir = g_dir_make_tmp ("sinopia-cli-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "out.safetensors", NULL);

  SinopiaTestRun r = sinopia_test_run_cli ("dit-forward", "--weights", "/nonexistent/w.safetensors", "--inputs",
                                           inputs, "--out", out, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "/nonexistent/w.safetensors"));
  sinopia_test_run_clear (&r);

  /* the A2 model does not take A1's inputs (different token grid is fine; features match),
   * but the sampling file lacks input.img: a named missing tensor */
  g_autofree char *sampling = sinopia_test_golden_path (GOLDEN, "flux_a1_sampling.safetensors");
  r = sinopia_test_run_cli ("dit-forward", "--weights", weights, "--inputs", sampling, "--out", out, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "input.timesteps"));
  sinopia_test_run_clear (&r);

  g_autofree char *bad_out = g_build_filename (dir, "missing-folder", "out.safetensors", NULL);
  r = sinopia_test_run_cli ("dit-forward", "--weights", weights, "--inputs", inputs, "--out", bad_out, NULL);
  g_assert_cmpint (r.status, ==, 1);
  sinopia_test_run_clear (&r);

  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_assert_null (g_dir_read_name (d));
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/usage", test_usage);
  g_test_add_func ("/cli/devices", test_devices);
  g_test_add_func ("/cli/dit-forward", test_dit_forward);
  g_test_add_func ("/cli/sample", test_sample);
  g_test_add_func ("/cli/errors", test_errors);
  return g_test_run ();
}
