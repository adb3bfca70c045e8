/* sinopia-window-private.h — the window's state, shared by sinopia-window.c (construction,
 * views, generation, Live, autosave) and sinopia-window-actions.c (the actions). */
#pragma once

#include "sinopia-window.h"

G_BEGIN_DECLS

struct _SinopiaWindow {
  AdwApplicationWindow parent_instance;

  SinopiaDocument *document;
  SinopiaGenerator *generator;
  GSettings *settings;       /* NULL: defaults */
  GFile *file;               /* the project file; NULL until saved or opened */
  char *autosave_path;
  guint autosave_id;         /* pending autosave */
  guint live_id;             /* pending Live run (debounce) */
  gboolean live_waiting;     /* a change came in during a stroke */
  gboolean syncing;          /* widgets are being set from the document */
  gint64 run_start;          /* when the running generation was asked for */
  double first_preview_s;    /* seconds from the request to its first preview, −1 before it */
  GPtrArray *document_toasts; /* AdwToast: the toasts about this document not yet dismissed */
  AdwToast *refusal;          /* one of them: why Generate was refused, while that still holds */

  /* template children */
  AdwWindowTitle *window_title;
  AdwToastOverlay *toast_overlay;
  GtkRevealer *error_revealer;
  GtkLabel *error_label;
  SinopiaCanvas *canvas;
  GtkSpinner *spinner;
  GtkLabel *status_label;
  GtkProgressBar *progress_bar;
  GtkLabel *eta_label;
  GtkBox *history_box;
  GtkEntry *prompt_entry, *negative_entry, *source_entry;
  GtkLabel *prompt_label, *source_label, *regions_hint;
  GtkListBox *region_list;
  GtkSpinButton *brush_spin, *steps_spin, *seed_spin, *guidance_spin, *base_ratio_spin, *width_spin, *height_spin;
  GtkSpinButton *inject_spin, *double_spin, *single_spin;
};

/* sinopia-window-actions.c */
void _sinopia_window_install_actions (SinopiaWindow *self);
/* Enables the actions that depend on the state (undo/redo, generate/cancel, history). */
void _sinopia_window_update_actions (SinopiaWindow *self);

/* sinopia-window.c */
void _sinopia_window_generate (SinopiaWindow *self, gboolean live);
void _sinopia_window_toast (SinopiaWindow *self, const char *message);
/* Replaces the document's project (transfer full), dropping what belonged to the old one: its
 * running generation and its toasts. */
void _sinopia_window_set_project (SinopiaWindow *self, SinopiaProject *project);
void _sinopia_window_show_error (SinopiaWindow *self, const GError *error);
/* The image the canvas shows (before/after aware). */
void _sinopia_window_refresh_image (SinopiaWindow *self);
gboolean _sinopia_window_comparing (SinopiaWindow *self);
/* Whether the changed-pixels view is on (win.show-changes). */
gboolean _sinopia_window_showing_changes (SinopiaWindow *self);
void _sinopia_window_load_model (SinopiaWindow *self);
gboolean _sinopia_window_save_to (SinopiaWindow *self, GFile *file);
gboolean _sinopia_window_export_to (SinopiaWindow *self, GFile *file);

G_END_DECLS
