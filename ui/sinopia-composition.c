/* sinopia-composition.c — prompts and regions as a copyable value. */
#define G_LOG_DOMAIN "sinopia-composition"

#include <string.h>

#include "sinopia-composition.h"
#include "sinopia-mask.h"

/* Overlay colours, chosen to stay apart from each other on light and dark images. */
static const guint8 palette[][3] = {
  { 0xe0, 0x1b, 0x24 }, { 0x35, 0x84, 0xe4 }, { 0x2e, 0xc2, 0x7e }, { 0xf6, 0xd3, 0x2d },
  { 0x91, 0x41, 0xac }, { 0xff, 0x78, 0x00 }, { 0x00, 0xb4, 0xc8 }, { 0xe0, 0x6c, 0xb4 },
};

static void
region_free (gpointer data)
{
  SinopiaDocRegion *region = data;
  g_free (region->prompt);
  g_free (region->mask);
  g_free (region);
}

SinopiaComposition *
sinopia_composition_new (uint32_t width, uint32_t height)
{
  g_return_val_if_fail (width > 0 && height > 0, NULL);
  SinopiaComposition *composition = g_new0 (SinopiaComposition, 1);
  composition->width = width;
  composition->height = height;
  composition->prompt = g_strdup ("");
  composition->negative = g_strdup ("");
  composition->source_prompt = g_strdup ("");
  composition->regions = g_ptr_array_new_with_free_func (region_free);
  composition->next_id = 1;
  return composition;
}

void
sinopia_composition_free (SinopiaComposition *composition)
{
  if (!composition)
    return;
  g_free (composition->prompt);
  g_free (composition->negative);
  g_free (composition->source_prompt);
  g_ptr_array_unref (composition->regions);
  g_free (composition);
}

SinopiaComposition *
sinopia_composition_copy (const SinopiaComposition *composition)
{
  SinopiaComposition *copy = sinopia_composition_new (composition->width, composition->height);
  g_free (copy->prompt);
  g_free (copy->negative);
  g_free (copy->source_prompt);
  copy->prompt = g_strdup (composition->prompt);
  copy->negative = g_strdup (composition->negative);
  copy->source_prompt = g_strdup (composition->source_prompt);
  copy->next_id = composition->next_id;
  gsize mask_size = (gsize) composition->width * composition->height;
  for (guint i = 0; i < composition->regions->len; i++)
    {
      const SinopiaDocRegion *region = g_ptr_array_index (composition->regions, i);
      SinopiaDocRegion *r = g_memdup2 (region, sizeof *region);
      r->prompt = g_strdup (region->prompt);
      r->mask = g_memdup2 (region->mask, mask_size);
      g_ptr_array_add (copy->regions, r);
    }
  return copy;
}

gboolean
sinopia_composition_equal (const SinopiaComposition *a, const SinopiaComposition *b)
{
  if (a->width != b->width || a->height != b->height || a->regions->len != b->regions->len)
    return FALSE;
  if (strcmp (a->prompt, b->prompt) || strcmp (a->negative, b->negative) || strcmp (a->source_prompt, b->source_prompt))
    return FALSE;
  for (guint i = 0; i < a->regions->len; i++)
    {
      const SinopiaDocRegion *ra = g_ptr_array_index (a->regions, i), *rb = g_ptr_array_index (b->regions, i);
      if (ra->id != rb->id || strcmp (ra->prompt, rb->prompt) || memcmp (ra->colour, rb->colour, 3)
          || !ra->visible != !rb->visible || memcmp (ra->mask, rb->mask, (gsize) a->width * a->height))
        return FALSE;
    }
  return TRUE;
}

SinopiaDocRegion *
sinopia_composition_add_region (SinopiaComposition *composition)
{
  if (composition->regions->len >= SINOPIA_COMPOSITION_MAX_REGIONS)
    return NULL;
  SinopiaDocRegion *region = g_new0 (SinopiaDocRegion, 1);
  region->id = composition->next_id++;
  region->prompt = g_strdup ("");
  memcpy (region->colour, palette[(region->id - 1) % G_N_ELEMENTS (palette)], 3);
  region->visible = TRUE;
  region->mask = g_malloc0 ((gsize) composition->width * composition->height);
  g_ptr_array_add (composition->regions, region);
  return region;
}

SinopiaDocRegion *
sinopia_composition_find (const SinopiaComposition *composition, guint id, guint *index)
{
  for (guint i = 0; i < composition->regions->len; i++)
    {
      SinopiaDocRegion *region = g_ptr_array_index (composition->regions, i);
      if (region->id == id)
        {
          if (index)
            *index = i;
          return region;
        }
    }
  return NULL;
}

void
sinopia_composition_remove (SinopiaComposition *composition, guint index)
{
  g_return_if_fail (index < composition->regions->len);
  g_ptr_array_remove_index (composition->regions, index);
}

void
sinopia_composition_move (SinopiaComposition *composition, guint from, guint to)
{
  GPtrArray *regions = composition->regions;
  g_return_if_fail (from < regions->len && to < regions->len);
  gpointer region = g_ptr_array_steal_index (regions, from);
  g_ptr_array_insert (regions, (int) to, region);
}

guint
sinopia_composition_region_at (const SinopiaComposition *composition, double x, double y)
{
  if (x < 0 || y < 0 || x >= composition->width || y >= composition->height)
    return 0;
  gsize pixel = (gsize) y * composition->width + (gsize) x;
  for (guint i = 0; i < composition->regions->len; i++)
    {
      const SinopiaDocRegion *region = g_ptr_array_index (composition->regions, i);
      if (region->visible && region->mask[pixel])
        return region->id;
    }
  return 0;
}

void
sinopia_composition_resize (SinopiaComposition *composition, uint32_t width, uint32_t height)
{
  g_return_if_fail (width > 0 && height > 0);
  for (guint i = 0; i < composition->regions->len; i++)
    {
      SinopiaDocRegion *region = g_ptr_array_index (composition->regions, i);
      guint8 *mask = sinopia_mask_resample (region->mask, composition->width, composition->height, width, height);
      g_free (region->mask);
      region->mask = mask;
    }
  composition->width = width;
  composition->height = height;
}

char *
sinopia_colour_to_string (const guint8 colour[3])
{
  return g_strdup_printf ("#%02x%02x%02x", colour[0], colour[1], colour[2]);
}

gboolean
sinopia_colour_parse (const char *text, guint8 colour[3])
{
  if (strlen (text) != 7 || text[0] != '#')
    return FALSE;
  for (int i = 0; i < 3; i++)
    {
      int hi = g_ascii_xdigit_value (text[1 + 2 * i]), lo = g_ascii_xdigit_value (text[2 + 2 * i]);
      if (hi < 0 || lo < 0)
        return FALSE;
      colour[i] = (guint8) (hi * 16 + lo);
    }
  return TRUE;
}
