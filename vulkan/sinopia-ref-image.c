/* sinopia-ref-image.c — CPU references for group norm and nearest-neighbour upsampling. */
#define G_LOG_DOMAIN "sinopia-ref"

#include <math.h>

#include "sinopia-ref.h"

void
sinopia_ref_group_norm (const float *x, uint32_t channels, uint32_t pixels, uint32_t groups,
                        const float *weight, const float *bias, float eps, gboolean silu, float *y)
{
  uint32_t per = channels / groups;
  size_t n = (size_t) per * pixels;
  for (uint32_t g = 0; g < groups; g++) {
    const float *xg = x + (size_t) g * n;
    double mean = 0.0, var = 0.0;
    for (size_t i = 0; i < n; i++)
      mean += xg[i];
    mean /= (double) n;
    for (size_t i = 0; i < n; i++)
      var += ((double) xg[i] - mean) * ((double) xg[i] - mean);
    var /= (double) n;
    double inv = 1.0 / sqrt (var + eps);
    for (uint32_t c = g * per; c < (g + 1) * per; c++)
      for (uint32_t i = 0; i < pixels; i++) {
        double v = ((double) x[(size_t) c * pixels + i] - mean) * inv;
        v = v * (weight ? weight[c] : 1.0) + (bias ? bias[c] : 0.0);
        if (silu)
          v = v / (1.0 + exp (-v));
        y[(size_t) c * pixels + i] = (float) v;
      }
  }
}

void
sinopia_ref_upsample_nearest2x (const float *x, uint32_t channels, uint32_t height, uint32_t width,
                                float *y)
{
  for (uint32_t c = 0; c < channels; c++)
    for (uint32_t oy = 0; oy < 2 * height; oy++)
      for (uint32_t ox = 0; ox < 2 * width; ox++)
        y[((size_t) c * 2 * height + oy) * 2 * width + ox] =
          x[((size_t) c * height + oy / 2) * width + ox / 2];
}
