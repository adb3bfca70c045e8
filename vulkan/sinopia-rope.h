/* sinopia-rope.h — the FLUX rotary-embedding table (EmbedND), built on the host from
 * position ids and uploaded for sinopia_op_rope. Thread-safe (no state). */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* For every token l and axis a with d_a = axes_dim[a] (even), pair j < d_a/2 rotates by
 *   φ = ids[l, a] · θ^(−2j/d_a)
 * (computed in double, then cos and sin rounded to float). Pairs are concatenated over
 * the axes, so
 *   table[l, 2(o_a + j)] = cos φ,  table[l, 2(o_a + j) + 1] = sin φ,  o_a = Σ_{b<a} d_b/2.
 * ids: [L, n_axes] row-major (FLUX: n_axes 3, (0, row, col) for image tokens, zeros for
 * text); table: [L, Σ d_a] dense, written by the call (FLUX: axes (16, 56, 56), θ 10000,
 * giving the 128-wide table of one head). */
void sinopia_rope_table (const float *ids, uint32_t L, const uint32_t *axes_dim, uint32_t n_axes,
                         double theta, float *table);

G_END_DECLS
