/* sinopia-rope.c — builds the FLUX RoPE table on the host (see sinopia-rope.h). */
#define G_LOG_DOMAIN "sinopia-rope"

#include <math.h>

#include "sinopia-rope.h"

void
sinopia_rope_table (const float *ids, uint32_t L, const uint32_t *axes_dim, uint32_t n_axes,
                    double theta, float *table)
{
  uint32_t width = 0;
  for (uint32_t a = 0; a < n_axes; a++) {
    g_return_if_fail (axes_dim[a] % 2 == 0);
    width += axes_dim[a];
  }
  for (uint32_t l = 0; l < L; l++) {
    float *out = table + (size_t) l * width;
    for (uint32_t a = 0; a < n_axes; a++) {
      double pos = ids[(size_t) l * n_axes + a];
      for (uint32_t j = 0; j < axes_dim[a] / 2; j++) {
        double phi = pos * pow (theta, -2.0 * j / axes_dim[a]);
        *out++ = (float) cos (phi);
        *out++ = (float) sin (phi);
      }
    }
  }
}
