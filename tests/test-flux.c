/* The FLUX transformer against the reference code's golden tensors (the loader's naming,
 * dtype and error cases are in test-flux-load.c). */
#define G_LOG_DOMAIN "sinopia-test"

#include <glib/gstdio.h>
#include <string.h>

#include "sinopia-flux.h"
#include "sinopia-test-golden.h"
#include "sinopia-test-vk.h"

#define GOLDEN "flux-reference"

static void
compare_dump (SinopiaDump *dump, SinopiaSafetensors *io, const char *file, const char *const *required)
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
  SinopiaDump *dump = sinopia_test_flux_forward (weights, io, TRUE);
  compare_dump (dump, io, io_file, required);
  sinopia_dump_free (dump);
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

/* Without a dump the last single block computes only the rows the final layer reads; the
 * prediction must not move by a bit, and must match the reference. */
static void
test_final_rows (void)
{
  static const char *const required[] = { "output", NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *weights = sinopia_test_golden_path (GOLDEN, "flux_a1_weights.safetensors");
  if (!weights)
    return;
  g_autofree char *io_path = sinopia_test_golden_path (GOLDEN, "flux_a1_forward.safetensors");
  g_autoptr (SinopiaSafetensors) io = sinopia_safetensors_open (io_path, &error);
  g_assert_no_error (error);
  g_autoptr (SinopiaDump) full = sinopia_test_flux_forward (weights, io, TRUE);
  g_autoptr (SinopiaDump) trimmed = sinopia_test_flux_forward (weights, io, FALSE);
  g_assert_false (g_hash_table_contains (trimmed->tensors, "inter.single_blocks.1"));
  GBytes *a = g_hash_table_lookup (full->tensors, "output"), *b = g_hash_table_lookup (trimmed->tensors, "output");
  g_assert_true (g_bytes_equal (a, b));
  compare_dump (trimmed, io, "flux_a1_forward.safetensors", required);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/flux/golden-a1-forward", test_golden_a1);
  g_test_add_func ("/flux/golden-a2-forward", test_golden_a2);
  g_test_add_func ("/flux/final-rows", test_final_rows);
  int rc = g_test_run ();
  sinopia_test_context_finish ();
  return rc;
}
