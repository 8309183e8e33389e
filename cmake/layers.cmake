# One static library per layer of the source tree (docs/architecture.md). A layer's headers are
# reached through an include root of its own in the build tree that holds links to the layer's
# folders and nothing else. A layer's sources see their own root and, through the PUBLIC include
# directories of the layer it links, the roots of the layers below: an `#include "proxy/net/..."`
# in proxy/core finds no such file, so a lower layer that includes a higher one does not build.
#
#   albemu_layer(NAME FOLDERS folder... [BELOW lower-layer] [LINK target...] [SOURCES file...])
function(albemu_layer name)
  cmake_parse_arguments(LAYER "" "BELOW" "FOLDERS;LINK;SOURCES" ${ARGN})
  set(root ${CMAKE_BINARY_DIR}/layers/${name})
  set(sources ${LAYER_SOURCES})
  foreach(folder ${LAYER_FOLDERS})
    get_filename_component(parent ${root}/${folder} DIRECTORY)
    file(MAKE_DIRECTORY ${parent})
    if(NOT IS_SYMLINK ${root}/${folder})
      file(CREATE_LINK ${CMAKE_SOURCE_DIR}/${folder} ${root}/${folder} SYMBOLIC)
    endif()
    file(GLOB_RECURSE folder_sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/${folder}/*.cc)
    list(APPEND sources ${folder_sources})
  endforeach()
  add_library(albemu_${name} STATIC ${sources})
  target_include_directories(albemu_${name} PUBLIC ${root})
  if(LAYER_BELOW)
    target_link_libraries(albemu_${name} PUBLIC albemu_${LAYER_BELOW})
  endif()
  target_link_libraries(albemu_${name} PUBLIC ${LAYER_LINK})
endfunction()
