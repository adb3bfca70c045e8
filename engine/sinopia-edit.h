/* sinopia-edit.h — consistent editing with Stable Flow (sinopia-stable-flow.h) and a loaded
 * model folder. Two modes:
 *  - generated: from the seed's noise (as sinopia_generate draws it) a reference image of the
 *    source prompt and its edit are sampled together; the reference is exactly what
 *    sinopia_generate gives for the source prompt, seed, size, steps and guidance;
 *  - real: the image is encoded (the encoder's mean), nudged by 1.15, inverted with the source
 *    prompt (guidance 1), and edited with the reference forced along the inversion.
 * In the vital layers (sinopia-model.json's vital_layers, FLUX.1-dev's list for a model of its
 * shape, or the caller's) the edit's image keys and values are the reference's at every step.
 *
 * Threads: the caller's thread (the engine's worker); the cancel flag may be set from any
 * thread and is checked before every step (inversion included) and autoencoder submission.
 */
#pragma once

#include "sinopia-generate.h"
#include "sinopia-stable-flow.h"

G_BEGIN_DECLS

typedef struct {
  /* NULL: generated mode; else the real image, RGB8 [height][width][3] (borrowed) */
  const guint8 *image;
  uint32_t width, height;      /* generated: 0 is the native size; real: the image's */
  const char *source_prompt;   /* UTF-8: the reference's description */
  const char *prompt;          /* UTF-8: the edit's description (a full sentence, not an instruction) */
  const char *negative;        /* UTF-8; NULL means "" */
  guint steps;                 /* 0: stable_flow.generated_steps for a generated edit when set, else default_steps */
  guint64 seed;                /* generated mode's noise */
  /* The edit's guidance (generated mode: the reference's too); NAN: default_guidance. The
   * reference of a real image always has guidance 1, as the reference code. */
  float guidance;
  /* Global layer indices (double blocks first, then single blocks); n_vital_layers -1: the
   * model's (an error when it has none); 0: no injection. Borrowed. */
  const guint *vital_layers;
  int n_vital_layers;
  gboolean aligned;            /* real mode: the aligned reference mapping */
  gboolean preview;            /* step callbacks carry an RGB preview of the edit */
} SinopiaEditParams;

void sinopia_edit_params_init (SinopiaEditParams *params);

/* The model's vital layers as a per-layer flag array of depth + depth_single entries: its
 * sinopia-model.json list, or FLUX.1-dev's for a transformer of 19 + 38 blocks. An error when
 * neither applies or an index is past the layers. (transfer full, g_free) */
gboolean *sinopia_edit_model_vital_layers (SinopiaModel *model, GError **error);

/* Edits. on_step (may be NULL) sees the inversion's steps (real mode) and then the edit's,
 * counted together; returning FALSE cancels, as the flag does (SINOPIA_GENERATE_ERROR_CANCELLED).
 * *reference (may be NULL) gets the reference image. Errors: SINOPIA_GENERATE_ERROR_INPUT or
 * _SIZE for bad parameters, a layer index past the model's layers.
 * (transfer full): free with sinopia_image_free. */
SinopiaImage *sinopia_edit (SinopiaModel *model, const SinopiaEditParams *params, const gint *cancel,
                            SinopiaStepFunc on_step, gpointer user_data, SinopiaImage **reference, GError **error);

G_END_DECLS
