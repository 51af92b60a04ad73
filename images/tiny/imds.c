/* imds: minimal HTTP/1.0 client for the instance metadata service.
 *
 * busybox 1.35's wget cannot send PUT (needed for the IMDSv2 token), so the
 * tiny image ships this instead. Built with `gcc -static` by build.sh.
 *
 *   imds [-X METHOD] [-H 'Name: value']... [-t SECONDS] HOST[:PORT] PATH
 *
 * Writes the response body to stdout. Exit status: 0 on HTTP 2xx, 1 on any
 * other HTTP status (printed to stderr), 2 on a connection error/timeout.
 * HOST must be a numeric IPv4 address (no resolver in the image).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEADERS 16
#define MAX_RESPONSE (32u << 20)

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int wait_fd(int fd, short ev, long deadline)
{
    for (;;) {
        long left = deadline - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = { .fd = fd, .events = ev };
        int r = poll(&p, 1, (int)left);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: imds [-X METHOD] [-H 'Name: value']... [-t SECONDS] HOST[:PORT] PATH\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *method = "GET", *hdrs[MAX_HEADERS];
    int nhdrs = 0, timeout = 2, opt;

    while ((opt = getopt(argc, argv, "X:H:t:")) != -1) {
        switch (opt) {
        case 'X': method = optarg; break;
        case 'H':
            if (nhdrs == MAX_HEADERS)
                usage();
            hdrs[nhdrs++] = optarg;
            break;
        case 't': timeout = atoi(optarg); break;
        default: usage();
        }
    }
    if (argc - optind != 2 || timeout <= 0)
        usage();

    char host[64];
    snprintf(host, sizeof host, "%s", argv[optind]);
    const char *path = argv[optind + 1];
    int port = 80;
    char *colon = strchr(host, ':');
    if (colon) {
        *colon = '\0';
        port = atoi(colon + 1);
    }
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 || port <= 0 || port > 65535)
        usage();

    long deadline = now_ms() + timeout * 1000L;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("imds: socket");
        return 2;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int err = errno;
        socklen_t len = sizeof err;
        if (err != EINPROGRESS || wait_fd(fd, POLLOUT, deadline) < 0 ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
            fprintf(stderr, "imds: connect %s:%d: %s\n", host, port,
                    err && err != EINPROGRESS ? strerror(err) : "timed out");
            return 2;
        }
    }

    /* Request: HTTP/1.0 so the server closes the connection after the body. */
    char req[4096];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n",
                     method, path, host);
    for (int i = 0; i < nhdrs && n > 0 && (size_t)n < sizeof req; i++)
        n += snprintf(req + n, sizeof req - n, "%s\r\n", hdrs[i]);
    if (n > 0 && (size_t)n < sizeof req && strcmp(method, "GET") && strcmp(method, "HEAD"))
        n += snprintf(req + n, sizeof req - n, "Content-Length: 0\r\n");
    if (n > 0 && (size_t)n < sizeof req)
        n += snprintf(req + n, sizeof req - n, "\r\n");
    if (n <= 0 || (size_t)n >= sizeof req) {
        fprintf(stderr, "imds: request too long\n");
        return 2;
    }
    for (int off = 0; off < n;) {
        if (wait_fd(fd, POLLOUT, deadline) < 0) {
            fprintf(stderr, "imds: send timed out\n");
            return 2;
        }
        ssize_t w = send(fd, req + off, n - off, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
            perror("imds: send");
            return 2;
        }
        if (w > 0)
            off += (int)w;
    }

    /* Response: read until EOF (or Content-Length bytes of body). */
    size_t cap = 8192, len = 0, body_off = 0;
    long content_len = -1;
    char *buf = malloc(cap);
    if (!buf)
        return 2;
    for (;;) {
        if (body_off && content_len >= 0 && len - body_off >= (size_t)content_len)
            break;
        if (wait_fd(fd, POLLIN, deadline) < 0) {
            fprintf(stderr, "imds: receive timed out\n");
            return 2;
        }
        if (len + 4096 > cap) {
            if (cap >= MAX_RESPONSE) {
                fprintf(stderr, "imds: response too large\n");
                return 2;
            }
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb)
                return 2;
            buf = nb;
        }
        ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (r < 0) {
            perror("imds: recv");
            return 2;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        buf[len] = '\0';
        if (!body_off) {
            char *end = strstr(buf, "\r\n\r\n");
            if (end) {
                body_off = (size_t)(end - buf) + 4;
                for (char *l = strstr(buf, "\r\n"); l && l < end; l = strstr(l + 2, "\r\n"))
                    if (!strncasecmp(l + 2, "Content-Length:", 15))
                        content_len = strtol(l + 17, NULL, 10);
            }
        }
    }
    close(fd);
    buf[len] = '\0';

    int status = 0;
    if (!body_off || sscanf(buf, "HTTP/%*d.%*d %d", &status) != 1) {
        fprintf(stderr, "imds: malformed response\n");
        return 2;
    }
    size_t blen = len - body_off;
    if (content_len >= 0 && (size_t)content_len < blen)
        blen = (size_t)content_len;
    if (status < 200 || status > 299) {
        fprintf(stderr, "imds: %s %s: HTTP %d\n", method, path, status);
        return 1;
    }
    if (fwrite(buf + body_off, 1, blen, stdout) != blen || fflush(stdout))
        return 2;
    return 0;
}
