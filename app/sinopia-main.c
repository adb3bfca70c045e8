/* sinopia-main.c — the `sinopia` GUI: runs the application, nothing else. */
#define G_LOG_DOMAIN "sinopia"

#include "sinopia-application.h"
#include "sinopia-vk.h"

int
main (int argc, char **argv)
{
  sinopia_vk_setup_process ();
  g_autoptr (SinopiaApplication) application = sinopia_application_new ();
  return g_application_run (G_APPLICATION (application), argc, argv);
}
