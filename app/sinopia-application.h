/* sinopia-application.h — the GUI application, id org.sinopia.Sinopia: one window per document,
 * keyboard accelerators, preferences (GSettings, or built-in defaults when the schema is neither
 * installed nor in the build directory), and the offer to restore autosaved work at start.
 * Threads: the main thread.
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define SINOPIA_APP_ID "org.sinopia.Sinopia"

#define SINOPIA_TYPE_APPLICATION (sinopia_application_get_type ())
G_DECLARE_FINAL_TYPE (SinopiaApplication, sinopia_application, SINOPIA, APPLICATION, AdwApplication)

SinopiaApplication *sinopia_application_new (void);

G_END_DECLS
