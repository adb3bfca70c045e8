/* sinopia-preview.h — cheap RGB previews of latents: a per-pixel linear map from the latent
 * channels to RGB, fitted once per autoencoder against its own decoder, so previews need no
 * decode while sampling. Thread-safe (no state). */
#pragma once

#include "sinopia-ae.h"

G_BEGIN_DECLS

/* rgb = W·z + b per latent pixel: W [3][channels], b [3]. */
typedef struct {
  uint32_t channels;
  float weight[3][64];
  float bias[3];
} SinopiaPreviewMap;

/* Fits the map by least squares: decodes a few seeded random latents with `ae` and matches
 * each latent pixel to the mean colour of the block it decodes to. */
gboolean sinopia_preview_fit (SinopiaAeModel *ae, SinopiaPreviewMap *map, GError **error);

/* A map that shows the first three channels (for models without an autoencoder). */
void sinopia_preview_default (uint32_t channels, SinopiaPreviewMap *map);

/* latent [channels, h, w] → rgb [h, w, 3] bytes (values in [-1, 1] map to [0, 255]). */
void sinopia_preview_rgb (const SinopiaPreviewMap *map, const float *latent, uint32_t h, uint32_t w, guint8 *rgb);

G_END_DECLS
