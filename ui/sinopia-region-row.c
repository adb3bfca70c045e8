/* sinopia-region-row.c — a region's row in the side panel. */
#define G_LOG_DOMAIN "sinopia-region-row"

#include "sinopia-mask.h"
#include "sinopia-region-row.h"

struct _SinopiaRegionRow {
  GtkListBoxRow parent_instance;
  SinopiaDocument *document;
  guint region;
  GtkWidget *swatch, *entry, *visible_button;
  gboolean updating;
};

G_DEFINE_FINAL_TYPE (SinopiaRegionRow, sinopia_region_row, GTK_TYPE_LIST_BOX_ROW)

static const SinopiaDocRegion *
region (SinopiaRegionRow *self)
{
  return sinopia_composition_find (sinopia_document_get_composition (self->document), self->region, NULL);
}

static void
draw_swatch (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
  const SinopiaDocRegion *r = region (data);
  if (!r)
    return;
  cairo_arc (cr, width / 2.0, height / 2.0, MIN (width, height) / 2.0 - 1, 0, 2 * G_PI);
  cairo_set_source_rgb (cr, r->colour[0] / 255.0, r->colour[1] / 255.0, r->colour[2] / 255.0);
  cairo_fill (cr);
}

/* The coverage is measured when the tooltip is asked for, not on every brush motion. */
static gboolean
on_swatch_tooltip (GtkWidget *swatch, int x, int y, gboolean keyboard, GtkTooltip *tooltip, SinopiaRegionRow *self)
{
  const SinopiaDocRegion *r = region (self);
  if (!r)
    return FALSE;
  const SinopiaComposition *c = sinopia_document_get_composition (self->document);
  double coverage = sinopia_mask_coverage (r->mask, c->width, c->height);
  /* regions much smaller than this hardly steer the picture (Krita drops those under 2 %) */
  g_autofree char *text = g_strdup_printf ("Covers %.1f %% of the picture%s", 100 * coverage,
                                           coverage < 0.02 ? ": too small to steer it much" : "");
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
on_prompt_changed (SinopiaRegionRow *self)
{
  if (!self->updating)
    sinopia_document_set_region_prompt (self->document, self->region,
                                        gtk_editable_get_text (GTK_EDITABLE (self->entry)));
}

static void
on_visible_toggled (SinopiaRegionRow *self)
{
  if (!self->updating)
    sinopia_document_set_region_visible (self->document, self->region,
                                         gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (self->visible_button)));
}

static void
on_up (SinopiaRegionRow *self)
{
  sinopia_document_move_region (self->document, self->region, -1);
}

static void
on_down (SinopiaRegionRow *self)
{
  sinopia_document_move_region (self->document, self->region, 1);
}

static void
on_delete (SinopiaRegionRow *self)
{
  sinopia_document_delete_region (self->document, self->region);
}

static void
on_entry_focus (SinopiaRegionRow *self)
{
  sinopia_document_select (self->document, self->region);
}

static GtkWidget *
icon_button (SinopiaRegionRow *self, const char *icon, const char *tooltip, GCallback callback)
{
  GtkWidget *button = gtk_button_new_from_icon_name (icon);
  gtk_widget_set_tooltip_text (button, tooltip);
  gtk_widget_add_css_class (button, "flat");
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  g_signal_connect_swapped (button, "clicked", callback, self);
  return button;
}

static void
sinopia_region_row_dispose (GObject *object)
{
  SinopiaRegionRow *self = SINOPIA_REGION_ROW (object);
  g_clear_object (&self->document);
  G_OBJECT_CLASS (sinopia_region_row_parent_class)->dispose (object);
}

static void
sinopia_region_row_class_init (SinopiaRegionRowClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = sinopia_region_row_dispose;
}

static void
sinopia_region_row_init (SinopiaRegionRow *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 4);
  gtk_widget_set_margin_start (box, 6);
  gtk_widget_set_margin_end (box, 2);
  gtk_widget_set_margin_top (box, 4);
  gtk_widget_set_margin_bottom (box, 4);
  self->swatch = gtk_drawing_area_new ();
  gtk_drawing_area_set_content_width (GTK_DRAWING_AREA (self->swatch), 16);
  gtk_drawing_area_set_content_height (GTK_DRAWING_AREA (self->swatch), 16);
  gtk_widget_set_valign (self->swatch, GTK_ALIGN_CENTER);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self->swatch), draw_swatch, self, NULL);
  gtk_widget_set_has_tooltip (self->swatch, TRUE);
  g_signal_connect (self->swatch, "query-tooltip", G_CALLBACK (on_swatch_tooltip), self);
  self->entry = gtk_entry_new ();
  gtk_widget_set_name (self->entry, "region-prompt");
  gtk_entry_set_placeholder_text (GTK_ENTRY (self->entry), "What this region shows");
  gtk_widget_set_hexpand (self->entry, TRUE);
  g_signal_connect_swapped (self->entry, "changed", G_CALLBACK (on_prompt_changed), self);
  GtkEventController *focus = gtk_event_controller_focus_new ();
  g_signal_connect_swapped (focus, "enter", G_CALLBACK (on_entry_focus), self);
  gtk_widget_add_controller (self->entry, focus);
  self->visible_button = gtk_toggle_button_new ();
  gtk_button_set_icon_name (GTK_BUTTON (self->visible_button), "view-reveal-symbolic");
  gtk_widget_set_tooltip_text (self->visible_button, "Show or hide this region");
  gtk_widget_add_css_class (self->visible_button, "flat");
  gtk_widget_set_valign (self->visible_button, GTK_ALIGN_CENTER);
  g_signal_connect_swapped (self->visible_button, "toggled", G_CALLBACK (on_visible_toggled), self);
  gtk_box_append (GTK_BOX (box), self->swatch);
  gtk_box_append (GTK_BOX (box), self->entry);
  gtk_box_append (GTK_BOX (box), self->visible_button);
  gtk_box_append (GTK_BOX (box), icon_button (self, "go-up-symbolic", "Move up (wins where regions overlap)",
                                              G_CALLBACK (on_up)));
  gtk_box_append (GTK_BOX (box), icon_button (self, "go-down-symbolic", "Move down", G_CALLBACK (on_down)));
  gtk_box_append (GTK_BOX (box), icon_button (self, "user-trash-symbolic", "Delete this region",
                                              G_CALLBACK (on_delete)));
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (self), box);
}

GtkWidget *
sinopia_region_row_new (SinopiaDocument *document, guint region_id)
{
  SinopiaRegionRow *self = g_object_new (SINOPIA_TYPE_REGION_ROW, NULL);
  self->document = g_object_ref (document);
  self->region = region_id;
  sinopia_region_row_update (self);
  return GTK_WIDGET (self);
}

guint
sinopia_region_row_get_region (SinopiaRegionRow *self)
{
  g_return_val_if_fail (SINOPIA_IS_REGION_ROW (self), 0);
  return self->region;
}

void
sinopia_region_row_update (SinopiaRegionRow *self)
{
  g_return_if_fail (SINOPIA_IS_REGION_ROW (self));
  const SinopiaDocRegion *r = region (self);
  if (!r)
    return;
  self->updating = TRUE;
  if (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (self->entry)), r->prompt))
    gtk_editable_set_text (GTK_EDITABLE (self->entry), r->prompt);
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (self->visible_button), r->visible);
  gtk_button_set_icon_name (GTK_BUTTON (self->visible_button),
                            r->visible ? "view-reveal-symbolic" : "view-conceal-symbolic");
  self->updating = FALSE;
  gtk_widget_queue_draw (self->swatch);
}
