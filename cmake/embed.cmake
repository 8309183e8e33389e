# Writes OUTPUT, a C++ file defining albemu::embedded_demo_config() with INPUT's text.
file(READ ${INPUT} content)
set(delim "ALBEMU_EMBED")
file(WRITE ${OUTPUT} "// Generated from ${INPUT}; do not edit.\n#include <string_view>\nnamespace albemu {\nstd::string_view embedded_demo_config() {\n  return R\"${delim}(${content})${delim}\";\n}\n}  // namespace albemu\n")
