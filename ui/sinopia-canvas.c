/* sinopia-canvas.c — picture, overlays, zoom and pan, and the region tools. */
#define G_LOG_DOMAIN "sinopia-canvas"

#include <math.h>
#include <string.h>

#include "sinopia-canvas.h"
#include "sinopia-mask.h"

/* Overlay opacity of a region's inside. */
#define OVERLAY_ALPHA 96
/* Corner handles of the selected region's box, screen pixels. */
#define HANDLE_SIZE 8.0

typedef enum {
  DRAG_NONE,
  DRAG_SHAPE,   /* rectangle or ellipse rubber band */
  DRAG_PAINT,   /* brush or eraser */
  DRAG_MOVE,
  DRAG_RESIZE,
} DragKind;

struct _SinopiaCanvas {
  GtkWidget parent_instance;
  SinopiaDocument *document;
  gulong changed_id, selected_id;
  GdkTexture *image;
  GdkTexture *marks;
  GHashTable *overlays;  /* region id → GdkTexture of its tinted mask */
  SinopiaTool tool;
  double brush_size;
  double zoom, offset_x, offset_y;  /* widget = offset + zoom × image */
  gboolean fit;
  double pointer_x, pointer_y;      /* widget coordinates, for zooming at the pointer */
  double pan_start_x, pan_start_y;
  /* the drag in progress, image pixels */
  DragKind drag;
  double start_x, start_y, last_x, last_y;
  guint drag_region;
  guint8 *drag_mask;     /* the region's mask when the drag started (move, resize) */
  double drag_box[4];    /* its box then: x, y, w, h */
  int handle;            /* resize: the dragged corner, 0–3 clockwise from top left */
  gboolean recorded;     /* the undo step of this drag is recorded */
  gboolean stroking;
};

G_DEFINE_FINAL_TYPE (SinopiaCanvas, sinopia_canvas, GTK_TYPE_WIDGET)

enum { PROP_0, PROP_TOOL, PROP_BRUSH_SIZE, PROP_ZOOM, PROP_STROKING, N_PROPS };
static GParamSpec *properties[N_PROPS];

static const char *const tool_names[] = { "select", "rectangle", "ellipse", "brush", "eraser" };

const char *
sinopia_tool_to_string (SinopiaTool tool)
{
  return (guint) tool < G_N_ELEMENTS (tool_names) ? tool_names[tool] : NULL;
}

int
sinopia_tool_parse (const char *name)
{
  for (guint i = 0; name && i < G_N_ELEMENTS (tool_names); i++)
    if (!strcmp (name, tool_names[i]))
      return (int) i;
  return -1;
}

static const SinopiaComposition *
composition (SinopiaCanvas *self)
{
  return sinopia_document_get_composition (self->document);
}

/* ---- overlays ---- */

static GdkTexture *
make_overlay (const SinopiaDocRegion *region, uint32_t width, uint32_t height)
{
  gsize n = (gsize) width * height;
  guint8 *rgba = g_malloc (n * 4);
  for (gsize i = 0; i < n; i++)
    {
      memcpy (rgba + 4 * i, region->colour, 3);
      rgba[4 * i + 3] = region->mask[i] ? OVERLAY_ALPHA : 0;
    }
  g_autoptr (GBytes) bytes = g_bytes_new_take (rgba, n * 4);
  return gdk_memory_texture_new ((int) width, (int) height, GDK_MEMORY_R8G8B8A8, bytes, (gsize) width * 4);
}

static GdkTexture *
overlay_for (SinopiaCanvas *self, const SinopiaDocRegion *region)
{
  GdkTexture *texture = g_hash_table_lookup (self->overlays, GUINT_TO_POINTER (region->id));
  if (!texture)
    {
      texture = make_overlay (region, composition (self)->width, composition (self)->height);
      g_hash_table_insert (self->overlays, GUINT_TO_POINTER (region->id), texture);
    }
  return texture;
}

/* ---- geometry ---- */

static void
widget_to_image (SinopiaCanvas *self, double wx, double wy, double *ix, double *iy)
{
  *ix = (wx - self->offset_x) / self->zoom;
  *iy = (wy - self->offset_y) / self->zoom;
}

static void
apply_fit (SinopiaCanvas *self)
{
  double w = gtk_widget_get_width (GTK_WIDGET (self)), h = gtk_widget_get_height (GTK_WIDGET (self));
  if (!self->document || w <= 0 || h <= 0)
    return;
  const SinopiaComposition *c = composition (self);
  self->zoom = CLAMP (MIN (w / c->width, h / c->height) * 0.95, SINOPIA_CANVAS_MIN_ZOOM, SINOPIA_CANVAS_MAX_ZOOM);
  self->offset_x = (w - c->width * self->zoom) / 2;
  self->offset_y = (h - c->height * self->zoom) / 2;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
}

/* Zooms keeping the image point under widget point (wx, wy) in place. */
static void
zoom_at (SinopiaCanvas *self, double zoom, double wx, double wy)
{
  double ix, iy;
  widget_to_image (self, wx, wy, &ix, &iy);
  self->fit = FALSE;
  self->zoom = CLAMP (zoom, SINOPIA_CANVAS_MIN_ZOOM, SINOPIA_CANVAS_MAX_ZOOM);
  self->offset_x = wx - ix * self->zoom;
  self->offset_y = wy - iy * self->zoom;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static gboolean
selected_box (SinopiaCanvas *self, double box[4])
{
  const SinopiaComposition *c = composition (self);
  const SinopiaDocRegion *region = sinopia_composition_find (c, sinopia_document_get_selected (self->document), NULL);
  uint32_t b[4];
  if (!region || !region->visible || !sinopia_mask_bounds (region->mask, c->width, c->height, b))
    return FALSE;
  for (int i = 0; i < 4; i++)
    box[i] = b[i];
  return TRUE;
}

/* The corner of `box` as image coordinates: 0 top left, 1 top right, 2 bottom right, 3 bottom left. */
static void
corner (const double box[4], int i, double *x, double *y)
{
  *x = box[0] + (i == 1 || i == 2 ? box[2] : 0);
  *y = box[1] + (i >= 2 ? box[3] : 0);
}

/* ---- drawing ---- */

static void
append_outline (GtkSnapshot *snapshot, const graphene_rect_t *rect, const GdkRGBA *colour, float width)
{
  GskRoundedRect outline;
  gsk_rounded_rect_init_from_rect (&outline, rect, 0);
  const float widths[4] = { width, width, width, width };
  const GdkRGBA colours[4] = { *colour, *colour, *colour, *colour };
  gtk_snapshot_append_border (snapshot, &outline, widths, colours);
}

static void
sinopia_canvas_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  SinopiaCanvas *self = SINOPIA_CANVAS (widget);
  if (!self->document)
    return;
  const SinopiaComposition *c = composition (self);
  float w = (float) gtk_widget_get_width (widget), h = (float) gtk_widget_get_height (widget);
  graphene_rect_t sheet = GRAPHENE_RECT_INIT ((float) self->offset_x, (float) self->offset_y,
                                              (float) (c->width * self->zoom), (float) (c->height * self->zoom));
  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
  if (self->image)
    gtk_snapshot_append_texture (snapshot, self->image, &sheet);
  else
    gtk_snapshot_append_color (snapshot, &(GdkRGBA) { 1, 1, 1, 1 }, &sheet);
  if (self->marks)
    gtk_snapshot_append_texture (snapshot, self->marks, &sheet);

  /* the top of the list is drawn last, over the others */
  for (guint i = c->regions->len; i-- > 0;)
    {
      const SinopiaDocRegion *region = g_ptr_array_index (c->regions, i);
      if (region->visible)
        gtk_snapshot_append_texture (snapshot, overlay_for (self, region), &sheet);
    }

  double box[4];
  const GdkRGBA accent = { 0.21f, 0.52f, 0.89f, 1 };
  if (selected_box (self, box))
    {
      graphene_rect_t r = GRAPHENE_RECT_INIT ((float) (self->offset_x + box[0] * self->zoom),
                                              (float) (self->offset_y + box[1] * self->zoom),
                                              (float) (box[2] * self->zoom), (float) (box[3] * self->zoom));
      append_outline (snapshot, &r, &accent, 1.5f);
      if (self->tool == SINOPIA_TOOL_SELECT)
        for (int i = 0; i < 4; i++)
          {
            double x, y;
            corner (box, i, &x, &y);
            graphene_rect_t handle = GRAPHENE_RECT_INIT ((float) (self->offset_x + x * self->zoom - HANDLE_SIZE / 2),
                                                         (float) (self->offset_y + y * self->zoom - HANDLE_SIZE / 2),
                                                         HANDLE_SIZE, HANDLE_SIZE);
            gtk_snapshot_append_color (snapshot, &accent, &handle);
          }
    }
  if (self->drag == DRAG_SHAPE)
    {
      double x0 = MIN (self->start_x, self->last_x), y0 = MIN (self->start_y, self->last_y);
      graphene_rect_t band = GRAPHENE_RECT_INIT ((float) (self->offset_x + x0 * self->zoom),
                                                 (float) (self->offset_y + y0 * self->zoom),
                                                 (float) (fabs (self->last_x - self->start_x) * self->zoom),
                                                 (float) (fabs (self->last_y - self->start_y) * self->zoom));
      append_outline (snapshot, &band, &accent, 1.0f);
    }
  gtk_snapshot_pop (snapshot);
}

/* ---- the tools ---- */

static void
set_stroking (SinopiaCanvas *self, gboolean stroking)
{
  if (self->stroking == stroking)
    return;
  self->stroking = stroking;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STROKING]);
}

/* Records the drag's undo step once, before its first change. */
static SinopiaComposition *
edit (SinopiaCanvas *self)
{
  if (!self->recorded)
    {
      self->recorded = TRUE;
      set_stroking (self, TRUE);
      return sinopia_document_begin_edit (self->document, NULL);
    }
  return (SinopiaComposition *) composition (self);
}

static void
paint (SinopiaCanvas *self, double x0, double y0, double x1, double y1)
{
  SinopiaComposition *c = edit (self);
  SinopiaDocRegion *region = sinopia_composition_find (c, self->drag_region, NULL);
  if (!region)
    return;
  guint8 value = self->tool == SINOPIA_TOOL_ERASER ? 0 : SINOPIA_MASK_INSIDE;
  sinopia_mask_stroke (region->mask, c->width, c->height, x0, y0, x1, y1, self->brush_size / 2, value);
  g_hash_table_remove (self->overlays, GUINT_TO_POINTER (region->id));
  sinopia_document_changed (self->document, SINOPIA_CHANGE_MASKS);
}

/* Move or resize: the region's mask at drag start, remapped from its box to `to`. */
static void
transform (SinopiaCanvas *self, const double to[4])
{
  SinopiaComposition *c = edit (self);
  SinopiaDocRegion *region = sinopia_composition_find (c, self->drag_region, NULL);
  if (!region)
    return;
  g_free (region->mask);
  region->mask = sinopia_mask_remap (self->drag_mask, c->width, c->height, self->drag_box, to);
  g_hash_table_remove (self->overlays, GUINT_TO_POINTER (region->id));
  sinopia_document_changed (self->document, SINOPIA_CHANGE_MASKS);
}

static int
handle_at (SinopiaCanvas *self, const double box[4], double x, double y)
{
  double reach = HANDLE_SIZE / self->zoom;
  for (int i = 0; i < 4; i++)
    {
      double cx, cy;
      corner (box, i, &cx, &cy);
      if (fabs (x - cx) <= reach && fabs (y - cy) <= reach)
        return i;
    }
  return -1;
}

static void
begin_select (SinopiaCanvas *self, double x, double y)
{
  const SinopiaComposition *c = composition (self);
  double box[4];
  int handle = selected_box (self, box) ? handle_at (self, box, x, y) : -1;
  guint id = handle >= 0 ? sinopia_document_get_selected (self->document) : sinopia_composition_region_at (c, x, y);
  sinopia_document_select (self->document, id);
  if (!id || (handle < 0 && !selected_box (self, box)))
    return;
  const SinopiaDocRegion *region = sinopia_composition_find (c, id, NULL);
  self->drag = handle >= 0 ? DRAG_RESIZE : DRAG_MOVE;
  self->handle = handle;
  self->drag_region = id;
  memcpy (self->drag_box, box, sizeof box);
  self->drag_mask = g_memdup2 (region->mask, (gsize) c->width * c->height);
}

static void
drag_begin (SinopiaCanvas *self, double x, double y)
{
  self->start_x = self->last_x = x;
  self->start_y = self->last_y = y;
  self->recorded = FALSE;
  self->drag = DRAG_NONE;
  guint selected = sinopia_document_get_selected (self->document);
  switch (self->tool)
    {
    case SINOPIA_TOOL_RECTANGLE:
    case SINOPIA_TOOL_ELLIPSE:
      self->drag = DRAG_SHAPE;
      break;
    case SINOPIA_TOOL_BRUSH:
      if (!sinopia_composition_find (composition (self), selected, NULL))
        {
          SinopiaDocRegion *region = sinopia_composition_add_region (edit (self));
          if (!region)
            break;
          selected = region->id;
          sinopia_document_changed (self->document, SINOPIA_CHANGE_REGIONS);
          sinopia_document_select (self->document, selected);
        }
      self->drag = DRAG_PAINT;
      self->drag_region = selected;
      paint (self, x, y, x, y);
      break;
    case SINOPIA_TOOL_ERASER:
      if (!sinopia_composition_find (composition (self), selected, NULL))
        break;
      self->drag = DRAG_PAINT;
      self->drag_region = selected;
      paint (self, x, y, x, y);
      break;
    case SINOPIA_TOOL_SELECT:
      begin_select (self, x, y);
      break;
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
drag_update (SinopiaCanvas *self, double x, double y)
{
  switch (self->drag)
    {
    case DRAG_NONE:
      return;
    case DRAG_SHAPE:
      break;
    case DRAG_PAINT:
      paint (self, self->last_x, self->last_y, x, y);
      break;
    case DRAG_MOVE:
      transform (self, (double[4]) { self->drag_box[0] + x - self->start_x, self->drag_box[1] + y - self->start_y,
                                     self->drag_box[2], self->drag_box[3] });
      break;
    case DRAG_RESIZE:
      {
        /* the opposite corner stays */
        double fx, fy;
        corner (self->drag_box, (self->handle + 2) % 4, &fx, &fy);
        double to[4] = { MIN (fx, x), MIN (fy, y), MAX (fabs (x - fx), 1.0), MAX (fabs (y - fy), 1.0) };
        transform (self, to);
      }
      break;
    }
  self->last_x = x;
  self->last_y = y;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
drag_end (SinopiaCanvas *self)
{
  if (self->drag == DRAG_SHAPE && fabs (self->last_x - self->start_x) >= 1 && fabs (self->last_y - self->start_y) >= 1)
    {
      SinopiaComposition *c = sinopia_document_begin_edit (self->document, NULL);
      SinopiaDocRegion *region = sinopia_composition_add_region (c);
      if (region)
        {
          if (self->tool == SINOPIA_TOOL_RECTANGLE)
            sinopia_mask_fill_rect (region->mask, c->width, c->height, self->start_x, self->start_y, self->last_x,
                                    self->last_y, SINOPIA_MASK_INSIDE);
          else
            sinopia_mask_fill_ellipse (region->mask, c->width, c->height, self->start_x, self->start_y, self->last_x,
                                       self->last_y, SINOPIA_MASK_INSIDE);
          sinopia_document_end_edit (self->document, SINOPIA_CHANGE_REGIONS | SINOPIA_CHANGE_MASKS);
          sinopia_document_select (self->document, region->id);
        }
    }
  self->drag = DRAG_NONE;
  g_clear_pointer (&self->drag_mask, g_free);
  set_stroking (self, FALSE);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
sinopia_canvas_drag_begin (SinopiaCanvas *self, double x, double y)
{
  g_return_if_fail (SINOPIA_IS_CANVAS (self) && self->document);
  drag_begin (self, x, y);
}

void
sinopia_canvas_drag_move (SinopiaCanvas *self, double x, double y)
{
  g_return_if_fail (SINOPIA_IS_CANVAS (self) && self->document);
  drag_update (self, x, y);
}

void
sinopia_canvas_drag_end (SinopiaCanvas *self)
{
  g_return_if_fail (SINOPIA_IS_CANVAS (self) && self->document);
  drag_end (self);
}

void
sinopia_canvas_drag (SinopiaCanvas *self, const double *points, guint n_points)
{
  g_return_if_fail (SINOPIA_IS_CANVAS (self) && self->document && n_points > 0);
  drag_begin (self, points[0], points[1]);
  for (guint i = 1; i < n_points; i++)
    drag_update (self, points[2 * i], points[2 * i + 1]);
  drag_end (self);
}

/* ---- input ---- */

static void
on_tool_drag_begin (GtkGestureDrag *gesture, double wx, double wy, SinopiaCanvas *self)
{
  double x, y;
  gtk_widget_grab_focus (GTK_WIDGET (self));
  if (!self->document)
    return;
  widget_to_image (self, wx, wy, &x, &y);
  drag_begin (self, x, y);
}

static void
on_tool_drag_update (GtkGestureDrag *gesture, double dx, double dy, SinopiaCanvas *self)
{
  double sx, sy, x, y;
  if (!self->document || !gtk_gesture_drag_get_start_point (gesture, &sx, &sy))
    return;
  widget_to_image (self, sx + dx, sy + dy, &x, &y);
  drag_update (self, x, y);
}

static void
on_tool_drag_end (GtkGestureDrag *gesture, double dx, double dy, SinopiaCanvas *self)
{
  if (self->document)
    drag_end (self);
}

static void
on_pan_begin (GtkGestureDrag *gesture, double wx, double wy, SinopiaCanvas *self)
{
  self->fit = FALSE;
  self->pan_start_x = self->offset_x;
  self->pan_start_y = self->offset_y;
}

static void
on_pan_update (GtkGestureDrag *gesture, double dx, double dy, SinopiaCanvas *self)
{
  self->offset_x = self->pan_start_x + dx;
  self->offset_y = self->pan_start_y + dy;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static gboolean
on_scroll (GtkEventControllerScroll *controller, double dx, double dy, SinopiaCanvas *self)
{
  GdkModifierType mods = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (controller));
  if (mods & GDK_CONTROL_MASK)
    zoom_at (self, self->zoom * pow (1.1, -dy), self->pointer_x, self->pointer_y);
  else
    {
      self->fit = FALSE;
      self->offset_x -= dx * 24;
      self->offset_y -= dy * 24;
      gtk_widget_queue_draw (GTK_WIDGET (self));
    }
  return TRUE;
}

static void
on_motion (GtkEventControllerMotion *controller, double x, double y, SinopiaCanvas *self)
{
  self->pointer_x = x;
  self->pointer_y = y;
}

static void
on_document_changed (SinopiaDocument *document, guint what, SinopiaCanvas *self)
{
  /* during a drag the edited region's overlay is refreshed where it is edited */
  if (!self->stroking && (what & (SINOPIA_CHANGE_REGIONS | SINOPIA_CHANGE_MASKS | SINOPIA_CHANGE_IMAGE)))
    g_hash_table_remove_all (self->overlays);
  if (self->fit && (what & SINOPIA_CHANGE_IMAGE))
    apply_fit (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_selection_changed (SinopiaCanvas *self)
{
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* ---- widget ---- */

static void
sinopia_canvas_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  SinopiaCanvas *self = SINOPIA_CANVAS (widget);
  if (self->fit)
    apply_fit (self);
}

static void
sinopia_canvas_measure (GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum, int *natural,
                        int *minimum_baseline, int *natural_baseline)
{
  *minimum = 64;
  *natural = 512;
}

static void
sinopia_canvas_dispose (GObject *object)
{
  SinopiaCanvas *self = SINOPIA_CANVAS (object);
  if (self->document)
    {
      g_clear_signal_handler (&self->changed_id, self->document);
      g_clear_signal_handler (&self->selected_id, self->document);
      g_clear_object (&self->document);
    }
  g_clear_object (&self->image);
  g_clear_object (&self->marks);
  g_clear_pointer (&self->overlays, g_hash_table_unref);
  g_clear_pointer (&self->drag_mask, g_free);
  G_OBJECT_CLASS (sinopia_canvas_parent_class)->dispose (object);
}

static void
sinopia_canvas_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  SinopiaCanvas *self = SINOPIA_CANVAS (object);
  switch (prop_id)
    {
    case PROP_TOOL:
      g_value_set_int (value, self->tool);
      break;
    case PROP_BRUSH_SIZE:
      g_value_set_double (value, self->brush_size);
      break;
    case PROP_ZOOM:
      g_value_set_double (value, self->zoom);
      break;
    case PROP_STROKING:
      g_value_set_boolean (value, self->stroking);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sinopia_canvas_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  SinopiaCanvas *self = SINOPIA_CANVAS (object);
  switch (prop_id)
    {
    case PROP_TOOL:
      sinopia_canvas_set_tool (self, (SinopiaTool) g_value_get_int (value));
      break;
    case PROP_BRUSH_SIZE:
      sinopia_canvas_set_brush_size (self, g_value_get_double (value));
      break;
    case PROP_ZOOM:
      sinopia_canvas_set_zoom (self, g_value_get_double (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sinopia_canvas_class_init (SinopiaCanvasClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = sinopia_canvas_dispose;
  object_class->get_property = sinopia_canvas_get_property;
  object_class->set_property = sinopia_canvas_set_property;
  widget_class->snapshot = sinopia_canvas_snapshot;
  widget_class->size_allocate = sinopia_canvas_size_allocate;
  widget_class->measure = sinopia_canvas_measure;
  properties[PROP_TOOL] = g_param_spec_int ("tool", NULL, NULL, SINOPIA_TOOL_SELECT, SINOPIA_TOOL_ERASER,
                                            SINOPIA_TOOL_RECTANGLE,
                                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BRUSH_SIZE] = g_param_spec_double ("brush-size", NULL, NULL, 1, 256, 16,
                                                     G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY
                                                       | G_PARAM_STATIC_STRINGS);
  properties[PROP_ZOOM] = g_param_spec_double ("zoom", NULL, NULL, SINOPIA_CANVAS_MIN_ZOOM, SINOPIA_CANVAS_MAX_ZOOM,
                                               1, G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY
                                                    | G_PARAM_STATIC_STRINGS);
  properties[PROP_STROKING] = g_param_spec_boolean ("stroking", NULL, NULL, FALSE,
                                                    G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
  gtk_widget_class_set_css_name (widget_class, "sinopia-canvas");
}

static void
sinopia_canvas_init (SinopiaCanvas *self)
{
  self->overlays = g_hash_table_new_full (NULL, NULL, NULL, g_object_unref);
  self->tool = SINOPIA_TOOL_RECTANGLE;
  self->brush_size = 16;
  self->zoom = 1;
  self->fit = TRUE;
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_hexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_vexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "crosshair");

  GtkGesture *tools = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (tools), GDK_BUTTON_PRIMARY);
  g_signal_connect (tools, "drag-begin", G_CALLBACK (on_tool_drag_begin), self);
  g_signal_connect (tools, "drag-update", G_CALLBACK (on_tool_drag_update), self);
  g_signal_connect (tools, "drag-end", G_CALLBACK (on_tool_drag_end), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (tools));

  GtkGesture *pan = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (pan), GDK_BUTTON_MIDDLE);
  g_signal_connect (pan, "drag-begin", G_CALLBACK (on_pan_begin), self);
  g_signal_connect (pan, "drag-update", G_CALLBACK (on_pan_update), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (pan));

  GtkEventController *scroll = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES);
  g_signal_connect (scroll, "scroll", G_CALLBACK (on_scroll), self);
  gtk_widget_add_controller (GTK_WIDGET (self), scroll);

  GtkEventController *motion = gtk_event_controller_motion_new ();
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
}

GtkWidget *
sinopia_canvas_new (void)
{
  return g_object_new (SINOPIA_TYPE_CANVAS, NULL);
}

void
sinopia_canvas_set_document (SinopiaCanvas *self, SinopiaDocument *document)
{
  g_return_if_fail (SINOPIA_IS_CANVAS (self));
  if (self->document)
    {
      g_clear_signal_handler (&self->changed_id, self->document);
      g_clear_signal_handler (&self->selected_id, self->document);
      g_clear_object (&self->document);
    }
  if (document)
    {
      self->document = g_object_ref (document);
      self->changed_id = g_signal_connect (document, "changed", G_CALLBACK (on_document_changed), self);
      self->selected_id = g_signal_connect_swapped (document, "notify::selected-region",
                                                    G_CALLBACK (on_selection_changed), self);
    }
  g_hash_table_remove_all (self->overlays);
  self->fit = TRUE;
  apply_fit (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
sinopia_canvas_set_image (SinopiaCanvas *self, GdkTexture *image)
{
  g_return_if_fail (SINOPIA_IS_CANVAS (self));
  if (g_set_object (&self->image, image))
    gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
sinopia_canvas_set_marks (SinopiaCanvas *self, GdkTexture *marks)
{
  g_return_if_fail (SINOPIA_IS_CANVAS (self));
  if (g_set_object (&self->marks, marks))
    gtk_widget_queue_draw (GTK_WIDGET (self));
}

GdkTexture *
sinopia_canvas_get_image (SinopiaCanvas *self)
{
  g_return_val_if_fail (SINOPIA_IS_CANVAS (self), NULL);
  return self->image;
}

void
sinopia_canvas_set_tool (SinopiaCanvas *self, SinopiaTool tool)
{
  g_return_if_fail (SINOPIA_IS_CANVAS (self));
  if (self->tool == tool)
    return;
  self->tool = tool;
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), tool == SINOPIA_TOOL_SELECT ? "default" : "crosshair");
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOOL]);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

SinopiaTool
sinopia_canvas_get_tool (SinopiaCanvas *self)
{
  g_return_val_if_fail (SINOPIA_IS_CANVAS (self), SINOPIA_TOOL_SELECT);
  return self->tool;
}

void
sinopia_canvas_set_brush_size (SinopiaCanvas *self, double size)
{
  g_return_if_fail (SINOPIA_IS_CANVAS (self));
  size = CLAMP (size, 1, 256);
  if (self->brush_size == size)
    return;
  self->brush_size = size;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BRUSH_SIZE]);
}

double
sinopia_canvas_get_brush_size (SinopiaCanvas *self)
{
  g_return_val_if_fail (SINOPIA_IS_CANVAS (self), 0);
  return self->brush_size;
}

gboolean
sinopia_canvas_get_stroking (SinopiaCanvas *self)
{
  g_return_val_if_fail (SINOPIA_IS_CANVAS (self), FALSE);
  return self->stroking;
}

void
sinopia_canvas_set_zoom (SinopiaCanvas *self, double zoom)
{
  g_return_if_fail (SINOPIA_IS_CANVAS (self));
  zoom_at (self, zoom, gtk_widget_get_width (GTK_WIDGET (self)) / 2.0, gtk_widget_get_height (GTK_WIDGET (self)) / 2.0);
}

double
sinopia_canvas_get_zoom (SinopiaCanvas *self)
{
  g_return_val_if_fail (SINOPIA_IS_CANVAS (self), 1);
  return self->zoom;
}

void
sinopia_canvas_zoom_fit (SinopiaCanvas *self)
{
  g_return_if_fail (SINOPIA_IS_CANVAS (self));
  self->fit = TRUE;
  apply_fit (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}
