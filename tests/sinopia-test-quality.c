/* sinopia-test-quality.c — see sinopia-test-quality.h. */
#include "sinopia-test-quality.h"

#include "sinopia-json.h"
#include "sinopia-model-info.h"

gboolean
sinopia_test_model_meets_quality (const char *model_dir)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (model_dir, SINOPIA_MODEL_INFO_FILE, NULL);
  g_autoptr (SinopiaModelInfo) info = sinopia_model_info_load (path, &error);
  g_assert_no_error (error);
  const SinopiaJsonNode *q = sinopia_model_info_section (info, "quality");
  gboolean meets = FALSE;
  if (q && sinopia_json_object_get (q, "meets_targets"))
    g_assert_true (sinopia_json_get_bool (q, "meets_targets", &meets, NULL));
  return meets;
}

void
sinopia_test_quality_check (const char *model_dir, gboolean ok, const char *what)
{
  if (ok)
    return;
  if (sinopia_test_model_meets_quality (model_dir))
    g_test_fail_printf ("%s: %s", model_dir, what);
  else
    g_test_incomplete_printf ("%s (the model's card says it does not meet the quality targets yet)", what);
}
