/* sinopia-document.h — the open project as the window and canvas see it: the project value
 * (sinopia-project.h), undo and redo of its composition, the selected region, and whether it has
 * changed since it was saved. Every change goes through this object and ends in one "changed"
 * signal that says what changed, so views redraw from one place.
 *
 * Ownership: the document owns its project; getters return borrowed pointers that stay valid
 * until the next change. Threads: the main thread only.
 */
#pragma once

#include <glib-object.h>

#include "sinopia-project.h"

G_BEGIN_DECLS

typedef enum {
  SINOPIA_CHANGE_PROMPTS = 1 << 0,   /* base, negative or source prompt text */
  SINOPIA_CHANGE_REGIONS = 1 << 1,   /* regions added, removed, reordered, shown/hidden, prompts */
  SINOPIA_CHANGE_MASKS = 1 << 2,     /* mask pixels */
  SINOPIA_CHANGE_SETTINGS = 1 << 3,  /* generation settings */
  SINOPIA_CHANGE_IMAGE = 1 << 4,     /* the input image or the size */
  SINOPIA_CHANGE_HISTORY = 1 << 5,   /* history entries or the one shown */
  SINOPIA_CHANGE_ALL = (1 << 6) - 1,
} SinopiaChange;

/* The changes that describe the picture differently, so Live mode paints it again. */
#define SINOPIA_CHANGE_COMPOSITION (SINOPIA_CHANGE_PROMPTS | SINOPIA_CHANGE_REGIONS | SINOPIA_CHANGE_MASKS)

#define SINOPIA_TYPE_DOCUMENT (sinopia_document_get_type ())
G_DECLARE_FINAL_TYPE (SinopiaDocument, sinopia_document, SINOPIA, DOCUMENT, GObject)

/* An empty document of the given size. */
SinopiaDocument *sinopia_document_new (uint32_t width, uint32_t height);
/* Replaces the whole project (transfer full), forgets undo history, marks it unmodified. */
void sinopia_document_set_project (SinopiaDocument *self, SinopiaProject *project);
/* (transfer none) valid until the next change. */
const SinopiaProject *sinopia_document_get_project (SinopiaDocument *self);
const SinopiaComposition *sinopia_document_get_composition (SinopiaDocument *self);

/* An undoable edit: begin records the composition as it is (coalescing by `key`, see
 * sinopia-undo.h) and returns it to change in place; end emits "changed" with `what`. */
SinopiaComposition *sinopia_document_begin_edit (SinopiaDocument *self, const char *key);
void sinopia_document_end_edit (SinopiaDocument *self, SinopiaChange what);

/* Settings are not undoable: change them in place, then call sinopia_document_changed. */
SinopiaGenerationSettings *sinopia_document_get_settings (SinopiaDocument *self);
void sinopia_document_changed (SinopiaDocument *self, SinopiaChange what);

gboolean sinopia_document_can_undo (SinopiaDocument *self);
gboolean sinopia_document_can_redo (SinopiaDocument *self);
gboolean sinopia_document_undo (SinopiaDocument *self);
gboolean sinopia_document_redo (SinopiaDocument *self);

/* Shortcuts for the common edits; each is one undo step. */
guint sinopia_document_add_region (SinopiaDocument *self);  /* the new id; 0 when full */
void sinopia_document_delete_region (SinopiaDocument *self, guint id);
/* Moves a region `delta` places up (negative) or down the list, clamped. */
void sinopia_document_move_region (SinopiaDocument *self, guint id, int delta);
void sinopia_document_set_region_visible (SinopiaDocument *self, guint id, gboolean visible);
void sinopia_document_set_region_prompt (SinopiaDocument *self, guint id, const char *prompt);
/* `which`: "prompt", "negative" or "source_prompt". No-op when the text is the same. */
void sinopia_document_set_prompt (SinopiaDocument *self, const char *which, const char *text);

/* The input image (transfer full, width × height × 3, or NULL for none) and, when known, the same
 * image as a PNG file (borrowed, may be NULL: saves then encode it): the composition takes its
 * size (masks are scaled along, one undo step) and the canvas shows it. */
void sinopia_document_set_input (SinopiaDocument *self, guint8 *rgb, GBytes *png, uint32_t width,
                                 uint32_t height);
/* Appends a result (transfer full) and shows it; the oldest goes beyond SINOPIA_PROJECT_MAX_HISTORY. */
void sinopia_document_add_history (SinopiaDocument *self, SinopiaHistoryItem *item);
/* Shows history entry `index`, or the input image for -1. */
void sinopia_document_show (SinopiaDocument *self, int index);

/* The selected region's id, 0 for none (property "selected-region"). */
guint sinopia_document_get_selected (SinopiaDocument *self);
void sinopia_document_select (SinopiaDocument *self, guint id);

/* Whether anything changed since sinopia_document_set_modified (FALSE) (property "modified"). */
gboolean sinopia_document_get_modified (SinopiaDocument *self);
void sinopia_document_set_modified (SinopiaDocument *self, gboolean modified);

G_END_DECLS
