/* libFuzzer target: the project-file reader (ui/sinopia-project.c) on arbitrary bytes. A file it
 * accepts must hold a consistent project and survive a write and read back unchanged. */
#define G_LOG_DOMAIN "sinopia-fuzz"

#include <stddef.h>
#include <stdint.h>

#include "sinopia-project.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  SinopiaProject *project = sinopia_project_from_bytes ((const char *) data, size, "fuzz.sinopia", &error);
  if (project == NULL)
    {
      g_assert (error != NULL && error->domain == SINOPIA_PROJECT_ERROR);
      g_assert (g_str_has_prefix (error->message, "fuzz.sinopia: "));
      g_error_free (error);
      return 0;
    }
  const SinopiaComposition *c = project->composition;
  g_assert (c->width >= 1 && c->width <= SINOPIA_PROJECT_MAX_SIDE);
  g_assert (c->regions->len <= SINOPIA_COMPOSITION_MAX_REGIONS);
  g_assert (project->shown >= -1 && project->shown < (int) project->history->len);
  GBytes *bytes = sinopia_project_to_bytes (project, &error);
  g_assert (bytes != NULL);
  gsize len;
  const char *text = g_bytes_get_data (bytes, &len);
  SinopiaProject *again = sinopia_project_from_bytes (text, len, "again", &error);
  g_assert (again != NULL);
  g_assert (sinopia_composition_equal (c, again->composition));
  g_assert (again->history->len == project->history->len);
  sinopia_project_free (again);
  g_bytes_unref (bytes);
  sinopia_project_free (project);
  return 0;
}
