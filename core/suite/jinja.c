/*
 * jinja.c - a Jinja2 subset for lm-evaluation-harness task files: a
 * lexer, a precedence-climbing parser and an evaluator over cJSON
 * values.  See jinja.h.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jinja.h"

/* ---- the tree --------------------------------------------------------- */

enum kind {
    /* statements */
    S_TEXT,
    S_OUT,
    S_IF,
    S_FOR,
    S_SET,
    /* expressions */
    E_NAME,
    E_CONST,
    E_LIST,
    E_ATTR,
    E_INDEX,
    E_SLICE,
    E_CALL,
    E_FILTER,
    E_BIN,
    E_NOT,
    E_NEG,
    E_COND
};

struct node {
    enum kind k;
    int line;
    char *s;  /* text, a name, an operator, a method or a filter  */
    cJSON *c; /* E_CONST                                          */
    struct node *a, *b, *d; /* operands; S_IF: cond, then, else     */
    struct node **v;        /* E_LIST items, call arguments, a body */
    size_t n;
    struct node *next; /* the statement after, in a body           */
};

struct hfe_jinja {
    struct node *body;
    char *file;
    int single; /* one {{ expr }} and nothing else */
};

static void node_free(struct node *x)
{
    while (x) {
        struct node *next = x->next;
        size_t i;

        free(x->s);
        cJSON_Delete(x->c);
        node_free(x->a);
        node_free(x->b);
        node_free(x->d);
        for (i = 0; i < x->n; i++)
            node_free(x->v[i]);
        free(x->v);
        free(x);
        x = next;
    }
}

static struct node *node(enum kind k, int line)
{
    struct node *x = hfe_xcalloc(1, sizeof(*x));

    x->k = k;
    x->line = line;
    return x;
}

static void push(struct node *x, struct node *item)
{
    x->v = hfe_xrealloc(x->v, (x->n + 1) * sizeof(*x->v));
    x->v[x->n++] = item;
}

/* ---- the lexer -------------------------------------------------------- */

enum tok { T_END, T_NAME, T_STR, T_NUM, T_OP };

struct lex {
    const char *src, *p, *end; /* the tag's inside              */
    const char *file;
    int line;
    enum tok t;
    char *text; /* the token: a name, a string's value, an operator */
    double num;
    struct hfe_err *err;
    int failed;
    int depth; /* expressions open */
};

#define MAX_DEPTH 100

static int fail(struct lex *L, const char *fmt, const char *what)
{
    if (!L->failed) {
        char msg[256];

        snprintf(msg, sizeof(msg), fmt, what ? what : "");
        hfe_err_set(L->err, "%s:%d: template: %s", L->file, L->line, msg);
    }
    L->failed = 1;
    return -1;
}

static void next(struct lex *L)
{
    static const char *const ops[] = {
        "//", "==", "!=", "<=", ">=", "(", ")", "[", "]", ",", ".",
        ":",  "|",  "+",  "-",  "*",  "/", "%", "<", ">", "=", "~"};
    const char *p = L->p;
    size_t k;

    free(L->text);
    L->text = NULL;
    while (p < L->end && isspace((unsigned char)*p))
        L->line += *p++ == '\n';
    L->p = p;
    if (p >= L->end) {
        L->t = T_END;
        return;
    }
    if (isalpha((unsigned char)*p) || *p == '_') {
        while (p < L->end && (isalnum((unsigned char)*p) || *p == '_'))
            p++;
        L->t = T_NAME;
        L->text = hfe_xstrndup(L->p, (size_t)(p - L->p));
    } else if (isdigit((unsigned char)*p)) {
        char *e;

        L->num = strtod(p, &e);
        p = e;
        L->t = T_NUM;
    } else if (*p == '\'' || *p == '"') {
        struct hfe_buf b = {0};
        char q = *p++;

        hfe_buf_add(&b, "", 0);
        while (p < L->end && *p != q) {
            char c = *p++;

            if (c == '\\' && p < L->end) {
                c = *p++;
                c = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
            }
            hfe_buf_add(&b, &c, 1);
        }
        if (p >= L->end) {
            hfe_buf_free(&b);
            fail(L, "a string that does not end%s", "");
            L->t = T_END;
            return;
        }
        p++;
        L->t = T_STR;
        L->text = b.s;
    } else {
        for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
            if (!strncmp(p, ops[k], strlen(ops[k])))
                break;
        if (k == sizeof(ops) / sizeof(ops[0])) {
            char c[2] = {*p, 0};

            fail(L, "'%s' is not part of the subset hfeval reads", c);
            L->t = T_END;
            return;
        }
        L->t = T_OP;
        L->text = hfe_xstrdup(ops[k]);
        p += strlen(ops[k]);
    }
    L->p = p;
}

static int is_op(const struct lex *L, const char *op)
{
    return L->t == T_OP && !strcmp(L->text, op);
}

static int is_word(const struct lex *L, const char *w)
{
    return L->t == T_NAME && !strcmp(L->text, w);
}

static int expect(struct lex *L, const char *op)
{
    if (!is_op(L, op))
        return fail(L, "'%s' expected", op);
    next(L);
    return 0;
}

/* ---- the parser: expressions ------------------------------------------ */

static struct node *expr(struct lex *L);

static struct node *args(struct lex *L, struct node *call)
{
    next(L); /* ( */
    while (!L->failed && !is_op(L, ")")) {
        push(call, expr(L));
        if (is_op(L, ","))
            next(L);
        else if (!is_op(L, ")"))
            fail(L, "',' or ')' expected in a call%s", "");
    }
    if (!L->failed)
        next(L);
    return call;
}

static struct node *primary(struct lex *L)
{
    struct node *x = NULL;

    if (L->failed)
        return NULL;
    if (L->t == T_NUM) {
        x = node(E_CONST, L->line);
        x->c = cJSON_CreateNumber(L->num);
        next(L);
    } else if (L->t == T_STR) {
        x = node(E_CONST, L->line);
        x->c = cJSON_CreateString(L->text);
        next(L);
    } else if (is_word(L, "true") || is_word(L, "True") ||
               is_word(L, "false") || is_word(L, "False")) {
        x = node(E_CONST, L->line);
        x->c = cJSON_CreateBool(tolower((unsigned char)L->text[0]) == 't');
        next(L);
    } else if (is_word(L, "none") || is_word(L, "None")) {
        x = node(E_CONST, L->line);
        x->c = cJSON_CreateNull();
        next(L);
    } else if (L->t == T_NAME) {
        x = node(E_NAME, L->line);
        x->s = hfe_xstrdup(L->text);
        next(L);
    } else if (is_op(L, "(")) {
        next(L);
        x = expr(L);
        expect(L, ")");
    } else if (is_op(L, "[")) {
        x = node(E_LIST, L->line);
        next(L);
        while (!L->failed && !is_op(L, "]")) {
            push(x, expr(L));
            if (is_op(L, ","))
                next(L);
            else if (!is_op(L, "]"))
                fail(L, "',' or ']' expected in a list%s", "");
        }
        if (!L->failed)
            next(L);
    } else {
        fail(L, "an expression expected, got '%s'",
             L->text ? L->text : "the end");
    }
    return x;
}

static struct node *postfix(struct lex *L)
{
    struct node *x = primary(L);

    while (!L->failed) {
        struct node *y;

        if (is_op(L, ".")) {
            next(L);
            if (L->t != T_NAME) {
                fail(L, "a name expected after '.'%s", "");
                break;
            }
            y = node(E_ATTR, L->line);
            y->a = x;
            y->s = hfe_xstrdup(L->text);
            next(L);
            if (is_op(L, "(")) {
                y->k = E_CALL;
                args(L, y);
            }
            x = y;
        } else if (is_op(L, "[")) {
            next(L);
            y = node(E_INDEX, L->line);
            y->a = x;
            if (!is_op(L, ":"))
                y->b = expr(L);
            if (is_op(L, ":")) {
                y->k = E_SLICE;
                next(L);
                if (!is_op(L, "]"))
                    y->d = expr(L);
            }
            expect(L, "]");
            x = y;
        } else if (is_op(L, "|")) {
            next(L);
            if (L->t != T_NAME) {
                fail(L, "a filter's name expected after '|'%s", "");
                break;
            }
            y = node(E_FILTER, L->line);
            y->a = x;
            y->s = hfe_xstrdup(L->text);
            next(L);
            if (is_op(L, "("))
                args(L, y);
            x = y;
        } else {
            break;
        }
    }
    return x;
}

static struct node *unary(struct lex *L)
{
    if (is_op(L, "-")) {
        struct node *x = node(E_NEG, L->line);

        next(L);
        if (++L->depth > MAX_DEPTH)
            fail(L, "an expression nested deeper than 100 levels%s", "");
        else
            x->a = unary(L);
        L->depth--;
        return x;
    }
    return postfix(L);
}

/* Binary operators by precedence, lowest first (Jinja2's). */
static const char *const levels[][7] = {
    {"or"},
    {"and"},
    {"==", "!=", "<", ">", "<=", ">=", "in"},
    {"+", "-", "~"},
    {"*", "/", "//", "%"},
};

static struct node *binary(struct lex *L, int level)
{
    struct node *x;

    if (level == 2 && is_word(L, "not")) { /* not binds below comparison */
        x = node(E_NOT, L->line);
        next(L);
        if (++L->depth > MAX_DEPTH)
            fail(L, "an expression nested deeper than 100 levels%s", "");
        else
            x->a = binary(L, 2);
        L->depth--;
        return x;
    }
    if (level >= (int)(sizeof(levels) / sizeof(levels[0])))
        return unary(L);
    x = binary(L, level + 1);
    for (;;) {
        const char *op = NULL;
        size_t k;
        int negate = 0;
        struct node *y;

        for (k = 0; k < 7 && levels[level][k] && !op; k++)
            if ((L->t == T_OP || L->t == T_NAME) &&
                !strcmp(L->text ? L->text : "", levels[level][k]))
                op = levels[level][k];
        if (!op && level == 2 && is_word(L, "not")) { /* not in */
            next(L);
            if (!is_word(L, "in")) {
                fail(L, "'in' expected after 'not'%s", "");
                return x;
            }
            op = "in";
            negate = 1;
        }
        if (!op || L->failed)
            return x;
        next(L);
        y = node(E_BIN, L->line);
        y->s = hfe_xstrdup(op);
        y->a = x;
        y->b = binary(L, level + 1);
        x = y;
        if (negate) {
            y = node(E_NOT, L->line);
            y->a = x;
            x = y;
        }
    }
}

static struct node *expr_in(struct lex *L);

static struct node *expr(struct lex *L)
{
    struct node *x;

    if (++L->depth > MAX_DEPTH) {
        fail(L, "an expression nested deeper than 100 levels%s", "");
        L->depth--;
        return NULL;
    }
    x = expr_in(L);
    L->depth--;
    return x;
}

static struct node *expr_in(struct lex *L)
{
    struct node *x = binary(L, 0);

    if (is_word(L, "if")) {
        struct node *y = node(E_COND, L->line);

        next(L);
        y->a = x;
        y->b = binary(L, 0);
        if (is_word(L, "else")) {
            next(L);
            y->d = expr(L);
        }
        x = y;
    }
    return x;
}

/* ---- the parser: the template ----------------------------------------- */

struct parse {
    const char *p, *end, *file;
    int line;
    struct hfe_err *err;
    int failed;
    int trim_next; /* the last tag ended with -: trim what follows */
    int depth;     /* if and for open                              */
};

/* The tag at p ("{{", "{%" or "{#"), or NULL. */
static const char *tag_at(const char *p, const char *end)
{
    return p + 1 < end && p[0] == '{' && strchr("{%#", p[1]) ? p : NULL;
}

/* Lexes the inside of the tag starting at *p into L; *p past its end.
 * Returns the tag's kind character, 0 on an unclosed tag. */
static int open_tag(struct parse *P, struct lex *L, int *trim_left)
{
    char kind = P->p[1];
    const char *close = kind == '{'   ? "}}"
                        : kind == '%' ? "%}"
                                      : "#}",
               *s = P->p + 2, *e;

    *trim_left = s < P->end && *s == '-';
    s += *trim_left;
    for (e = s; e + 1 < P->end && strncmp(e, close, 2); e++)
        ;
    if (e + 1 >= P->end) {
        hfe_err_set(P->err, "%s:%d: template: a '%.2s' that does not close",
                    P->file, P->line, P->p);
        P->failed = 1;
        return 0;
    }
    memset(L, 0, sizeof(*L));
    L->src = L->p = s;
    L->end = e > s && e[-1] == '-' ? e - 1 : e;
    L->file = P->file;
    L->line = P->line;
    L->err = P->err;
    P->trim_next = e > s && e[-1] == '-';
    for (; P->p < e + 2; P->p++)
        P->line += *P->p == '\n';
    return kind;
}

static struct node *body(struct parse *P, const char *const *stops,
                         char **stopped, struct lex *at);

static struct node *nested_statement(struct parse *P, struct lex *L);
static struct node *other_statement(struct parse *P, struct lex *L);

/* A {% ... %} statement, L at its first word. */
static struct node *statement(struct parse *P, struct lex *L)
{
    struct node *x;

    if (!is_word(L, "if") && !is_word(L, "for"))
        return other_statement(P, L);
    if (P->depth >= MAX_DEPTH) {
        fail(L, "{%% if %%} and {%% for %%} nested deeper than 100%s", "");
        P->failed = 1;
        free(L->text);
        return NULL;
    }
    P->depth++;
    x = nested_statement(P, L);
    P->depth--;
    return x;
}

/* {% if %} ... {% endif %} or {% for %} ... {% endfor %}. */
static struct node *nested_statement(struct parse *P, struct lex *L)
{
    static const char *const if_stops[] = {"elif", "else", "endif", NULL},
                             *const else_stops[] = {"endif", NULL},
                             *const for_stops[] = {"endfor", NULL};
    struct node *x;
    char *stopped = NULL;
    struct lex end;

    if (is_word(L, "if")) {
        struct node *cur;

        x = cur = node(S_IF, L->line);
        next(L);
        cur->a = expr(L);
        for (;;) {
            if (L->failed || L->t != T_END) {
                P->failed = 1;
                if (!L->failed)
                    fail(L, "'%%}' expected after the condition%s", "");
                break;
            }
            free(L->text);
            cur->b = body(P, if_stops, &stopped, &end);
            if (P->failed || !stopped)
                break;
            if (!strcmp(stopped, "elif")) {
                cur->d = node(S_IF, end.line);
                cur = cur->d;
                cur->s = hfe_xstrdup("elif");
                *L = end;
                cur->a = expr(L);
                free(stopped);
                continue;
            }
            if (!strcmp(stopped, "else")) {
                free(end.text);
                free(stopped);
                cur->d = body(P, else_stops, &stopped, &end);
                free(end.text);
            } else {
                free(end.text);
            }
            break;
        }
        free(stopped);
        return x;
    }
    if (is_word(L, "for")) {
        x = node(S_FOR, L->line);
        next(L);
        if (L->t != T_NAME)
            fail(L, "a loop variable expected after 'for'%s", "");
        else
            x->s = hfe_xstrdup(L->text);
        next(L);
        if (!is_word(L, "in"))
            fail(L, "'in' expected in a for%s", "");
        next(L);
        x->a = expr(L);
        if (L->failed) {
            P->failed = 1;
            free(L->text);
            return x;
        }
        free(L->text);
        x->b = body(P, for_stops, &stopped, &end);
        free(end.text);
        free(stopped);
        return x;
    }
    return NULL; /* not reached: statement() sends only if and for */
}

/* {% set %}, or what the subset does not have. */
static struct node *other_statement(struct parse *P, struct lex *L)
{
    struct node *x;

    if (is_word(L, "set")) {
        x = node(S_SET, L->line);
        next(L);
        if (L->t != T_NAME)
            fail(L, "a name expected after 'set'%s", "");
        else
            x->s = hfe_xstrdup(L->text);
        next(L);
        expect(L, "=");
        x->a = expr(L);
        if (!L->failed && L->t != T_END)
            fail(L, "'%%}' expected after {%% set %%}%s", "");
        P->failed |= L->failed;
        free(L->text);
        return x;
    }
    fail(L, "{%% %s %%} is not part of the subset hfeval reads",
         L->text ? L->text : "");
    P->failed = 1;
    free(L->text);
    return NULL;
}

/* Text and tags up to one of stops ({% stop %}, its lexer left in *at
 * and its word in *stopped) or the end. */
static struct node *body(struct parse *P, const char *const *stops,
                         char **stopped, struct lex *at)
{
    struct node *head = NULL, **tail = &head;

    if (stopped)
        *stopped = NULL;
    while (P->p < P->end && !P->failed) {
        const char *t = P->p;
        struct node *x = NULL;
        struct lex L;
        int kind, trim_left;

        while (t < P->end && !tag_at(t, P->end))
            t++;
        if (t > P->p) { /* text, trimmed where a tag asks */
            const char *s = P->p, *e = t;

            if (P->trim_next)
                while (s < e && isspace((unsigned char)*s))
                    s++;
            if (t + 2 < P->end && t[2] == '-')
                while (e > s && isspace((unsigned char)e[-1]))
                    e--;
            if (e > s) {
                x = node(S_TEXT, P->line);
                x->s = hfe_xstrndup(s, (size_t)(e - s));
                *tail = x;
                tail = &x->next;
            }
            for (; P->p < t; P->p++)
                P->line += *P->p == '\n';
            P->trim_next = 0;
            if (P->p >= P->end)
                break;
        }
        if (!(kind = open_tag(P, &L, &trim_left)))
            break;
        if (kind == '#')
            continue;
        next(&L);
        if (kind == '{') {
            x = node(S_OUT, L.line);
            x->a = expr(&L);
            if (!L.failed && L.t != T_END)
                fail(&L, "'}}' expected, got '%s'", L.text);
            P->failed |= L.failed;
            free(L.text);
        } else {
            const char *const *s;

            for (s = stops; s && *s && !is_word(&L, *s); s++)
                ;
            if (s && *s) {
                *stopped = hfe_xstrdup(*s);
                next(&L);
                *at = L;
                return head;
            }
            if (L.t == T_NAME &&
                (!strncmp(L.text, "end", 3) || !strcmp(L.text, "else") ||
                 !strcmp(L.text, "elif"))) {
                fail(&L, "{%% %s %%} without its opening tag", L.text);
                P->failed = 1;
                free(L.text);
                break;
            }
            x = statement(P, &L);
        }
        if (x) {
            *tail = x;
            tail = &x->next;
        }
    }
    if (stops && !P->failed) {
        hfe_err_set(P->err,
                    "%s:%d: template: {%% %s %%} expected before the end",
                    P->file, P->line,
                    stops[0][0] == 'e' && stops[1] ? "endif" : stops[0]);
        P->failed = 1;
    }
    return head;
}

int hfe_jinja_compile(const char *src, const char *file, int line,
                      struct hfe_jinja **out, struct hfe_err *err)
{
    struct parse P = {src, src + strlen(src), file, line, err, 0, 0, 0};
    struct hfe_jinja *t = hfe_xcalloc(1, sizeof(*t));

    t->file = hfe_xstrdup(file);
    t->body = body(&P, NULL, NULL, NULL);
    if (P.failed) {
        hfe_jinja_free(t);
        *out = NULL;
        return HFE_EXIT_SUITE;
    }
    t->single = t->body && t->body->k == S_OUT && !t->body->next;
    *out = t;
    return 0;
}

void hfe_jinja_free(struct hfe_jinja *t)
{
    if (!t)
        return;
    node_free(t->body);
    free(t->file);
    free(t);
}

/* ---- the evaluator ---------------------------------------------------- */

struct var {
    const char *name;
    cJSON *v; /* owned */
    struct var *up;
};

struct env {
    const cJSON *doc;
    struct var *vars;
    const char *file;
    struct hfe_err *err;
    int failed;
};

static cJSON *eval(struct env *E, const struct node *x);

static cJSON *err_at(struct env *E, const struct node *x, const char *fmt,
                     const char *a)
{
    if (!E->failed) {
        char msg[300];

        snprintf(msg, sizeof(msg), fmt, a ? a : "");
        hfe_err_set(E->err, "%s:%d: template: %s", E->file, x->line, msg);
    }
    E->failed = 1;
    return NULL;
}

/* Python's str() of a value, appended to b. */
static void py_str(struct hfe_buf *b, const cJSON *v, int repr)
{
    if (cJSON_IsString(v)) {
        const char *s;

        if (!repr) {
            hfe_buf_puts(b, v->valuestring);
            return;
        }
        /* repr: single quotes unless the text holds one and no double */
        {
            int sq =
                strchr(v->valuestring, '\'') && !strchr(v->valuestring, '"');
            char q = sq ? '"' : '\'';

            hfe_buf_add(b, &q, 1);
            for (s = v->valuestring; *s; s++) {
                if (*s == '\\' || *s == q)
                    hfe_buf_printf(b, "\\%c", *s);
                else if (*s == '\n')
                    hfe_buf_puts(b, "\\n");
                else if (*s == '\t')
                    hfe_buf_puts(b, "\\t");
                else if (*s == '\r')
                    hfe_buf_puts(b, "\\r");
                else if ((unsigned char)*s < 0x20 || *s == 0x7f)
                    hfe_buf_printf(b, "\\x%02x", (unsigned char)*s);
                else
                    hfe_buf_add(b, s, 1);
            }
            hfe_buf_add(b, &q, 1);
        }
    } else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;

        if (d == floor(d) && fabs(d) < 1e15)
            hfe_buf_printf(b, "%.0f", d);
        else
            hfe_buf_printf(b, "%.17g", d);
    } else if (cJSON_IsBool(v)) {
        hfe_buf_puts(b, cJSON_IsTrue(v) ? "True" : "False");
    } else if (cJSON_IsArray(v)) {
        const cJSON *e;
        int first = 1;

        hfe_buf_puts(b, "[");
        cJSON_ArrayForEach(e, v)
        {
            hfe_buf_puts(b, first ? "" : ", ");
            first = 0;
            py_str(b, e, 1);
        }
        hfe_buf_puts(b, "]");
    } else if (cJSON_IsObject(v)) {
        const cJSON *e;
        int first = 1;

        hfe_buf_puts(b, "{");
        cJSON_ArrayForEach(e, v)
        {
            cJSON k = {.type = cJSON_String, .valuestring = e->string};

            hfe_buf_puts(b, first ? "" : ", ");
            first = 0;
            py_str(b, &k, 1);
            hfe_buf_puts(b, ": ");
            py_str(b, e, 1);
        }
        hfe_buf_puts(b, "}");
    } else {
        hfe_buf_puts(b, "None");
    }
}

static int truthy(const cJSON *v)
{
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v);
    if (cJSON_IsNumber(v))
        return v->valuedouble != 0;
    if (cJSON_IsString(v))
        return v->valuestring[0] != '\0';
    if (cJSON_IsArray(v) || cJSON_IsObject(v))
        return cJSON_GetArraySize(v) > 0;
    return 0;
}

static cJSON *lookup(struct env *E, const struct node *x)
{
    const struct var *v;
    const cJSON *d;

    for (v = E->vars; v; v = v->up)
        if (!strcmp(v->name, x->s))
            return cJSON_Duplicate(v->v, 1);
    if ((d = cJSON_GetObjectItemCaseSensitive(E->doc, x->s)))
        return cJSON_Duplicate(d, 1);
    return err_at(E, x, "'%s' is undefined (not a field of the document)",
                  x->s);
}

/* i as a position in a sequence of n (negative from the end), or -1. */
static long position(double i, long n)
{
    long k = (long)i;

    if (i != floor(i))
        return -1;
    if (k < 0)
        k += n;
    return k >= 0 && k < n ? k : -1;
}

static long clamp(const cJSON *v, long n, long dflt)
{
    long k;

    if (!v || cJSON_IsNull(v))
        return dflt;
    k = (long)v->valuedouble;
    if (k < 0)
        k += n;
    return k < 0 ? 0 : k > n ? n : k;
}

static cJSON *slice(struct env *E, const struct node *x, cJSON *o, cJSON *a,
                    cJSON *b)
{
    long n, lo, hi, i;
    cJSON *r;

    if ((a && !cJSON_IsNumber(a) && !cJSON_IsNull(a)) ||
        (b && !cJSON_IsNumber(b) && !cJSON_IsNull(b)))
        return err_at(E, x, "a slice's bounds must be numbers%s", "");
    if (cJSON_IsString(o)) {
        n = (long)strlen(o->valuestring); /* bytes; ASCII data agrees */
        lo = clamp(a, n, 0);
        hi = clamp(b, n, n);
        if (hi < lo)
            hi = lo;
        {
            char *s = hfe_xstrndup(o->valuestring + lo, (size_t)(hi - lo));

            r = cJSON_CreateString(s);
            free(s);
        }
        return r;
    }
    if (!cJSON_IsArray(o))
        return err_at(E, x, "only a string or a list can be sliced%s", "");
    n = cJSON_GetArraySize(o);
    lo = clamp(a, n, 0);
    hi = clamp(b, n, n);
    r = cJSON_CreateArray();
    for (i = lo; i < hi; i++)
        cJSON_AddItemToArray(r,
                             cJSON_Duplicate(cJSON_GetArrayItem(o, (int)i), 1));
    return r;
}

static cJSON *index_of(struct env *E, const struct node *x, cJSON *o, cJSON *k)
{
    if (cJSON_IsArray(o) && cJSON_IsNumber(k)) {
        long i = position(k->valuedouble, cJSON_GetArraySize(o));

        if (i < 0)
            return err_at(E, x, "an index out of range%s", "");
        return cJSON_Duplicate(cJSON_GetArrayItem(o, (int)i), 1);
    }
    if (cJSON_IsString(o) && cJSON_IsNumber(k)) {
        long i = position(k->valuedouble, (long)strlen(o->valuestring));
        char s[2] = {0};

        if (i < 0)
            return err_at(E, x, "an index out of range%s", "");
        s[0] = o->valuestring[i];
        return cJSON_CreateString(s);
    }
    if (cJSON_IsObject(o) && cJSON_IsString(k)) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k->valuestring);

        if (!v)
            return err_at(E, x, "no field '%s'", k->valuestring);
        return cJSON_Duplicate(v, 1);
    }
    return err_at(E, x, "this value cannot be indexed so%s", "");
}

static const char *str_arg(cJSON **a, size_t n, size_t i)
{
    return i < n && cJSON_IsString(a[i]) ? a[i]->valuestring : NULL;
}

/* Python's str.split(sep) (sep NULL: on runs of whitespace). */
static cJSON *split(const char *s, const char *sep)
{
    cJSON *r = cJSON_CreateArray();
    const char *p = s, *q;

    if (!sep) {
        for (;;) {
            while (*p && isspace((unsigned char)*p))
                p++;
            if (!*p)
                break;
            for (q = p; *q && !isspace((unsigned char)*q); q++)
                ;
            {
                char *w = hfe_xstrndup(p, (size_t)(q - p));

                cJSON_AddItemToArray(r, cJSON_CreateString(w));
                free(w);
            }
            p = q;
        }
        return r;
    }
    for (;;) {
        char *w;

        q = *sep ? strstr(p, sep) : NULL;
        w = hfe_xstrndup(p, q ? (size_t)(q - p) : strlen(p));
        cJSON_AddItemToArray(r, cJSON_CreateString(w));
        free(w);
        if (!q)
            break;
        p = q + strlen(sep);
    }
    return r;
}

static cJSON *strip(const char *s, int left, int right)
{
    const char *e = s + strlen(s);
    char *t;
    cJSON *r;

    while (left && *s && isspace((unsigned char)*s))
        s++;
    while (right && e > s && isspace((unsigned char)e[-1]))
        e--;
    t = hfe_xstrndup(s, (size_t)(e - s));
    r = cJSON_CreateString(t);
    free(t);
    return r;
}

static cJSON *replace(const char *s, const char *a, const char *b)
{
    struct hfe_buf o = {0};
    const char *p = s, *q;
    cJSON *r;

    hfe_buf_add(&o, "", 0);
    while (*a && (q = strstr(p, a))) {
        hfe_buf_add(&o, p, (size_t)(q - p));
        hfe_buf_puts(&o, b);
        p = q + strlen(a);
    }
    hfe_buf_puts(&o, p);
    r = cJSON_CreateString(o.s);
    hfe_buf_free(&o);
    return r;
}

static cJSON *method(struct env *E, const struct node *x, cJSON *o, cJSON **a,
                     size_t n)
{
    const char *m = x->s, *s = cJSON_IsString(o) ? o->valuestring : NULL;

    if (!strcmp(m, "index") && n == 1 && cJSON_IsArray(o)) {
        const cJSON *e;
        int i = 0;

        cJSON_ArrayForEach(e, o)
        {
            if (cJSON_Compare(e, a[0], 1))
                return cJSON_CreateNumber(i);
            i++;
        }
        return err_at(E, x, ".index(): the value is not in the list%s", "");
    }
    if (!s)
        return err_at(E, x, ".%s() on a value that is not a string", m);
    if (!strcmp(m, "strip") && n == 0)
        return strip(s, 1, 1);
    if (!strcmp(m, "lstrip") && n == 0)
        return strip(s, 1, 0);
    if (!strcmp(m, "rstrip") && n == 0)
        return strip(s, 0, 1);
    if ((!strcmp(m, "lower") || !strcmp(m, "upper")) && n == 0) {
        char *t = hfe_xstrdup(s), *p;
        cJSON *r;

        for (p = t; *p; p++)
            *p = (char)(m[0] == 'l' ? tolower((unsigned char)*p)
                                    : toupper((unsigned char)*p));
        r = cJSON_CreateString(t);
        free(t);
        return r;
    }
    if (!strcmp(m, "split") && n <= 1 && (n == 0 || str_arg(a, n, 0)))
        return split(s, str_arg(a, n, 0));
    if (!strcmp(m, "replace") && n == 2 && str_arg(a, n, 0) && str_arg(a, n, 1))
        return replace(s, str_arg(a, n, 0), str_arg(a, n, 1));
    if (!strcmp(m, "index") && n == 1 && str_arg(a, n, 0)) {
        const char *f = strstr(s, str_arg(a, n, 0));

        if (!f)
            return err_at(E, x, ".index(): substring not found%s", "");
        return cJSON_CreateNumber((double)(f - s));
    }
    if ((!strcmp(m, "startswith") || !strcmp(m, "endswith")) && n == 1 &&
        str_arg(a, n, 0)) {
        const char *w = str_arg(a, n, 0);
        size_t ls = strlen(s), lw = strlen(w);

        return cJSON_CreateBool(lw <= ls &&
                                !strncmp(m[0] == 's' ? s : s + ls - lw, w, lw));
    }
    return err_at(E, x, ".%s() is not part of the subset hfeval reads", m);
}

static cJSON *filter(struct env *E, const struct node *x, cJSON *o, cJSON **a,
                     size_t n)
{
    const char *f = x->s;

    if (!strcmp(f, "join") && n <= 1 && cJSON_IsArray(o)) {
        struct hfe_buf b = {0};
        const cJSON *e;
        const char *sep = n ? str_arg(a, n, 0) : "";
        int first = 1;
        cJSON *r;

        if (!sep)
            return err_at(E, x, "|join's separator must be a string%s", "");
        hfe_buf_add(&b, "", 0);
        cJSON_ArrayForEach(e, o)
        {
            hfe_buf_puts(&b, first ? "" : sep);
            first = 0;
            py_str(&b, e, 0);
        }
        r = cJSON_CreateString(b.s);
        hfe_buf_free(&b);
        return r;
    }
    if ((!strcmp(f, "length") || !strcmp(f, "count")) && n == 0)
        return cJSON_CreateNumber(cJSON_IsString(o)
                                      ? (double)strlen(o->valuestring)
                                      : (double)cJSON_GetArraySize(o));
    if ((!strcmp(f, "lower") || !strcmp(f, "upper") || !strcmp(f, "trim")) &&
        n == 0) {
        struct node m = *x;

        m.s = (char *)(f[0] == 't' ? "strip" : f);
        return method(E, &m, o, a, 0);
    }
    if (!strcmp(f, "string") && n == 0) {
        struct hfe_buf b = {0};
        cJSON *r;

        hfe_buf_add(&b, "", 0);
        py_str(&b, o, 0);
        r = cJSON_CreateString(b.s);
        hfe_buf_free(&b);
        return r;
    }
    if ((!strcmp(f, "int") || !strcmp(f, "float")) && n == 0) {
        double v = cJSON_IsNumber(o)   ? o->valuedouble
                   : cJSON_IsString(o) ? strtod(o->valuestring, NULL)
                                       : 0;

        return cJSON_CreateNumber(f[0] == 'i' ? trunc(v) : v);
    }
    if ((!strcmp(f, "first") || !strcmp(f, "last")) && n == 0 &&
        cJSON_IsArray(o) && cJSON_GetArraySize(o) > 0)
        return cJSON_Duplicate(
            cJSON_GetArrayItem(o, f[0] == 'f' ? 0 : cJSON_GetArraySize(o) - 1),
            1);
    return err_at(E, x,
                  "the filter |%s (so used) is not part of the subset "
                  "hfeval reads",
                  f);
}

static cJSON *bin(struct env *E, const struct node *x, cJSON *l, cJSON *r)
{
    const char *op = x->s;

    if (!strcmp(op, "==") || !strcmp(op, "!="))
        return cJSON_CreateBool(cJSON_Compare(l, r, 1) == (op[0] == '='));
    if (!strcmp(op, "in")) {
        if (cJSON_IsString(r) && cJSON_IsString(l))
            return cJSON_CreateBool(strstr(r->valuestring, l->valuestring) !=
                                    NULL);
        if (cJSON_IsArray(r)) {
            const cJSON *e;

            cJSON_ArrayForEach(
                e, r) if (cJSON_Compare(e, l, 1)) return cJSON_CreateTrue();
            return cJSON_CreateFalse();
        }
        if (cJSON_IsObject(r) && cJSON_IsString(l))
            return cJSON_CreateBool(
                cJSON_GetObjectItemCaseSensitive(r, l->valuestring) != NULL);
        return err_at(E, x, "'in' needs a string, a list or a mapping%s", "");
    }
    if (!strcmp(op, "~") ||
        (!strcmp(op, "+") && cJSON_IsString(l) && cJSON_IsString(r))) {
        struct hfe_buf b = {0};
        cJSON *o;

        hfe_buf_add(&b, "", 0);
        py_str(&b, l, 0);
        py_str(&b, r, 0);
        o = cJSON_CreateString(b.s);
        hfe_buf_free(&b);
        return o;
    }
    if (!strcmp(op, "+") && cJSON_IsArray(l) && cJSON_IsArray(r)) {
        cJSON *o = cJSON_Duplicate(l, 1), *e;

        cJSON_ArrayForEach(e, r) cJSON_AddItemToArray(o, cJSON_Duplicate(e, 1));
        return o;
    }
    if (cJSON_IsNumber(l) && cJSON_IsNumber(r)) {
        double a = l->valuedouble, b = r->valuedouble;

        if (!strcmp(op, "<") || !strcmp(op, ">") || !strcmp(op, "<=") ||
            !strcmp(op, ">="))
            return cJSON_CreateBool(op[0] == '<' ? (op[1] ? a <= b : a < b)
                                                 : (op[1] ? a >= b : a > b));
        if ((!strcmp(op, "/") || !strcmp(op, "//") || !strcmp(op, "%")) &&
            b == 0)
            return err_at(E, x, "a division by zero%s", "");
        return cJSON_CreateNumber(!strcmp(op, "+")    ? a + b
                                  : !strcmp(op, "-")  ? a - b
                                  : !strcmp(op, "*")  ? a * b
                                  : !strcmp(op, "/")  ? a / b
                                  : !strcmp(op, "//") ? floor(a / b)
                                                      : a - b * floor(a / b));
    }
    if (cJSON_IsString(l) && cJSON_IsString(r) && strchr("<>", op[0])) {
        int c = strcmp(l->valuestring, r->valuestring);

        return cJSON_CreateBool(op[0] == '<' ? (op[1] ? c <= 0 : c < 0)
                                             : (op[1] ? c >= 0 : c > 0));
    }
    return err_at(E, x, "'%s' on these operands is not part of the subset", op);
}

static cJSON *eval(struct env *E, const struct node *x)
{
    cJSON *a = NULL, *b = NULL, *d = NULL, *r = NULL, **args = NULL;
    size_t i;

    if (E->failed || !x)
        return NULL;
    switch (x->k) {
    case E_NAME:
        return lookup(E, x);
    case E_CONST:
        return cJSON_Duplicate(x->c, 1);
    case E_LIST:
        r = cJSON_CreateArray();
        for (i = 0; i < x->n && !E->failed; i++)
            if ((a = eval(E, x->v[i])))
                cJSON_AddItemToArray(r, a);
        return r;
    case E_NOT:
        a = eval(E, x->a);
        r = E->failed ? NULL : cJSON_CreateBool(!truthy(a));
        break;
    case E_NEG:
        a = eval(E, x->a);
        r = cJSON_IsNumber(a) ? cJSON_CreateNumber(-a->valuedouble)
                              : err_at(E, x,
                                       "'-' on a value that is not a "
                                       "number%s",
                                       "");
        break;
    case E_COND:
        b = eval(E, x->b);
        if (!E->failed)
            r = truthy(b) ? eval(E, x->a)
                : x->d    ? eval(E, x->d)
                          : cJSON_CreateString("");
        break;
    case E_BIN:
        if (!strcmp(x->s, "and") || !strcmp(x->s, "or")) {
            a = eval(E, x->a);
            if (E->failed)
                break;
            if (truthy(a) == (x->s[0] == 'o')) {
                r = a;
                a = NULL;
            } else {
                r = eval(E, x->b);
            }
            break;
        }
        a = eval(E, x->a);
        b = eval(E, x->b);
        if (!E->failed)
            r = bin(E, x, a, b);
        break;
    case E_ATTR:
        a = eval(E, x->a);
        if (E->failed)
            break;
        if (cJSON_IsObject(a) && cJSON_GetObjectItemCaseSensitive(a, x->s))
            r = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(a, x->s), 1);
        else
            r = err_at(E, x, "no attribute '%s' (undefined)", x->s);
        break;
    case E_INDEX:
        a = eval(E, x->a);
        b = eval(E, x->b);
        if (!E->failed)
            r = index_of(E, x, a, b);
        break;
    case E_SLICE:
        a = eval(E, x->a);
        b = x->b ? eval(E, x->b) : NULL;
        d = x->d ? eval(E, x->d) : NULL;
        if (!E->failed)
            r = slice(E, x, a, b, d);
        break;
    case E_CALL:
    case E_FILTER:
        a = eval(E, x->a);
        args = hfe_xcalloc(x->n + 1, sizeof(*args));
        for (i = 0; i < x->n && !E->failed; i++)
            args[i] = eval(E, x->v[i]);
        if (!E->failed)
            r = x->k == E_CALL ? method(E, x, a, args, x->n)
                               : filter(E, x, a, args, x->n);
        for (i = 0; i < x->n; i++)
            cJSON_Delete(args[i]);
        free(args);
        break;
    default:
        r = err_at(E, x, "a statement where an expression belongs%s", "");
    }
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(d);
    if (E->failed) {
        cJSON_Delete(r);
        return NULL;
    }
    return r;
}

/* ---- rendering -------------------------------------------------------- */

static void render(struct env *E, const struct node *x, struct hfe_buf *out);

static void set_var(struct env *E, const char *name, cJSON *v)
{
    struct var *nv = hfe_xcalloc(1, sizeof(*nv));

    nv->name = name;
    nv->v = v;
    nv->up = E->vars;
    E->vars = nv;
}

static void pop_vars(struct env *E, struct var *to)
{
    while (E->vars != to) {
        struct var *v = E->vars;

        E->vars = v->up;
        cJSON_Delete(v->v);
        free(v);
    }
}

static void render_for(struct env *E, const struct node *x, struct hfe_buf *out)
{
    cJSON *seq = eval(E, x->a);
    const cJSON *e;
    int i = 0, n;

    if (E->failed)
        return;
    if (cJSON_IsString(seq)) { /* a string iterates by character */
        cJSON *chars = cJSON_CreateArray();
        const char *p;

        for (p = seq->valuestring; *p; p++) {
            char c[2] = {*p, 0};

            cJSON_AddItemToArray(chars, cJSON_CreateString(c));
        }
        cJSON_Delete(seq);
        seq = chars;
    }
    if (!cJSON_IsArray(seq)) {
        err_at(E, x, "{%% for %%} over a value that is not a list%s", "");
        cJSON_Delete(seq);
        return;
    }
    n = cJSON_GetArraySize(seq);
    cJSON_ArrayForEach(e, seq)
    {
        struct var *mark = E->vars;
        cJSON *loop = cJSON_CreateObject();

        cJSON_AddNumberToObject(loop, "index", i + 1);
        cJSON_AddNumberToObject(loop, "index0", i);
        cJSON_AddBoolToObject(loop, "first", i == 0);
        cJSON_AddBoolToObject(loop, "last", i == n - 1);
        cJSON_AddNumberToObject(loop, "length", n);
        set_var(E, "loop", loop);
        set_var(E, x->s, cJSON_Duplicate(e, 1));
        render(E, x->b, out);
        pop_vars(E, mark);
        i++;
        if (E->failed)
            break;
    }
    cJSON_Delete(seq);
}

static void render(struct env *E, const struct node *x, struct hfe_buf *out)
{
    for (; x && !E->failed; x = x->next) {
        cJSON *v;

        switch (x->k) {
        case S_TEXT:
            hfe_buf_puts(out, x->s);
            break;
        case S_OUT:
            if ((v = eval(E, x->a)))
                py_str(out, v, 0);
            cJSON_Delete(v);
            break;
        case S_IF: { /* the first branch whose condition holds, or else */
            const struct node *c = x, *take;
            int holds;

            for (;;) {
                v = eval(E, c->a);
                if (E->failed)
                    return;
                holds = truthy(v);
                cJSON_Delete(v);
                if (holds) {
                    take = c->b;
                    break;
                }
                if (!c->d || c->d->k != S_IF || !c->d->s) { /* no elif */
                    take = c->d;
                    break;
                }
                c = c->d;
            }
            render(E, take, out);
            break;
        }
        case S_FOR:
            render_for(E, x, out);
            break;
        case S_SET:
            if ((v = eval(E, x->a)))
                set_var(E, x->s, v);
            break;
        default:
            err_at(E, x, "an expression where a statement belongs%s", "");
        }
    }
}

int hfe_jinja_render(const struct hfe_jinja *t, const cJSON *doc,
                     struct hfe_buf *out, struct hfe_err *err)
{
    struct env E = {doc, NULL, t->file, err, 0};

    hfe_buf_add(out, "", 0);
    render(&E, t->body, out);
    pop_vars(&E, NULL);
    return E.failed ? HFE_EXIT_SUITE : 0;
}

cJSON *hfe_jinja_value(const struct hfe_jinja *t, const cJSON *doc,
                       struct hfe_err *err)
{
    struct env E = {doc, NULL, t->file, err, 0};

    if (!t->single) {
        hfe_err_set(err, "%s: template: one {{ expression }} expected here",
                    t->file);
        return NULL;
    }
    return eval(&E, t->body->a);
}
