/* SPDX-License-Identifier: MIT */
/* The CUSE daemon mode of usbip-cuse. */
#ifndef DAEMON_H
#define DAEMON_H

/* Parse the daemon options and run until SIGTERM/SIGINT; returns the exit
 * status (0 ok, 1 runtime error, 2 usage error). */
int daemon_main(int argc, char **argv);

#endif /* DAEMON_H */
