/* See LICENSE file for copyright and license details. */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "sbx.h"
#include "proto.h"
#include "pump.h"

/*
 * allow_hosts: the container has no network, and sbx gives it an HTTP
 * proxy that reaches those hosts alone.  The container's init forwards
 * 127.0.0.1:PROXY_PORT to the Unix socket CTR_PROXY, bind-mounted from
 * the run directory (see supervise.c, forward()); here, on the host, a
 * process of ours serves that socket: each connection is a process of
 * its own that reads one request (CONNECT host:port, or a plain HTTP
 * request with its host in the URL or Host), checks it against the
 * list, resolves the name, refuses loopback, private and link-local
 * addresses unless the entry maps the name, connects, and then pumps
 * bytes both ways until either side ends, the run's bytes run out, or
 * the run ends.  Every connection is one "net" event, written to a pipe
 * that the run's loop reads (backend_cli.c), and one audit line.
 *
 * All that comes in the socket is the script's, hostile: the request is
 * read to HEAD_MAX bytes at most, HEAD_WAIT seconds at most.
 */

#define HEAD_MAX	8192	/* a request's line and headers */
#define HEAD_WAIT	10	/* seconds for them to come */
#define CONNECT_WAIT	10	/* seconds for the host to answer */
#define NET_TOTAL	1000	/* connections in a run, events with them */

struct proxy {
	pid_t pid;		/* the server */
	int fd;			/* its events, a line each */
	char *path;		/* the socket */
	char line[PIPE_BUF];	/* a part line read */
	size_t len;
};

/* What the server and each connection's process share. */
struct serve {
	int listen, events, audit;
	const char *name;	/* the container's, for audit lines */
	struct allow *allow;
	size_t nallow;
	long conns;
	long long max_bytes;	/* 0: no bound */
	long long *used;	/* shared: bytes through so far */
};

/* One connection, as its event tells it. */
struct conn {
	char method[16];
	char host[256];
	int port;
	char addr[64];		/* connected to, or "" */
	int allowed;
	int status;		/* what we answered; 0: the host did */
	const char *reason;	/* NULL if none */
	long long bytes[2];	/* from the script, from the host */
	struct timespec t0;
};

static volatile sig_atomic_t opt_stop;

static void
on_stop(int sig)
{
	(void)sig;
	opt_stop = 1;
}

static double
since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	    (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
conn_fields(struct jbuf *j, const struct conn *c)
{
	jb_str(j, "method", c->method);
	jb_str(j, "host", *c->host ? c->host : NULL);
	if (c->port)
		jb_int(j, "port", c->port);
	else
		jb_null(j, "port");
	jb_bool(j, "allowed", c->allowed);
	jb_str(j, "address", *c->addr ? c->addr : NULL);
	if (c->status)
		jb_int(j, "status", c->status);
	else
		jb_null(j, "status");
	jb_str(j, "reason", c->reason);
	jb_int(j, "bytes_out", c->bytes[0]);
	jb_int(j, "bytes_in", c->bytes[1]);
	jb_fixed(j, "duration", (long long)(since(&c->t0) * 1000), 3);
}

/* The connection's event line, and its audit line; each one write(2),
 * so that connections' lines never interleave. */
static void
conn_end(const struct serve *sv, const struct conn *c)
{
	struct jbuf j;

	jb_begin(&j, "net");
	conn_fields(&j, c);
	jb_write(&j, sv->events);
	if (sv->audit < 0)
		return;
	audit_begin(&j, "net");
	jb_str(&j, "name", sv->name);
	conn_fields(&j, c);
	jb_write(&j, sv->audit);
}

/* Our own answer, then the connection ends. */
static void
answer(int fd, struct conn *c, int code, const char *reason)
{
	const char *text = code == 403 ? "Forbidden" : code == 400 ?
	    "Bad Request" : code == 502 ? "Bad Gateway" : code == 504 ?
	    "Gateway Timeout" : "Service Unavailable";
	char buf[1024];
	int n;

	c->status = code;
	c->reason = reason;
	n = snprintf(buf, sizeof(buf), "HTTP/1.1 %d %s\r\nContent-Type: "
	    "text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n"
	    "sbx: %s\n", code, text, strlen(reason) + 6, reason);
	if (n > 0 && (size_t)n < sizeof(buf))
		(void)!send(fd, buf, (size_t)n, MSG_NOSIGNAL);
}

/* The request's line and headers: 0, or -1 if they did not come whole
 * in time.  *len is all that was read, *head where the rest starts. */
static int
read_head(int fd, char *buf, size_t *len, size_t *head)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	time_t end = time(NULL) + HEAD_WAIT;
	char *e;
	ssize_t n;

	*len = 0;
	while (!opt_stop && *len < HEAD_MAX && time(NULL) < end) {
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		if ((n = read(fd, buf + *len, HEAD_MAX - *len)) <= 0)
			return -1;
		*len += (size_t)n;
		buf[*len] = '\0';
		if ((e = strstr(buf, "\r\n\r\n")) != NULL) {
			*head = (size_t)(e - buf) + 4;
			return memchr(buf, '\0', *head) ? -1 : 0;
		}
	}
	return -1;
}

/* "host[:port]" into c, lower case; the port dflt if none. */
static int
authority(struct conn *c, const char *s, size_t n, int dflt)
{
	const char *colon = memchr(s, ':', n);
	size_t hn = colon ? (size_t)(colon - s) : n, i;
	long port = dflt;
	char num[8];

	if (hn == 0 || hn >= sizeof(c->host))
		return 0;
	for (i = 0; i < hn; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(".-_", s[i]))
			return 0;
	for (i = 0; i < hn; i++)
		c->host[i] = (char)tolower((unsigned char)s[i]);
	c->host[hn] = '\0';
	if (colon) {
		n -= hn + 1;
		if (n == 0 || n >= sizeof(num) ||
		    strspn(colon + 1, "0123456789") < n)
			return 0;
		memcpy(num, colon + 1, n);
		num[n] = '\0';
		port = atol(num);
	}
	if (port < 1 || port > 65535)
		return 0;
	c->port = (int)port;
	return 1;
}

#define TOKEN "!#$%&'*+-.^_`|~0123456789" \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

/*
 * The header lines, checked as a proxy must read them alike with the
 * host behind it: each "name:" with the name a token and no space
 * before the colon, every line ended by CR LF, none folded.  The value
 * of the one Host header in *host (NULL if none), its length in *hn.
 * Returns NULL, or what is wrong.
 */
static const char *
check_headers(const char *buf, size_t head, const char **host, size_t *hn)
{
	const char *p = strstr(buf, "\r\n") + 2, *end = buf + head - 2, *nl;
	size_t n;

	*host = NULL;
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end + 2 - p));
		if (nl == NULL || nl[-1] != '\r')
			return "a line not ended by CR LF";
		n = strspn(p, TOKEN);
		if (n == 0 || p[n] != ':')
			return "a header line that is not \"name: value\"";
		if (n == 4 && strncasecmp(p, "host", 4) == 0) {
			if (*host)
				return "two Host headers";
			for (*host = p + 5; **host == ' ' || **host == '\t';
			    (*host)++)
				;
			*hn = strcspn(*host, "\r \t");
		}
	}
	return NULL;
}

/* The Host header names what the URL does: host, and port if any. */
static int
host_agrees(const struct conn *c, const char *h, size_t hn)
{
	struct conn hc;

	memset(&hc, 0, sizeof(hc));
	return authority(&hc, h, hn, 80) && strcmp(hc.host, c->host) == 0 &&
	    hc.port == c->port;
}

/*
 * The request line: CONNECT host:port, or METHOD http://host[:port]/...
 * or METHOD /..., both with a Host header that says the same host.  For
 * the two plain forms, *path and *plen are the origin-form path to send
 * on in place of the URL, "/" if it has none; *ver is where " HTTP/1.x"
 * starts.  Returns NULL, or what is wrong.
 */
static const char *
parse_request(const char *buf, size_t head, struct conn *c,
    const char **path, size_t *plen, const char **ver)
{
	const char *t, *h, *slash, *why;
	size_t n, hn = 0;

	n = strspn(buf, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
	if (n == 0 || n >= sizeof(c->method) || buf[n] != ' ')
		return "not an HTTP request";
	memcpy(c->method, buf, n);
	c->method[n] = '\0';
	t = buf + n + 1;
	if ((*ver = strchr(t, ' ')) == NULL || *ver > strstr(buf, "\r\n") ||
	    strncmp(*ver, " HTTP/1.", 8) != 0 || (*ver)[9] != '\r')
		return "not an HTTP/1 request";
	if ((why = check_headers(buf, head, &h, &hn)) != NULL)
		return why;
	n = (size_t)(*ver - t);
	if (strcmp(c->method, "CONNECT") == 0) {
		*path = NULL;
		return authority(c, t, n, 0) ? NULL :
		    "CONNECT wants host:port";
	}
	if (h == NULL)
		return "no Host header";
	if (strncasecmp(t, "http://", 7) == 0) {
		t += 7;
		n -= 7;
		slash = memchr(t, '/', n);
		hn = slash ? (size_t)(slash - t) : n;
		if (memchr(t, '@', hn))
			return "no user names in the URL";
		if (!authority(c, t, hn, 80))
			return "a bad host in the URL";
		*path = slash ? slash : "/";
		*plen = slash ? (size_t)(*ver - slash) : 1;
	} else if (*t == '/') {
		if (!authority(c, h, hn, 80))
			return "a bad Host header";
		*path = t;
		*plen = n;
	} else {
		return "https:// and other URLs want CONNECT";
	}
	/* The host must read the name we checked. */
	return host_agrees(c, h, hn) ? NULL :
	    "the Host header is not the URL's host";
}

/* Headers about the connection, which is ours to end: not passed on. */
static int
hop_header(const char *p)
{
	static const char *names[] = { "Connection:", "Keep-Alive:",
	    "Proxy-Connection:", "Proxy-Authorization:", "Upgrade:" };
	size_t i;

	for (i = 0; i < LEN(names); i++)
		if (strncasecmp(p, names[i], strlen(names[i])) == 0)
			return 1;
	return 0;
}

/*
 * A plain request as it goes to the host, into out (PUMP_BUF, more
 * than HEAD_MAX needs): its line with the path alone, its headers but
 * those about the connection, "Connection: close", so that the host
 * takes this one request and no other, then what came after the head.
 * Returns its length.
 */
static size_t
rebuild(const char *buf, size_t head, size_t len, const struct conn *c,
    const char *path, size_t plen, const char *ver, char *out)
{
	const char *p, *nl;
	size_t n;

	n = (size_t)sprintf(out, "%s ", c->method);
	memcpy(out + n, path, plen);
	n += plen;
	memcpy(out + n, ver, 11);	/* " HTTP/1.x\r\n" */
	n += 11;
	for (p = strstr(buf, "\r\n") + 2; p < buf + head - 2; p = nl + 1) {
		nl = strchr(p, '\n');
		if (hop_header(p))
			continue;
		memcpy(out + n, p, (size_t)(nl + 1 - p));
		n += (size_t)(nl + 1 - p);
	}
	memcpy(out + n, "Connection: close\r\n\r\n", 21);
	n += 21;
	memcpy(out + n, buf + head, len - head);
	return n + len - head;
}

/* The entry that lets host:port through, or NULL: one that maps the
 * name wins. */
static const struct allow *
allowed(const struct serve *sv, const char *host, int port)
{
	const struct allow *a, *found = NULL;

	for (a = sv->allow; a < sv->allow + sv->nallow; a++)
		if (allow_match(a, host, port) && (found == NULL || *a->addr))
			found = a;
	return found;
}

/* Loopback, private, link-local, shared, multicast, documentation or
 * reserved, IPv4 or within IPv6 (mapped, compatible, 6to4, NAT64): not
 * for a name to reach unless its entry says so. */
static int
inner(const struct sockaddr *sa)
{
	static const unsigned char zero[12];
	const unsigned char *b;

	if (sa->sa_family == AF_INET6) {
		b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		if (memcmp(b, zero, 10) == 0 && ((b[10] == 0xff &&
		    b[11] == 0xff) || (b[10] == 0 && b[11] == 0 &&
		    (b[12] | b[13]) != 0)))
			b += 12;	/* ::ffff:a.b.c.d, ::a.b.c.d */
		else if (b[0] == 0x20 && b[1] == 0x02)
			b += 2;		/* 2002:a.b.c.d::/48 */
		else if (b[0] == 0 && b[1] == 0x64 && b[2] == 0xff &&
		    b[3] == 0x9b && memcmp(b + 4, zero, 8) == 0)
			b += 12;	/* 64:ff9b::a.b.c.d */
		else		/* ::, ::1, fc00::/7, fe80::/9 (fec0 too) */
			return (memcmp(b, zero, 12) == 0 && (b[12] | b[13] |
			    b[14]) == 0 && b[15] <= 1) ||
			    (b[0] & 0xfe) == 0xfc || (b[0] == 0xfe &&
			    (b[1] & 0x80) == 0x80) || b[0] == 0xff;
	} else {
		b = (const unsigned char *)
		    &((const struct sockaddr_in *)sa)->sin_addr.s_addr;
	}
	return b[0] == 0 || b[0] == 10 || b[0] == 127 || b[0] >= 224 ||
	    (b[0] == 100 && (b[1] & 0xc0) == 64) ||
	    (b[0] == 169 && b[1] == 254) || (b[0] == 172 &&
	    (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
	    (b[0] == 192 && b[1] == 0 && (b[2] == 0 || b[2] == 2)) ||
	    (b[0] == 198 && (b[1] & 0xfe) == 18) ||
	    (b[0] == 198 && b[1] == 51 && b[2] == 100) ||
	    (b[0] == 203 && b[1] == 0 && b[2] == 113);
}

/* A connection to the first address that may be reached; -1 with
 * c->reason and c->status set if none. */
static int
reach(struct conn *c, const struct allow *a)
{
	static char why[700];
	struct addrinfo hints, *res, *ai;
	struct pollfd pfd;
	char port[8];
	int fd = -1, err, e = 0;
	socklen_t el = sizeof(e);

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = *a->addr ? AI_NUMERICHOST : 0;
	snprintf(port, sizeof(port), "%d", c->port);
	if ((err = getaddrinfo(*a->addr ? a->addr : c->host, port, &hints,
	    &res)) != 0) {
		snprintf(why, sizeof(why), "%s: %s", c->host,
		    gai_strerror(err));
		c->status = 502;
		c->reason = why;
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next)
		if (*a->addr || !inner(ai->ai_addr))
			break;
	if (ai == NULL) {
		getnameinfo(res->ai_addr, res->ai_addrlen, c->addr,
		    sizeof(c->addr), NULL, 0, NI_NUMERICHOST);
		snprintf(why, sizeof(why), "%s is %s, a loopback, private or "
		    "link-local address: map it as %s:%d=ADDR", c->host,
		    c->addr, c->host, c->port);
		*c->addr = '\0';
		freeaddrinfo(res);
		c->status = 403;
		c->allowed = 0;
		c->reason = why;
		return -1;
	}
	getnameinfo(ai->ai_addr, ai->ai_addrlen, c->addr, sizeof(c->addr),
	    NULL, 0, NI_NUMERICHOST);
	/* The address we checked, and no other: no second lookup. */
	if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) < 0) {
		e = errno;
	} else if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (errno != EINPROGRESS)
			e = errno;
		else if (poll(&pfd, 1, CONNECT_WAIT * 1000) <= 0)
			e = ETIMEDOUT;
		else
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
	}
	freeaddrinfo(res);
	if (fd < 0 || e != 0) {
		snprintf(why, sizeof(why), "%s (%s): %s", c->host, c->addr,
		    strerror(e));
		if (fd >= 0)
			close(fd);
		c->status = e == ETIMEDOUT ? 504 : 502;
		c->reason = why;
		return -1;
	}
	return fd;
}

/*
 * n bytes of the run's net_bytes, taken before they move: 0 if they are
 * not all there.  Taken and given back around each read, so that no
 * two connections spend the same bytes.
 */
static int
spend(const struct serve *sv, long long n)
{
	if (sv->max_bytes == 0)
		return 1;
	if (__atomic_add_fetch(sv->used, n, __ATOMIC_SEQ_CST) <= sv->max_bytes)
		return 1;
	__atomic_sub_fetch(sv->used, n, __ATOMIC_SEQ_CST);
	return 0;
}

static void
unspend(const struct serve *sv, long long n)
{
	if (sv->max_bytes)
		__atomic_sub_fetch(sv->used, n, __ATOMIC_SEQ_CST);
}

/* Bytes both ways until both sides are done, the run's bytes are
 * spent, or the run ends. */
static void
relay(const struct serve *sv, struct conn *c, struct pump *p)
{
	struct pollfd pfd[2];
	long long room, n;

	while (!pump_done(p)) {
		if (opt_stop) {
			c->reason = "the run ended";
			break;
		}
		pump_events(p, pfd);
		if (poll(pfd, 2, 1000) <= 0)
			continue;
		/* The most a move reads: both buffers' worth. */
		for (room = 2 * PUMP_BUF; room > 0 && !spend(sv, room);
		    room /= 2)
			;
		if (room == 0) {
			c->reason = "net_bytes reached";
			break;
		}
		n = pump_move(p, pfd, room);
		unspend(sv, room - n);
	}
	c->bytes[0] += p->bytes[0];
	c->bytes[1] = p->bytes[1];
}

/* One connection, in a process of its own. */
static void
serve_one(const struct serve *sv, int fd, struct conn *c)
{
	static char buf[HEAD_MAX + 1];
	static struct pump p;
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	const struct allow *a;
	const char *why, *path, *ver;
	size_t len, head, plen = 0, n;
	int up;

	if (read_head(fd, buf, &len, &head) < 0) {
		answer(fd, c, 400, opt_stop ? "the run ended" :
		    "no whole request line and headers in time");
		return;
	}
	if ((why = parse_request(buf, head, c, &path, &plen, &ver)) != NULL) {
		answer(fd, c, 400, why);
		return;
	}
	if ((a = allowed(sv, c->host, c->port)) == NULL) {
		answer(fd, c, 403, "not in allow_hosts");
		return;
	}
	c->allowed = 1;
	pump_init(&p, fd, -1);
	if (path == NULL) {	/* CONNECT: the tunnel opens */
		memcpy(p.buf[1], ok, sizeof(ok) - 1);
		p.len[1] = sizeof(ok) - 1;
		n = len - head;
		memcpy(p.buf[0], buf + head, n);
	} else {
		n = rebuild(buf, head, len, c, path, plen, ver, p.buf[0]);
	}
	/* What goes on with the request counts as the script's bytes. */
	if (!spend(sv, (long long)n)) {
		answer(fd, c, 503, "net_bytes reached");
		return;
	}
	if ((up = reach(c, a)) < 0) {
		unspend(sv, (long long)n);
		answer(fd, c, c->status, c->reason);
		return;
	}
	if (path == NULL)
		c->status = 200;
	p.fd[1] = up;
	p.len[0] = n;
	c->bytes[0] = (long long)n;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	relay(sv, c, &p);
	close(up);
}

static void
serve_conn(const struct serve *sv, int fd)
{
	struct conn c;

	memset(&c, 0, sizeof(c));
	clock_gettime(CLOCK_MONOTONIC, &c.t0);
	strcpy(c.method, "?");
	serve_one(sv, fd, &c);
	conn_end(sv, &c);
	close(fd);
}

/* The server: a process per connection, sv->conns at once at most.
 * SIGTERM ends all of them, each with its event. */
static void
serve(struct serve *sv)
{
	struct pollfd pfd = { sv->listen, POLLIN, 0 };
	struct conn c;
	long live = 0, total = 0;
	pid_t pid;
	int fd, i;

	for (;;) {
		while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
			live--;
		if (opt_stop)
			break;
		if (poll(&pfd, 1, 1000) <= 0 ||
		    (fd = accept(sv->listen, NULL, NULL)) < 0)
			continue;
		while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
			live--;
		if (++total > NET_TOTAL || live >= sv->conns) {
			memset(&c, 0, sizeof(c));
			clock_gettime(CLOCK_MONOTONIC, &c.t0);
			strcpy(c.method, "?");
			answer(fd, &c, 503, total > NET_TOTAL ? "1000 "
			    "connections in this run: no more" :
			    "net_connections reached");
			conn_end(sv, &c);
			close(fd);
			/* The last event: no more connections come. */
			if (total > NET_TOTAL) {
				close(sv->listen);
				pfd.fd = -1;
			}
			continue;
		}
		if ((pid = fork()) == 0) {
			close(sv->listen);
			serve_conn(sv, fd);
			_exit(0);
		}
		if (pid > 0)
			live++;
		close(fd);
	}
	/* Each connection ends on its own SIGTERM, its event written. */
	kill(0, SIGTERM);
	for (i = 0; i < 30 && live > 0; i++) {
		while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
			live--;
		if (live > 0)
			usleep(100000);
	}
	_exit(0);
}

/* The socket at path, for the container's user to connect to. */
static int
proxy_listen(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		die("%s: too long a path for a socket", path);
	strcpy(sa.sun_path, path);
	/* A session's last step's, if its sbx was killed: the directory
	 * is ours, and read-only in the container. */
	unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0666) < 0 || listen(fd, 64) < 0)
		die("proxy socket %s:", path);
	return fd;
}

/*
 * Closes every descriptor from 3 on but a, b and c (-1: none), as
 * /proc/self/fd lists them (RLIMIT_NOFILE may be large), else up to
 * 1024.
 */
static void
keep_fds(int a, int b, int c)
{
	struct dirent *de;
	DIR *d;
	int fd, self;

	if ((d = opendir("/proc/self/fd")) == NULL) {
		for (fd = 3; fd < 1024; fd++)
			if (fd != a && fd != b && fd != c)
				close(fd);
		return;
	}
	self = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		fd = atoi(de->d_name);
		if (fd >= 3 && fd != self && fd != a && fd != b && fd != c)
			close(fd);
	}
	closedir(d);
}

/*
 * The proxy of p's allow_hosts, serving the socket sbxdir/NAME_PROXY
 * (the container's CTR_PROXY) until proxy_stop; NULL if the list is
 * empty.  Its events come through proxy_read; audit lines go to audit
 * (-1: none).
 */
struct proxy *
proxy_start(const struct policy *p, const char *sbxdir, const char *name,
    int audit)
{
	struct sigaction sa;
	struct proxy *px;
	struct serve sv;
	sigset_t all, old;
	int ev[2], null;
	pid_t parent;
	size_t i;

	if (p->allow_hosts[0] == NULL)
		return NULL;
	px = ecalloc(1, sizeof(*px));
	px->path = smprintf("%s/" NAME_PROXY, sbxdir);
	memset(&sv, 0, sizeof(sv));
	sv.listen = proxy_listen(px->path);
	sv.nallow = strv_len(p->allow_hosts);
	sv.allow = ecalloc(sv.nallow, sizeof(*sv.allow));
	for (i = 0; i < sv.nallow; i++)
		allow_entry(p->allow_hosts[i], &sv.allow[i]);
	sv.conns = p->net_conns;
	sv.max_bytes = p->net_bytes;
	sv.audit = audit;
	sv.name = name;
	sv.used = mmap(NULL, sizeof(*sv.used), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sv.used == MAP_FAILED || pipe(ev) < 0)
		die("proxy:");
	fcntl(ev[0], F_SETFD, FD_CLOEXEC);
	fcntl(ev[1], F_SETFD, FD_CLOEXEC);
	sv.events = ev[1];
	/* No signal of ours until its own handlers are in place. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	parent = getpid();
	if ((px->pid = fork()) < 0)
		die("fork:");
	if (px->pid == 0) {
		/* Only what it serves with: a step's FIFOs, held open
		 * here, would keep its stdin from ever ending. */
		keep_fds(sv.listen, ev[1], sv.audit);
		setpgid(0, 0);
		/* Ours to end, at the run's end or sbx's. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_stop;	/* no SA_RESTART */
		sigaction(SIGTERM, &sa, NULL);
		sa.sa_handler = SIG_IGN;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		sigaction(SIGALRM, &sa, NULL);
		sigaction(SIGPIPE, &sa, NULL);
		/* sbx's output is not ours: a reader waits for its end. */
		if ((null = open("/dev/null", O_RDWR)) >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			if (null > 2)
				close(null);
		}
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		if (getppid() != parent)	/* sbx died before the prctl */
			_exit(0);
		serve(&sv);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(ev[1]);
	close(sv.listen);
	free(sv.allow);
	munmap(sv.used, sizeof(*sv.used));
	px->fd = ev[0];
	return px;
}

/* The proxy's event pipe, for the run's poll; -1 if none. */
int
proxy_fd(const struct proxy *px)
{
	return px ? px->fd : -1;
}

/* Each whole line that came is an event.  0 once the pipe is at its
 * end. */
int
proxy_read(struct proxy *px)
{
	struct jbuf j;
	char *nl;
	ssize_t n;

	n = read(px->fd, px->line + px->len, sizeof(px->line) - px->len);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return 0;
	px->len += (size_t)n;
	/* Our own lines, written whole: "{...}\n", each shorter than
	 * the buffer. */
	while ((nl = memchr(px->line, '\n', px->len)) != NULL) {
		if (nl - px->line >= 2 && nl[-1] == '}') {
			memset(&j, 0, sizeof(j));
			jb_put(&j, px->line, (size_t)(nl - 1 - px->line));
			jb_emit(&j);	/* which puts the "}\n" back */
		}
		px->len -= (size_t)(nl + 1 - px->line);
		memmove(px->line, nl + 1, px->len);
	}
	if (px->len == sizeof(px->line))
		px->len = 0;
	return 1;
}

/* Ends the proxy and every connection through it, their events read
 * first; the socket goes with it. */
void
proxy_stop(struct proxy *px)
{
	struct pollfd pfd;
	int i;

	if (px == NULL)
		return;
	kill(px->pid, SIGTERM);
	pfd.fd = px->fd;
	pfd.events = POLLIN;
	for (i = 0; i < 50; i++)
		if (poll(&pfd, 1, 100) > 0 && !proxy_read(px))
			break;
	kill(-px->pid, SIGKILL);
	while (waitpid(px->pid, NULL, 0) < 0 && errno == EINTR)
		;
	close(px->fd);
	unlink(px->path);
	free(px->path);
	free(px);
}
