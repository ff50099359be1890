/* SPDX-License-Identifier: MIT */
/* The CUSE daemon mode of usbip-cuse. */
#ifndef DAEMON_H
#define DAEMON_H

/* Parse and validate the daemon options (command line, --config), then
 * run until SIGTERM/SIGINT; returns the exit status (0 ok, 1 start-up or
 * runtime error, 2 usage or configuration error: nothing was started). */
int daemon_main(int argc, char **argv);

/* `usbip-cuse check-config FILE`: validate without starting anything;
 * 0 when valid (what it describes is printed), 2 otherwise. */
int daemon_check_config(int argc, char **argv);

#endif /* DAEMON_H */
