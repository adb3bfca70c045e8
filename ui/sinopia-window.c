/* sinopia-window.c — the editor window: views of the document, generation, Live, autosave. */
#define G_LOG_DOMAIN "sinopia-window"

#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "sinopia-image-import.h"
#include "sinopia-job.h"
#include "sinopia-json.h"
#include "sinopia-png.h"
#include "sinopia-region-row.h"
#include "sinopia-window-private.h"

/* Defaults when no GSettings schema is installed. */
#define DEFAULT_LIVE_DELAY_MS 300
#define AUTOSAVE_DELAY_S 2
#define THUMBNAIL_SIZE 64
#define TOAST_TIMEOUT_S 6

G_DEFINE_FINAL_TYPE (SinopiaWindow, sinopia_window, ADW_TYPE_APPLICATION_WINDOW)

static char *
setting_string (SinopiaWindow *self, const char *key)
{
  return self->settings ? g_settings_get_string (self->settings, key) : NULL;
}

static guint
setting_uint (SinopiaWindow *self, const char *key, guint fallback)
{
  return self->settings ? g_settings_get_uint (self->settings, key) : fallback;
}

/* libadwaita 1.2 reads a toast's title as Pango markup: a file name or an error message with
 * '&' or '<' would show wrong or not at all. */
static AdwToast *
toast_new_plain (const char *message)
{
  g_autofree char *title = g_markup_escape_text (message, -1);
  return adw_toast_new (title);
}

/* Whether the toast's title is `message` (titles are stored escaped). */
static gboolean
toast_says (AdwToast *toast, const char *message)
{
  g_autofree char *title = g_markup_escape_text (message, -1);
  return !g_strcmp0 (adw_toast_get_title (toast), title);
}

void
_sinopia_window_toast (SinopiaWindow *self, const char *message)
{
  AdwToast *toast = toast_new_plain (message);
  adw_toast_set_timeout (toast, TOAST_TIMEOUT_S);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

/* libadwaita 1.2 crashes when a toast that replaced another one is dismissed in the first 200 ms
 * of its fade-in: its fade-out then ends first and frees what the fade-in's end still reads
 * (fixed in 1.3, libadwaita commit 1674ebc9). A toast on screen is therefore dismissed once any
 * fade-in is over; a queued one has no animation yet and goes at once. */
#define TOAST_FADE_IN_MS 500

/* Whether the overlay shows `toast` (or fades it out): one of its children is that toast's. */
static gboolean
toast_on_screen (SinopiaWindow *self, AdwToast *toast)
{
  GtkWidget *content = adw_toast_overlay_get_child (self->toast_overlay);
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->toast_overlay)); child;
       child = gtk_widget_get_next_sibling (child))
    {
      if (child == content)
        continue;
      /* a libadwaita without the toast widgets' property: assume the worst */
      if (!g_object_class_find_property (G_OBJECT_GET_CLASS (child), "toast"))
        return TRUE;
      g_autoptr (AdwToast) shown = NULL;
      g_object_get (child, "toast", &shown, NULL);
      if (shown == toast)
        return TRUE;
    }
  return FALSE;
}

static gboolean
dismiss_later (gpointer toast)
{
  adw_toast_dismiss (toast);
  return G_SOURCE_REMOVE;
}

static void
dismiss_toast (SinopiaWindow *self, AdwToast *toast)
{
  if (toast_on_screen (self, toast))
    g_timeout_add_full (G_PRIORITY_DEFAULT, TOAST_FADE_IN_MS, dismiss_later, g_object_ref (toast), g_object_unref);
  else
    adw_toast_dismiss (toast);
}

static void
on_document_toast_dismissed (AdwToast *toast, SinopiaWindow *self)
{
  if (self->refusal == toast)
    self->refusal = NULL;
  g_ptr_array_remove (self->document_toasts, toast);
}

/* A toast about the document's content (a refused Generate, a result's warnings, an import
 * note): it goes when another project replaces the document, as it would describe the wrong one
 * then. (transfer none) the toast, valid until it is dismissed. */
static AdwToast *
add_document_toast (SinopiaWindow *self, const char *message)
{
  AdwToast *toast = toast_new_plain (message);
  adw_toast_set_timeout (toast, TOAST_TIMEOUT_S);
  g_ptr_array_add (self->document_toasts, g_object_ref (toast));
  g_signal_connect (toast, "dismissed", G_CALLBACK (on_document_toast_dismissed), self);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
  return toast;
}

void
_sinopia_window_show_error (SinopiaWindow *self, const GError *error)
{
  g_autofree char *text = g_strdup_printf ("%s %s", error->message, sinopia_generator_error_advice (error));
  add_document_toast (self, text);
}

/* Stops following a toast about the document and takes it away. */
static void
drop_document_toast (SinopiaWindow *self, AdwToast *toast)
{
  g_signal_handlers_disconnect_by_data (toast, self);
  if (self->refusal == toast)
    self->refusal = NULL;
  dismiss_toast (self, toast);
  g_ptr_array_remove (self->document_toasts, toast);
}

/* Why Generate was refused. Live asks again on every edit: the same reason is not queued twice. */
static void
refuse (SinopiaWindow *self, const char *reason)
{
  if (self->refusal && toast_says (self->refusal, reason))
    return;
  if (self->refusal)
    drop_document_toast (self, self->refusal);
  self->refusal = add_document_toast (self, reason);
}

/* The refusal follows the document: it goes once Generate would start, and says the current
 * reason while there is one (a count of regions changes as they are hidden), so it never
 * describes a document the user has already corrected. */
static void
recheck_refusal (SinopiaWindow *self)
{
  if (!self->refusal)
    return;
  g_autoptr (GError) error = NULL;
  const SinopiaProject *p = sinopia_document_get_project (self->document);
  if (sinopia_generator_check (self->generator, p->composition, &p->settings, p->input_rgb, &error))
    drop_document_toast (self, self->refusal);
  else if (!toast_says (self->refusal, error->message))
    {
      g_autofree char *title = g_markup_escape_text (error->message, -1);
      adw_toast_set_title (self->refusal, title);
    }
}

void
_sinopia_window_set_project (SinopiaWindow *self, SinopiaProject *project)
{
  /* a result still coming belongs to the project that was open, not to this one's history */
  sinopia_generator_discard (self->generator);
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), FALSE);
  gtk_label_set_label (self->eta_label, "");
  while (self->document_toasts->len)
    drop_document_toast (self, g_ptr_array_index (self->document_toasts, self->document_toasts->len - 1));
  sinopia_document_set_project (self->document, project);
}

static GdkTexture *
texture_from_rgb (const guint8 *rgb, uint32_t width, uint32_t height)
{
  g_autoptr (GBytes) bytes = g_bytes_new (rgb, (gsize) width * height * 3);
  return gdk_memory_texture_new ((int) width, (int) height, GDK_MEMORY_R8G8B8, bytes, (gsize) width * 3);
}

/* ---- views of the document ---- */

static void
sync_title (SinopiaWindow *self)
{
  g_autofree char *name = self->file ? g_file_get_basename (self->file) : g_strdup ("Unsaved project");
  g_autofree char *title = g_strdup_printf ("%s%s", sinopia_document_get_modified (self->document) ? "• " : "", name);
  adw_window_title_set_subtitle (self->window_title, title);
}

static void
set_entry (GtkEntry *entry, const char *text)
{
  if (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (entry)), text))
    gtk_editable_set_text (GTK_EDITABLE (entry), text);
}

static void
sync_prompts (SinopiaWindow *self)
{
  const SinopiaComposition *c = sinopia_document_get_composition (self->document);
  set_entry (self->prompt_entry, c->prompt);
  set_entry (self->negative_entry, c->negative);
  set_entry (self->source_entry, c->source_prompt);
}

/* Rows follow the regions' ids: rebuilt when the list changed shape, updated in place otherwise
 * (so the entry being typed into keeps focus and cursor). */
static void
sync_regions (SinopiaWindow *self)
{
  const SinopiaComposition *c = sinopia_document_get_composition (self->document);
  gboolean same = TRUE;
  guint i = 0;
  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->region_list)); row;
       row = gtk_widget_get_next_sibling (row), i++)
    if (i >= c->regions->len
        || sinopia_region_row_get_region (SINOPIA_REGION_ROW (row))
             != ((SinopiaDocRegion *) g_ptr_array_index (c->regions, i))->id)
      same = FALSE;
  if (same && i == c->regions->len)
    {
      for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->region_list)); row;
           row = gtk_widget_get_next_sibling (row))
        sinopia_region_row_update (SINOPIA_REGION_ROW (row));
    }
  else
    {
      GtkWidget *row;
      while ((row = gtk_widget_get_first_child (GTK_WIDGET (self->region_list))))
        gtk_list_box_remove (self->region_list, row);
      for (i = 0; i < c->regions->len; i++)
        gtk_list_box_append (self->region_list,
                             sinopia_region_row_new (self->document,
                                                     ((SinopiaDocRegion *) g_ptr_array_index (c->regions, i))->id));
    }
  gtk_widget_set_visible (GTK_WIDGET (self->region_list), c->regions->len > 0);
  gtk_widget_set_visible (GTK_WIDGET (self->regions_hint), c->regions->len == 0);
}

static void
sync_selection (SinopiaWindow *self)
{
  guint id = sinopia_document_get_selected (self->document);
  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->region_list)); row;
       row = gtk_widget_get_next_sibling (row))
    if (sinopia_region_row_get_region (SINOPIA_REGION_ROW (row)) == id)
      {
        gtk_list_box_select_row (self->region_list, GTK_LIST_BOX_ROW (row));
        return;
      }
  gtk_list_box_unselect_all (self->region_list);
}

/* A defaulted spin's lower bound stands for the model's own value, NAN in the settings. */
static gboolean
spin_at_default (GtkSpinButton *spin)
{
  return gtk_spin_button_get_value (spin) <= gtk_adjustment_get_lower (gtk_spin_button_get_adjustment (spin));
}

static void
spin_set_double_or_default (GtkSpinButton *spin, double value)
{
  gtk_spin_button_set_value (spin,
                             isnan (value) ? gtk_adjustment_get_lower (gtk_spin_button_get_adjustment (spin)) : value);
}

static double
spin_get_double_or_default (GtkSpinButton *spin)
{
  return spin_at_default (spin) ? NAN : gtk_spin_button_get_value (spin);
}

static void
sync_settings (SinopiaWindow *self)
{
  const SinopiaProject *p = sinopia_document_get_project (self->document);
  const SinopiaGenerationSettings *s = &p->settings;
  gtk_spin_button_set_value (self->steps_spin, s->steps);
  gtk_spin_button_set_value (self->seed_spin, (double) s->seed);
  spin_set_double_or_default (self->guidance_spin, s->guidance);
  spin_set_double_or_default (self->base_ratio_spin, s->base_ratio);
  gtk_spin_button_set_value (self->inject_spin, s->mask_inject_steps);
  gtk_spin_button_set_value (self->double_spin, s->double_interval);
  gtk_spin_button_set_value (self->single_spin, s->single_interval);
  gtk_spin_button_set_value (self->width_spin, p->composition->width);
  gtk_spin_button_set_value (self->height_spin, p->composition->height);
  /* an input image fixes the size */
  gtk_widget_set_sensitive (GTK_WIDGET (self->width_spin), !p->input_rgb);
  gtk_widget_set_sensitive (GTK_WIDGET (self->height_spin), !p->input_rgb);
  gboolean editing = s->mode != SINOPIA_MODE_GENERATE;
  gtk_widget_set_visible (GTK_WIDGET (self->source_label), editing);
  gtk_widget_set_visible (GTK_WIDGET (self->source_entry), editing);
  gtk_label_set_label (self->prompt_label, s->mode == SINOPIA_MODE_EDIT      ? "Target prompt (the picture after)"
                                           : s->mode == SINOPIA_MODE_INPAINT ? "Prompt (what to paint in the regions)"
                                                                             : "Prompt");
  g_action_group_change_action_state (G_ACTION_GROUP (self), "mode",
                                      g_variant_new_string (sinopia_mode_to_string (s->mode)));
  g_action_group_change_action_state (G_ACTION_GROUP (self), "keep-seed", g_variant_new_boolean (s->keep_seed));
}

/* A history entry's tooltip: its prompt and numbers, read from its parameters JSON (the raw
 * text when it does not parse). (transfer full) */
static char *
describe_parameters (const char *parameters)
{
  g_autoptr (SinopiaJson) json = sinopia_json_parse (parameters, strlen (parameters), NULL);
  const SinopiaJsonNode *root = json ? sinopia_json_root (json) : NULL;
  const char *prompt = sinopia_json_as_string (sinopia_json_object_get (root, "prompt"), NULL);
  int64_t seed, steps;
  double guidance;
  if (!prompt || !sinopia_json_get_int64 (root, "seed", 0, G_MAXINT64, &seed, NULL)
      || !sinopia_json_get_int64 (root, "steps", 0, G_MAXINT32, &steps, NULL)
      || !sinopia_json_get_double (root, "guidance", &guidance, NULL))
    return g_strdup (parameters);
  return g_strdup_printf ("%s\nseed %" G_GINT64_FORMAT " · %" G_GINT64_FORMAT " steps · guidance %g", prompt, seed,
                          steps, guidance);
}

static void
sync_history (SinopiaWindow *self)
{
  const SinopiaProject *p = sinopia_document_get_project (self->document);
  /* the strip is rebuilt only when the entries changed, not when another one is shown */
  gboolean same = TRUE;
  guint i = 0;
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->history_box)); child;
       child = gtk_widget_get_next_sibling (child), i++)
    same = same && i < p->history->len && g_object_get_data (G_OBJECT (child), "sinopia-item")
                                            == g_ptr_array_index (p->history, i);
  if (same && i == p->history->len)
    {
      g_action_group_change_action_state (G_ACTION_GROUP (self), "show-history", g_variant_new_int32 (p->shown));
      return;
    }
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->history_box))))
    gtk_box_remove (self->history_box, child);
  for (i = 0; i < p->history->len; i++)
    {
      const SinopiaHistoryItem *item = g_ptr_array_index (p->history, i);
      g_autoptr (GdkTexture) texture = texture_from_rgb (item->rgb, item->width, item->height);
      GtkWidget *picture = gtk_picture_new_for_paintable (GDK_PAINTABLE (texture));
      gtk_widget_set_size_request (picture, THUMBNAIL_SIZE, THUMBNAIL_SIZE);
      GtkWidget *button = gtk_toggle_button_new ();
      gtk_button_set_child (GTK_BUTTON (button), picture);
      gtk_widget_set_name (button, "history-item");
      g_autofree char *tooltip = describe_parameters (item->parameters);
      gtk_widget_set_tooltip_text (button, tooltip);
      gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "win.show-history");
      gtk_actionable_set_action_target_value (GTK_ACTIONABLE (button), g_variant_new_int32 ((gint32) i));
      gtk_widget_add_css_class (button, "flat");
      g_object_set_data (G_OBJECT (button), "sinopia-item", (gpointer) item);
      gtk_box_append (self->history_box, button);
    }
  g_action_group_change_action_state (G_ACTION_GROUP (self), "show-history", g_variant_new_int32 (p->shown));
}

/* The pixels of the shown result that differ from the input image, in magenta; NULL when
 * there is nothing to compare. *changed receives their number. */
static GdkTexture *
changed_pixels (const SinopiaProject *p, gsize *changed)
{
  *changed = 0;
  if (p->shown < 0 || !p->input_rgb)
    return NULL;
  const SinopiaHistoryItem *item = g_ptr_array_index (p->history, p->shown);
  if (item->width != p->composition->width || item->height != p->composition->height)
    return NULL;
  gsize n = (gsize) item->width * item->height;
  guint8 *rgba = g_malloc0 (n * 4);
  for (gsize i = 0; i < n; i++)
    if (memcmp (item->rgb + 3 * i, p->input_rgb + 3 * i, 3))
      {
        memcpy (rgba + 4 * i, (guint8[4]) { 255, 0, 255, 200 }, 4);
        (*changed)++;
      }
  g_autoptr (GBytes) bytes = g_bytes_new_take (rgba, n * 4);
  return gdk_memory_texture_new ((int) item->width, (int) item->height, GDK_MEMORY_R8G8B8A8, bytes,
                                 (gsize) item->width * 4);
}

gboolean
_sinopia_window_showing_changes (SinopiaWindow *self)
{
  g_autoptr (GVariant) state = g_action_group_get_action_state (G_ACTION_GROUP (self), "show-changes");
  return state && g_variant_get_boolean (state);
}

void
_sinopia_window_refresh_image (SinopiaWindow *self)
{
  const SinopiaProject *p = sinopia_document_get_project (self->document);
  const SinopiaComposition *c = p->composition;
  int shown = p->shown;
  /* before: the input image, or the result before the shown one */
  if (_sinopia_window_comparing (self) && shown >= 0)
    shown = p->input_rgb ? -1 : shown - 1;
  g_autoptr (GdkTexture) texture = NULL;
  if (shown >= 0)
    {
      const SinopiaHistoryItem *item = g_ptr_array_index (p->history, shown);
      texture = texture_from_rgb (item->rgb, item->width, item->height);
    }
  else if (p->input_rgb)
    texture = texture_from_rgb (p->input_rgb, c->width, c->height);
  sinopia_canvas_set_image (self->canvas, texture);
  gsize changed = 0;
  g_autoptr (GdkTexture) marks = _sinopia_window_showing_changes (self) ? changed_pixels (p, &changed) : NULL;
  sinopia_canvas_set_marks (self->canvas, marks);
  if (marks)
    {
      g_autofree char *text = g_strdup_printf ("%" G_GSIZE_FORMAT " pixels differ from the input (%.2f %%)", changed,
                                               100.0 * changed / ((double) c->width * c->height));
      gtk_label_set_label (self->status_label, text);
    }
}

/* ---- autosave ---- */

char *
sinopia_window_autosave_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "sinopia", "autosave", NULL);
}

static gboolean
autosave_now (gpointer data)
{
  SinopiaWindow *self = data;
  g_autoptr (GError) error = NULL;
  self->autosave_id = 0;
  g_autofree char *dir = g_path_get_dirname (self->autosave_path);
  if (g_mkdir_with_parents (dir, 0700) != 0
      || !sinopia_project_save (sinopia_document_get_project (self->document), self->autosave_path, &error))
    g_warning ("autosave to %s failed: %s", self->autosave_path, error ? error->message : g_strerror (errno));
  return G_SOURCE_REMOVE;
}

static void
schedule_autosave (SinopiaWindow *self)
{
  g_clear_handle_id (&self->autosave_id, g_source_remove);
  self->autosave_id = g_timeout_add_seconds (AUTOSAVE_DELAY_S, autosave_now, self);
}

static void
drop_autosave (SinopiaWindow *self)
{
  g_clear_handle_id (&self->autosave_id, g_source_remove);
  g_unlink (self->autosave_path);
}

/* ---- Live ---- */

static gboolean
live_enabled (SinopiaWindow *self)
{
  g_autoptr (GVariant) state = g_action_group_get_action_state (G_ACTION_GROUP (self), "live");
  return state && g_variant_get_boolean (state);
}

static gboolean
live_fire (gpointer data)
{
  SinopiaWindow *self = data;
  self->live_id = 0;
  /* never mid-stroke: the end of the stroke schedules it again */
  if (sinopia_canvas_get_stroking (self->canvas))
    {
      self->live_waiting = TRUE;
      return G_SOURCE_REMOVE;
    }
  self->live_waiting = FALSE;
  SinopiaGeneratorState state = sinopia_generator_get_state (self->generator);
  if (state == SINOPIA_GENERATOR_READY || state == SINOPIA_GENERATOR_RUNNING)
    _sinopia_window_generate (self, TRUE);
  return G_SOURCE_REMOVE;
}

static void
schedule_live (SinopiaWindow *self)
{
  if (!live_enabled (self))
    return;
  g_clear_handle_id (&self->live_id, g_source_remove);
  self->live_id = g_timeout_add (setting_uint (self, "live-delay-ms", DEFAULT_LIVE_DELAY_MS), live_fire, self);
}

static void
on_stroking_changed (SinopiaWindow *self)
{
  if (!sinopia_canvas_get_stroking (self->canvas) && self->live_waiting)
    schedule_live (self);
}

static void
on_document_changed (SinopiaDocument *document, guint what, SinopiaWindow *self)
{
  self->syncing = TRUE;
  if (what & SINOPIA_CHANGE_PROMPTS)
    sync_prompts (self);
  if (what & SINOPIA_CHANGE_REGIONS)
    sync_regions (self);
  if (what & (SINOPIA_CHANGE_SETTINGS | SINOPIA_CHANGE_IMAGE))
    sync_settings (self);
  if (what & SINOPIA_CHANGE_HISTORY)
    sync_history (self);
  if (what & (SINOPIA_CHANGE_HISTORY | SINOPIA_CHANGE_IMAGE))
    _sinopia_window_refresh_image (self);
  sync_selection (self);
  self->syncing = FALSE;
  recheck_refusal (self);
  if (what & SINOPIA_CHANGE_COMPOSITION)
    schedule_live (self);
  schedule_autosave (self);
  sync_title (self);
  _sinopia_window_update_actions (self);
}

/* ---- generation ---- */

void
_sinopia_window_generate (SinopiaWindow *self, gboolean live)
{
  g_autoptr (GError) error = NULL;
  SinopiaGenerationSettings *s = sinopia_document_get_settings (self->document);
  /* Live keeps the seed, so only the edit changes the picture */
  if (!s->keep_seed && !live)
    {
      s->seed = g_random_int ();
      sinopia_document_changed (self->document, SINOPIA_CHANGE_SETTINGS);
    }
  const SinopiaProject *p = sinopia_document_get_project (self->document);
  if (!sinopia_generator_run (self->generator, p->composition, s, p->input_rgb, &error))
    {
      refuse (self, error->message);
      return;
    }
  self->run_start = g_get_monotonic_time ();
  self->first_preview_s = -1;
  /* a run replacing a running one has no progress to show yet either */
  gtk_spinner_start (self->spinner);
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), TRUE);
  gtk_label_set_label (self->eta_label, "");
}

static void
on_preview (SinopiaGenerator *generator, GdkTexture *texture, guint step, guint n_steps, double eta,
            SinopiaWindow *self)
{
  if (self->first_preview_s < 0)
    {
      self->first_preview_s = (g_get_monotonic_time () - self->run_start) / 1e6;
      g_debug ("first preview %.3f s after the request", self->first_preview_s);
      /* The progress bar, the step count and the preview show the work from here on. A spinning
       * spinner redraws the window at the display's frame rate, which on the CPU takes time
       * from the engine: about 1 ms of the interface thread and 0.3 ms of the display server
       * per frame, 60 frames for each second of the run. */
      gtk_spinner_stop (self->spinner);
    }
  sinopia_canvas_set_image (self->canvas, texture);
  gtk_progress_bar_set_fraction (self->progress_bar, (double) step / n_steps);
  g_autofree char *text = g_strdup_printf ("%u/%u · %.1f s", step, n_steps, eta);
  gtk_label_set_label (self->eta_label, text);
}

static void
on_finished (SinopiaGenerator *generator, gpointer image_data, GBytes *png, const GError *error,
             SinopiaWindow *self)
{
  const SinopiaImage *image = image_data;
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), FALSE);
  gtk_label_set_label (self->eta_label, "");
  if (!image)
    {
      if (g_error_matches (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_CANCELLED)
          || g_error_matches (error, SINOPIA_JOB_ERROR, SINOPIA_JOB_ERROR_CANCELLED))
        _sinopia_window_toast (self, "Generation cancelled");
      else
        _sinopia_window_show_error (self, error);
      _sinopia_window_refresh_image (self);
      return;
    }
  g_debug ("image %.3f s after the request", (g_get_monotonic_time () - self->run_start) / 1e6);
  SinopiaHistoryItem *item = g_new0 (SinopiaHistoryItem, 1);
  item->width = image->width;
  item->height = image->height;
  item->rgb = g_memdup2 (image->rgb, (gsize) image->width * image->height * 3);
  item->parameters = sinopia_image_parameters_json (image);
  item->png = png ? g_bytes_ref (png) : NULL;
  sinopia_document_add_history (self->document, item);
  for (char **w = image->warnings; *w; w++)
    add_document_toast (self, *w);
}

static void
on_generator_state (SinopiaWindow *self)
{
  SinopiaGeneratorState state = sinopia_generator_get_state (self->generator);
  gtk_label_set_label (self->status_label, sinopia_generator_get_status (self->generator));
  gtk_spinner_set_spinning (self->spinner, state == SINOPIA_GENERATOR_LOADING || state == SINOPIA_GENERATOR_RUNNING);
  const GError *error = sinopia_generator_get_error (self->generator);
  if (state == SINOPIA_GENERATOR_FAILED && error)
    {
      g_autofree char *message = g_markup_escape_text (error->message, -1);
      g_autofree char *text = g_strdup_printf ("<b>%s</b>\n%s", message, sinopia_generator_error_advice (error));
      gtk_label_set_markup (self->error_label, text);
    }
  gtk_revealer_set_reveal_child (self->error_revealer, state == SINOPIA_GENERATOR_FAILED);
  /* a fresh document takes the model's native size and steps */
  const SinopiaModelInfo *info = sinopia_generator_get_model_info (self->generator);
  const SinopiaComposition *c = sinopia_document_get_composition (self->document);
  if (state == SINOPIA_GENERATOR_READY && info && !sinopia_document_get_modified (self->document)
      && (c->width != info->native_width || c->height != info->native_height))
    {
      SinopiaProject *fresh = sinopia_project_new (info->native_width, info->native_height);
      fresh->settings.steps = setting_uint (self, "default-steps", 0);
      _sinopia_window_set_project (self, fresh);
    }
  recheck_refusal (self);
  _sinopia_window_update_actions (self);
}

void
_sinopia_window_load_model (SinopiaWindow *self)
{
  g_autofree char *model = setting_string (self, "model-folder");
  g_autofree char *device = setting_string (self, "device");
  sinopia_generator_load (self->generator, model, device);
}

static void
on_map (SinopiaWindow *self)
{
  if (sinopia_generator_get_state (self->generator) != SINOPIA_GENERATOR_IDLE)
    return;
  /* the GUI test times the application's start by this line */
  g_debug ("window shown; loading the model");
  _sinopia_window_load_model (self);
}

/* ---- side panel input ---- */

static void
on_prompt_changed (GtkEditable *editable, SinopiaWindow *self)
{
  if (self->syncing)
    return;
  const char *which = editable == GTK_EDITABLE (self->prompt_entry)     ? "prompt"
                      : editable == GTK_EDITABLE (self->negative_entry) ? "negative"
                                                                        : "source_prompt";
  sinopia_document_set_prompt (self->document, which, gtk_editable_get_text (editable));
}

static void
on_setting_changed (GtkSpinButton *spin, SinopiaWindow *self)
{
  if (self->syncing)
    return;
  SinopiaGenerationSettings *s = sinopia_document_get_settings (self->document);
  double value = gtk_spin_button_get_value (spin);
  if (spin == self->steps_spin)
    s->steps = (guint) value;
  else if (spin == self->seed_spin)
    s->seed = (guint64) value;
  else if (spin == self->guidance_spin)
    s->guidance = spin_get_double_or_default (spin);
  else if (spin == self->base_ratio_spin)
    s->base_ratio = spin_get_double_or_default (spin);
  else if (spin == self->inject_spin)
    s->mask_inject_steps = (int) value;
  else if (spin == self->double_spin)
    s->double_interval = (int) value;
  else if (spin == self->single_spin)
    s->single_interval = (int) value;
  sinopia_document_changed (self->document, SINOPIA_CHANGE_SETTINGS);
}

/* Steps and guidance at 0, the base ratio one step below 0 and the advanced options at −1 mean the
 * model's own value: say so. */
static gboolean
on_spin_output (GtkSpinButton *spin, gpointer data)
{
  if (!spin_at_default (spin))
    return FALSE;
  gtk_editable_set_text (GTK_EDITABLE (spin), "model default");
  return TRUE;
}

static void
on_size_changed (GtkSpinButton *spin, SinopiaWindow *self)
{
  if (self->syncing)
    return;
  uint32_t width = (uint32_t) gtk_spin_button_get_value (self->width_spin) / 16 * 16;
  uint32_t height = (uint32_t) gtk_spin_button_get_value (self->height_spin) / 16 * 16;
  const SinopiaComposition *c = sinopia_document_get_composition (self->document);
  if (width == c->width && height == c->height)
    return;
  sinopia_composition_resize (sinopia_document_begin_edit (self->document, NULL), MAX (width, 16), MAX (height, 16));
  sinopia_document_end_edit (self->document, SINOPIA_CHANGE_MASKS | SINOPIA_CHANGE_IMAGE);
}

static void
on_row_selected (GtkListBox *list, GtkListBoxRow *row, SinopiaWindow *self)
{
  if (!self->syncing && row)
    sinopia_document_select (self->document, sinopia_region_row_get_region (SINOPIA_REGION_ROW (row)));
}

static void
on_selected_region (SinopiaWindow *self)
{
  self->syncing = TRUE;
  sync_selection (self);
  self->syncing = FALSE;
  _sinopia_window_update_actions (self);
}

static void
on_modified (SinopiaWindow *self)
{
  sync_title (self);
}

/* ---- files ---- */

gboolean
_sinopia_window_save_to (SinopiaWindow *self, GFile *file)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_file_get_path (file);
  if (!path || !sinopia_project_save (sinopia_document_get_project (self->document), path, &error))
    {
      g_autofree char *text = g_strdup_printf ("Could not save the project: %s. Choose another place with Save As.",
                                               error ? error->message : "not a local file");
      _sinopia_window_toast (self, text);
      return FALSE;
    }
  g_set_object (&self->file, file);
  sinopia_document_set_modified (self->document, FALSE);
  drop_autosave (self);
  sync_title (self);
  return TRUE;
}

gboolean
_sinopia_window_export_to (SinopiaWindow *self, GFile *file)
{
  const SinopiaProject *p = sinopia_document_get_project (self->document);
  if (p->shown < 0)
    {
      _sinopia_window_toast (self, "Nothing to export yet: generate an image first.");
      return FALSE;
    }
  const SinopiaHistoryItem *item = g_ptr_array_index (p->history, p->shown);
  g_autofree char *regions = sinopia_composition_regions_json (p->composition);
  const char *texts[] = { "parameters", item->parameters, "sinopia-regions", regions, "Software",
                          "Sinopia " PACKAGE_VERSION, NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_file_get_path (file);
  if (!path || !sinopia_png_save_rgb (path, item->rgb, item->width, item->height, texts, &error))
    {
      g_autofree char *text = g_strdup_printf ("Could not export: %s. Choose another place.",
                                               error ? error->message : "not a local file");
      _sinopia_window_toast (self, text);
      return FALSE;
    }
  return TRUE;
}

static gboolean
is_project (const char *path)
{
  return g_str_has_suffix (path, SINOPIA_PROJECT_EXTENSION);
}

void
sinopia_window_open_file (SinopiaWindow *self, GFile *file)
{
  g_return_if_fail (SINOPIA_IS_WINDOW (self));
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_file_get_path (file);
  if (!path)
    {
      _sinopia_window_toast (self, "Only local files can be opened.");
      return;
    }
  if (is_project (path))
    {
      SinopiaProject *project = sinopia_project_load (path, &error);
      if (!project)
        {
          g_autofree char *text = g_strdup_printf ("Could not open the project: %s", error->message);
          _sinopia_window_toast (self, text);
          return;
        }
      _sinopia_window_set_project (self, project);
      g_set_object (&self->file, file);
      sync_title (self);
      return;
    }
  guint8 *rgb;
  uint32_t width, height;
  g_autofree char *note = NULL;
  if (!sinopia_image_import (path, &rgb, &width, &height, &note, &error))
    {
      g_autofree char *text = g_strdup_printf ("Could not open the image: %s", error->message);
      _sinopia_window_toast (self, text);
      return;
    }
  /* encoded once here, so autosaves do not encode it again */
  g_autoptr (GBytes) png = sinopia_png_encode_rgb (rgb, width, height, NULL, NULL);
  sinopia_document_set_input (self->document, rgb, png, width, height);
  if (note)
    add_document_toast (self, note);
}

void
sinopia_window_offer_recovery (SinopiaWindow *self, const char *path)
{
  g_return_if_fail (SINOPIA_IS_WINDOW (self));
  AdwToast *toast = adw_toast_new ("Unsaved work from a previous session was found");
  adw_toast_set_button_label (toast, "_Restore");
  adw_toast_set_action_name (toast, "win.recover");
  adw_toast_set_action_target_value (toast, g_variant_new_string (path));
  adw_toast_set_timeout (toast, 0);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

/* A file dropped on the window opens as open_file does. */
static gboolean
on_drop (GtkDropTarget *target, const GValue *value, double x, double y, SinopiaWindow *self)
{
  GSList *files = g_value_get_boxed (value);
  if (!files)
    return FALSE;
  sinopia_window_open_file (self, files->data);
  return TRUE;
}

/* ---- object ---- */

static void
sinopia_window_dispose (GObject *object)
{
  SinopiaWindow *self = SINOPIA_WINDOW (object);
  g_clear_handle_id (&self->autosave_id, g_source_remove);
  g_clear_handle_id (&self->live_id, g_source_remove);
  /* the overlay dismisses them as it goes */
  if (self->document_toasts)
    {
      for (guint i = 0; i < self->document_toasts->len; i++)
        g_signal_handlers_disconnect_by_data (g_ptr_array_index (self->document_toasts, i), self);
      g_clear_pointer (&self->document_toasts, g_ptr_array_unref);
      self->refusal = NULL;
    }
  /* unsaved work stays in the autosave, which the next start offers to restore */
  if (self->document && sinopia_document_get_modified (self->document))
    autosave_now (self);
  else if (self->document)
    drop_autosave (self);
  if (self->generator)
    {
      g_signal_handlers_disconnect_by_data (self->generator, self);
      /* cancels a running generation and waits for the worker */
      g_clear_object (&self->generator);
    }
  if (self->document)
    g_signal_handlers_disconnect_by_data (self->document, self);
  gtk_widget_dispose_template (GTK_WIDGET (self), SINOPIA_TYPE_WINDOW);
  g_clear_object (&self->document);
  g_clear_object (&self->settings);
  g_clear_object (&self->file);
  G_OBJECT_CLASS (sinopia_window_parent_class)->dispose (object);
}

static void
sinopia_window_finalize (GObject *object)
{
  g_free (SINOPIA_WINDOW (object)->autosave_path);
  G_OBJECT_CLASS (sinopia_window_parent_class)->finalize (object);
}

static void
sinopia_window_class_init (SinopiaWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = sinopia_window_dispose;
  object_class->finalize = sinopia_window_finalize;
  g_type_ensure (SINOPIA_TYPE_CANVAS);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/sinopia/Sinopia/ui/sinopia-window.ui");
#define BIND(name) gtk_widget_class_bind_template_child (widget_class, SinopiaWindow, name)
  BIND (window_title);
  BIND (toast_overlay);
  BIND (error_revealer);
  BIND (error_label);
  BIND (canvas);
  BIND (spinner);
  BIND (status_label);
  BIND (progress_bar);
  BIND (eta_label);
  BIND (history_box);
  BIND (prompt_entry);
  BIND (negative_entry);
  BIND (source_entry);
  BIND (prompt_label);
  BIND (source_label);
  BIND (regions_hint);
  BIND (region_list);
  BIND (brush_spin);
  BIND (steps_spin);
  BIND (seed_spin);
  BIND (guidance_spin);
  BIND (base_ratio_spin);
  BIND (width_spin);
  BIND (height_spin);
  BIND (inject_spin);
  BIND (double_spin);
  BIND (single_spin);
#undef BIND
}

static void
sinopia_window_init (SinopiaWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->first_preview_s = -1;
  self->document_toasts = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *dir = sinopia_window_autosave_dir ();
  g_autofree char *name = g_strdup_printf ("%" G_GINT64_FORMAT "-%d-%p" SINOPIA_PROJECT_EXTENSION,
                                           g_get_real_time (), (int) getpid (), (void *) self);
  self->autosave_path = g_build_filename (dir, name, NULL);

  self->document = sinopia_document_new (128, 128);
  sinopia_document_set_modified (self->document, FALSE);
  sinopia_canvas_set_document (self->canvas, self->document);
  g_signal_connect (self->document, "changed", G_CALLBACK (on_document_changed), self);
  g_signal_connect_swapped (self->document, "notify::selected-region", G_CALLBACK (on_selected_region), self);
  g_signal_connect_swapped (self->document, "notify::modified", G_CALLBACK (on_modified), self);

  self->generator = sinopia_generator_new ();
  g_signal_connect_swapped (self->generator, "notify::state", G_CALLBACK (on_generator_state), self);
  g_signal_connect_swapped (self->generator, "notify::status", G_CALLBACK (on_generator_state), self);
  g_signal_connect (self->generator, "preview", G_CALLBACK (on_preview), self);
  g_signal_connect (self->generator, "finished", G_CALLBACK (on_finished), self);

  g_signal_connect (self->prompt_entry, "changed", G_CALLBACK (on_prompt_changed), self);
  g_signal_connect (self->negative_entry, "changed", G_CALLBACK (on_prompt_changed), self);
  g_signal_connect (self->source_entry, "changed", G_CALLBACK (on_prompt_changed), self);
  GtkSpinButton *settings[] = { self->steps_spin, self->seed_spin, self->guidance_spin, self->base_ratio_spin,
                                self->inject_spin, self->double_spin, self->single_spin };
  for (guint i = 0; i < G_N_ELEMENTS (settings); i++)
    g_signal_connect (settings[i], "value-changed", G_CALLBACK (on_setting_changed), self);
  GtkSpinButton *defaulted[] = { self->steps_spin, self->guidance_spin, self->base_ratio_spin, self->inject_spin,
                                 self->double_spin, self->single_spin };
  for (guint i = 0; i < G_N_ELEMENTS (defaulted); i++)
    g_signal_connect (defaulted[i], "output", G_CALLBACK (on_spin_output), NULL);
  g_signal_connect (self->width_spin, "value-changed", G_CALLBACK (on_size_changed), self);
  g_signal_connect (self->height_spin, "value-changed", G_CALLBACK (on_size_changed), self);
  g_signal_connect (self->region_list, "row-selected", G_CALLBACK (on_row_selected), self);
  g_object_bind_property (gtk_spin_button_get_adjustment (self->brush_spin), "value", self->canvas, "brush-size",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  g_signal_connect_swapped (self->canvas, "notify::stroking", G_CALLBACK (on_stroking_changed), self);
  g_signal_connect (self, "map", G_CALLBACK (on_map), NULL);
  GtkDropTarget *drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));

  _sinopia_window_install_actions (self);
  on_document_changed (self->document, SINOPIA_CHANGE_ALL, self);
  sinopia_document_set_modified (self->document, FALSE);
  g_clear_handle_id (&self->autosave_id, g_source_remove);
  on_generator_state (self);
}

SinopiaWindow *
sinopia_window_new (GtkApplication *application, GSettings *settings)
{
  SinopiaWindow *self = g_object_new (SINOPIA_TYPE_WINDOW, "application", application, NULL);
  if (settings)
    {
      self->settings = g_object_ref (settings);
      sinopia_document_get_settings (self->document)->steps = setting_uint (self, "default-steps", 0);
      sinopia_document_changed (self->document, SINOPIA_CHANGE_SETTINGS);
      sinopia_document_set_modified (self->document, FALSE);
      g_clear_handle_id (&self->autosave_id, g_source_remove);
    }
  return self;
}

SinopiaDocument *
sinopia_window_get_document (SinopiaWindow *self)
{
  g_return_val_if_fail (SINOPIA_IS_WINDOW (self), NULL);
  return self->document;
}

SinopiaGenerator *
sinopia_window_get_generator (SinopiaWindow *self)
{
  g_return_val_if_fail (SINOPIA_IS_WINDOW (self), NULL);
  return self->generator;
}

SinopiaCanvas *
sinopia_window_get_canvas (SinopiaWindow *self)
{
  g_return_val_if_fail (SINOPIA_IS_WINDOW (self), NULL);
  return self->canvas;
}
