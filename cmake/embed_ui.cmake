# Builds the web UI (ui/build.mjs: TypeScript and Preact bundled by esbuild) and embeds the result
# (ui/embed.mjs) as the C++ table of http/ui_assets.hpp. Node.js, npm and ui/node_modules come
# from scripts/install-deps.sh; without them configuring fails and says so. Editing anything under
# ui/src (or the build scripts, or the lockfile) rebuilds the UI at the next build.
function(pikoci_embed_ui out_var)
  set(ui ${CMAKE_SOURCE_DIR}/ui)
  find_program(PIKOCI_NODE_JS node)
  find_program(PIKOCI_NPM npm)
  if(NOT PIKOCI_NODE_JS OR NOT PIKOCI_NPM)
    message(FATAL_ERROR "Node.js and npm are needed to build the web UI (ui/); "
                        "run scripts/install-deps.sh --run to install them")
  endif()
  if(NOT EXISTS ${ui}/node_modules/esbuild/package.json OR
     NOT EXISTS ${ui}/node_modules/preact/package.json)
    message(FATAL_ERROR "ui/node_modules lacks the UI's build dependencies (esbuild, preact); "
                        "run scripts/install-deps.sh --run (it runs npm ci in ui/)")
  endif()
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${ui}/src/*)
  set(dist ${CMAKE_BINARY_DIR}/ui-dist)
  set(out ${CMAKE_BINARY_DIR}/generated/ui_assets.cpp)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${PIKOCI_NODE_JS} ${ui}/build.mjs --out ${dist}
    COMMAND ${PIKOCI_NODE_JS} ${ui}/embed.mjs ${dist} ${out}
    DEPENDS ${sources} ${ui}/build.mjs ${ui}/embed.mjs ${ui}/package-lock.json
    COMMENT "Building the web UI (ui/) and embedding it"
    VERBATIM)
  set(${out_var} ${out} PARENT_SCOPE)
endfunction()
