/* sinopia-text-cache.h — text-encoder outputs by their token ids, so that prompts that did not
 * change (the negative prompt of every run, a region's prompt while its shape is edited, the
 * prompt while the seed or a region changes) are not encoded again.
 *
 * An encoder's output depends only on its ids, so the key is (encoder, ids) and a hit is the
 * stored output bit for bit. The least recently used entry goes when the cache is full.
 *
 * Ownership: the cache copies what it stores and what it returns. Threads: one thread at a
 * time (the model's, sinopia-model.h).
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct _SinopiaTextCache SinopiaTextCache;

/* Which encoder an output came from: the same ids give different outputs in each. */
typedef enum {
  SINOPIA_TEXT_CACHE_T5,
  SINOPIA_TEXT_CACHE_CLIP,
} SinopiaTextCacheEncoder;

/* Keeps at most `capacity` outputs (0 keeps none). (transfer full) */
SinopiaTextCache *sinopia_text_cache_new (guint capacity);
void sinopia_text_cache_free (SinopiaTextCache *cache);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SinopiaTextCache, sinopia_text_cache_free)

/* TRUE and the n_out floats stored for (encoder, ids) in out, which becomes the most recently
 * used; FALSE (out untouched) when there are none of that length. */
gboolean sinopia_text_cache_lookup (SinopiaTextCache *cache, SinopiaTextCacheEncoder encoder, const int32_t *ids,
                                    guint n_ids, float *out, gsize n_out);
/* Stores a copy of out for (encoder, ids), replacing what was there. */
void sinopia_text_cache_store (SinopiaTextCache *cache, SinopiaTextCacheEncoder encoder, const int32_t *ids,
                               guint n_ids, const float *out, gsize n_out);
/* Outputs stored now, and lookups answered since the cache was made. */
guint sinopia_text_cache_size (const SinopiaTextCache *cache);
guint sinopia_text_cache_hits (const SinopiaTextCache *cache);

G_END_DECLS
