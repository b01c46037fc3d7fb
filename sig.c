/* See LICENSE file for copyright and license details. */
#include <signal.h>
#include <string.h>

#include "sbx.h"

/*
 * The program's signal state.  The handlers only set these flags; the
 * loops that wait on a container or a step act on them (see
 * backend_cli.c and step.c), as isolate does.
 */
volatile sig_atomic_t opt_alarm;	/* the timeout's SIGALRM came */
volatile sig_atomic_t opt_signal;	/* SIGINT, SIGTERM or SIGHUP, or 0 */

static void
on_alarm(int sig)
{
	(void)sig;
	opt_alarm = 1;
}

static void
on_signal(int sig)
{
	opt_signal = sig;
}

/* Without SA_RESTART, so that poll and waitpid return EINTR. */
void
sig_init(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	for (i = 0; i < LEN(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	/* A closed stdout shows up as a write error, not our death
	 * with the container still running. */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* The signal that asked us to stop, or 0. */
int
sbx_signalled(void)
{
	return opt_signal;
}
