-- chat.lua - the arith questions as chat requests (the model's template
-- applied), for backend parity tests.
local docs = hfe.read_jsonl(hfe.set.questions or error("chat.lua: --set questions=FILE.jsonl (suites/data/arith.jsonl)", 0))

return {
    name = "chat",
    tasks = {
        {
            name = "chat_gen",
            kind = "generate",
            chat = true,
            docs = docs,
            prompt = function(doc) return "Question: " .. doc.q end,
            target = function(doc) return doc.a end,
            max_tokens = 24,
        },
    },
}
