/* sinopia-composition.h — what the picture should show: the base prompt, the negative prompt,
 * Edit's source prompt and the regions (a prompt with a mask each). It is the part of a project
 * that undo and redo restore, so it is a plain value that can be copied and compared.
 *
 * Regions are kept in list order: index 0 is the top of the list and wins where regions overlap.
 * Every region has an id that stays with it through edits, undo and redo (list rows and the
 * selection follow ids, not indices).
 *
 * Ownership: a composition owns its strings, regions and masks.
 * Threads: a value; use one from one thread at a time.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* More regions are refused: regional attention slows down with each one. */
#define SINOPIA_COMPOSITION_MAX_REGIONS 32

typedef struct {
  guint id;          /* > 0, unique in its composition */
  char *prompt;      /* UTF-8, never NULL */
  guint8 colour[3];  /* the overlay's colour, sRGB */
  gboolean visible;  /* hidden regions are neither drawn nor sent to the engine */
  guint8 *mask;      /* [height][width], see sinopia-mask.h */
} SinopiaDocRegion;

typedef struct {
  uint32_t width, height;  /* the output image's size; every mask has it */
  char *prompt;            /* base prompt: the whole picture; never NULL */
  char *negative;          /* never NULL */
  char *source_prompt;     /* Edit: what the input image shows; never NULL */
  GPtrArray *regions;      /* SinopiaDocRegion*, owned */
  guint next_id;
} SinopiaComposition;

/* An empty composition (no regions, empty prompts). (transfer full) */
SinopiaComposition *sinopia_composition_new (uint32_t width, uint32_t height);
void sinopia_composition_free (SinopiaComposition *composition);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SinopiaComposition, sinopia_composition_free)
/* (transfer full) a deep copy. */
SinopiaComposition *sinopia_composition_copy (const SinopiaComposition *composition);
/* Same size, prompts and regions (ids included), masks byte for byte. */
gboolean sinopia_composition_equal (const SinopiaComposition *a, const SinopiaComposition *b);

/* Appends an empty, visible region with the next colour of a fixed palette; NULL when the
 * composition has SINOPIA_COMPOSITION_MAX_REGIONS already. (transfer none) */
SinopiaDocRegion *sinopia_composition_add_region (SinopiaComposition *composition);
/* (transfer none) the region with `id`, or NULL; `index` (may be NULL) receives its index. */
SinopiaDocRegion *sinopia_composition_find (const SinopiaComposition *composition, guint id, guint *index);
void sinopia_composition_remove (SinopiaComposition *composition, guint index);
/* Moves the region at `from` to the index `to` (both in range). */
void sinopia_composition_move (SinopiaComposition *composition, guint from, guint to);
/* The topmost visible region whose mask holds pixel (x, y); 0 when none. */
guint sinopia_composition_region_at (const SinopiaComposition *composition, double x, double y);
/* Changes the output size; masks are scaled along (nearest neighbour). */
void sinopia_composition_resize (SinopiaComposition *composition, uint32_t width, uint32_t height);

/* A region's colour as "#rrggbb" (transfer full), and parsed back (FALSE when malformed). */
char *sinopia_colour_to_string (const guint8 colour[3]);
gboolean sinopia_colour_parse (const char *text, guint8 colour[3]);

G_END_DECLS
