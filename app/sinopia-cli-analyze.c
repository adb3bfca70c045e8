/* sinopia-cli-analyze.c — `sinopia-cli analyze IMAGE --scene SCENE.json`: the shapes-world analyzer's
 * measurement of an image against the scene it should show, as JSON on stdout. */
#define G_LOG_DOMAIN "sinopia-cli"

#include <stdio.h>

#include "sinopia-analyze.h"
#include "sinopia-cli.h"
#include "sinopia-png.h"

int
cli_analyze (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *scene_path = NULL;
  GOptionEntry entries[] = {
    { "scene", 0, 0, G_OPTION_ARG_FILENAME, &scene_path, "the expected scene (JSON, docs/shapes-world.md)",
      "SCENE.json" },
    { NULL },
  };
  if (!cli_parse ("analyze", "IMAGE", "Measures a shapes-world IMAGE (PNG) against the scene it should show: the "
                  "background colour and,\nfor each expected object, whether a blob of its colour is at its grid "
                  "cell or inside its box,\nand its shape and size class. Prints one JSON object. The exit status "
                  "is 0 whenever the\nmeasurement was made, even if objects are missing or wrong.", entries, &argc,
                  &argv))
    return CLI_USAGE;
  if (scene_path == NULL || argc != 2) {
    fprintf (stderr, "sinopia-cli analyze: %s\nTry 'sinopia-cli analyze --help'.\n",
             scene_path == NULL ? "--scene is required" : "exactly one IMAGE is required");
    return CLI_USAGE;
  }

  g_autofree char *json = NULL;
  gsize json_len = 0;
  if (!g_file_get_contents (scene_path, &json, &json_len, &error))
    return cli_fail ("%s", error->message);
  g_autoptr (SinopiaScene) scene = sinopia_scene_parse (json, json_len, &error);
  if (scene == NULL) {
    g_autofree char *shown = g_filename_display_name (scene_path);
    return cli_fail ("%s: %s", shown, error->message);
  }
  g_autoptr (SinopiaPngImage) image = sinopia_png_load (argv[1], 0, &error);
  if (image == NULL)
    return cli_fail ("%s", error->message);
  /* Shapes-world images are opaque; alpha, if any, is ignored. */
  g_autofree guint8 *rgb = sinopia_png_image_to_rgb (image, NULL);
  g_autoptr (SinopiaAnalysis) analysis = sinopia_analyze (rgb, image->width, image->height, scene, &error);
  if (analysis == NULL)
    return cli_fail ("%s", error->message);
  g_autofree char *out = sinopia_analysis_to_json (analysis);
  if (puts (out) < 0 || fflush (stdout) != 0 || ferror (stdout))
    return cli_fail ("cannot write the output");
  return CLI_OK;
}
