-- speed.lua - how fast each model reads a prompt and writes an answer, as
-- llama-bench's pp and tg tests measure it, one request at a time: prompt
-- tokens per second (prompt tokens over the time to the first token),
-- decode tokens per second (the tokens after the first over the time they
-- took), time to first token; and the model's memory (weights, its KV
-- cache, the process's peak resident set so far).
--
--   hfeval run suites/speed.lua --models build/fixtures/lineage.txt \
--       [--set lengths=16,64,256] [--set gen=32] [--set reps=3]
--
-- The prompts are the first words of suites/data/fidelity.txt, repeated
-- to length; each length is a task, run `reps` times after one warm-up.
local words = {}
for w in hfe.read_text("data/fidelity.txt"):gmatch("%S+") do
    words[#words + 1] = w
end

local function numbers(s)
    local out = {}
    for n in s:gmatch("[^,]+") do
        local v = tonumber(n)
        if not v or v < 1 or v % 1 ~= 0 then
            error("--set lengths= must be a comma-separated list of word counts, got "
                .. s, 0)
        end
        out[#out + 1] = v
    end
    return out
end

local lengths = numbers(hfe.set.lengths or "16,64,256")
local gen = tonumber(hfe.set.gen or "32")
local reps = tonumber(hfe.set.reps or "3")

local tasks = {}
for _, n in ipairs(lengths) do
    local prompt = {}
    for i = 1, n do
        prompt[i] = words[(i - 1) % #words + 1]
    end
    local docs = {}
    for r = 1, reps do
        docs[r] = { prompt = table.concat(prompt, " ") }
    end
    tasks[#tasks + 1] = {
        name = "speed_p" .. n,
        kind = "generate",
        timing = true,
        docs = docs,
        prompt = function(doc) return doc.prompt end,
        max_tokens = gen,
    }
end

return { name = "speed", version = "1", tasks = tasks }
