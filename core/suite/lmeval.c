/*
 * lmeval.c - lm-evaluation-harness task files (.yaml) run as suites.
 *
 * hfe_suite_load hands a .yaml path to hfe_lmeval_open: the Lua runtime
 * is opened on the adapter below as if it were the file, so the task's
 * data is read, digested and recorded as any suite's, and the runner,
 * scorers and records need nothing of their own.  The adapter asks C for
 * the file (hfe.lmeval.load: yaml_doc.c) and for its templates
 * (hfe.lmeval.template: jinja.c, rendered against each document), and
 * builds the task as lm-evaluation-harness does (lm_eval/api/task.py):
 *
 *   context      description .. few-shot examples .. doc_to_text(doc),
 *                each example doc_to_text .. target_delimiter .. its
 *                target, followed by fewshot_delimiter (default "\n\n")
 *   continuation target_delimiter (default " ") .. choice
 *
 * Supported now: output_type multiple_choice, with doc_to_text,
 * doc_to_choice (a template giving a list, or a YAML list) and
 * doc_to_target (a column, a template, an index or a choice's text),
 * description, target_delimiter, fewshot_delimiter, num_fewshot from
 * --set fewshot=FILE (or the data itself) with fewshot_config.sampler
 * first_n.  Anything else — another output_type, !function, a group, a
 * random sampler, a filter list — is refused with the file, the line
 * and what to do, exit 5.
 */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "jinja.h"
#include "lmeval.h"
#include "lua_rt.h"
#include "yaml_doc.h"

/* The adapter: runs as the task file itself (hfe_lua_open_text). */
static const char adapter[] =
    "local path = ...\n"
    "local cfg = hfe.lmeval.load(path)\n"
    "local function refuse(key, why)\n"
    "    error(string.format('%s:%d: %s', path, cfg['!lines'][key] or 1, why), "
    "0)\n"
    "end\n"
    "if cfg.group ~= nil then\n"
    "    refuse('group', \"'group' is not supported yet: run the tasks it "
    "names \"\n"
    "        .. 'one at a time')\n"
    "end\n"
    "if cfg.output_type ~= 'multiple_choice' then\n"
    "    refuse('output_type', \"output_type '\" .. tostring(cfg.output_type)\n"
    "        .. \"' is not supported yet (multiple_choice is)\")\n"
    "end\n"
    "for _, key in ipairs({'process_docs', 'process_results', 'filter_list', "
    "'doc_to_image', 'doc_to_audio'}) do\n"
    "    if cfg[key] ~= nil then\n"
    "        refuse(key, \"'\" .. key .. \"' is not supported yet\")\n"
    "    end\n"
    "end\n"
    "for _, key in ipairs({'doc_to_text', 'doc_to_target', 'doc_to_choice'}) "
    "do\n"
    "    if type(cfg[key]) == 'table' and cfg[key]['!function'] then\n"
    "        refuse(key, '!function ' .. cfg[key]['!function'] .. ' is Python: "
    "hfeval runs '\n"
    "            .. 'no Python of a task; write the task as a Lua suite "
    "(suites/README.md)')\n"
    "    end\n"
    "end\n"
    "local split = cfg.test_split or cfg.validation_split\n"
    "local data = hfe.set.data or error(string.format(\"%s: task '%s' reads "
    "\"\n"
    "    .. \"the Hub dataset %s%s, split '%s', which hfeval does not "
    "download: \"\n"
    "    .. 'give that split as a local JSONL file in its own field layout, '\n"
    "    .. '--set data=FILE.jsonl', path, tostring(cfg.task), "
    "tostring(cfg.dataset_path),\n"
    "    cfg.dataset_name and (' (' .. cfg.dataset_name .. ')') or '', "
    "tostring(split)), 0)\n"
    "-- a file of a dataset's every config (MMLU's 'all', whose rows name\n"
    "-- their subject): the rows of this task's dataset_name\n"
    "local function config_rows(rows)\n"
    "    if not cfg.dataset_name or not rows[1] or rows[1].subject == nil then "
    "return rows end\n"
    "    local out = {}\n"
    "    for _, r in ipairs(rows) do\n"
    "        if r.subject == cfg.dataset_name then out[#out + 1] = r end\n"
    "    end\n"
    "    return out\n"
    "end\n"
    "local docs = config_rows(hfe.read_jsonl(data))\n"
    "local function template(key)\n"
    "    local v = cfg[key]\n"
    "    if type(v) == 'string' then\n"
    "        return hfe.lmeval.template(v, path, cfg['!lines'][key] or 1)\n"
    "    end\n"
    "    return nil\n"
    "end\n"
    "local text, target = template('doc_to_text'), template('doc_to_target')\n"
    "local choice = template('doc_to_choice')\n"
    "local td = cfg.target_delimiter or ' '\n"
    "local fd = cfg.fewshot_delimiter or '\\n\\n'\n"
    "local desc = cfg.description or ''\n"
    "local function as_text(key, f, doc)\n"
    "    local v = cfg[key]\n"
    "    if type(v) == 'string' and doc[v] ~= nil then return doc[v] end\n"
    "    if f then return f(doc) end\n"
    "    refuse(key, key .. ' must be a column or a template')\n"
    "end\n"
    "local function choices(doc)\n"
    "    local v = cfg.doc_to_choice\n"
    "    if type(v) == 'table' then return v end\n"
    "    if type(v) == 'string' and type(doc[v]) == 'table' then return doc[v] "
    "end\n"
    "    local l = choice and choice:value(doc)\n"
    "    if type(l) ~= 'table' then refuse('doc_to_choice', 'doc_to_choice "
    "must give a list') end\n"
    "    return l\n"
    "end\n"
    "local function gold(doc)\n"
    "    local v = cfg.doc_to_target\n"
    "    local g\n"
    "    if type(v) == 'number' then g = v\n"
    "    elseif type(v) == 'string' and doc[v] ~= nil then g = doc[v]\n"
    "    else g = target:value(doc) end\n"
    "    if type(g) == 'string' and g:match('^%d+$') then g = tonumber(g) end\n"
    "    if type(g) == 'string' then\n"
    "        for i, c in ipairs(choices(doc)) do if c == g then return i - 1 "
    "end end\n"
    "        refuse('doc_to_target', \"the target '\" .. g .. \"' is none of "
    "the choices\")\n"
    "    end\n"
    "    return math.tointeger(g) or refuse('doc_to_target', 'the target is no "
    "index')\n"
    "end\n"
    "local function target_text(doc)\n"
    "    local c = choices(doc)\n"
    "    return tostring(c[gold(doc) + 1])\n"
    "end\n"
    "local shots = math.tointeger(tonumber(hfe.set.num_fewshot or "
    "cfg.num_fewshot or 0))\n"
    "local prefix = desc\n"
    "if shots and shots > 0 then\n"
    "    local fc = cfg.fewshot_config or {}\n"
    "    if (fc.sampler or 'default') ~= 'first_n' then\n"
    "        refuse('num_fewshot', \"few-shot sampler '\" .. "
    "tostring(fc.sampler or 'default')\n"
    "            .. \"' is not supported yet (first_n is)\")\n"
    "    end\n"
    "    local pool = hfe.set.fewshot and "
    "config_rows(hfe.read_jsonl(hfe.set.fewshot))\n"
    "        or error(string.format(\"%s: %d-shot: give the '%s' split as \"\n"
    "            .. '--set fewshot=FILE.jsonl', path, shots,\n"
    "            tostring(cfg.fewshot_split or cfg.training_split or "
    "cfg.validation_split)), 0)\n"
    "    local parts = {}\n"
    "    for i = 1, math.min(shots, #pool) do\n"
    "        parts[#parts + 1] = as_text('doc_to_text', text, pool[i]) .. td\n"
    "            .. target_text(pool[i])\n"
    "    end\n"
    "    prefix = desc .. table.concat(parts, fd) .. fd\n"
    "end\n"
    "local version = cfg.metadata and cfg.metadata.version\n"
    "-- the metric the task file lists first (acc or acc_norm), else acc\n"
    "local first = type(cfg.metric_list) == 'table' and cfg.metric_list[1]\n"
    "local metric = first and (first.metric == 'acc' or first.metric == "
    "'acc_norm') and first.metric or 'acc'\n"
    "return { name = tostring(cfg.task), version = version and "
    "tostring(version) or '0',\n"
    "    tasks = { {\n"
    "        name = tostring(cfg.task), kind = 'choice', primary = metric, "
    "docs "
    "= docs,\n"
    "        shots = shots or 0,\n"
    "        -- the Hub benchmark is the task's own dataset (hfeval export)\n"
    "        hub = cfg.dataset_path and { dataset = "
    "tostring(cfg.dataset_path),\n"
    "            task_id = tostring(cfg.task), config = cfg.dataset_name and "
    "tostring(cfg.dataset_name),\n"
    "            split = split and tostring(split), metric = metric, name = "
    "tostring(cfg.task) },\n"
    "        prompt = function(doc) return prefix .. as_text('doc_to_text', "
    "text, doc) end,\n"
    "        choices = function(doc)\n"
    "            local out = {}\n"
    "            for i, c in ipairs(choices(doc)) do out[i] = td .. "
    "tostring(c) end\n"
    "            return out\n"
    "        end,\n"
    "        gold = gold,\n"
    "    } } }\n";

/* ---- hfe.lmeval.load -------------------------------------------------- */

static int may(void *ud, const char *path)
{
    return hfe_lua_may_read(ud, path);
}

static void note(void *ud, const char *path)
{
    hfe_lua_note_read(ud, path);
}

static int l_load(lua_State *L)
{
    struct hfe_lua *s = hfe_lua_runtime(L);
    const char *path = luaL_checkstring(L, 1);
    struct hfe_yaml_files fs = {may, note, s};
    struct hfe_err err;
    cJSON *doc;

    if (!s)
        return luaL_error(L, "%s: no suite runtime", path);
    if (!(doc = hfe_yaml_task(path, &fs, &err))) {
        lua_pushstring(L, err.msg);
        return lua_error(L);
    }
    hfe_lua_push_json(L, doc); /* raises only on memory: doc then leaks */
    cJSON_Delete(doc);
    return 1;
}

/* ---- hfe.lmeval.template ---------------------------------------------- */

#define TEMPLATE_MT "hfe.lmeval.template"

struct tpl {
    struct hfe_jinja *j;
};

static int l_template(lua_State *L)
{
    const char *src = luaL_checkstring(L, 1), *file = luaL_checkstring(L, 2);
    int line = (int)luaL_optinteger(L, 3, 1);
    struct tpl *t = lua_newuserdatauv(L, sizeof(*t), 0);
    struct hfe_err err;

    t->j = NULL;
    luaL_setmetatable(L, TEMPLATE_MT);
    if (hfe_jinja_compile(src, file, line, &t->j, &err) != 0) {
        lua_pushstring(L, err.msg);
        return lua_error(L);
    }
    return 1;
}

static int tpl_gc(lua_State *L)
{
    struct tpl *t = luaL_checkudata(L, 1, TEMPLATE_MT);

    hfe_jinja_free(t->j);
    t->j = NULL;
    return 0;
}

/* The document at idx as cJSON, through hfe.json.encode's rules. */
static cJSON *doc_json(lua_State *L, int idx)
{
    const char *s;
    cJSON *d;

    lua_getglobal(L, "hfe");
    lua_getfield(L, -1, "json");
    lua_getfield(L, -1, "encode");
    lua_pushvalue(L, idx);
    lua_call(L, 1, 1);
    s = lua_tostring(L, -1);
    d = cJSON_Parse(s ? s : "null");
    lua_pop(L, 3);
    return d;
}

/* template(doc): the text; template:value(doc): its one value. */
static int render(lua_State *L, int value)
{
    struct tpl *t = luaL_checkudata(L, 1, TEMPLATE_MT);
    cJSON *doc, *v = NULL;
    struct hfe_buf out = {0};
    struct hfe_err err;
    int rc;

    luaL_checktype(L, 2, LUA_TTABLE);
    doc = doc_json(L, 2);
    if (value) {
        v = hfe_jinja_value(t->j, doc, &err);
        rc = v ? 0 : HFE_EXIT_SUITE;
    } else {
        rc = hfe_jinja_render(t->j, doc, &out, &err);
    }
    cJSON_Delete(doc);
    if (rc != 0) {
        hfe_buf_free(&out);
        lua_pushstring(L, err.msg);
        return lua_error(L);
    }
    if (value) {
        hfe_lua_push_json(L, v);
        cJSON_Delete(v);
    } else {
        lua_pushlstring(L, out.s, out.len);
        hfe_buf_free(&out);
    }
    return 1;
}

static int tpl_call(lua_State *L)
{
    return render(L, 0);
}

static int tpl_value(lua_State *L)
{
    return render(L, 1);
}

void hfe_lmeval_open_lib(lua_State *L)
{
    static const luaL_Reg lib[] = {
        {"load", l_load}, {"template", l_template}, {NULL, NULL}};
    static const luaL_Reg methods[] = {{"value", tpl_value}, {NULL, NULL}};

    if (luaL_newmetatable(L, TEMPLATE_MT)) {
        lua_pushcfunction(L, tpl_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, tpl_call);
        lua_setfield(L, -2, "__call");
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    luaL_newlib(L, lib);
}

int hfe_lmeval_is_task_file(const char *path)
{
    const char *dot = strrchr(path, '.');

    return dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml"));
}

int hfe_lmeval_open(const char *path, const struct hfe_lua_opts *o,
                    struct hfe_lua **out, struct hfe_err *err)
{
    return hfe_lua_open_text(path, adapter, sizeof(adapter) - 1, o, out, err);
}
