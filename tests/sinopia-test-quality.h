/* sinopia-test-quality.h — whether a model folder claims to meet the shapes-world quality bar.
 * Its sinopia-model.json says so in "quality": {"meets_targets": true}, set when the benchmark
 * figures of its card (resources/models/README.md) reach the targets. Tests that hold generated
 * pixels to the analyzer assert hard for such a model, and for any other report the measured
 * miss as incomplete (TAP "TODO"), so the gap stays visible without failing the suite.
 * Threads: any. */
#pragma once

#include <glib.h>

gboolean sinopia_test_model_meets_quality (const char *model_dir);

/* Fails the test (meeting model) or marks it incomplete (other models) with `what`, when !ok. */
void sinopia_test_quality_check (const char *model_dir, gboolean ok, const char *what);
