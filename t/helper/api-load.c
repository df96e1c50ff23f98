/*
 * api-load - a small keep-alive HTTP load generator for the API server
 * benchmarks (wrk is not on the machine image).
 *
 *   api-load [-c CONNS] [-d SECONDS] [-m GET|POST] [-b BODYFILE] URL
 *
 * Each connection is one thread doing request/response in a loop on one
 * keep-alive socket. For POST, "%n" in the body is replaced by a unique
 * number (so creates do not collide). Prints requests/s, p50/p99 latency
 * and the count of non-2xx answers.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char host[256], path[2048];
static int port;
static const char *method = "GET";
static char *body_tmpl;
static double duration = 5;
static volatile int stop;
static unsigned long counter;

struct th {
	pthread_t t;
	int id;
	unsigned long n, errors;
	double *lat;
	size_t nlat, cap;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_one(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
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

/* Reads one response with Content-Length; returns status or -1. */
static int read_response(int fd, char *buf, size_t cap)
{
	size_t have = 0;
	for (;;) {
		ssize_t r = read(fd, buf + have, cap - have - 1);
		if (r <= 0)
			return -1;
		have += (size_t)r;
		buf[have] = 0;
		char *hend = strstr(buf, "\r\n\r\n");
		if (!hend)
			continue;
		char *cl = strcasestr(buf, "content-length:");
		size_t len = cl ? strtoul(cl + 15, NULL, 10) : 0;
		size_t total = (size_t)(hend + 4 - buf) + len;
		int status = atoi(buf + 9);
		while (have < total) {
			size_t want = total - have;
			char tmp[65536];
			r = read(fd, tmp, want < sizeof(tmp) ? want : sizeof(tmp));
			if (r <= 0)
				return -1;
			have += (size_t)r;
		}
		return status;
	}
}

static void *run(void *arg)
{
	struct th *t = arg;
	int fd = connect_one();
	char *req = malloc(1 << 20), *resp = malloc(1 << 16);
	while (!stop && fd >= 0) {
		size_t n;
		if (body_tmpl) {
			char b[65536];
			unsigned long id = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
			char num[32];
			snprintf(num, sizeof(num), "%lu", id);
			size_t o = 0;
			for (const char *p = body_tmpl; *p && o < sizeof(b) - 32; p++) {
				if (p[0] == '%' && p[1] == 'n') {
					o += (size_t)snprintf(b + o, sizeof(b) - o, "%s", num);
					p++;
				} else {
					b[o++] = *p;
				}
			}
			b[o] = 0;
			n = (size_t)snprintf(req, 1 << 20,
					     "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: "
					     "application/json\r\nContent-Length: %zu\r\n\r\n%s",
					     method, path, host, o, b);
		} else {
			n = (size_t)snprintf(req, 1 << 20, "%s %s HTTP/1.1\r\nHost: %s\r\n\r\n", method,
					     path, host);
		}
		double t0 = now();
		if (write(fd, req, n) != (ssize_t)n)
			break;
		/* LIST responses can be large: read_response drains past its buffer. */
		int st = read_response(fd, resp, 1 << 16);
		if (st < 0)
			break;
		double dt = now() - t0;
		if (st < 200 || st > 299)
			t->errors++;
		t->n++;
		if (t->nlat == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 4096;
			t->lat = realloc(t->lat, t->cap * sizeof(double));
		}
		t->lat[t->nlat++] = dt;
	}
	if (fd >= 0)
		close(fd);
	free(req);
	free(resp);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int conns = 64, c;
	while ((c = getopt(argc, argv, "c:d:m:b:")) != -1) {
		switch (c) {
		case 'c': conns = atoi(optarg); break;
		case 'd': duration = atof(optarg); break;
		case 'm': method = optarg; break;
		case 'b': {
			FILE *f = fopen(optarg, "rb");
			if (!f) {
				perror(optarg);
				return 2;
			}
			body_tmpl = calloc(1, 65536);
			size_t r = fread(body_tmpl, 1, 65535, f);
			body_tmpl[r] = 0;
			fclose(f);
			break;
		}
		default:
			fprintf(stderr, "usage: api-load [-c CONNS] [-d SECS] [-m METHOD] [-b BODY] URL\n");
			return 2;
		}
	}
	if (optind >= argc || sscanf(argv[optind], "http://%255[^:]:%d%2047s", host, &port, path) < 2) {
		fprintf(stderr, "api-load: URL must be http://HOST:PORT/PATH\n");
		return 2;
	}
	if (!path[0])
		strcpy(path, "/");
	struct th *ts = calloc((size_t)conns, sizeof(*ts));
	double t0 = now();
	for (int i = 0; i < conns; i++) {
		ts[i].id = i;
		pthread_create(&ts[i].t, NULL, run, &ts[i]);
	}
	usleep((useconds_t)(duration * 1e6));
	stop = 1;
	unsigned long n = 0, errors = 0;
	size_t nl = 0;
	for (int i = 0; i < conns; i++) {
		pthread_join(ts[i].t, NULL);
		n += ts[i].n;
		errors += ts[i].errors;
		nl += ts[i].nlat;
	}
	double el = now() - t0;
	double *all = malloc((nl + 1) * sizeof(double));
	size_t o = 0;
	for (int i = 0; i < conns; i++) {
		memcpy(all + o, ts[i].lat, ts[i].nlat * sizeof(double));
		o += ts[i].nlat;
		free(ts[i].lat);
	}
	qsort(all, nl, sizeof(double), cmp);
	printf("%s %s: %d connections, %.1f s: %lu requests, %.0f req/s, p50 %.2f ms, p99 %.2f ms, "
	       "non-2xx %lu\n",
	       method, path, conns, el, n, (double)n / el, nl ? all[nl / 2] * 1e3 : 0,
	       nl ? all[(size_t)((double)nl * 0.99)] * 1e3 : 0, errors);
	free(all);
	free(ts);
	return 0;
}
