-- lmeval.lua - an lm-evaluation-harness task file (.yaml) as a suite.
--
-- lmeval.c compiles this in and runs it as the task file itself, so the
-- file's data is read, digested and recorded as any suite's.  It asks C
-- for the file (hfe.lmeval.load: yaml_doc.c, includes merged), for its
-- templates (hfe.lmeval.template: jinja.c) and for Python's random
-- (hfe.lmeval.random: pyrandom.c), and builds each task as
-- lm-evaluation-harness does (lm_eval/api/task.py and samplers.py):
--
--   context       description .. examples .. doc_to_text(doc), each
--                 example doc_to_text .. target_delimiter .. its target
--                 .. fewshot_delimiter (default "\n\n")
--   multiple_choice  continuations target_delimiter (default " ") ..
--                 choice; or, when doc_to_text gives an index (winogrande),
--                 one context a choice and the one continuation
--                 target_delimiter .. doc_to_target
--   loglikelihood the continuation doc_to_target, no delimiter
--   loglikelihood_rolling  the text doc_to_target
--   generate_until  generation_kwargs, filter_list and exact_match's
--                 options
--
-- Few-shot examples: fewshot_config.sampler first_n, or the default, one
-- random.Random(1234) a task drawing random.sample(pool, n) for each
-- document in order (n + 1 and the document itself dropped when the
-- few-shot split is the test split).  A group file runs every task it
-- names, through tags and groups defined beside it.  The !function
-- helpers of the popular tasks have native equivalents here (natives);
-- any other is refused with the file, the line and what to do.
local path = ...
local dir = path:match("^(.*)/[^/]*$") or "."

local function fail(file, cfg, key, why)
    local line = cfg and cfg["!lines"] and cfg["!lines"][key] or 1
    error(string.format("%s:%d: %s", file, line, why), 0)
end

-- ---- data ---------------------------------------------------------------

-- A split the user gives: JSONL (plain or gzipped) or CSV with a header,
-- whose integer fields become integers as the datasets library reads
-- them.
local cache = {}
local function read_split(file)
    if cache[file] then return cache[file] end
    local rows
    if file:match("%.csv$") or file:match("%.csv%.gz$") then
        rows = hfe.read_csv(file)
        for _, r in ipairs(rows) do
            for k, v in pairs(r) do
                if type(v) == "string" and v:match("^%-?%d+$") and #v < 16 then
                    r[k] = math.tointeger(tonumber(v))
                end
            end
        end
    else
        rows = hfe.read_jsonl(file)
    end
    cache[file] = rows
    return rows
end

-- A file of a dataset's every config (MMLU's "all", whose rows name their
-- subject): the rows of this task's dataset_name.
local function config_rows(cfg, rows)
    if not cfg.dataset_name or not rows[1] or rows[1].subject == nil then
        return rows
    end
    local out = {}
    for _, r in ipairs(rows) do
        if r.subject == cfg.dataset_name then out[#out + 1] = r end
    end
    return out
end

-- ---- native helpers -----------------------------------------------------

-- hellaswag's utils.preprocess: Python's str methods on ASCII text.
local function hs_preprocess(text)
    text = text:match("^%s*(.-)%s*$")
    text = text:gsub(" %[title%]", ". ")
    text = text:gsub("%[[^\n]-%]", "")
    text = text:gsub("  ", " ")
    return text
end

local function capitalize(s) -- Python's str.capitalize, ASCII
    return s:sub(1, 1):upper() .. s:sub(2):lower()
end

-- Keyed by the task and the function its file names.
local natives = {
    ["hellaswag:utils.process_docs"] = function(docs)
        local out = {}
        for i, d in ipairs(docs) do
            local ctx = d.ctx_a .. " " .. capitalize(d.ctx_b)
            local choices = {}
            for k, e in ipairs(d.endings) do choices[k] = hs_preprocess(e) end
            local o = {}
            for k, v in pairs(d) do o[k] = v end
            o.query = hs_preprocess(d.activity_label .. ": " .. ctx)
            o.choices = choices
            o.gold = math.tointeger(tonumber(d.label))
            out[i] = o
        end
        return out
    end,
    ["winogrande:preprocess_winogrande.doc_to_text"] = function(doc)
        local map = { ["1"] = 0, ["2"] = 1 }
        return map[tostring(doc.answer)]
    end,
    ["winogrande:preprocess_winogrande.doc_to_target"] = function(doc)
        local idx = doc.sentence:find("_", 1, true)
        return doc.sentence:sub(idx + 1):match("^%s*(.-)%s*$")
    end,
    ["winogrande:preprocess_winogrande.doc_to_choice"] = function(doc)
        local idx = doc.sentence:find("_", 1, true)
        local head = doc.sentence:sub(1, idx - 1)
        return { head .. doc.option1, head .. doc.option2 }
    end,
    -- the probability mass of the true answers, normalised over all
    ["truthfulqa_mc2:utils.process_results_mc2"] = function(doc, out)
        local all, yes = 0, 0
        for k, ll in ipairs(out.logprobs) do
            local p = math.exp(ll)
            all = all + p
            if doc.mc2_targets.labels[k] == 1 then yes = yes + p end
        end
        return { acc = yes / all }
    end,
}

-- ---- one task -----------------------------------------------------------

local function build(cfg, file, sets)
    local function refuse(key, why) fail(file, cfg, key, why) end
    local name = tostring(cfg.task)

    -- a !function: the native equivalent, else a Lua hook beside the file
    -- (MODULE.lua returning { FUNCTION = function ... end }), else refused
    local fdir = file:match("^(.*)/[^/]*$") or "."
    local function native(key)
        local v = cfg[key]
        if type(v) ~= "table" or not v["!function"] then return nil end
        local spec = tostring(v["!function"])
        local f = natives[name .. ":" .. spec]
        if f then return f end
        local mod, fn = spec:match("^([%w_]+)%.([%w_]+)$")
        local hook = mod and fdir .. "/" .. mod .. ".lua"
        local ok, text = false, nil
        -- hfe.read_text reads relative to the suite's directory: this one's
        if hook then ok, text = pcall(hfe.read_text, mod .. ".lua") end
        if not ok then
            refuse(key, "!function " .. spec .. " is Python, which hfeval does "
                .. "not run, and has no native equivalent here: write "
                .. (mod or "MODULE") .. ".lua beside the task file, returning { "
                .. (fn or "FUNCTION") .. " = function ... end }, or the task as a "
                .. "Lua suite (suites/README.md)")
        end
        local m = hfe.lmeval.hook(text, hook)()
        if type(m) ~= "table" or type(m[fn]) ~= "function" then
            refuse(key, hook .. " must return a table whose '" .. fn .. "' is a function")
        end
        return m[fn]
    end

    local ot = cfg.output_type or "generate_until"
    local kinds = { multiple_choice = "choice", generate_until = "generate",
                    loglikelihood = "loglikelihood",
                    loglikelihood_rolling = "rolling" }
    if not kinds[ot] then
        refuse("output_type", "output_type '" .. tostring(ot) .. "' is not "
            .. "one of multiple_choice, generate_until, loglikelihood, "
            .. "loglikelihood_rolling")
    end
    for _, key in ipairs({ "doc_to_image", "doc_to_audio", "gen_prefix" }) do
        if cfg[key] ~= nil then refuse(key, "'" .. key .. "' is not supported") end
    end

    -- the documents
    local split = cfg.test_split or cfg.validation_split
    local data = sets.data or error(string.format("%s: task '%s' reads "
        .. "the Hub dataset %s%s, split '%s', which hfeval does not download: "
        .. "give that split as a local JSONL or CSV file in its own field "
        .. "layout, --set data=FILE.jsonl", file, name,
        tostring(cfg.dataset_path),
        cfg.dataset_name and (" (" .. cfg.dataset_name .. ")") or "",
        tostring(split)), 0)
    local process_docs = native("process_docs")
    local function docs_of(f)
        local rows = config_rows(cfg, read_split(f))
        return process_docs and process_docs(rows) or rows
    end
    local docs = docs_of(data)

    local function template(key, src)
        if type(src) ~= "string" then return nil end
        return hfe.lmeval.template(src, file, cfg["!lines"][key] or 1)
    end
    local tpl = {}
    for _, key in ipairs({ "doc_to_text", "doc_to_target", "doc_to_choice",
                           "description" }) do
        tpl[key] = template(key, cfg[key])
    end
    local nat = {}
    for _, key in ipairs({ "doc_to_text", "doc_to_target", "doc_to_choice" }) do
        nat[key] = native(key)
    end

    -- doc_to_choice: a column, a YAML list, a template giving a list
    local function choices(doc)
        local v = cfg.doc_to_choice
        if nat.doc_to_choice then return nat.doc_to_choice(doc) end
        if type(v) == "table" then
            local out = {}
            for k, c in ipairs(v) do out[k] = c end
            if #out == 0 then for _, c in pairs(v) do out[#out + 1] = c end end
            return out
        end
        if type(v) == "string" and doc[v] ~= nil then return doc[v] end
        local l = tpl.doc_to_choice and tpl.doc_to_choice:value(doc)
        if type(l) ~= "table" then
            refuse("doc_to_choice", "doc_to_choice must give a list")
        end
        return l
    end
    local has_choice = cfg.doc_to_choice ~= nil
    -- doc_to_text / doc_to_target: a column, an index, a template; a digit
    -- string is an index where there are choices
    local function apply(key, doc)
        local v = cfg[key]
        if nat[key] then return nat[key](doc) end
        if math.type(v) == "integer" then return v end
        if type(v) == "table" and key == "doc_to_target" then return v end
        if type(v) == "string" and doc[v] ~= nil then return doc[v] end
        if not tpl[key] then refuse(key, key .. " must be a column or a template") end
        local s = tpl[key](doc)
        if has_choice and s:match("^%d+$") then return math.tointeger(tonumber(s)) end
        if key == "doc_to_target" and s:match("^%[.*%]$") then
            local ok, l = pcall(tpl[key].value, tpl[key], doc)
            if ok and type(l) == "table" then return l end
        end
        return s
    end
    local function text(doc) return apply("doc_to_text", doc) end
    local function target(doc) return apply("doc_to_target", doc) end

    local td = cfg.target_delimiter or " "
    local fd = cfg.fewshot_delimiter or "\n\n"

    -- the few-shot examples of each document, drawn in document order
    local shots = math.tointeger(tonumber(sets.num_fewshot or cfg.num_fewshot or 0))
    if not shots or shots < 0 then
        refuse("num_fewshot", "num_fewshot must be a whole number of 0 or more")
    end
    local pool, picks = nil, {}
    if shots > 0 then
        if ot == "loglikelihood_rolling" then
            refuse("num_fewshot", "a loglikelihood_rolling task takes no examples")
        end
        local fc = cfg.fewshot_config or {}
        local sampler = fc.sampler or "default"
        if sampler ~= "first_n" and sampler ~= "default" then
            refuse("fewshot_config", "few-shot sampler '" .. tostring(sampler)
                .. "' is not supported (first_n and default are)")
        end
        local fsplit = cfg.fewshot_split or cfg.training_split
            or cfg.validation_split
        local same = cfg.fewshot_split ~= nil and cfg.fewshot_split == cfg.test_split
        if sets.fewshot then
            pool = docs_of(sets.fewshot)
        elseif same then
            pool = docs
        else
            error(string.format("%s: %d-shot: give the '%s' split as "
                .. "--set fewshot=FILE.jsonl", file, shots, tostring(fsplit)), 0)
        end
        local enc = hfe.json.encode
        local want = same and shots + 1 or shots
        if want > #pool then
            refuse("num_fewshot", string.format("%d examples wanted, the "
                .. "few-shot split has %d", want, #pool))
        end
        local rnd = hfe.lmeval.random(tonumber(sets.fewshot_seed or 1234))
        for i, doc in ipairs(docs) do
            local drawn = {}
            if sampler == "first_n" then
                for k = 1, want do drawn[k] = k end
            else
                drawn = rnd:sample(#pool, want)
            end
            -- the document itself is never its own example
            local me, out = enc(doc), {}
            for _, k in ipairs(drawn) do
                if #out < shots and enc(pool[k]) ~= me then out[#out + 1] = k end
            end
            picks[i] = out
        end
    end
    local slot = {} -- a document's place, for its examples
    for i, doc in ipairs(docs) do slot[doc] = i end

    local function example(ex)
        local content, tgt = text(ex), target(ex)
        local s = type(content) == "string" and content
            or tostring(choices(ex)[content + 1])
        if tgt == "" then return s end
        if type(tgt) == "table" then
            tgt = tostring(tgt[1])
        elseif type(tgt) ~= "string" then
            tgt = tostring(choices(ex)[tgt + 1])
        end
        return s .. td .. tgt .. fd
    end
    local function labeled(doc)
        local desc = tpl.description and tpl.description(doc) or ""
        local i = slot[doc]
        if not i or not picks[i] then return desc end
        local parts = { desc }
        for _, k in ipairs(picks[i]) do parts[#parts + 1] = example(pool[k]) end
        return table.concat(parts)
    end

    -- the metrics the file lists, checked against what hfeval computes
    local listed, opts = {}, {}
    for _, m in ipairs(type(cfg.metric_list) == "table" and cfg.metric_list or {}) do
        if type(m) ~= "table" or type(m.metric) ~= "string" then
            refuse("metric_list", "each metric_list entry must name a metric")
        end
        listed[#listed + 1] = m.metric
        opts[m.metric] = m
    end
    local known = {
        choice = { acc = 1, acc_norm = 1 },
        generate = { exact_match = 1 },
        loglikelihood = { acc = 1, perplexity = 1 },
        rolling = { bits_per_byte = 1 },
    }
    local kind = kinds[ot]
    local custom = cfg.process_results ~= nil and kind == "choice"
    for _, m in ipairs(listed) do
        if not known[kind][m] and not custom then
            refuse("metric_list", "metric '" .. m .. "' is not one hfeval "
                .. "computes for " .. ot)
        end
    end
    local version = cfg.metadata and cfg.metadata.version
    local task = {
        name = name, kind = kind, docs = docs, shots = shots,
        -- the Hub benchmark is the task's own dataset (hfeval export)
        hub = cfg.dataset_path and {
            dataset = tostring(cfg.dataset_path), task_id = name,
            config = cfg.dataset_name and tostring(cfg.dataset_name),
            split = split and tostring(split), name = name },
        version = version,
    }

    if kind == "choice" then
        task.prompt = function(doc)
            local t = text(doc)
            return labeled(doc) .. (type(t) == "string" and t or "")
        end
        task.gold = function(doc)
            local g = type(text(doc)) ~= "string" and text(doc) or target(doc)
            if type(g) == "string" then
                for k, c in ipairs(choices(doc)) do
                    if tostring(c) == g then return k - 1 end
                end
                refuse("doc_to_target", "the target '" .. g .. "' is none of the choices")
            end
            return math.tointeger(g) or refuse("doc_to_target", "the target is no index")
        end
        task.choices = function(doc)
            local out = {}
            if type(text(doc)) ~= "string" then -- the choices are contexts
                local cont = td .. tostring(target(doc))
                for k in ipairs(choices(doc)) do out[k] = cont end
                return out
            end
            for k, c in ipairs(choices(doc)) do out[k] = td .. tostring(c) end
            return out
        end
        task.lengths = function(doc) -- acc_norm: the choice's characters
            local out = {}
            for k, c in ipairs(choices(doc)) do
                out[k] = math.max(utf8.len(tostring(c)) or #tostring(c), 1)
            end
            return out
        end
        if docs[1] and type(text(docs[1])) ~= "string" then
            task.contexts = function(doc)
                local head, out = labeled(doc), {}
                for k, c in ipairs(choices(doc)) do out[k] = head .. tostring(c) end
                return out
            end
        end
        -- process_results(doc, out) gives the document's metrics by name
        local pr = native("process_results")
        if pr then -- its metrics alone, as lm-evaluation-harness reports
            task.builtin_metrics = false
            task.metrics = {}
            for _, m in ipairs(#listed > 0 and listed or { "acc" }) do
                task.metrics[m] = function(doc, out)
                    local r = pr(doc, out)
                    if type(r) ~= "table" or type(r[m]) ~= "number" then
                        refuse("process_results", "process_results must give a table "
                            .. "with the number '" .. m .. "'")
                    end
                    return r[m]
                end
            end
        end
        task.primary = pr and (listed[1] or "acc")
            or (listed[1] == "acc_norm") and "acc_norm" or "acc"
    elseif kind == "loglikelihood" then
        task.prompt = function(doc) return labeled(doc) .. text(doc) end
        task.target = function(doc) return tostring(target(doc)) end
        -- acc where listed (a share the decision table can average),
        -- else perplexity (lower is better)
        local has_acc = #listed == 0
        for _, m in ipairs(listed) do has_acc = has_acc or m == "acc" end
        task.primary = has_acc and "acc" or "perplexity"
    elseif kind == "rolling" then
        task.text = function(doc) return tostring(target(doc)) end
        task.primary = "bits_per_byte"
    else
        if native("process_results") then
            refuse("process_results", "process_results is for multiple_choice here")
        end
        local gk = cfg.generation_kwargs or { ["until"] = { fd } }
        local u = gk["until"] or { fd }
        if type(u) == "string" then u = { u } end
        task["until"] = u
        task.max_tokens = math.tointeger(gk.max_gen_toks or 256)
        task.temperature = gk.do_sample and tonumber(gk.temperature or 1) or 0
        task.samples = math.tointeger(cfg.repeats or 1)
        task.prompt = function(doc) return labeled(doc) .. text(doc) end
        task.target = function(doc)
            local t = target(doc)
            if type(t) == "table" then
                refuse("doc_to_target", "a list of targets is not supported")
            end
            return tostring(t)
        end
        local em = opts.exact_match or {}
        task.ignore = em.regexes_to_ignore
        task.ignore_case = em.ignore_case and true or false
        task.ignore_punctuation = em.ignore_punctuation and true or false
        local extract, filters, first = {}, { "first" }, nil
        for _, f in ipairs(cfg.filter_list or {}) do
            local fname = tostring(f.name)
            local pattern, last = nil, false
            for _, step in ipairs(f.filter or {}) do
                local fn = step["function"]
                if fn == "regex" then
                    pattern = step.regex_pattern
                    local g = step.group_select or 0
                    if g ~= 0 and g ~= -1 then
                        refuse("filter_list", "group_select " .. tostring(g)
                            .. " is not supported (0 and -1 are)")
                    end
                    if step.fallback and step.fallback ~= "[invalid]" then
                        refuse("filter_list", "a fallback other than [invalid] is not supported")
                    end
                    last = g == -1
                elseif fn == "majority_vote" then
                    filters[2] = "majority"
                elseif fn ~= "take_first" then
                    refuse("filter_list", "filter function '" .. tostring(fn)
                        .. "' is not supported (regex, take_first, majority_vote are)")
                end
            end
            extract[fname] = pattern and { pattern, last = last } or { "(?s)^(.*)$" }
            first = first or fname
        end
        if first then
            task.extract = extract
            task.primary = "exact_match:" .. first
        else
            task.primary = "exact_match"
        end
        task.filters = filters
    end
    task.hub = task.hub and (function(h) h.metric = task.primary; return h end)(task.hub)
    return task
end

-- ---- a task file, a group, a directory or a name in one ----------------

-- PATH is a task or group file; a directory (every task and group in it);
-- or DIR/NAME, the task, tag or group NAME defined in DIR.
local sets = hfe.set
local kind = hfe.lmeval.kind(path)
local top
if kind == "file" then
    top = hfe.lmeval.load(path)
else
    dir = kind == "dir" and path or dir
end
local tasks, groups_out = {}, nil
if kind ~= "file" or top.group ~= nil then
    -- every task and tag defined in the directory, by name
    local by_task, by_tag, groups = {}, {}, {}
    for _, f in ipairs(hfe.lmeval.list(dir)) do
        local file = dir .. "/" .. f
        local c = hfe.lmeval.load(file)
        if c.group ~= nil then
            c["!file"] = file
            groups[tostring(c.group)] = c
        elseif type(c.task) == "string" then
            by_task[c.task] = { cfg = c, file = file }
            local tags = type(c.tag) == "table" and c.tag or { c.tag }
            for _, t in ipairs(tags) do
                by_tag[t] = by_tag[t] or {}
                table.insert(by_tag[t], c.task)
            end
        end
    end
    if kind == "dir" then -- the groups no group names, the tasks in none
        local named, list = {}, {}
        for _, g in pairs(groups) do
            for _, n in ipairs(type(g.task) == "table" and g.task or { g.task }) do
                named[n] = true
                for _, t in ipairs(by_tag[n] or {}) do named[t] = true end
            end
        end
        for n in pairs(groups) do if not named[n] then list[#list + 1] = n end end
        for n in pairs(by_task) do if not named[n] then list[#list + 1] = n end end
        table.sort(list)
        if #list == 0 then error(path .. ": no task files here", 0) end
        top = { task = list, ["!lines"] = {} }
    elseif kind == "name" then
        local name = path:match("([^/]*)$")
        if groups[name] then
            top = groups[name]
        elseif by_task[name] or by_tag[name] then
            top = { task = { name }, ["!lines"] = {} }
        else
            error(string.format("%s: no task, tag or group '%s' is defined in %s",
                path, name, dir), 0)
        end
    end
    -- the tasks in the order the groups name them, each once; each group
    -- with an aggregate_metric_list after its members, its members the
    -- tasks and groups it names (a tag's tasks stand in its place)
    local seen, done = {}, {}
    groups_out = {}
    local function expand(g, file, depth)
        if depth > 16 then fail(file, g, "task", "groups nested deeper than 16") end
        local list = type(g.task) == "table" and g.task or { g.task }
        local members = {}
        for _, n in ipairs(list) do
            if type(n) ~= "string" then
                fail(file, g, "task", "a group's task entries must be names")
            elseif by_task[n] then
                if not seen[n] then
                    seen[n] = true
                    tasks[#tasks + 1] = build(by_task[n].cfg, by_task[n].file, sets)
                end
                members[#members + 1] = n
            elseif by_tag[n] then
                table.sort(by_tag[n])
                for _, m in ipairs(expand({ task = by_tag[n] }, file, depth + 1)) do
                    members[#members + 1] = m
                end
            elseif groups[n] then
                expand(groups[n], groups[n]["!file"], depth + 1)
                if done[n] then members[#members + 1] = n end
            else
                fail(file, g, "task", "'" .. n .. "' is no task, tag or group "
                    .. "defined in " .. dir)
            end
        end
        local agg = g.aggregate_metric_list
        if g.group ~= nil and type(agg) == "table" and not done[tostring(g.group)] then
            local metrics = {}
            for _, m in ipairs(agg) do
                if type(m) ~= "table" or type(m.metric) ~= "string" then
                    fail(file, g, "aggregate_metric_list", "each entry must name a metric")
                end
                if (m.aggregation or "mean") ~= "mean" then
                    fail(file, g, "aggregate_metric_list", "aggregation '"
                        .. tostring(m.aggregation) .. "' is not supported (mean is)")
                end
                metrics[#metrics + 1] = { m.metric, weight_by_size = m.weight_by_size ~= false }
            end
            done[tostring(g.group)] = true
            groups_out[#groups_out + 1] = { name = tostring(g.group), tasks = members,
                                            metrics = metrics }
        end
        return members
    end
    expand(top, path, 0)
else
    tasks[1] = build(top, path, sets)
end
local version = #tasks == 1 and tasks[1].version or (top.metadata and top.metadata.version)
for _, t in ipairs(tasks) do t.version = nil end
local sname = top.group or (type(top.task) == "string" and top.task)
    or (#tasks == 1 and tasks[1].name) or path:match("([^/]+)/*$")
return { name = tostring(sname),
         version = version and tostring(version) or "0", tasks = tasks,
         groups = groups_out and #groups_out > 0 and groups_out or nil }
