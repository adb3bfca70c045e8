/* sinopia-generator.h — the window's link to the engine: one worker thread (sinopia-job.h) that
 * first opens the Vulkan device and loads the model, then runs generations, newest first (a new
 * run replaces the running one, SINOPIA_JOB_REPLACE). The worker reports back on the main thread:
 * "preview" once per sampling step (only the newest step when the main loop is busy, so previews
 * never queue up) and "finished" once per run.
 *
 * Ownership: the generator owns the worker, the device and the model; runs copy what they use.
 * Threads: call everything on the main thread; signals are emitted there. Disposing the generator
 * cancels the running job and waits for it (a step at most).
 */
#pragma once

#include <gtk/gtk.h>

#include "sinopia-generate.h"
#include "sinopia-project.h"

G_BEGIN_DECLS

typedef enum {
  SINOPIA_GENERATOR_IDLE,     /* nothing loaded yet: call sinopia_generator_load */
  SINOPIA_GENERATOR_LOADING,  /* the device and the model are loading */
  SINOPIA_GENERATOR_READY,
  SINOPIA_GENERATOR_RUNNING,
  SINOPIA_GENERATOR_FAILED,   /* loading failed; sinopia_generator_get_error says why */
} SinopiaGeneratorState;

#define SINOPIA_TYPE_GENERATOR (sinopia_generator_get_type ())
G_DECLARE_FINAL_TYPE (SinopiaGenerator, sinopia_generator, SINOPIA, GENERATOR, GObject)

SinopiaGenerator *sinopia_generator_new (void);

/* Starts loading on the worker. `model_dir`: NULL or "" for sinopia_model_find_default;
 * `device`: NULL or "" for the engine's choice (sinopia-vk.h). Again after FAILED to retry. */
void sinopia_generator_load (SinopiaGenerator *self, const char *model_dir, const char *device);

SinopiaGeneratorState sinopia_generator_get_state (SinopiaGenerator *self);
/* One line for the status bar: what is loading, the device and model, or the failure. */
const char *sinopia_generator_get_status (SinopiaGenerator *self);
/* (transfer none) the loading error, NULL unless FAILED. */
const GError *sinopia_generator_get_error (SinopiaGenerator *self);
/* (transfer none) the loaded model's sinopia-model.json, NULL before READY. */
const SinopiaModelInfo *sinopia_generator_get_model_info (SinopiaGenerator *self);

/* Starts a run of the settings' mode with `composition`, `settings` and `input_rgb` (NULL, or
 * the composition's size × 3; all copied), replacing the running one. Generate paints the
 * visible regions; Inpaint repaints the visible regions' union of the input (KV-Edit); Edit
 * changes the input (or, without one, the seed's picture of the source prompt) from the source
 * prompt to the prompt (Stable Flow). FALSE with an error that says what to do when no model is
 * loaded or the document lacks what the mode needs. */
gboolean sinopia_generator_run (SinopiaGenerator *self, const SinopiaComposition *composition,
                                const SinopiaGenerationSettings *settings, const guint8 *input_rgb,
                                GError **error);
/* Whether sinopia_generator_run would start with these arguments, by the same checks; nothing
 * runs. FALSE with the error sinopia_generator_run would give. */
gboolean sinopia_generator_check (SinopiaGenerator *self, const SinopiaComposition *composition,
                                  const SinopiaGenerationSettings *settings, const guint8 *input_rgb,
                                  GError **error);
/* Cancels the running generation; "finished" follows with a cancelled error. */
void sinopia_generator_cancel (SinopiaGenerator *self);
/* Cancels the running generation and drops what it would still report (previews, "finished",
 * even a result already on its way): for when the document it was started for is gone. */
void sinopia_generator_discard (SinopiaGenerator *self);

/* What the user can do about an engine error, one sentence (never NULL). */
const char *sinopia_generator_error_advice (const GError *error);

/* Signals:
 *   preview (GdkTexture *rgb, guint step, guint n_steps, double eta_seconds): step is 1-based; the
 *     texture is the predicted image at latent resolution.
 *   finished (gpointer image, GBytes *png, GError *error): image is a SinopiaImage (borrowed for
 *     the emission) and png the same image as a PNG file (encoded on the worker; NULL if that
 *     failed), or image is NULL with the error (SINOPIA_GENERATE_ERROR_CANCELLED after a cancel). */

G_END_DECLS
