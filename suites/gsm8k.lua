-- gsm8k.lua - GSM8K (grade-school math), few-shot, generation, scored the
-- way lm-evaluation-harness's gsm8k task scores it:
--   strict    the number after "#### " in the completion
--   flexible  the last number anywhere in it
-- with commas, dollar signs and a final period ignored on both sides.
--
--   hfeval run suites/gsm8k.lua --models LIST \
--       --set data=../shared/data/gsm8k_test.jsonl [--set shots=5] [--set seed=1234]
--       [--set max_tokens=256]
--
-- Data: GSM8K's JSONL ({"question", "answer" ending in "#### N"}), plain or
-- gzipped.  Only the test split ships here, so the few-shot examples are
-- drawn from it too, never the question being asked (lm-evaluation-harness
-- draws them from the train split).
local data = hfe.set.data
if not data then
    error("gsm8k.lua needs its data: --set data=PATH/gsm8k_test.jsonl", 0)
end
local docs = hfe.read_jsonl(data)
local shots = tonumber(hfe.set.shots or "5")
local seed = tonumber(hfe.set.seed or "1234")

local function final_answer(answer)
    return answer:match("####%s*(.-)%s*$")
end

for i, doc in ipairs(docs) do
    if type(doc.question) ~= "string" or type(doc.answer) ~= "string"
        or not final_answer(doc.answer) then
        error(string.format("%s:%d: expected \"question\" and an \"answer\" "
            .. "ending in \"#### N\"", data, i), 0)
    end
    doc.index = i
end

local function prompt(doc)
    local parts = {}
    for _, ex in ipairs(hfe.fewshot(docs, shots, seed + doc.index, doc.index)) do
        parts[#parts + 1] = "Question: " .. ex.question .. "\nAnswer: "
            .. ex.answer .. "\n\n"
    end
    parts[#parts + 1] = "Question: " .. doc.question .. "\nAnswer:"
    return table.concat(parts)
end

return {
    name = "gsm8k",
    version = "2",
    tasks = {
        {
            name = "gsm8k",
            kind = "generate",
            primary = "exact_match:strict",
            shots = shots,
            -- the Hub benchmark this is (hfeval export): GSM8K's main
            -- config, its test split
            hub = { dataset = "openai/gsm8k", task_id = "gsm8k", config = "main",
                    split = "test", metric = "exact_match:strict", name = "GSM8K" },
            docs = docs,
            prompt = prompt,
            target = function(doc) return final_answer(doc.answer) end,
            -- lm-evaluation-harness's stop strings, so that the two agree
            -- item by item (tests/lmeval.t)
            ["until"] = {"Question:", "</s>", "<|im_end|>"},
            max_tokens = tonumber(hfe.set.max_tokens or "256"),
            extract = {
                strict = "#### (\\-?[0-9\\.\\,]+)",
                flexible = {"(-?[$0-9.,]{2,})|(-?[0-9]+)", last = true},
            },
            ignore = {",", "\\$", "(?s).*#### ", "\\.$"},
        },
    },
}
