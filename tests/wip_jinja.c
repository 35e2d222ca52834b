/* wip_jinja.c - checks of core/suite/jinja.c, to become part of
 * test_units.c once the lm-evaluation-harness loader uses it (#19).
 *   cc -std=c11 -D_GNU_SOURCE -Icore/suite -Icommon -Iplugins tests/wip_jinja.c
 *      core/suite/jinja.c common/util.c -lcjson -lm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jinja.h"
static int fails = 0;
static void t(const char *tpl, const char *doc, const char *want)
{
    struct hfe_jinja *j;
    struct hfe_err err;
    struct hfe_buf b = {0};
    cJSON *d = cJSON_Parse(doc);
    if (hfe_jinja_compile(tpl, "x.yaml", 3, &j, &err)) {
        printf("%s: %s\n", strcmp(want, "ERR") ? "FAIL compile" : "ok err",
               err.msg);
        if (strcmp(want, "ERR"))
            fails++;
        cJSON_Delete(d);
        return;
    }
    if (hfe_jinja_render(j, d, &b, &err)) {
        printf("%s: %s\n", strcmp(want, "ERR") ? "FAIL render" : "ok err",
               err.msg);
        if (strcmp(want, "ERR"))
            fails++;
    } else if (strcmp(b.s, want)) {
        printf("FAIL %s\n got  [%s]\n want [%s]\n", tpl, b.s, want);
        fails++;
    } else
        printf("ok   [%s]\n", b.s);
    hfe_buf_free(&b);
    hfe_jinja_free(j);
    cJSON_Delete(d);
}
int main(void)
{
    const char *arc =
        "{\"question\":\"Which?\",\"choices\":{\"text\":[\"dry palms\",\"wet "
        "palms\",\"it's\"],\"label\":[\"A\",\"B\",\"C\"]},\"answerKey\":\"B\"}";
    t("Question: {{question}}\nAnswer:", arc, "Question: Which?\nAnswer:");
    t("{{choices.label.index(answerKey)}}", arc, "1");
    t("{{choices.text}}", arc, "['dry palms', 'wet palms', \"it's\"]");
    t("{{question.strip()}}\nA. {{choices.text[0]}}", arc,
      "Which?\nA. dry palms");
    t("{{text.split(' ')[:-1]|join(' ')}}", "{\"text\":\"the cat sat\"}",
      "the cat");
    t("{{' '+text.split(' ')[-1]}}", "{\"text\":\"the cat sat\"}", " sat");
    t("{% set a = 2 %}{% for x in xs %}{{loop.index}}:{{x}}{% if not loop.last "
      "%},{% endif %}{% endfor %}",
      "{\"xs\":[\"a\",\"b\"]}", "1:a,2:b");
    t("{% if n > 1 %}big{% elif n == 1 %}one{% else %}{% if n == 0 %}zero{% "
      "endif %}{% endif %}",
      "{\"n\":0}", "zero");
    t("{% if n > 1 %}big{% elif n == 1 %}one{% else %}none{% endif %}",
      "{\"n\":1}", "one");
    t("a {{- ' b ' -}} c", "{}", "a b c");
    t("{{ nope }}", "{}", "ERR");
    t("{{ x | frob }}", "{\"x\":1}", "ERR");
    t("{% macro m() %}{% endmacro %}", "{}", "ERR");
    t("{{ 'x' if 1 in [1,2] else 'y' }}{{ 3 // 2 }}{{ 7 % 3 }}{{ 1.5 }}", "{}",
      "x111.5");
    t("{{ [1, 'a', true, none] }}", "{}", "[1, 'a', True, None]");
    t("{{ 'a\\nb' }}|{{ ['a\\nb'] }}", "{}", "a\nb|['a\\nb']");
    return fails != 0;
}
