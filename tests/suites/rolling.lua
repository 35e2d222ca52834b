-- rolling.lua - perplexity of short texts (one window each, from BOS),
-- for backend parity tests: --set texts=FILE.jsonl with {"text": ...}.
return {
    name = "rolling",
    tasks = {
        {
            name = "ppl",
            kind = "rolling",
            docs = hfe.read_jsonl(hfe.set.texts or error("rolling.lua: --set texts=FILE.jsonl", 0)),
            text = function(doc) return doc.text end,
        },
    },
}
