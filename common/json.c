/*
 * json.c - the JSON string escaper and field getters.  See json.h.
 */
#include <math.h>
#include <string.h>

#include "json.h"

/* Length of the well-formed UTF-8 sequence at s (at most n bytes), or 0:
 * no overlongs, no surrogates, nothing past U+10FFFF. */
static size_t utf8_len(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t len, k;
    uint32_t cp;

    if (u[0] < 0x80)
        return 1;
    if (u[0] >= 0xc2 && u[0] <= 0xdf)
        len = 2, cp = u[0] & 0x1f;
    else if (u[0] >= 0xe0 && u[0] <= 0xef)
        len = 3, cp = u[0] & 0x0f;
    else if (u[0] >= 0xf0 && u[0] <= 0xf4)
        len = 4, cp = u[0] & 0x07;
    else
        return 0;
    if (n < len)
        return 0;
    for (k = 1; k < len; k++) {
        if ((u[k] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (u[k] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

void hfe_json_str(struct hfe_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i, run = 0;

    hfe_buf_add(b, "\"", 1);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[7];

        if (c >= 0x80) { /* a valid UTF-8 sequence stays; else U+FFFD */
            size_t len = utf8_len(s + i, n - i);

            if (len) {
                i += len - 1;
                continue;
            }
            hfe_buf_add(b, s + run, i - run);
            hfe_buf_add(b, "\xef\xbf\xbd", 3);
            run = i + 1;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
            continue;
        hfe_buf_add(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"':
            hfe_buf_add(b, "\\\"", 2);
            break;
        case '\\':
            hfe_buf_add(b, "\\\\", 2);
            break;
        case '\n':
            hfe_buf_add(b, "\\n", 2);
            break;
        case '\r':
            hfe_buf_add(b, "\\r", 2);
            break;
        case '\t':
            hfe_buf_add(b, "\\t", 2);
            break;
        default:
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            hfe_buf_add(b, esc, 6);
        }
    }
    hfe_buf_add(b, s + run, n - run);
    hfe_buf_add(b, "\"", 1);
}

void hfe_json_strz(struct hfe_buf *b, const char *s)
{
    if (s)
        hfe_json_str(b, s, strlen(s));
    else
        hfe_buf_puts(b, "null");
}

void hfe_json_num(struct hfe_buf *b, double v)
{
    if (isfinite(v))
        hfe_buf_printf(b, "%.9g", v);
    else
        hfe_buf_puts(b, "null");
}
