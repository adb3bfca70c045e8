/* sinopia-preferences-window.h — the preferences of org.sinopia.Sinopia (device, model folder,
 * default steps, Live pause), bound to GSettings so every change is stored at once. Device and
 * model apply to windows opened afterwards (and to Retry), steps to new documents.
 * Threads: the main thread.
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define SINOPIA_TYPE_PREFERENCES_WINDOW (sinopia_preferences_window_get_type ())
G_DECLARE_FINAL_TYPE (SinopiaPreferencesWindow, sinopia_preferences_window, SINOPIA, PREFERENCES_WINDOW,
                      AdwPreferencesWindow)

/* `settings`: the org.sinopia.Sinopia settings (a reference is kept). */
GtkWidget *sinopia_preferences_window_new (GSettings *settings);

G_END_DECLS
