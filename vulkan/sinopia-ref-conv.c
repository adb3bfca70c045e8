/* sinopia-ref-conv.c — CPU reference for conv2d (direct loops, double accumulation). */
#define G_LOG_DOMAIN "sinopia-ref"

#include "sinopia-ref.h"

void
sinopia_ref_conv2d (const float *x, uint32_t cin, const SinopiaConvShape *s, const float *w,
                    const float *bias, uint32_t cout, gboolean accumulate, float *y)
{
  /* computed here rather than with sinopia_conv_output_size, so the two stay independent */
  uint32_t k = s->kernel;
  uint32_t ho = (s->height + s->pad_top + s->pad_bottom - k) / s->stride + 1;
  uint32_t wo = (s->width + s->pad_left + s->pad_right - k) / s->stride + 1;
  for (uint32_t co = 0; co < cout; co++)
    for (uint32_t oy = 0; oy < ho; oy++)
      for (uint32_t ox = 0; ox < wo; ox++) {
        double sum = bias ? bias[co] : 0.0;
        for (uint32_t ci = 0; ci < cin; ci++)
          for (uint32_t ky = 0; ky < k; ky++) {
            int64_t iy = (int64_t) oy * s->stride + ky - s->pad_top;
            if (iy < 0 || iy >= s->height)
              continue;
            for (uint32_t kx = 0; kx < k; kx++) {
              int64_t ix = (int64_t) ox * s->stride + kx - s->pad_left;
              if (ix < 0 || ix >= s->width)
                continue;
              sum += (double) w[((size_t) co * cin + ci) * k * k + ky * k + kx] *
                     x[(size_t) ci * s->height * s->width + (size_t) iy * s->width + ix];
            }
          }
        float *out = &y[((size_t) co * ho + oy) * wo + ox];
        *out = accumulate ? (float) (*out + sum) : (float) sum;
      }
}
