/* The text-encoder output cache (sinopia-text-cache.h): hits give back what was stored, keys
 * tell encoders and id sequences apart, the least recently used entry goes first, and a
 * capacity of 0 keeps nothing. */
#define G_LOG_DOMAIN "sinopia-test"

#include "sinopia-text-cache.h"

static void
fill (float *out, gsize n, float base)
{
  for (gsize i = 0; i < n; i++)
    out[i] = base + (float) i * 0.25f;
}

static void
test_hits_and_keys (void)
{
  g_autoptr (SinopiaTextCache) cache = sinopia_text_cache_new (4);
  const int32_t a[] = { 3, 17, 1, 0, 0 }, b[] = { 3, 17, 1, 0 }, c[] = { 3, 18, 1, 0, 0 };
  float in[6], out[6];
  fill (in, 6, 1.0f);
  g_assert_false (sinopia_text_cache_lookup (cache, SINOPIA_TEXT_CACHE_T5, a, 5, out, 6));
  sinopia_text_cache_store (cache, SINOPIA_TEXT_CACHE_T5, a, 5, in, 6);
  g_assert_true (sinopia_text_cache_lookup (cache, SINOPIA_TEXT_CACHE_T5, a, 5, out, 6));
  g_assert_cmpmem (out, sizeof out, in, sizeof in);
  g_assert_cmpuint (sinopia_text_cache_hits (cache), ==, 1);
  /* another encoder, a prefix of the ids, other ids, another length: all misses */
  g_assert_false (sinopia_text_cache_lookup (cache, SINOPIA_TEXT_CACHE_CLIP, a, 5, out, 6));
  g_assert_false (sinopia_text_cache_lookup (cache, SINOPIA_TEXT_CACHE_T5, b, 4, out, 6));
  g_assert_false (sinopia_text_cache_lookup (cache, SINOPIA_TEXT_CACHE_T5, c, 5, out, 6));
  g_assert_false (sinopia_text_cache_lookup (cache, SINOPIA_TEXT_CACHE_T5, a, 5, out, 5));
  g_assert_cmpuint (sinopia_text_cache_hits (cache), ==, 1);
  /* storing again replaces */
  fill (in, 6, -7.0f);
  sinopia_text_cache_store (cache, SINOPIA_TEXT_CACHE_T5, a, 5, in, 6);
  g_assert_cmpuint (sinopia_text_cache_size (cache), ==, 1);
  g_assert_true (sinopia_text_cache_lookup (cache, SINOPIA_TEXT_CACHE_T5, a, 5, out, 6));
  g_assert_cmpmem (out, sizeof out, in, sizeof in);
}

static void
test_least_recently_used (void)
{
  g_autoptr (SinopiaTextCache) cache = sinopia_text_cache_new (3);
  int32_t ids[5][2];
  float v[4], out[4];
  for (int i = 0; i < 3; i++) {
    ids[i][0] = i;
    ids[i][1] = 100 + i;
    fill (v, 4, (float) i);
    sinopia_text_cache_store (cache, SINOPIA_TEXT_CACHE_CLIP, ids[i], 2, v, 4);
  }
  /* 0 is used again, so 1 is the oldest when 3 comes in */
  g_assert_true (sinopia_text_cache_lookup (cache, SINOPIA_TEXT_CACHE_CLIP, ids[0], 2, out, 4));
  ids[3][0] = 3;
  ids[3][1] = 103;
  fill (v, 4, 3.0f);
  sinopia_text_cache_store (cache, SINOPIA_TEXT_CACHE_CLIP, ids[3], 2, v, 4);
  g_assert_cmpuint (sinopia_text_cache_size (cache), ==, 3);
  g_assert_false (sinopia_text_cache_lookup (cache, SINOPIA_TEXT_CACHE_CLIP, ids[1], 2, out, 4));
  for (int i = 0; i < 4; i++)
    if (i != 1) {
      g_assert_true (sinopia_text_cache_lookup (cache, SINOPIA_TEXT_CACHE_CLIP, ids[i], 2, out, 4));
      fill (v, 4, (float) i);
      g_assert_cmpmem (out, sizeof out, v, sizeof v);
    }
  /* replacing an entry does not evict another */
  sinopia_text_cache_store (cache, SINOPIA_TEXT_CACHE_CLIP, ids[2], 2, v, 4);
  g_assert_cmpuint (sinopia_text_cache_size (cache), ==, 3);
  g_assert_true (sinopia_text_cache_lookup (cache, SINOPIA_TEXT_CACHE_CLIP, ids[0], 2, out, 4));
  g_assert_true (sinopia_text_cache_lookup (cache, SINOPIA_TEXT_CACHE_CLIP, ids[3], 2, out, 4));

  g_autoptr (SinopiaTextCache) none = sinopia_text_cache_new (0);
  sinopia_text_cache_store (none, SINOPIA_TEXT_CACHE_T5, ids[0], 2, v, 4);
  g_assert_cmpuint (sinopia_text_cache_size (none), ==, 0);
  g_assert_false (sinopia_text_cache_lookup (none, SINOPIA_TEXT_CACHE_T5, ids[0], 2, out, 4));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/text-cache/hits-and-keys", test_hits_and_keys);
  g_test_add_func ("/text-cache/least-recently-used", test_least_recently_used);
  return g_test_run ();
}
