-- arith.lua - small arithmetic written for hfeval: the same 24 questions
-- (data/arith.jsonl) as a multiple-choice task scored by log-likelihood
-- and as a generation task scored by exact match.  It runs anywhere, with
-- no data to fetch:
--
--   hfeval run suites/arith.lua --models build/fixtures/lineage.txt
--
-- --set data=FILE.jsonl swaps in other questions of the same shape:
-- {"id", "q", "a", "choices", "answer" (0-based index into choices)}.
local docs = hfe.read_jsonl(hfe.set.data or "data/arith.jsonl")

local function prompt(doc)
    return "Question: " .. doc.q .. "\nAnswer:"
end

return {
    name = "arith",
    version = "1",
    tasks = {
        {
            name = "arith_choice",
            kind = "choice",
            primary = "acc",
            docs = docs,
            prompt = prompt,
            choices = function(doc)
                local out = {}
                for i, c in ipairs(doc.choices) do
                    out[i] = " " .. c
                end
                return out
            end,
            gold = function(doc) return doc.answer end,
            id = function(doc) return doc.id end,
        },
        {
            name = "arith_gen",
            kind = "generate",
            primary = "exact_match",
            docs = docs,
            prompt = prompt,
            target = function(doc) return doc.a end,
            ["until"] = {"\n"},
            max_tokens = 12,
            extract = "(-?\\d+)",
            id = function(doc) return doc.id end,
        },
    },
}
