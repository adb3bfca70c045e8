/* sinopia-test-golden.c — see sinopia-test-golden.h. */
#define G_LOG_DOMAIN "sinopia-test"

#include <math.h>

#include "sinopia-json.h"
#include "sinopia-test-golden.h"

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
