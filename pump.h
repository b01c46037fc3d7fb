/* See LICENSE file for copyright and license details. */
/*
 * pump.c: bytes both ways between two stream sockets, for both ends of
 * the allow_hosts proxy: the forwarder in the container (supervise.c)
 * and the host's proxy (proxy.c).  libc only, as supervise.c is built
 * alone and static.
 *
 * buf[i] holds what was read from fd[i] and not yet written to the
 * other; an end that said EOF is shut for writing on the other side
 * once its bytes are out, so each direction ends on its own.
 */
#define PUMP_BUF	16384

struct pump {
	int fd[2];
	char buf[2][PUMP_BUF];
	size_t len[2], off[2];
	int eof[2];		/* fd[i] said EOF, or failed */
	long long bytes[2];	/* read from fd[i] */
};

void pump_init(struct pump *p, int a, int b);
void pump_events(const struct pump *p, struct pollfd pfd[2]);
long long pump_move(struct pump *p, const struct pollfd pfd[2],
    long long room);	/* bytes read; room: at most that many */
int pump_done(const struct pump *p);
