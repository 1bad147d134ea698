# Writes OUT: a C++ file defining NS::IDENT as the bytes of IN (hex, so any content is safe).
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR size "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
file(WRITE ${OUT} "#include <string_view>\nnamespace ${NS} {\nnamespace { constexpr char data[] = {${bytes} '\\0'}; }\nextern const std::string_view ${IDENT};\nconst std::string_view ${IDENT}{data, ${size}};\n}\n")
