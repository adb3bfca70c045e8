/* sinopia-text-cache.c — text-encoder outputs by token ids, least recently used out first. */
#define G_LOG_DOMAIN "sinopia-engine"

#include <string.h>

#include "sinopia-text-cache.h"

struct _SinopiaTextCache {
  guint capacity;
  guint hits;
  GHashTable *entries;   /* GBytes key (encoder, ids) → GBytes output; owns both */
  GQueue order;          /* the keys, least recently used first (borrowed from entries) */
};

SinopiaTextCache *
sinopia_text_cache_new (guint capacity)
{
  SinopiaTextCache *cache = g_new0 (SinopiaTextCache, 1);
  cache->capacity = capacity;
  cache->entries = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref,
                                          (GDestroyNotify) g_bytes_unref);
  g_queue_init (&cache->order);
  return cache;
}

void
sinopia_text_cache_free (SinopiaTextCache *cache)
{
  if (!cache)
    return;
  g_queue_clear (&cache->order);
  g_hash_table_unref (cache->entries);
  g_free (cache);
}

static GBytes *
make_key (SinopiaTextCacheEncoder encoder, const int32_t *ids, guint n_ids)
{
  gsize size = sizeof (int32_t) * (1 + (gsize) n_ids);
  int32_t *key = g_malloc (size);
  key[0] = (int32_t) encoder;
  memcpy (key + 1, ids, sizeof (int32_t) * n_ids);
  return g_bytes_new_take (key, size);
}

/* The key as the table holds it, moved to the most recently used end. */
static void
touch (SinopiaTextCache *cache, GBytes *stored_key)
{
  GList *link = g_queue_find (&cache->order, stored_key);
  g_queue_unlink (&cache->order, link);
  g_queue_push_tail_link (&cache->order, link);
}

gboolean
sinopia_text_cache_lookup (SinopiaTextCache *cache, SinopiaTextCacheEncoder encoder, const int32_t *ids,
                           guint n_ids, float *out, gsize n_out)
{
  g_autoptr (GBytes) key = make_key (encoder, ids, n_ids);
  gpointer stored_key, value;
  if (!g_hash_table_lookup_extended (cache->entries, key, &stored_key, &value))
    return FALSE;
  gsize size;
  const void *data = g_bytes_get_data (value, &size);
  if (size != n_out * sizeof (float))
    return FALSE;
  memcpy (out, data, size);
  touch (cache, stored_key);
  cache->hits++;
  return TRUE;
}

void
sinopia_text_cache_store (SinopiaTextCache *cache, SinopiaTextCacheEncoder encoder, const int32_t *ids,
                          guint n_ids, const float *out, gsize n_out)
{
  if (cache->capacity == 0)
    return;
  GBytes *key = make_key (encoder, ids, n_ids);
  gpointer stored_key;
  if (g_hash_table_lookup_extended (cache->entries, key, &stored_key, NULL)) {
    g_queue_remove (&cache->order, stored_key);
    g_hash_table_remove (cache->entries, key);
  }
  while (g_queue_get_length (&cache->order) >= cache->capacity)
    g_hash_table_remove (cache->entries, g_queue_pop_head (&cache->order));
  g_hash_table_insert (cache->entries, key, g_bytes_new (out, n_out * sizeof (float)));
  g_queue_push_tail (&cache->order, key);
}

guint
sinopia_text_cache_size (const SinopiaTextCache *cache)
{
  return g_hash_table_size (cache->entries);
}

guint
sinopia_text_cache_hits (const SinopiaTextCache *cache)
{
  return cache->hits;
}
