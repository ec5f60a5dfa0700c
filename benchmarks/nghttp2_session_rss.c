/*
 * What libnghttp2 alone costs per connection, in resident memory: N server sessions created with the options
 * Chancery's NGHTTP2Session sets, each fed one client connection preface, SETTINGS and the HEADERS of one gRPC stream
 * (the state of an idle proxy holding one ADS stream), with all of its output drained. Prints the growth of VmRSS
 * divided by N, and the sizes nghttp2 asked the allocator for while building the first session.
 *
 *   cc -O2 benchmarks/nghttp2_session_rss.c -o /tmp/nghttp2_session_rss -lnghttp2 && /tmp/nghttp2_session_rss 10000
 *
 * It sets the floor under "server RSS per idle proxy" in docs/BENCHMARKS.md: no Swift code is involved.
 */
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tracing;
static size_t traced[64];
static int tracedCount;

static void note(size_t size) {
    if (tracing && tracedCount < 64) traced[tracedCount++] = size;
}
static void *countedMalloc(size_t size, void *user) { (void)user; note(size); return malloc(size); }
static void countedFree(void *p, void *user) { (void)user; free(p); }
static void *countedCalloc(size_t n, size_t size, void *user) { (void)user; note(n * size); return calloc(n, size); }
static void *countedRealloc(void *p, size_t size, void *user) { (void)user; note(size); return realloc(p, size); }

static long residentKiB(void) {
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld %ld", &pages, &resident) != 2) { perror("statm"); exit(1); }
    fclose(f);
    return resident * 4;
}

static ssize_t discard(nghttp2_session *s, const uint8_t *data, size_t length, int flags, void *user) {
    (void)s; (void)data; (void)flags; (void)user;
    return (ssize_t)length;
}

/* The session must hold the client's stream, or it is not the state being measured. */
static int holdsStream(nghttp2_session *session) {
    if (nghttp2_session_find_stream(session, 1) == NULL || !nghttp2_session_want_read(session)) {
        fprintf(stderr, "the server session does not hold stream 1 open\n");
        return 1;
    }
    return 0;
}

#define HEADER(name, value) {(uint8_t *)name, (uint8_t *)value, sizeof(name) - 1, sizeof(value) - 1, 0}

int main(int argc, char **argv) {
    int count = argc > 1 ? atoi(argv[1]) : 10000;
    if (count <= 0) { fprintf(stderr, "usage: %s SESSIONS\n", argv[0]); return 2; }
    nghttp2_session_callbacks *callbacks;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_send_callback(callbacks, discard);

    /* What one proxy sends first: the preface (a client session writes it itself), SETTINGS and the HEADERS of an
     * ADS stream. */
    nghttp2_session *client;
    nghttp2_session_client_new(&client, callbacks, NULL);
    nghttp2_submit_settings(client, NGHTTP2_FLAG_NONE, NULL, 0);
    nghttp2_nv headers[] = {
        HEADER(":method", "POST"), HEADER(":scheme", "http"), HEADER(":authority", "chancery"),
        HEADER(":path", "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources"),
        HEADER("content-type", "application/grpc"), HEADER("te", "trailers"),
    };
    nghttp2_submit_headers(client, NGHTTP2_FLAG_NONE, -1, NULL, headers, sizeof(headers) / sizeof(headers[0]), NULL);
    uint8_t input[4096];
    size_t inputLength = 0;
    const uint8_t *chunk;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(client, &chunk)) > 0 && inputLength + (size_t)n <= sizeof(input)) {
        memcpy(input + inputLength, chunk, (size_t)n);
        inputLength += (size_t)n;
    }

    /* The server side, as NGHTTP2Session sets it up. */
    nghttp2_option *options;
    nghttp2_option_new(&options);
    nghttp2_option_set_peer_max_concurrent_streams(options, 1 << 16);
    nghttp2_option_set_max_deflate_dynamic_table_size(options, 256); /* NGHTTP2Session.deflateTableBytes */
    nghttp2_option_set_no_closed_streams(options, 1);
    nghttp2_mem allocator = {NULL, countedMalloc, countedFree, countedCalloc, countedRealloc};
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 16 << 10},
    };

    nghttp2_session **sessions = calloc((size_t)count, sizeof(*sessions));
    long before = residentKiB();
    for (int i = 0; i < count; i++) {
        tracing = i == 0;
        nghttp2_session_server_new3(&sessions[i], callbacks, NULL, options, &allocator);
        nghttp2_submit_settings(sessions[i], NGHTTP2_FLAG_NONE, settings, 3);
        if (nghttp2_session_mem_recv(sessions[i], input, inputLength) != (ssize_t)inputLength) {
            fprintf(stderr, "the server session refused the client's bytes\n");
            return 1;
        }
        while (nghttp2_session_mem_send(sessions[i], &chunk) > 0) {}
        tracing = 0;
        if (holdsStream(sessions[i]) != 0) return 1;
    }
    long after = residentKiB();
    printf("%d nghttp2 server sessions, one open stream each: %.2f KiB resident per session\n", count,
           (double)(after - before) / count);
    printf("allocations for one session (bytes):");
    for (int i = 0; i < tracedCount; i++) printf(" %zu", traced[i]);
    printf("\n");
    return 0;
}
