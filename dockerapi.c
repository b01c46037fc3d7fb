/* See LICENSE file for copyright and license details. */
#include <sys/socket.h>
#include <sys/un.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbx.h"

/*
 * docker's own API on its local socket, for what every docker run
 * pays, the removal and the OOM question: starting the CLI costs more
 * than the rest of sbx.  Only when DOCKER_HOST names no other daemon and
 * no context is chosen.  Returns the HTTP status, 0 if there was none,
 * with the response (headers and body) in buf.  Callers take only a
 * clean answer and otherwise ask the CLI, so a context that points
 * elsewhere still gets its container removed.
 */
int
docker_api(const char *method, const char *path_q, char *buf, size_t size)
{
	const char *host = getenv("DOCKER_HOST"), *path = "/var/run/docker.sock";
	struct sockaddr_un sa;
	char req[256];
	size_t len = 0;
	ssize_t n;
	int fd, code = 0;

	if (getenv("DOCKER_CONTEXT") != NULL)
		return 0;
	if (host != NULL && *host != '\0') {
		if (strncmp(host, "unix://", 7) != 0)
			return 0;
		path = host + 7;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path) ||
	    (fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		return 0;
	strcpy(sa.sun_path, path);
	snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: docker\r\n\r\n",
	    method, path_q);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    write(fd, req, strlen(req)) == (ssize_t)strlen(req)) {
		/* HTTP/1.0: the daemon closes when it is done. */
		while (len < size - 1 &&
		    (n = read(fd, buf + len, size - 1 - len)) > 0)
			len += (size_t)n;
		buf[len] = '\0';
		sscanf(buf, "HTTP/%*s %d", &code);
	}
	close(fd);
	return code;
}
