#!/usr/bin/env bash
# Hostile suites: tables whose metamethods throw, loop, eat memory or hand
# back the wrong type, read while the suite loads or while it scores.  Each
# is a bad suite: exit 5 with its file (and line, where Lua gives one) in
# the message, within its time limit, never an abort (134), a crash (139)
# or a hang (124 from timeout).  Suites load before any model runs, so one
# that fails to load stops the run before anything is scored; one that
# fails while scoring fails its task, and the suites before it keep their
# records.  Last, no C file outside core/suite/ and tests/ calls lua_*.
. "$(dirname "$0")/lib.sh"
hfeval=$HFEVAL_BIN
# a short time limit and a small memory cap, so that loops end soon
export HFEVAL_LUA_TIME_LIMIT=2 HFEVAL_LUA_MEM_LIMIT=64

printf '{"item_id": "g1", "completion": "2"}\n{"item_id": "h1", "completion": "4"}\n' \
    >"$SCRATCH/answers.jsonl"
printf 'saved replay:answers.jsonl\n' >"$SCRATCH/replay.txt"

# hostile NAME PATTERN DESCRIPTION TEXT: the suite NAME holding TEXT exits
# 5, in bounded time, with its file name and PATTERN in the message.
hostile() {
    local start=$SECONDS
    printf '%s\n' "$4" >"$SCRATCH/$1"
    run timeout 60 "$hfeval" run "$SCRATCH/$1" --models "$SCRATCH/replay.txt" \
        --out "$SCRATCH/out-$1"
    is "$rc" 5 "$3: exit 5 (not 124, 134 or 139)"
    like "$err" "$1" "$3: the message names the suite's file"
    like "$err" "$2" "$3: and says what went wrong"
    ok "$((SECONDS - start > 30))" "$3: within its time limit ($((SECONDS - start)) s)"
}

# a task that is fine, for the cases that break one part of it
task='name = "t", kind = "generate", docs = { { q = "1" } }, prompt = function(d) return d.q end'
choice='name = "t", kind = "choice", docs = { { q = "1" } }, prompt = function(d) return d.q end'

# --- metamethods that throw ---------------------------------------------
hostile suite-index.lua 'suite-index.lua:1: no field name' "__index that throws on the suite" \
    'return setmetatable({}, { __index = function(t, k) error("no field " .. k) end })'
hostile task-index.lua "task 't': .*task-index.lua:2: the task has no kind" "__index that throws on a task" \
    'return { name = "x", tasks = { setmetatable({ name = "t" },
    { __index = function(t, k) error("the task has no " .. k) end }) } }'
hostile doc-index.lua "task 't', document 0: .*doc-index.lua:3: no q here" "__index that throws on a document" \
    "return { name = \"x\", tasks = { { name = \"t\", kind = \"generate\", prompt = function(d) return d.q end,
    docs = { setmetatable({}, {
        __index = function(t, k) error(\"no \" .. k .. \" here\") end }) } } } }"
hostile choices-index.lua "choices\(document\) must be a list of two or more strings, got table" \
    "choices behind __index and __len (read raw)" \
    "return { name = \"x\", tasks = { { $choice, gold = function() return 0 end,
    choices = function(d) return setmetatable({}, {
        __index = function() error(\"choices\") end, __len = function() return 3 end }) end } } }"
hostile choice-tostring.lua "a choice must be a string, got table" "a choice whose __tostring throws" \
    "return { name = \"x\", tasks = { { $choice, gold = function() return 0 end,
    choices = function(d) return { setmetatable({}, { __tostring = function() error(\"no\") end }), \"b\" } end } } }"
hostile version-tostring.lua 'version-tostring.lua:2: no version' "a version whose __tostring throws" \
    "return { name = \"x\", tasks = { { $task } },
    version = setmetatable({}, { __tostring = function() error(\"no version\") end }) }"
hostile sort-lt.lua "task 't', docs\(\): .*sort-lt.lua:1: cannot compare" "__lt that throws, in docs()" \
    "local mt = { __lt = function() error(\"cannot compare\") end, __eq = function() error(\"eq\") end }
return { name = \"x\", tasks = { { name = \"t\", kind = \"generate\", prompt = function(d) return \"\" end,
    docs = function() local d = { setmetatable({}, mt), setmetatable({}, mt) }; table.sort(d); return d end } } }"

# --- metamethods that loop ------------------------------------------------
hostile loop-index.lua 'loop-index.lua:1: the suite ran past its time limit of 2' "__index that loops" \
    'return setmetatable({}, { __index = function() while true do end end })'
hostile loop-tostring.lua 'loop-tostring.lua:2: the suite ran past its time limit' "__tostring that loops" \
    "return { name = \"x\", tasks = { { $task } },
    version = setmetatable({}, { __tostring = function() while true do end end }) }"
hostile string-tostring.lua 'string-tostring.lua:1: the suite ran past its time limit' \
    "__tostring that loops, on the string metatable" \
    "getmetatable(\"\").__tostring = function() while true do end end
return { name = \"x\", version = \"1\", tasks = { { $task } } }"
hostile loop-len.lua "field 'tasks' must be a list of tasks, got table" "__len and __index that loop (read raw)" \
    'return { name = "x", tasks = setmetatable({}, {
    __len = function() while true do end end, __index = function() while true do end end }) }'
hostile loop-task.lua "task 't': .*loop-task.lua:3: the suite ran past its time limit" "a task's __index that loops" \
    'return { name = "x", tasks = { setmetatable({ name = "t", kind = "generate" }, {
    __index = function(t, k)
        if k == "docs" then while true do end end end }) } }'
hostile newindex.lua 'newindex.lua:1: the suite ran past its time limit' "__newindex that loops, on _G" \
    'setmetatable(_G, { __newindex = function() while true do end end })
answer = 42
return {}'
hostile catch-pcall.lua 'catch-pcall.lua:1: the suite ran past its time limit' "a loop that catches its time limit with pcall" \
    'while true do pcall(function() while true do end end) end'
hostile catch-xpcall.lua 'catch-xpcall.lua:2: the suite ran past its time limit' "with xpcall, in a coroutine" \
    'while true do coroutine.resume(coroutine.create(function()
    while true do xpcall(function() while true do end end, function(m) return m end) end end)) end'
hostile error-object.lua 'error-object.lua' "an error object whose __tostring loops" \
    'error(setmetatable({}, { __tostring = function() while true do end end }))'

# --- __gc: finalizers run where no time limit reaches ---------------------
hostile gc-error.lua 'gc-error.lua:1: the sandbox forbids __gc' "__gc that throws" \
    "setmetatable({}, { __gc = function() error(\"gc\") end })
return { name = \"x\", tasks = { { $task } } }"
hostile gc-loop.lua 'gc-loop.lua:1: the sandbox forbids __gc' "__gc that loops" \
    "local keep = setmetatable({}, { __gc = function() while true do end end })
return { name = \"x\", tasks = { { $task } } }"

# --- memory ----------------------------------------------------------------
hostile alloc-index.lua 'alloc-index.lua: .*not enough memory \(the suite may use 64 MiB\)' "__index that allocates without end" \
    'return setmetatable({}, { __index = function()
    local t = {}
    while true do t[#t + 1] = string.rep("x", 65536) .. #t end end })'
# the loop ends at the time limit, or at the cap when pcall itself (or
# its error) finds no memory left: either is the suite's error
hostile alloc-pcall.lua 'alloc-pcall.lua(:2: the suite ran past its time limit|: .*not enough memory \(the suite may use 64 MiB\))' "memory errors caught with pcall, in a loop" \
    'while true do pcall(function()
    local t = {} while true do t[#t + 1] = {} end end) end'

# --- the wrong types -----------------------------------------------------
hostile name-tostring.lua "field 'name' must be a string, got table" "a task name: a table whose __tostring throws" \
    'return { name = "x", tasks = { { kind = "generate", docs = {}, prompt = function() return "" end,
    name = setmetatable({}, { __tostring = function() error("no name") end }) } } }'
hostile choices-fn.lua "choices\(document\) must be a list of two or more strings, got function" "choices a function" \
    "return { name = \"x\", tasks = { { $choice, gold = function() return 0 end,
    choices = function(d) return function() return { \"a\", \"b\" } end end } } }"
hostile gold-table.lua "gold\(document\) must be the 0-based index of the right choice, got table" "gold a table" \
    "return { name = \"x\", tasks = { { $choice, choices = function() return { \"a\", \"b\" } end,
    gold = function(d) return setmetatable({}, { __index = function() error(\"gold\") end }) end } } }"
hostile prompt-call.lua "field 'prompt' must be a function of the document, got table" "a callable table as prompt (__call)" \
    'return { name = "x", tasks = { { name = "t", kind = "generate", docs = { {} },
    prompt = setmetatable({}, { __call = function() return "q" end }) } } }'
hostile prompt-concat.lua "prompt\(document 0\) must be a string, got table" "a prompt that returns a table of metamethods" \
    'local mt = {}
for _, m in ipairs({ "__concat", "__tostring", "__eq", "__lt", "__len", "__index" }) do
    mt[m] = function() error(m) end end
return { name = "x", tasks = { { name = "t", kind = "generate", docs = { {} },
    prompt = function() return setmetatable({}, mt) end } } }'
hostile tasks-proxy.lua "field 'tasks' must be a list of tasks, got table" "tasks a proxy (setmetatable)" \
    "return { name = \"x\", tasks = setmetatable({}, {
    __index = function(t, i) return { $task } end, __len = function() return 2 end,
    __pairs = function() error(\"pairs\") end }) }"
hostile tasks-userdata.lua "field 'tasks' must be a list of tasks, got userdata" "tasks a userdata" \
    'return { name = "x", tasks = hfe.json.null }'

# --- lists whose length is a lie: 31 entries, a border of 2^30 ------------
lie='local function lie(v) local t = {} for k = 30, 0, -1 do t[1 << k] = v end return t end'
hostile lie-tasks.lua "task 3 must be a table, got nil" "a list of tasks with holes" \
    "$lie
return { name = \"x\", tasks = lie({ $task }) }"
hostile lie-docs.lua "field 'docs' must be a list without holes, entry 3 of 1073741824 is nil" \
    "a list of documents with holes" \
    "$lie
return { name = \"x\", tasks = { { name = \"t\", kind = \"generate\", docs = lie({ q = \"1\" }),
    prompt = function(d) return d.q end } } }"
hostile lie-choices.lua "choices\(document\) must be a list without holes" "a list of choices with holes" \
    "$lie
return { name = \"x\", tasks = { { $choice, gold = function() return 0 end,
    choices = function() return lie(\"a\") end } } }"

# --- a good suite before a hostile one -------------------------------------
cat >"$SCRATCH/good.lua" <<'L'
return { name = "good", tasks = { { name = "g", kind = "generate",
    docs = { { id = "g1", q = "1+1" } }, id = function(d) return d.id end,
    prompt = function(d) return d.q end, target = function(d) return "2" end } } }
L
# It fails to load: nothing has run yet, so there is nothing to lose.
run timeout 60 "$hfeval" run "$SCRATCH/good.lua" "$SCRATCH/suite-index.lua" \
    --models "$SCRATCH/replay.txt" --out "$SCRATCH/before-load"
is "$rc" 5 "a good suite, then one that fails to load: exit 5"
like "$err" "suite-index.lua:1: no field name" "the message names the bad one"
ok "$([ ! -e "$SCRATCH/before-load" ]; echo $?)" "suites load before any model runs: no run directory yet"

# It fails while scoring: its task fails, the good suite keeps its records.
# The task answers 'metrics' once, while the suite is read, then throws.
cat >"$SCRATCH/late.lua" <<'L'
local asked = 0
local task = { name = "h", kind = "generate", docs = { { id = "h1", q = "2+2" } },
    id = function(d) return d.id end, prompt = function(d) return d.q end }
return { name = "late", tasks = { setmetatable(task, { __index = function(t, k)
    if k ~= "metrics" then return nil end
    asked = asked + 1
    if asked == 1 then return { m = function() return 1 end } end
    error("metrics asked a second time")
end }) } }
L
run timeout 60 "$hfeval" run "$SCRATCH/good.lua" "$SCRATCH/late.lua" \
    --models "$SCRATCH/replay.txt" --out "$SCRATCH/late"
is "$rc" 5 "a good suite, then one whose task throws while scoring: exit 5"
like "$err" "task 'h', document 0: .*late.lua:8: metrics asked a second time" \
    "the message names the file and line"
like "$(cat "$SCRATCH/late/samples.jsonl")" '"suite":"good","task":"g",.*"metrics":\{"exact_match":1[,}]' \
    "the good suite's record is kept"
like "$(cat "$SCRATCH/late/run.json")" '"suite": *"late", *"task": *"h", *"error": *"task' \
    "the failed task has its error row"

# A metric that loops (over pairs of a hostile table) fails its task in
# its time limit.
cat >"$SCRATCH/pairs.lua" <<'L'
local endless = setmetatable({}, { __pairs = function() return function() return 1, 1 end end })
return { name = "pairs", tasks = { { name = "h", kind = "generate",
    docs = { { id = "h1", q = "2+2" } }, id = function(d) return d.id end,
    prompt = function(d) return d.q end,
    metrics = { m = function(doc, out) for _ in pairs(endless) do end end } } } }
L
start=$SECONDS
run timeout 60 "$hfeval" run "$SCRATCH/good.lua" "$SCRATCH/pairs.lua" \
    --models "$SCRATCH/replay.txt" --out "$SCRATCH/pairs"
is "$rc" 5 "a metric that loops over __pairs: exit 5"
like "$err" "task 'h', document 0, metrics.m: .*pairs.lua:1: the suite ran past its time limit" \
    "the message names the file and line"
ok "$((SECONDS - start > 30))" "within its time limit ($((SECONDS - start)) s)"
like "$(cat "$SCRATCH/pairs/samples.jsonl")" '"suite":"good","task":"g"' "the good suite's record is kept"

# --- the door: only core/suite/ calls lua_* ---------------------------------
# C files, comments and strings cut out, calls to lua_* or luaL_* named.
lua_calls() {
    perl -0777 -ne '
        s{(/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|'"'"'(?:\\.|[^'"'"'\\\n])*'"'"')}
         { my $c = $1; $c =~ m{^/} ? "\n" x ($c =~ tr/\n//) : q{""} }gse;
        my $n = 0;
        for (split /\n/, $_, -1) {
            $n++;
            print "$ARGV:$n: $1\n" while /(?<![A-Za-z0-9_])(luaL?_[A-Za-z0-9_]+)\s*\(/g;
        }' "$@"
}
cd "$HFEVAL_SRC" || exit 1
outside=$(find . -name '*.c' -not -path './build*' -not -path './.git/*' \
    -not -path './tests/*' -not -path './core/suite/*' -print0 | sort -z |
    xargs -0 -r bash -c "$(declare -f lua_calls); lua_calls \"\$@\"" _)
is "$outside" "" "no lua_* or luaL_* call in a .c file outside core/suite/ and tests/"
like "$(lua_calls core/suite/call.c)" "call.c:[0-9]+: lua_getfield" "(the check finds the calls in core/suite/call.c)"
cd - >/dev/null || exit 1

done_testing
