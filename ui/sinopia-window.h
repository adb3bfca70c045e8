/* sinopia-window.h — one document's window: header bar, canvas with tools, side panel (prompts,
 * regions, mode, parameters), progress and history strip. Every command is a window action
 * ("win.generate", "win.undo", ...; the list and accelerators are in sinopia-window-actions.c
 * and docs/ui.md), so menus, buttons, keys and tests all take the same path.
 *
 * Ownership: the window owns its document and its generator (engine worker); closing it cancels
 * a running generation and waits for the worker to stop. Threads: the main thread.
 */
#pragma once

#include <adwaita.h>

#include "sinopia-canvas.h"
#include "sinopia-document.h"
#include "sinopia-generator.h"

G_BEGIN_DECLS

#define SINOPIA_TYPE_WINDOW (sinopia_window_get_type ())
G_DECLARE_FINAL_TYPE (SinopiaWindow, sinopia_window, SINOPIA, WINDOW, AdwApplicationWindow)

/* `settings` (may be NULL: built-in defaults) is the org.sinopia.Sinopia schema: device,
 * model folder, default steps, live delay. The window starts loading the model once shown. */
SinopiaWindow *sinopia_window_new (GtkApplication *application, GSettings *settings);

/* (transfer none) for tests and the application. */
SinopiaDocument *sinopia_window_get_document (SinopiaWindow *self);
SinopiaGenerator *sinopia_window_get_generator (SinopiaWindow *self);
SinopiaCanvas *sinopia_window_get_canvas (SinopiaWindow *self);

/* Opens an image (PNG, JPEG) as the input, or a project file. Errors are shown in the window. */
void sinopia_window_open_file (SinopiaWindow *self, GFile *file);

/* Offers to restore the autosaved project at `path` (left by a session that did not close). */
void sinopia_window_offer_recovery (SinopiaWindow *self, const char *path);

/* Sets the keyboard accelerators of the window actions on `application`. */
void sinopia_window_set_accels (GtkApplication *application);

/* Where autosaves live: $XDG_DATA_HOME/sinopia/autosave. (transfer full) */
char *sinopia_window_autosave_dir (void);

G_END_DECLS
