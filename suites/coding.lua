-- coding.lua - code generation scored by running each completion's tests
-- in the sandbox (core/sandbox.h): pass@k, by the unbiased estimator.
--
--   hfeval run suites/coding.lua --models LIST
--       [--set data=../shared/data/HumanEval.jsonl.gz]   (or mbpp.jsonl)
--       [--set samples=10 --set temperature=0.8 --set k=1,5,10]
--       [--set max_tokens=384] [--set timeout=4]
--
-- Data, told apart by their fields, plain or gzipped:
--   HumanEval  task_id, prompt, canonical_solution, test, entry_point:
--              the model continues the prompt; the program is prompt +
--              completion + test + "check(entry_point)", as
--              human-eval's execution.py builds it.
--   MBPP       task_id, text, code, test_list [, test_setup_code]: the
--              prompt is the MBPP paper's ("You are an expert Python
--              programmer ... [BEGIN]"), the program the completion,
--              the test setup (which may use the completion's classes)
--              and the asserts.
-- A completion holding a ``` fence (a chat model's answer) gives the code
-- inside its first fence instead.  Without --set data, the 32 problems of
-- data/coding.jsonl, written for hfeval in HumanEval's format.
--
-- Greedy pass@1 by default.  Each problem's timeout is max(timeout, 4 x
-- the time its reference solution takes in the sandbox), evalplus's rule;
-- the references run once, before the first model, and one that fails is
-- reported (HFEVAL_LOG=3 shows the summary).  --set references=0 skips
-- them: every timeout is then the plain one.
local data = hfe.set.data or "data/coding.jsonl"
local docs = hfe.read_jsonl(data)

local function is_list_of_strings(v)
    if type(v) ~= "table" or #v == 0 then return false end
    for _, s in ipairs(v) do
        if type(s) ~= "string" then return false end
    end
    return true
end

local format
for i, doc in ipairs(docs) do
    local f
    if type(doc.prompt) == "string" and type(doc.test) == "string"
        and type(doc.entry_point) == "string" then
        f = "humaneval"
    elseif type(doc.text) == "string" and type(doc.code) == "string"
        and is_list_of_strings(doc.test_list) then
        f = "mbpp"
    else
        error(string.format("%s:%d: expected HumanEval's fields (task_id, prompt, "
            .. "canonical_solution, test, entry_point) or MBPP's (task_id, text, "
            .. "code, test_list)", data, i), 0)
    end
    if format and f ~= format then
        error(string.format("%s:%d: a %s problem in a file of %s problems",
            data, i, f, format), 0)
    end
    format = f
end

local samples = tonumber(hfe.set.samples or "1")
-- --set references=0: no reference runs; every timeout is the plain one
local use_references = hfe.set.references ~= "0"
local pass_at = {}
for k in (hfe.set.k or "1"):gmatch("[^,]+") do
    local v = tonumber(k)
    if not v or v < 1 or v > samples or v % 1 ~= 0 then
        error("--set k= must list values from 1 to samples (" .. samples
            .. "), got " .. k, 0)
    end
    pass_at[#pass_at + 1] = v
end

-- The code in a completion: the first ``` fence's content, if any.
local function code_of(text)
    local fenced = text:match("```[%w_+-]*\n(.-)```") or text:match("```[%w_+-]*\n(.*)$")
    return fenced, fenced ~= nil
end

local task = {
    name = "coding",
    kind = "generate",
    docs = docs,
    samples = samples,
    temperature = hfe.set.temperature and tonumber(hfe.set.temperature) or nil,
    pass_at = pass_at,
    primary = "pass@" .. pass_at[1],
    max_tokens = tonumber(hfe.set.max_tokens or "384"),
    id = function(doc) return tostring(doc.task_id) end,
    execute = {
        timeout = tonumber(hfe.set.timeout or "4"),
        factor = 4,
    },
}

-- OpenAI's HumanEval itself (task ids "HumanEval/N"), not a file in its
-- format such as data/coding.jsonl, is the Hub benchmark (hfeval export)
if format == "humaneval" and tostring(docs[1].task_id):match("^HumanEval/%d+$") then
    task.hub = { dataset = "openai/openai_humaneval", task_id = "humaneval",
                 split = "test", metric = task.primary, name = "HumanEval" }
    task.shots = 0
end

if format == "humaneval" then
    task.prompt = function(doc) return doc.prompt end
    -- human-eval's stop sequences: the function ends where top-level code starts
    task["until"] = { "\nclass", "\ndef", "\n#", "\nif", "\nprint" }
    task.execute.program = function(doc, completion)
        local code, fenced = code_of(completion)
        if not fenced then code = doc.prompt .. completion end
        return code .. "\n" .. doc.test .. "\n" .. "check(" .. doc.entry_point .. ")\n"
    end
    if use_references then
        task.execute.reference = function(doc) return doc.canonical_solution end
    end
else
    task.prompt = function(doc)
        return "You are an expert Python programmer, and here is your task: "
            .. doc.text .. " Your code should pass these tests:\n\n"
            .. table.concat(doc.test_list, "\n") .. "\n[BEGIN]\n"
    end
    task["until"] = { "[DONE]" }
    task.execute.program = function(doc, completion)
        local code = code_of(completion) or completion
        -- the setup builds its fixtures from the code's own classes
        return code .. "\n" .. (doc.test_setup_code or "") .. "\n"
            .. table.concat(doc.test_list, "\n") .. "\n"
    end
    if use_references then
        task.execute.reference = function(doc) return doc.code end
    end
end

return { name = "coding", version = "1", tasks = { task } }
