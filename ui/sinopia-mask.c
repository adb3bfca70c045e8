/* sinopia-mask.c — region mask drawing: boxes, ellipses, brush segments, bounds, remapping. */
#define G_LOG_DOMAIN "sinopia-mask"

#include <math.h>

#include "sinopia-mask.h"

/* The pixel rows or columns whose centres (i + 0.5) lie in [lo, hi), clipped to [0, n). */
static void
centre_span (double lo, double hi, uint32_t n, int64_t *first, int64_t *end)
{
  double a = ceil (lo - 0.5), b = ceil (hi - 0.5);
  *first = (int64_t) CLAMP (a, 0.0, (double) n);
  *end = (int64_t) CLAMP (b, 0.0, (double) n);
}

void
sinopia_mask_fill_rect (guint8 *mask, uint32_t width, uint32_t height, double x0, double y0, double x1,
                        double y1, guint8 value)
{
  int64_t c0, c1, r0, r1;
  centre_span (MIN (x0, x1), MAX (x0, x1), width, &c0, &c1);
  centre_span (MIN (y0, y1), MAX (y0, y1), height, &r0, &r1);
  for (int64_t r = r0; r < r1; r++)
    for (int64_t c = c0; c < c1; c++)
      mask[r * width + c] = value;
}

void
sinopia_mask_fill_ellipse (guint8 *mask, uint32_t width, uint32_t height, double x0, double y0, double x1,
                           double y1, guint8 value)
{
  double cx = (x0 + x1) / 2, cy = (y0 + y1) / 2, rx = fabs (x1 - x0) / 2, ry = fabs (y1 - y0) / 2;
  if (rx <= 0 || ry <= 0)
    return;
  int64_t c0, c1, r0, r1;
  centre_span (cx - rx, cx + rx, width, &c0, &c1);
  centre_span (cy - ry, cy + ry, height, &r0, &r1);
  for (int64_t r = r0; r < r1; r++)
    for (int64_t c = c0; c < c1; c++)
      {
        double dx = (c + 0.5 - cx) / rx, dy = (r + 0.5 - cy) / ry;
        if (dx * dx + dy * dy <= 1.0)
          mask[r * width + c] = value;
      }
}

void
sinopia_mask_stroke (guint8 *mask, uint32_t width, uint32_t height, double x0, double y0, double x1,
                     double y1, double radius, guint8 value)
{
  int64_t c0, c1, r0, r1;
  centre_span (MIN (x0, x1) - radius, MAX (x0, x1) + radius + 1e-9, width, &c0, &c1);
  centre_span (MIN (y0, y1) - radius, MAX (y0, y1) + radius + 1e-9, height, &r0, &r1);
  double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
  for (int64_t r = r0; r < r1; r++)
    for (int64_t c = c0; c < c1; c++)
      {
        double px = c + 0.5 - x0, py = r + 0.5 - y0;
        /* distance to the nearest point of the segment */
        double t = len2 > 0 ? CLAMP ((px * dx + py * dy) / len2, 0.0, 1.0) : 0.0;
        double ex = px - t * dx, ey = py - t * dy;
        if (ex * ex + ey * ey <= radius * radius)
          mask[r * width + c] = value;
      }
}

gboolean
sinopia_mask_bounds (const guint8 *mask, uint32_t width, uint32_t height, uint32_t box[4])
{
  uint32_t x0 = width, y0 = height, x1 = 0, y1 = 0;
  for (uint32_t r = 0; r < height; r++)
    for (uint32_t c = 0; c < width; c++)
      if (mask[(gsize) r * width + c])
        {
          x0 = MIN (x0, c);
          x1 = MAX (x1, c + 1);
          y0 = MIN (y0, r);
          y1 = MAX (y1, r + 1);
        }
  if (x1 == 0)
    return FALSE;
  box[0] = x0;
  box[1] = y0;
  box[2] = x1 - x0;
  box[3] = y1 - y0;
  return TRUE;
}

double
sinopia_mask_coverage (const guint8 *mask, uint32_t width, uint32_t height)
{
  gsize n = (gsize) width * height, inside = 0;
  for (gsize i = 0; i < n; i++)
    inside += mask[i] != 0;
  return n ? (double) inside / n : 0.0;
}

guint8 *
sinopia_mask_remap (const guint8 *mask, uint32_t width, uint32_t height, const double from[4], const double to[4])
{
  guint8 *out = g_malloc0 ((gsize) width * height);
  int64_t c0, c1, r0, r1;
  centre_span (to[0], to[0] + to[2], width, &c0, &c1);
  centre_span (to[1], to[1] + to[3], height, &r0, &r1);
  for (int64_t r = r0; r < r1; r++)
    for (int64_t c = c0; c < c1; c++)
      {
        /* the source pixel whose box holds the mapped centre */
        double sx = from[0] + (c + 0.5 - to[0]) * from[2] / to[2];
        double sy = from[1] + (r + 0.5 - to[1]) * from[3] / to[3];
        if (sx < 0 || sy < 0 || sx >= width || sy >= height)
          continue;
        if (sx < from[0] || sy < from[1] || sx >= from[0] + from[2] || sy >= from[1] + from[3])
          continue;
        out[r * width + c] = mask[(gsize) sy * width + (gsize) sx];
      }
  return out;
}

guint8 *
sinopia_mask_resample (const guint8 *mask, uint32_t width, uint32_t height, uint32_t new_width,
                       uint32_t new_height)
{
  guint8 *out = g_malloc ((gsize) new_width * new_height);
  for (uint32_t r = 0; r < new_height; r++)
    {
      gsize sr = (gsize) r * height / new_height;
      for (uint32_t c = 0; c < new_width; c++)
        out[(gsize) r * new_width + c] = mask[sr * width + (gsize) c * width / new_width];
    }
  return out;
}
