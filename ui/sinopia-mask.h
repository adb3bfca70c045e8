/* sinopia-mask.h — region masks: one byte per output pixel, rows top to bottom, 0 outside and
 * SINOPIA_MASK_INSIDE inside (the engine reads any non-zero byte as inside). The drawing tools
 * of the canvas are these functions; coordinates are image pixels, and shapes are clipped to the
 * mask, so any coordinates are safe.
 *
 * Threads: plain functions on caller-owned memory; call them from any thread.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define SINOPIA_MASK_INSIDE 255

/* Pixels whose centre lies in the box [x0, x1) × [y0, y1) (corners in any order) get `value`. */
void sinopia_mask_fill_rect (guint8 *mask, uint32_t width, uint32_t height, double x0, double y0, double x1,
                             double y1, guint8 value);
/* Pixels whose centre lies in the ellipse inscribed in the box get `value`. */
void sinopia_mask_fill_ellipse (guint8 *mask, uint32_t width, uint32_t height, double x0, double y0, double x1,
                                double y1, guint8 value);
/* A brush stroke segment: every pixel within `radius` of the segment from (x0, y0) to (x1, y1)
 * gets `value` (a dab when both ends are equal). */
void sinopia_mask_stroke (guint8 *mask, uint32_t width, uint32_t height, double x0, double y0, double x1,
                          double y1, double radius, guint8 value);

/* The bounding box of the inside pixels: x, y, w, h. FALSE (box untouched) when the mask is empty. */
gboolean sinopia_mask_bounds (const guint8 *mask, uint32_t width, uint32_t height, uint32_t box[4]);
/* Fraction of the pixels inside, in [0, 1]. */
double sinopia_mask_coverage (const guint8 *mask, uint32_t width, uint32_t height);

/* The part of the mask inside `from` (x, y, w, h; w and h > 0) scaled by nearest neighbour into
 * the box `to` (which may reach outside the image; w and h > 0); everything else is cleared.
 * Moving a region is a `to` of the same size. Returns (transfer full, g_free) the new mask. */
guint8 *sinopia_mask_remap (const guint8 *mask, uint32_t width, uint32_t height, const double from[4],
                            const double to[4]);
/* The whole mask scaled by nearest neighbour to another image size. (transfer full, g_free) */
guint8 *sinopia_mask_resample (const guint8 *mask, uint32_t width, uint32_t height, uint32_t new_width,
                               uint32_t new_height);

G_END_DECLS
