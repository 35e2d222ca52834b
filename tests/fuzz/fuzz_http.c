/*
 * fuzz_http.c - libFuzzer target for the http backend's answer parsers:
 * server-sent events and streamed chunks (llama-server's and OpenAI's),
 * forced-token answers, echoed prompt log-probabilities and /tokenize
 * (backends/http/http.c built with -DHFE_HTTP_FUZZ, and sse.c).
 *
 *   tests/fuzz/run.sh http [SECONDS]
 */
#include <stddef.h>
#include <stdint.h>

int hfe_http_fuzz(const uint8_t *d, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return hfe_http_fuzz(data, size);
}
