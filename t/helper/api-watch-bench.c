/*
 * api-watch-bench - watch delivery latency to many watchers (docs/bench/api.md).
 *
 *   api-watch-bench [-w WATCHERS] [-e EVENTS] HOST:PORT
 *
 * Opens WATCHERS watches on /api/v1/namespaces/default/configmaps (from the
 * current resourceVersion), then creates EVENTS configmaps one after the
 * other; for each, measures the time from sending the create until each
 * watcher has read the event (an event ends with "}\n" in the stream). The
 * next create is sent when every watcher has its event. Prints p50/p99/max
 * over all WATCHERS x EVENTS deliveries.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char host[256];
static int port;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_one(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, host, &sa.sin_addr);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One request on a new connection; the whole response into buf (NUL-terminated). */
static int request(const char *req, char *buf, size_t cap)
{
	int fd = connect_one();
	if (fd < 0 || send_all(fd, req, strlen(req)))
		return -1;
	size_t n = 0;
	ssize_t r;
	while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
	close(fd);
	return 0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct watcher {
	int fd;
	unsigned events; /* complete events read */
	char last;       /* last byte read (an event end may straddle reads) */
};

int main(int argc, char **argv)
{
	int nw = 1000, ne = 20, opt;
	while ((opt = getopt(argc, argv, "w:e:")) != -1) {
		if (opt == 'w')
			nw = atoi(optarg);
		else if (opt == 'e')
			ne = atoi(optarg);
		else
			goto usage;
	}
	if (optind != argc - 1 || nw <= 0 || ne <= 0 ||
	    sscanf(argv[optind], "%255[^:]:%d", host, &port) != 2)
		goto usage;
	struct rlimit rl = { (rlim_t)nw + 64, (rlim_t)nw + 64 };
	setrlimit(RLIMIT_NOFILE, &rl);

	char *buf = malloc(1 << 20);
	char req[1024];
	snprintf(req, sizeof(req),
		 "GET /api/v1/namespaces/default/configmaps?limit=1 HTTP/1.1\r\nHost: %s\r\n"
		 "Connection: close\r\n\r\n", host);
	if (!buf || request(req, buf, 1 << 20))
		return fprintf(stderr, "api-watch-bench: cannot list\n"), 1;
	char *rvp = strstr(buf, "\"resourceVersion\":\"");
	if (!rvp)
		return fprintf(stderr, "api-watch-bench: no resourceVersion in %s\n", buf), 1;
	unsigned long long rv = strtoull(rvp + 19, NULL, 10);

	struct watcher *w = calloc((size_t)nw, sizeof(*w));
	int ep = epoll_create1(0);
	for (int i = 0; i < nw; i++) {
		w[i].fd = connect_one();
		if (w[i].fd < 0)
			return fprintf(stderr, "api-watch-bench: connect %d: %s\n", i,
				       strerror(errno)), 1;
		snprintf(req, sizeof(req),
			 "GET /api/v1/namespaces/default/configmaps?watch=1&resourceVersion=%llu "
			 "HTTP/1.1\r\nHost: %s\r\n\r\n", rv, host);
		if (send_all(w[i].fd, req, strlen(req)))
			return fprintf(stderr, "api-watch-bench: send failed\n"), 1;
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		epoll_ctl(ep, EPOLL_CTL_ADD, w[i].fd, &ev);
	}
	/* Let the watches register before the first event. */
	usleep(500000);

	double *lat = malloc(sizeof(double) * (size_t)nw * (size_t)ne);
	size_t nlat = 0;
	unsigned missing = 0;
	struct epoll_event evs[256];
	for (int e = 0; e < ne; e++) {
		char bodyj[256];
		int bl = snprintf(bodyj, sizeof(bodyj),
				  "{\"metadata\":{\"name\":\"wb-%d-%ld\"},\"data\":{\"k\":\"v\"}}", e,
				  (long)getpid());
		snprintf(req, sizeof(req),
			 "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: %s\r\n"
			 "Content-Type: application/json\r\nContent-Length: %d\r\n"
			 "Connection: close\r\n\r\n%s", host, bl, bodyj);
		double t0 = now();
		if (request(req, buf, 1 << 16) || !strstr(buf, " 201 "))
			return fprintf(stderr, "api-watch-bench: create failed: %.200s\n", buf), 1;
		int got = 0;
		for (int i = 0; i < nw; i++)
			if (w[i].events > (unsigned)e)
				got++;
		while (got < nw && now() - t0 < 5) {
			int n = epoll_wait(ep, evs, 256, 100);
			for (int k = 0; k < n; k++) {
				struct watcher *x = &w[evs[k].data.u32];
				ssize_t r = read(x->fd, buf, 65536);
				if (r <= 0) {
					epoll_ctl(ep, EPOLL_CTL_DEL, x->fd, NULL);
					continue;
				}
				for (ssize_t j = 0; j < r; j++) {
					if (buf[j] == '\n' && x->last == '}') {
						x->events++;
						if (x->events == (unsigned)e + 1) {
							lat[nlat++] = now() - t0;
							got++;
						}
					}
					x->last = buf[j];
				}
			}
		}
		missing += (unsigned)(nw - got);
	}
	qsort(lat, nlat, sizeof(double), cmp);
	if (!nlat)
		return fprintf(stderr, "api-watch-bench: no event delivered\n"), 1;
	printf("watch delivery: %d watchers x %d events: %zu delivered, %u missing, "
	       "p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
	       nw, ne, nlat, missing, lat[nlat / 2] * 1e3, lat[(size_t)(nlat * 0.99)] * 1e3,
	       lat[nlat - 1] * 1e3);
	return missing ? 1 : 0;
usage:
	fprintf(stderr, "usage: api-watch-bench [-w WATCHERS] [-e EVENTS] HOST:PORT\n");
	return 2;
}
