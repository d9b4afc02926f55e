# Writes text files (the queue's Lua scripts, the deploy's remote shell scripts) into one C++ file,
# as string views, at build time:
#   cmake -DOUT=x.cpp -DDIR=dir -DNAMES=a,b -DEXT=lua -DNAMESPACE=crawl::queue::lua -P embed.cmake
# Each DIR/NAME.EXT becomes `extern const std::string_view NAME` in NAMESPACE.
string(REPLACE "," ";" names "${NAMES}")
set(content "// Generated from ${EXT} files by cmake/embed.cmake: edit those files, not this one.\n")
string(APPEND content "#include <string_view>\n\nnamespace ${NAMESPACE} {\n")
foreach(name ${names})
  file(READ "${DIR}/${name}.${EXT}" text)
  string(FIND "${text}" ")embed\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${name}.${EXT} holds the delimiter )embed\" of the literal it is embedded in")
  endif()
  string(APPEND content "extern const std::string_view ${name};\n")
  string(APPEND content "const std::string_view ${name} = R\"embed(${text})embed\";\n")
endforeach()
string(APPEND content "}  // namespace ${NAMESPACE}\n")
# Rewritten only when it changes, so that nothing is rebuilt for nothing.
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
  if(old STREQUAL content)
    return()
  endif()
endif()
file(WRITE "${OUT}" "${content}")
