# cmake -DIN=FILE -DOUT=HEADER -DNAME=ident -P embed.cmake
# Writes HEADER holding FILE's bytes as `static const char NAME[]`, NUL
# ended, so a Lua source can live as a .lua file and still be compiled in.
file(READ "${IN}" _hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," _bytes "${_hex}")
string(REGEX REPLACE "(([^,]+,){16})" "\\1\n" _bytes "${_bytes}")
file(WRITE "${OUT}.tmp"
    "/* generated from ${IN} by cmake/embed.cmake: do not edit */\n"
    "static const char ${NAME}[] = {\n${_bytes}0};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
