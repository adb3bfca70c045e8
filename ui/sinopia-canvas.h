/* sinopia-canvas.h — the picture with its region overlays, zoomable and pannable, and the tools
 * that draw regions: rectangle and ellipse (each drag makes a new region), brush and eraser (paint
 * into the selected region's mask; the brush makes a region when none is selected), and select,
 * which picks a region, moves it, or resizes it by its box's corners.
 *
 * Every drag is one undo step, recorded when it starts. While a drag edits the document the
 * "stroking" property is TRUE, so Live mode waits for the end of the stroke.
 * Zoom: Ctrl + wheel; pan: the wheel, or a middle-button drag.
 *
 * Ownership: the canvas holds a reference on its document and on the shown texture.
 * Threads: the main thread (it is a widget).
 */
#pragma once

#include <gtk/gtk.h>

#include "sinopia-document.h"

G_BEGIN_DECLS

typedef enum {
  SINOPIA_TOOL_SELECT,
  SINOPIA_TOOL_RECTANGLE,
  SINOPIA_TOOL_ELLIPSE,
  SINOPIA_TOOL_BRUSH,
  SINOPIA_TOOL_ERASER,
} SinopiaTool;

/* "select", "rectangle", "ellipse", "brush", "eraser"; the parse returns -1 for others. */
const char *sinopia_tool_to_string (SinopiaTool tool);
int sinopia_tool_parse (const char *name);

#define SINOPIA_CANVAS_MIN_ZOOM 0.125
#define SINOPIA_CANVAS_MAX_ZOOM 32.0

#define SINOPIA_TYPE_CANVAS (sinopia_canvas_get_type ())
G_DECLARE_FINAL_TYPE (SinopiaCanvas, sinopia_canvas, SINOPIA, CANVAS, GtkWidget)

GtkWidget *sinopia_canvas_new (void);

void sinopia_canvas_set_document (SinopiaCanvas *self, SinopiaDocument *document);
/* The picture under the overlays (any size: it is stretched over the document's size); NULL
 * shows an empty sheet. */
void sinopia_canvas_set_image (SinopiaCanvas *self, GdkTexture *image);
/* (transfer none) */
GdkTexture *sinopia_canvas_get_image (SinopiaCanvas *self);
/* A layer over the picture and under the regions (the changed-pixels view); NULL for none. */
void sinopia_canvas_set_marks (SinopiaCanvas *self, GdkTexture *marks);

void sinopia_canvas_set_tool (SinopiaCanvas *self, SinopiaTool tool);
SinopiaTool sinopia_canvas_get_tool (SinopiaCanvas *self);
/* Brush and eraser diameter in image pixels, [1, 256]. */
void sinopia_canvas_set_brush_size (SinopiaCanvas *self, double size);
double sinopia_canvas_get_brush_size (SinopiaCanvas *self);
gboolean sinopia_canvas_get_stroking (SinopiaCanvas *self);

/* Screen pixels per image pixel, clamped to [MIN_ZOOM, MAX_ZOOM], about the centre. */
void sinopia_canvas_set_zoom (SinopiaCanvas *self, double zoom);
double sinopia_canvas_get_zoom (SinopiaCanvas *self);
/* Fits the picture into the widget, and keeps fitting it as the widget resizes until the next zoom. */
void sinopia_canvas_zoom_fit (SinopiaCanvas *self);

/* What the current tool does for a pointer drag, in image pixels, exactly as with the mouse:
 * begin at the press, move for each motion, end at the release; one undo step. "stroking" is
 * TRUE from the first change to the end. */
void sinopia_canvas_drag_begin (SinopiaCanvas *self, double x, double y);
void sinopia_canvas_drag_move (SinopiaCanvas *self, double x, double y);
void sinopia_canvas_drag_end (SinopiaCanvas *self);
/* A whole drag through `points` (n_points ≥ 1 x, y pairs). */
void sinopia_canvas_drag (SinopiaCanvas *self, const double *points, guint n_points);

G_END_DECLS
