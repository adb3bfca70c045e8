/* sinopia-vital-layers.h — finding a model's vital layers for Stable Flow (../shared/docs/
 * algorithms.md §2.2): each layer is bypassed in turn (the block returns its input, at every
 * step), a set of prompts is generated with and without it, and a layer's score is the mean of
 * 1 − similarity between the two images; the highest scores are the vital layers.
 *
 * The similarity is SSIM on luma (7×7 windows, K1 = 0.01, K2 = 0.03, 8-bit range, the
 * common defaults), not the paper's DINOv2: it needs no downloaded network, and on the shapes
 * world, where an edit that matters moves, removes or recolours flat shapes, local structure
 * and brightness are what change. Layer indices are global: double blocks first, then single.
 *
 * Threads: the caller's thread (the engine's worker); the cancel flag may be set from any thread.
 */
#pragma once

#include "sinopia-generate.h"

G_BEGIN_DECLS

/* Mean SSIM of the luma (0.299 R + 0.587 G + 0.114 B) of two RGB8 images of width × height
 * (each side ≥ 7) over every 7×7 window: 1 for equal images. */
double sinopia_ssim (const guint8 *a, const guint8 *b, uint32_t width, uint32_t height);

typedef struct {
  const char *const *prompts;   /* UTF-8 */
  guint n_prompts;
  guint64 seed;                 /* prompt i is generated with seed + i */
  guint steps;                  /* 0: default_steps */
  float guidance;               /* NAN: default_guidance */
  uint32_t width, height;       /* 0: the native size */
} SinopiaVitalLayersParams;

/* Called after each of the n_prompts × (layers + 1) generations; FALSE cancels. */
typedef gboolean (*SinopiaVitalLayersProgress) (guint done, guint total, gpointer user_data);

/* scores[layer] (depth + depth_single values) = mean over the prompts of 1 − SSIM(image,
 * image with that layer bypassed). Deterministic. Errors are sinopia_generate's. */
gboolean sinopia_vital_layers_measure (SinopiaModel *model, const SinopiaVitalLayersParams *params,
                                       const gint *cancel, SinopiaVitalLayersProgress progress, gpointer user_data,
                                       double *scores, GError **error);

/* The `count` layers with the highest scores (ties: the lower index), in ascending order, into
 * layers; returns how many (at most n_layers). */
guint sinopia_vital_layers_select (const double *scores, guint n_layers, guint count, guint *layers);

G_END_DECLS
