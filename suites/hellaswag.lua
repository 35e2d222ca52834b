-- hellaswag.lua - HellaSwag by log-likelihood, in llama.cpp's text layout:
-- six lines a task (context, the gold ending's index, four endings), the
-- layout llama-perplexity --hellaswag reads.  Each ending is scored as
-- " " .. ending after the context, over the tokens after the prefix that
-- all four share (choice_prefix), as llama-perplexity does: its acc_tok is
-- llama-perplexity's acc_norm; acc and acc_norm are lm-evaluation-harness's.
--
--   hfeval run suites/hellaswag.lua --models LIST \
--       --set data=../shared/data/hellaswag_val_full.txt.bz2 [--limit 400]
--
-- Tasks run in file order (llama-perplexity draws a seeded random order).
local data = hfe.set.data
if not data then
    error("hellaswag.lua needs its data: --set data=PATH/hellaswag_val_full.txt.bz2", 0)
end
local docs = hfe.read_hellaswag(data) -- {ctx=, label=, endings={4}}

return {
    name = "hellaswag",
    version = "1",
    tasks = {
        {
            name = "hellaswag",
            kind = "choice",
            primary = "acc_norm",
            shots = 0,
            hub = { dataset = "Rowan/hellaswag", task_id = "hellaswag",
                    split = "validation", metric = "acc_norm", name = "HellaSwag" },
            docs = docs,
            prompt = function(doc) return doc.ctx end,
            choices = function(doc)
                local out = {}
                for i, e in ipairs(doc.endings) do
                    out[i] = " " .. e
                end
                return out
            end,
            gold = function(doc) return doc.label end,
            choice_prefix = true,
        },
    },
}
