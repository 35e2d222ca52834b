-- compliance.lua - metadata compliance as a column beside accuracy, speed
-- and memory: provenance, license and transparency checks for every model
-- of the list, each against its base= parent (core/compliance.h).
--
--   hfeval run suites/compliance.lua --models build/fixtures/lineage.txt
--       [--set profile=provenance|transparency|open-source-ai]
--
-- Rows per model: each profile's score (checks passed over applicable),
-- failed_errors (error-level checks that failed), the class (open source,
-- open weights, restricted; never above the parent's), and `custom`, the
-- checks below.  The record of each model lists every check with its
-- evidence.  A model card or saved Hub info joins with card=README.md and
-- hub=info.json in the model list.
--
-- Checks of your own: checks = { id = function(meta, card, hub) ... end }
-- gets the GGUF metadata (a table keyed by the full key names), the card's
-- front matter and the Hub info (nil when not given), and returns true,
-- false or nil (not applicable), and the evidence.
return {
    name = "compliance",
    version = "1",
    tasks = {
        {
            name = "compliance",
            kind = "compliance",
            profile = hfe.set.profile,
            checks = {
                -- the EU AI Act's documentation form asks for the models a
                -- model was modified from: a derivative should name a
                -- version of its base, not just its name
                ["custom.base_version"] = function(meta)
                    if (meta["general.base_model.count"] or 0) < 1 then
                        return nil, "no declared base"
                    end
                    local v = meta["general.base_model.0.version"]
                    return v ~= nil, v and ("general.base_model.0.version = " .. v)
                        or "no general.base_model.0.version"
                end,
                -- a chat fine-tune should carry the template it was tuned with
                ["custom.chat_template"] = function(meta)
                    if not meta["general.finetune"] then
                        return nil, "not a fine-tune"
                    end
                    return meta["tokenizer.chat_template"] ~= nil,
                        "tokenizer.chat_template " .. (meta["tokenizer.chat_template"]
                            and "present" or "missing")
                end,
            },
        },
    },
}
