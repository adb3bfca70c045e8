/* sinopia-ref-norm.c — CPU references for LayerNorm (with AdaLN modulation) and grouped RMSNorm. */
#define G_LOG_DOMAIN "sinopia-ref"

#include <math.h>

#include "sinopia-ref.h"

void
sinopia_ref_layer_norm (const float *x, uint32_t rows, uint32_t cols, const float *weight, const float *bias,
                        const float *shift, const float *scale, float eps, float *y)
{
  for (uint32_t r = 0; r < rows; r++) {
    const float *row = x + (size_t) r * cols;
    double mean = 0.0, var = 0.0;
    for (uint32_t c = 0; c < cols; c++)
      mean += row[c];
    mean /= cols;
    for (uint32_t c = 0; c < cols; c++)
      var += (row[c] - mean) * (row[c] - mean);
    var /= cols;
    double rstd = 1.0 / sqrt (var + eps);
    for (uint32_t c = 0; c < cols; c++) {
      double v = (row[c] - mean) * rstd;
      if (weight)
        v *= weight[c];
      if (bias)
        v += bias[c];
      if (scale)
        v *= 1.0 + scale[c];
      if (shift)
        v += shift[c];
      y[(size_t) r * cols + c] = (float) v;
    }
  }
}

void
sinopia_ref_rms_norm (const float *x, uint32_t rows, uint32_t cols, const float *weight, uint32_t group,
                      float eps, float *y)
{
  for (uint32_t r = 0; r < rows; r++)
    for (uint32_t g = 0; g < cols / group; g++) {
      const float *in = x + (size_t) r * cols + (size_t) g * group;
      float *out = y + (size_t) r * cols + (size_t) g * group;
      double ss = 0.0;
      for (uint32_t c = 0; c < group; c++)
        ss += (double) in[c] * in[c];
      double rms = 1.0 / sqrt (ss / group + eps);
      for (uint32_t c = 0; c < group; c++)
        out[c] = (float) (in[c] * rms * weight[c]);
    }
}
