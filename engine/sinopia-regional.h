/* sinopia-regional.h — the layout of regional prompting (../shared/docs/algorithms.md §1.2–1.4):
 * region masks in output pixels → the list of regional prompts (the regions in order, then the
 * background when the regions leave room) → each image token's region bits → the bits of the
 * forward's rows (SinopiaFluxRegional in sinopia-flux.h).
 *
 * The attention rule of §1.4 is "query i may attend key j iff bits[i] & bits[j] ≠ 0": a text
 * token of entry e carries bit e; an image token carries the bits of the entries whose mask is
 * non-zero at its patch centre, or SINOPIA_REGIONAL_OUTSIDE when there are none (such tokens
 * then see only each other, the reference's "both outside every region" clause).
 *
 * Plain functions on caller-owned arrays; thread-safe.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define SINOPIA_REGIONAL_ERROR (sinopia_regional_error_quark ())
GQuark sinopia_regional_error_quark (void);

typedef enum {
  SINOPIA_REGIONAL_ERROR_INPUT,   /* an empty region, one that covers no token, too many */
} SinopiaRegionalErrorCode;

#define SINOPIA_REGIONAL_OUTSIDE (1u << 31)
/* Entries (regions plus the background) that fit the bits below SINOPIA_REGIONAL_OUTSIDE. */
#define SINOPIA_REGIONAL_MAX_ENTRIES 31u

/* Token bits of an image of width × height pixels cut into patch × patch tokens (FLUX: 16,
 * twice the autoencoder's factor), row-major: bit i when masks[i] (height × width bytes,
 * non-zero inside) is non-zero at pixel (patch·r + patch/2, patch·c + patch/2), the
 * "nearest-exact" sample of §0.5. The background entry (bit n_masks) is appended when
 * Σ over pixels of (1 − Σ_i mask_i) > 0, and then holds every token whose centre is covered by
 * no mask or by two or more (where 1 − Σ is negative), as the reference counts it.
 * *n_entries gets n_masks or n_masks + 1. Errors: more than SINOPIA_REGIONAL_MAX_ENTRIES − 1
 * masks, a mask without a non-zero pixel, a mask that covers no token centre. */
gboolean sinopia_regional_token_bits (const guint8 *const *masks, guint n_masks, uint32_t width, uint32_t height,
                                      uint32_t patch, uint32_t *token_bits, guint *n_entries, GError **error);

/* The bits of the forward's rows [image ; regional text ; image]: image rows take token_bits,
 * the T text rows of entry e take bit e. out holds 2·n_tokens + n_entries·T values. */
void sinopia_regional_row_bits (const uint32_t *token_bits, uint32_t n_tokens, guint n_entries, uint32_t T,
                                uint32_t *out);

G_END_DECLS
