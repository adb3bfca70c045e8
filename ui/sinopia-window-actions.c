/* sinopia-window-actions.c — the window's actions and their keys. Global keys (with Ctrl or Alt)
 * are application accelerators; single-letter keys (tools, Delete, brush size) belong to the
 * canvas, so they never steal letters from the prompt entries. */
#define G_LOG_DOMAIN "sinopia-window"

#include <glib/gstdio.h>

#include "sinopia-window-private.h"

#define ZOOM_STEP 1.25

static SinopiaWindow *
window (gpointer data)
{
  return SINOPIA_WINDOW (data);
}

static void
set_enabled (SinopiaWindow *self, const char *name, gboolean enabled)
{
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), name);
  g_simple_action_set_enabled (G_SIMPLE_ACTION (action), enabled);
}

void
_sinopia_window_update_actions (SinopiaWindow *self)
{
  if (!g_action_map_lookup_action (G_ACTION_MAP (self), "generate"))
    return;
  SinopiaGeneratorState state = sinopia_generator_get_state (self->generator);
  const SinopiaProject *p = sinopia_document_get_project (self->document);
  gboolean selected = sinopia_document_get_selected (self->document) != 0;
  set_enabled (self, "generate", state == SINOPIA_GENERATOR_READY || state == SINOPIA_GENERATOR_RUNNING);
  set_enabled (self, "cancel", state == SINOPIA_GENERATOR_RUNNING);
  set_enabled (self, "retry-load", state == SINOPIA_GENERATOR_FAILED);
  set_enabled (self, "undo", sinopia_document_can_undo (self->document));
  set_enabled (self, "redo", sinopia_document_can_redo (self->document));
  set_enabled (self, "delete-region", selected);
  set_enabled (self, "region-up", selected);
  set_enabled (self, "region-down", selected);
  set_enabled (self, "export", p->shown >= 0);
  set_enabled (self, "compare", p->shown >= 0);
  set_enabled (self, "show-changes", p->shown >= 0 && p->input_rgb);
  set_enabled (self, "use-as-input", p->shown >= 0);
  set_enabled (self, "history-previous", p->shown > 0);
  set_enabled (self, "history-next", p->shown + 1 < (int) p->history->len);
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), state == SINOPIA_GENERATOR_RUNNING);
}

gboolean
_sinopia_window_comparing (SinopiaWindow *self)
{
  g_autoptr (GVariant) state = g_action_group_get_action_state (G_ACTION_GROUP (self), "compare");
  return state && g_variant_get_boolean (state);
}

/* ---- generation ---- */

static void
generate_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  _sinopia_window_generate (window (data), FALSE);
}

static void
cancel_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  sinopia_generator_cancel (window (data)->generator);
}

static void
retry_load_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  _sinopia_window_load_model (window (data));
}

static void
live_cb (GSimpleAction *action, GVariant *state, gpointer data)
{
  g_simple_action_set_state (action, state);
  if (g_variant_get_boolean (state))
    _sinopia_window_generate (window (data), TRUE);
}

static void
new_seed_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  SinopiaWindow *self = window (data);
  sinopia_document_get_settings (self->document)->seed = g_random_int ();
  sinopia_document_changed (self->document, SINOPIA_CHANGE_SETTINGS);
}

static void
keep_seed_cb (GSimpleAction *action, GVariant *state, gpointer data)
{
  SinopiaWindow *self = window (data);
  g_simple_action_set_state (action, state);
  SinopiaGenerationSettings *s = sinopia_document_get_settings (self->document);
  if (s->keep_seed == g_variant_get_boolean (state))
    return;
  s->keep_seed = g_variant_get_boolean (state);
  sinopia_document_changed (self->document, SINOPIA_CHANGE_SETTINGS);
}

static void
mode_cb (GSimpleAction *action, GVariant *state, gpointer data)
{
  SinopiaWindow *self = window (data);
  int mode = sinopia_mode_parse (g_variant_get_string (state, NULL));
  if (mode < 0)
    return;
  g_simple_action_set_state (action, state);
  SinopiaGenerationSettings *s = sinopia_document_get_settings (self->document);
  if ((int) s->mode == mode)
    return;
  s->mode = (SinopiaMode) mode;
  sinopia_document_changed (self->document, SINOPIA_CHANGE_SETTINGS);
}

/* ---- edits ---- */

static void
undo_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  sinopia_document_undo (window (data)->document);
}

static void
redo_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  sinopia_document_redo (window (data)->document);
}

/* A new region starts as a centred rectangle of half the picture, ready to be moved and resized. */
static void
new_region_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  SinopiaWindow *self = window (data);
  const SinopiaComposition *c = sinopia_document_get_composition (self->document);
  SinopiaTool tool = sinopia_canvas_get_tool (self->canvas);
  sinopia_canvas_set_tool (self->canvas, SINOPIA_TOOL_RECTANGLE);
  sinopia_canvas_drag (self->canvas, (double[]) { c->width / 4.0, c->height / 4.0, c->width * 0.75, c->height * 0.75 },
                       2);
  sinopia_canvas_set_tool (self->canvas, tool);
}

static void
delete_region_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  SinopiaWindow *self = window (data);
  sinopia_document_delete_region (self->document, sinopia_document_get_selected (self->document));
}

static void
region_up_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  SinopiaWindow *self = window (data);
  sinopia_document_move_region (self->document, sinopia_document_get_selected (self->document), -1);
}

static void
region_down_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  SinopiaWindow *self = window (data);
  sinopia_document_move_region (self->document, sinopia_document_get_selected (self->document), 1);
}

/* ---- canvas ---- */

static void
tool_cb (GSimpleAction *action, GVariant *state, gpointer data)
{
  int tool = sinopia_tool_parse (g_variant_get_string (state, NULL));
  if (tool < 0)
    return;
  g_simple_action_set_state (action, state);
  sinopia_canvas_set_tool (window (data)->canvas, (SinopiaTool) tool);
}

static void
brush_bigger_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  SinopiaCanvas *canvas = window (data)->canvas;
  sinopia_canvas_set_brush_size (canvas, sinopia_canvas_get_brush_size (canvas) * ZOOM_STEP + 1);
}

static void
brush_smaller_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  SinopiaCanvas *canvas = window (data)->canvas;
  sinopia_canvas_set_brush_size (canvas, (sinopia_canvas_get_brush_size (canvas) - 1) / ZOOM_STEP);
}

static void
zoom_in_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  SinopiaCanvas *canvas = window (data)->canvas;
  sinopia_canvas_set_zoom (canvas, sinopia_canvas_get_zoom (canvas) * ZOOM_STEP);
}

static void
zoom_out_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  SinopiaCanvas *canvas = window (data)->canvas;
  sinopia_canvas_set_zoom (canvas, sinopia_canvas_get_zoom (canvas) / ZOOM_STEP);
}

static void
zoom_fit_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  sinopia_canvas_zoom_fit (window (data)->canvas);
}

static void
zoom_100_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  sinopia_canvas_set_zoom (window (data)->canvas, 1);
}

/* ---- history ---- */

static void
show_history_cb (GSimpleAction *action, GVariant *state, gpointer data)
{
  SinopiaWindow *self = window (data);
  int index = g_variant_get_int32 (state);
  if (index < -1 || index >= (int) sinopia_document_get_project (self->document)->history->len)
    return;
  g_simple_action_set_state (action, state);
  sinopia_document_show (self->document, index);
}

static void
history_step (SinopiaWindow *self, int delta)
{
  const SinopiaProject *p = sinopia_document_get_project (self->document);
  int index = p->shown + delta;
  if (index >= 0 && index < (int) p->history->len)
    sinopia_document_show (self->document, index);
}

static void
history_previous_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  history_step (window (data), -1);
}

static void
history_next_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  history_step (window (data), 1);
}

static void
view_toggle_cb (GSimpleAction *action, GVariant *state, gpointer data)
{
  g_simple_action_set_state (action, state);
  _sinopia_window_refresh_image (window (data));
}

static void
use_as_input_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  SinopiaWindow *self = window (data);
  const SinopiaProject *p = sinopia_document_get_project (self->document);
  if (p->shown < 0)
    return;
  const SinopiaHistoryItem *item = g_ptr_array_index (p->history, p->shown);
  sinopia_document_set_input (self->document, g_memdup2 (item->rgb, (gsize) item->width * item->height * 3),
                              item->png, item->width, item->height);
}

/* ---- files ---- */

typedef gboolean (*FileFunc) (SinopiaWindow *self, GFile *file);

/* What a file dialog does with its answer (a struct: ISO C keeps function and data pointers apart). */
typedef struct {
  FileFunc func;
} FileAnswer;

static gboolean
open_file (SinopiaWindow *self, GFile *file)
{
  sinopia_window_open_file (self, file);
  return TRUE;
}

static void
on_dialog_response (GtkNativeDialog *dialog, int response, SinopiaWindow *self)
{
  const FileAnswer *answer = g_object_get_data (G_OBJECT (dialog), "sinopia-file-answer");
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      answer->func (self, file);
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
}

static void
add_filter (GtkFileChooser *chooser, const char *name, const char *const *patterns)
{
  GtkFileFilter *filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, name);
  for (; *patterns; patterns++)
    gtk_file_filter_add_pattern (filter, *patterns);
  gtk_file_chooser_add_filter (chooser, filter);
  g_object_unref (filter);
}

/* GtkFileChooserNative (GTK 4.8 has no GtkFileDialog): portal-aware, kept alive until its answer. */
static void
choose_file (SinopiaWindow *self, const char *title, GtkFileChooserAction mode, const char *accept,
             const char *suggested_name, FileFunc func)
{
  GtkFileChooserNative *dialog = gtk_file_chooser_native_new (title, GTK_WINDOW (self), mode, accept, "_Cancel");
  GtkFileChooser *chooser = GTK_FILE_CHOOSER (dialog);
  if (mode == GTK_FILE_CHOOSER_ACTION_OPEN)
    {
      add_filter (chooser, "Images and projects",
                  (const char *[]) { "*.png", "*.PNG", "*.jpg", "*.jpeg", "*.JPG", "*.sinopia", NULL });
      add_filter (chooser, "Sinopia projects", (const char *[]) { "*.sinopia", NULL });
    }
  else
    gtk_file_chooser_set_current_name (chooser, suggested_name);
  FileAnswer *answer = g_new (FileAnswer, 1);
  answer->func = func;
  g_object_set_data_full (G_OBJECT (dialog), "sinopia-file-answer", answer, g_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_dialog_response), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
open_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  choose_file (window (data), "Open an Image or a Project", GTK_FILE_CHOOSER_ACTION_OPEN, "_Open", NULL, open_file);
}

static void
save_as_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  choose_file (window (data), "Save the Project", GTK_FILE_CHOOSER_ACTION_SAVE, "_Save",
               "Untitled" SINOPIA_PROJECT_EXTENSION, _sinopia_window_save_to);
}

static void
save_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  SinopiaWindow *self = window (data);
  if (self->file)
    _sinopia_window_save_to (self, self->file);
  else
    save_as_cb (action, parameter, data);
}

static void
export_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  choose_file (window (data), "Export the Image", GTK_FILE_CHOOSER_ACTION_SAVE, "_Export", "sinopia.png",
               _sinopia_window_export_to);
}

/* The *-uri actions do the same without a dialog (the application's open, scripts, tests). */
static void
with_uri (gpointer data, GVariant *parameter, FileFunc func)
{
  g_autoptr (GFile) file = g_file_new_for_uri (g_variant_get_string (parameter, NULL));
  func (window (data), file);
}

static void
open_uri_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  with_uri (data, parameter, open_file);
}

static void
save_uri_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  with_uri (data, parameter, _sinopia_window_save_to);
}

static void
export_uri_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  with_uri (data, parameter, _sinopia_window_export_to);
}

/* Restores an autosave: the project comes back as unsaved work, and the old file is removed
 * (this window autosaves it again under its own name). */
static void
recover_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  SinopiaWindow *self = window (data);
  const char *path = g_variant_get_string (parameter, NULL);
  g_autoptr (GError) error = NULL;
  SinopiaProject *project = sinopia_project_load (path, &error);
  if (!project)
    {
      g_autofree char *text = g_strdup_printf ("Could not restore: %s", error->message);
      _sinopia_window_toast (self, text);
      return;
    }
  _sinopia_window_set_project (self, project);
  sinopia_document_set_modified (self->document, TRUE);
  g_remove (path);
}

static const GActionEntry entries[] = {
  { "generate", generate_cb },
  { "cancel", cancel_cb },
  { "retry-load", retry_load_cb },
  { "live", NULL, NULL, "false", live_cb },
  { "new-seed", new_seed_cb },
  { "keep-seed", NULL, NULL, "true", keep_seed_cb },
  { "mode", NULL, "s", "'generate'", mode_cb },
  { "undo", undo_cb },
  { "redo", redo_cb },
  { "new-region", new_region_cb },
  { "delete-region", delete_region_cb },
  { "region-up", region_up_cb },
  { "region-down", region_down_cb },
  { "tool", NULL, "s", "'rectangle'", tool_cb },
  { "brush-bigger", brush_bigger_cb },
  { "brush-smaller", brush_smaller_cb },
  { "zoom-in", zoom_in_cb },
  { "zoom-out", zoom_out_cb },
  { "zoom-fit", zoom_fit_cb },
  { "zoom-100", zoom_100_cb },
  { "show-history", NULL, "i", "-1", show_history_cb },
  { "history-previous", history_previous_cb },
  { "history-next", history_next_cb },
  { "compare", NULL, NULL, "false", view_toggle_cb },
  { "show-changes", NULL, NULL, "false", view_toggle_cb },
  { "use-as-input", use_as_input_cb },
  { "open", open_cb },
  { "save", save_cb },
  { "save-as", save_as_cb },
  { "export", export_cb },
  { "open-uri", open_uri_cb, "s" },
  { "save-uri", save_uri_cb, "s" },
  { "export-uri", export_uri_cb, "s" },
  { "recover", recover_cb, "s" },
};

/* Keys that only act while the canvas has the focus. */
static const struct {
  guint key;
  const char *action;
  const char *target;  /* a string parameter, or NULL */
} canvas_keys[] = {
  { GDK_KEY_v, "win.tool", "select" },
  { GDK_KEY_r, "win.tool", "rectangle" },
  { GDK_KEY_o, "win.tool", "ellipse" },
  { GDK_KEY_b, "win.tool", "brush" },
  { GDK_KEY_e, "win.tool", "eraser" },
  { GDK_KEY_bracketright, "win.brush-bigger", NULL },
  { GDK_KEY_bracketleft, "win.brush-smaller", NULL },
  { GDK_KEY_Delete, "win.delete-region", NULL },
  { GDK_KEY_BackSpace, "win.delete-region", NULL },
};

void
_sinopia_window_install_actions (SinopiaWindow *self)
{
  g_action_map_add_action_entries (G_ACTION_MAP (self), entries, G_N_ELEMENTS (entries), self);
  GtkEventController *controller = gtk_shortcut_controller_new ();
  for (guint i = 0; i < G_N_ELEMENTS (canvas_keys); i++)
    {
      GtkShortcut *shortcut = gtk_shortcut_new (gtk_keyval_trigger_new (canvas_keys[i].key, 0),
                                                gtk_named_action_new (canvas_keys[i].action));
      if (canvas_keys[i].target)
        gtk_shortcut_set_arguments (shortcut, g_variant_new_string (canvas_keys[i].target));
      gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (controller), shortcut);
    }
  gtk_widget_add_controller (GTK_WIDGET (self->canvas), controller);
  _sinopia_window_update_actions (self);
}

/* Global accelerators of the window actions (app.* ones are set by the application). */
static const struct {
  const char *action;
  const char *accels[3];
} window_accels[] = {
  { "win.generate", { "<Primary>Return", "<Primary>KP_Enter", NULL } },
  { "win.cancel", { "Escape", NULL } },
  { "win.undo", { "<Primary>z", NULL } },
  { "win.redo", { "<Primary><Shift>z", "<Primary>y", NULL } },
  { "win.open", { "<Primary>o", NULL } },
  { "win.save", { "<Primary>s", NULL } },
  { "win.save-as", { "<Primary><Shift>s", NULL } },
  { "win.export", { "<Primary>e", NULL } },
  { "win.new-region", { "<Primary>r", NULL } },
  { "win.region-up", { "<Primary>Page_Up", NULL } },
  { "win.region-down", { "<Primary>Page_Down", NULL } },
  { "win.zoom-in", { "<Primary>plus", "<Primary>equal", NULL } },
  { "win.zoom-out", { "<Primary>minus", NULL } },
  { "win.zoom-fit", { "<Primary>0", NULL } },
  { "win.zoom-100", { "<Primary>1", NULL } },
  { "win.live", { "<Primary>l", NULL } },
  { "win.new-seed", { "<Primary><Shift>r", NULL } },
  { "win.keep-seed", { "<Primary>k", NULL } },
  { "win.compare", { "<Primary>b", NULL } },
  { "win.show-changes", { "<Primary>d", NULL } },
  { "win.use-as-input", { "<Primary>i", NULL } },
  { "win.history-previous", { "<Alt>Left", NULL } },
  { "win.history-next", { "<Alt>Right", NULL } },
  { "win.mode('generate')", { "<Alt>1", NULL } },
  { "win.mode('inpaint')", { "<Alt>2", NULL } },
  { "win.mode('edit')", { "<Alt>3", NULL } },
};

void
sinopia_window_set_accels (GtkApplication *application)
{
  for (guint i = 0; i < G_N_ELEMENTS (window_accels); i++)
    gtk_application_set_accels_for_action (application, window_accels[i].action, window_accels[i].accels);
}
