/* sinopia-cli-tokenize.c — `sinopia-cli tokenize --tokenizer FILE TEXT...`: the sentencepiece ids of
 * each text, one line each, nothing added (no BOS/EOS, no padding, no truncation). */
#define G_LOG_DOMAIN "sinopia-cli"

#include <stdio.h>
#include <string.h>

#include "sinopia-cli.h"
#include "sinopia-sentencepiece.h"

int
cli_tokenize (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *model_path = NULL;
  GOptionEntry entries[] = {
    { "tokenizer", 0, 0, G_OPTION_ARG_FILENAME, &model_path, "sentencepiece unigram model (.model)", "FILE" },
    { NULL },
  };
  if (!cli_parse ("tokenize", "TEXT...", "Prints the sentencepiece ids of each TEXT on its own line, space-separated, "
                  "with no special\ntokens added. TEXT is taken as bytes (UTF-8); invalid bytes become U+FFFD as in "
                  "sentencepiece.\nPut -- before texts that start with '-'.", entries, &argc, &argv))
    return CLI_USAGE;
  if (model_path == NULL || argc < 2) {
    fprintf (stderr, "sinopia-cli tokenize: %s\nTry 'sinopia-cli tokenize --help'.\n",
             model_path == NULL ? "--tokenizer is required" : "at least one TEXT is required");
    return CLI_USAGE;
  }
  g_autoptr (SinopiaSentencepiece) sp = sinopia_sentencepiece_load (model_path, &error);
  if (sp == NULL)
    return cli_fail ("%s", error->message);
  int first = argc > 1 && strcmp (argv[1], "--") == 0 ? 2 : 1;
  for (int i = first; i < argc; i++) {
    gsize n = 0;
    g_autofree int32_t *ids = sinopia_sentencepiece_encode (sp, argv[i], strlen (argv[i]), &n, &error);
    if (ids == NULL)
      return cli_fail ("%s", error->message);
    for (gsize k = 0; k < n; k++)
      printf (k ? " %d" : "%d", ids[k]);
    putchar ('\n');
  }
  if (fflush (stdout) != 0 || ferror (stdout))
    return cli_fail ("cannot write the output");
  return CLI_OK;
}
