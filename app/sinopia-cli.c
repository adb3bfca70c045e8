/* sinopia-cli.c — the headless entry point: dispatches to subcommands. */
#define G_LOG_DOMAIN "sinopia-cli"

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "sinopia-cli.h"
#include "sinopia-vk.h"

static const CliCommand commands[] = {
  { "devices", "List Vulkan devices and their capabilities", cli_devices },
  { "bench", "Benchmarks: bench ops [--full], model, quality, generate, regional, inpaint, edit", cli_bench },
  { "info", "Describe a checkpoint: configuration, parameters, dtypes, memory needed", cli_info },
  { "dit-forward", "One FLUX transformer forward on a tensor file", cli_dit_forward },
  { "sample", "Flow-matching sampling from given noise", cli_sample },
  { "text-encode", "Token ids through a T5 or CLIP text encoder", cli_text_encode },
  { "tokenize", "Sentencepiece token ids of texts (--tokenizer FILE TEXT...)", cli_tokenize },
  { "ae-encode", "Encode an image into the autoencoder's latent space", cli_ae_encode },
  { "ae-decode", "Decode a latent into an image with the autoencoder", cli_ae_decode },
  { "generate", "Generate an image from a prompt with a model folder", cli_generate },
  { "inpaint", "Regenerate the masked area of an image, keeping the rest (KV-Edit)", cli_inpaint },
  { "edit", "Edit a generated or real image consistently (Stable Flow)", cli_edit },
  { "vital-layers", "Find a model's vital layers for edit (bypass each layer, compare images)", cli_vital_layers },
  { "analyze", "Measure a shapes-world image against its scene (IMAGE --scene SCENE.json)", cli_analyze },
};

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage: sinopia-cli COMMAND [OPTIONS]\n\n"
                "Sinopia, a regional-prompt image editor: headless commands.\n\nCommands:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-14s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\nGeneral options:\n  -h, --help     Show this help (COMMAND --help for a command)\n"
                "  --version      Print the version\n");
}

char *
cli_device_label (SinopiaVkContext *ctx)
{
  const SinopiaVkDeviceInfo *info = sinopia_vk_context_device_info (ctx);
  const char *threads = g_getenv ("LP_NUM_THREADS");
  if (g_strcmp0 (info->type, "cpu") == 0 && threads)
    return g_strdup_printf ("%s, LP_NUM_THREADS=%s", info->name, threads);
  return g_strdup (info->name);
}

int
cli_fail (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  fprintf (stderr, "sinopia-cli: %s\n", msg);
  return CLI_ERROR;
}

gboolean
cli_parse (const char *command, const char *parameter, const char *summary, GOptionEntry *entries,
           int *argc, char ***argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *title = g_strdup_printf ("%s%s%s", command, parameter ? " " : "", parameter ? parameter : "");
  g_autoptr (GOptionContext) octx = g_option_context_new (title);
  g_option_context_set_summary (octx, summary);
  g_option_context_add_main_entries (octx, entries, NULL);
  g_option_context_set_help_enabled (octx, TRUE);
  if (!g_option_context_parse (octx, argc, argv, &error)) {
    fprintf (stderr, "sinopia-cli %s: %s\nTry 'sinopia-cli %s --help'.\n", command, error->message, command);
    return FALSE;
  }
  return TRUE;
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  g_set_prgname ("sinopia-cli");
  sinopia_vk_setup_process ();
  if (argc < 2) {
    print_usage (stderr);
    return CLI_USAGE;
  }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "help") == 0) {
    print_usage (stdout);
    return CLI_OK;
  }
  if (strcmp (argv[1], "--version") == 0) {
    printf ("sinopia-cli %s\n", PACKAGE_VERSION);
    return CLI_OK;
  }
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].run (argc - 1, argv + 1);
  fprintf (stderr, "sinopia-cli: unknown command '%s'\n\n", argv[1]);
  print_usage (stderr);
  return CLI_USAGE;
}
