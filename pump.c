/* See LICENSE file for copyright and license details. */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "pump.h"

void
pump_init(struct pump *p, int a, int b)
{
	memset(p, 0, sizeof(*p));
	p->fd[0] = a;
	p->fd[1] = b;
}

/* What to wait for on each end: input while its buffer is empty,
 * room for the other end's bytes while there are some. */
void
pump_events(const struct pump *p, struct pollfd pfd[2])
{
	int i;

	for (i = 0; i < 2; i++) {
		pfd[i].fd = p->fd[i];
		pfd[i].events = 0;
		pfd[i].revents = 0;
		if (p->len[i] == 0 && !p->eof[i])
			pfd[i].events |= POLLIN;
		if (p->len[!i] > p->off[!i])
			pfd[i].events |= POLLOUT;
		/* Else its hang-up would wake poll again and again. */
		if (pfd[i].events == 0)
			pfd[i].fd = -1;
	}
}

/* fd[i] takes no more: what is for it, and will be, goes nowhere, while
 * what it says still goes to the other end. */
static void
pump_refused(struct pump *p, int i)
{
	p->eof[!i] = 1;
	p->len[!i] = p->off[!i] = 0;
}

/* Moves what poll said can move, reading room bytes at most. */
long long
pump_move(struct pump *p, const struct pollfd pfd[2], long long room)
{
	long long moved = 0;
	size_t want;
	ssize_t n;
	int i;

	for (i = 0; i < 2; i++) {
		if (!pfd[i].revents)
			continue;
		if ((pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    p->len[i] == 0 && !p->eof[i] && room > 0) {
			want = room < PUMP_BUF ? (size_t)room : PUMP_BUF;
			n = read(p->fd[i], p->buf[i], want);
			if (n > 0) {
				p->len[i] = (size_t)n;
				p->off[i] = 0;
				p->bytes[i] += n;
				moved += n;
				room -= n;
			} else if (n == 0 || (errno != EINTR &&
			    errno != EAGAIN)) {
				p->eof[i] = 1;
				shutdown(p->fd[!i], SHUT_WR);
			}
		}
		if ((pfd[i].revents & (POLLOUT | POLLERR | POLLHUP)) &&
		    p->len[!i] > p->off[!i]) {
			n = send(p->fd[i], p->buf[!i] + p->off[!i],
			    p->len[!i] - p->off[!i], MSG_NOSIGNAL);
			if (n > 0)
				p->off[!i] += (size_t)n;
			else if (n < 0 && errno != EINTR && errno != EAGAIN)
				pump_refused(p, i);
			if (p->off[!i] == p->len[!i])
				p->len[!i] = p->off[!i] = 0;
		}
	}
	return moved;
}

int
pump_done(const struct pump *p)
{
	return p->eof[0] && p->eof[1] && p->len[0] == 0 && p->len[1] == 0;
}
