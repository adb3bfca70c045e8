/* sinopia-cli.h — the subcommands of sinopia-cli. Each returns the process exit status:
 * 0 success, 1 error (message already on stderr), 2 usage error. Main thread only. */
#pragma once

#include <glib.h>

#include "sinopia-job.h"
#include "sinopia-vk.h"

enum { CLI_OK = 0, CLI_ERROR = 1, CLI_USAGE = 2 };

typedef struct {
  const char *name;
  const char *summary;
  int (*run) (int argc, char **argv);
} CliCommand;

/* Parses `entries` for a subcommand; on a usage error prints it and returns FALSE. */
gboolean cli_parse (const char *command, const char *parameter, const char *summary,
                    GOptionEntry *entries, int *argc, char ***argv);
/* Runs func(data) on a worker thread named `name` while SIGINT / SIGTERM cancel it; returns
 * its result once it ended. */
gboolean cli_run_cancellable (const char *name, SinopiaJobFunc func, gpointer data, GError **error);
/* The device's name for benchmark output; for a CPU device also its driver thread count
 * (LP_NUM_THREADS), which the figures depend on. Free with g_free. */
char *cli_device_label (SinopiaVkContext *ctx);
/* Prints "sinopia-cli: <message>" on stderr and returns CLI_ERROR. */
int cli_fail (const char *fmt, ...) G_GNUC_PRINTF (1, 2);

int cli_devices (int argc, char **argv);
int cli_bench (int argc, char **argv);
int cli_bench_model (int argc, char **argv);
int cli_bench_quality (int argc, char **argv);
int cli_bench_regional (int argc, char **argv);
int cli_bench_edit (int argc, char **argv);
int cli_bench_inpaint (int argc, char **argv);
int cli_bench_generate (int argc, char **argv);
int cli_info (int argc, char **argv);
int cli_dit_forward (int argc, char **argv);
int cli_sample (int argc, char **argv);
int cli_text_encode (int argc, char **argv);
int cli_tokenize (int argc, char **argv);
int cli_ae_encode (int argc, char **argv);
int cli_ae_decode (int argc, char **argv);
int cli_generate (int argc, char **argv);
int cli_inpaint (int argc, char **argv);
int cli_edit (int argc, char **argv);
int cli_vital_layers (int argc, char **argv);
int cli_analyze (int argc, char **argv);
