-- fidelity.lua - how far each derivative has drifted from its lineage
-- parent: perplexity on a text, and, for every model with base=NAME in the
-- model list, the KL divergence of its next-token distributions from the
-- parent's, how often the two agree on the top token, and Δp (the change
-- in the probability of the text's own token).  llama-perplexity
-- --kl-divergence measures the same things the same way: windows of
-- `ctx` tokens, the second half of each scored, the parent's
-- distributions kept in 16 bits over their top 16 nats.
--
--   hfeval run suites/fidelity.lua --models build/fixtures/lineage.txt \
--       [--set text=FILE] [--set ctx=512]
--
-- The parent runs first and its distributions are kept in memory until
-- its last child has been compared: 2 bytes x vocabulary x scored
-- positions (32k vocabulary, the default text: about 30 MB).
local path = hfe.set.text or "data/fidelity.txt"
local ctx = tonumber(hfe.set.ctx or "128")
if not ctx or ctx < 16 or ctx % 2 ~= 0 then
    error("--set ctx= must be an even number of tokens, 16 or more", 0)
end

return {
    name = "fidelity",
    version = "1",
    tasks = {
        {
            name = "fidelity",
            kind = "rolling",
            docs = { { text = hfe.read_text(path) } },
            text = function(doc) return doc.text end,
            ppl_ctx = ctx,
            fidelity = true,
        },
    },
}
