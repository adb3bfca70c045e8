/* sinopia-test-golden.h — access to ../shared/golden for tests: paths, tensors as f32, the
 * measured tolerances (tolerances.json), one transformer forward on golden inputs, and runs
 * of sinopia-cli. Tests skip with a message when the folder is absent. */
#pragma once

#include <glib.h>

#include "sinopia-flux.h"
#include "sinopia-safetensors.h"

/* Full path of golden/<dir>/<file>, or NULL (after g_test_skip) when the folder is absent.
 * (transfer full). */
char *sinopia_test_golden_path (const char *dir, const char *file);
/* The tensor `name` of `st` as f32 (asserts it exists); *n gets its element count. (transfer full) */
float *sinopia_test_golden_tensor (SinopiaSafetensors *st, const char *name, gsize *n);
/* atol of files.<file>.<tensor> in golden/<dir>/tolerances.json; asserts it exists. */
double sinopia_test_golden_atol (const char *dir, const char *file, const char *tensor);
/* Max |a − b|. */
double sinopia_test_max_abs_diff (const float *a, const float *b, gsize n);
/* Loads the transformer `weights` on the shared test context (sinopia-test-vk.h) and runs
 * one forward on the inputs of the golden io file `io` (input.img, input.txt, ...).
 * Returns (transfer full) the dump of its intermediates (when `intermediates`) with the
 * prediction added as "output"; asserts on any error. */
SinopiaDump *sinopia_test_flux_forward (const char *weights, SinopiaSafetensors *io, gboolean intermediates);

/* One run of $SINOPIA_CLI (set by meson) with the arguments up to a NULL; asserts that it
 * exited rather than died from a signal. Free with sinopia_test_run_clear. */
typedef struct {
  int status;      /* exit status */
  char *out, *err; /* everything it printed */
} SinopiaTestRun;

SinopiaTestRun sinopia_test_run_cli (const char *first, ...);
void sinopia_test_run_clear (SinopiaTestRun *r);
