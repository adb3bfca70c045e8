/* sinopia-region-row.h — one region in the side panel's list: its colour, its prompt, and
 * buttons to show/hide it, move it up or down the list and delete it. The row edits the document
 * directly (each edit one undo step; typing coalesces) and follows it through "changed".
 *
 * Ownership: the row holds a reference on the document. Threads: the main thread.
 */
#pragma once

#include <gtk/gtk.h>

#include "sinopia-document.h"

G_BEGIN_DECLS

#define SINOPIA_TYPE_REGION_ROW (sinopia_region_row_get_type ())
G_DECLARE_FINAL_TYPE (SinopiaRegionRow, sinopia_region_row, SINOPIA, REGION_ROW, GtkListBoxRow)

GtkWidget *sinopia_region_row_new (SinopiaDocument *document, guint region_id);
guint sinopia_region_row_get_region (SinopiaRegionRow *self);
/* Shows the region's current prompt, colour and visibility (the entry keeps its cursor when the
 * text is the same); the swatch's tooltip tells how much of the picture the region covers. */
void sinopia_region_row_update (SinopiaRegionRow *self);

G_END_DECLS
