# deit_embed_files(<target> <namespace> <file>...)
# Compiles each file into the target as a std::string_view constant, so the binaries carry
# their schemas, sample data and default configuration and run without any files beside them.
# A file named foo-bar.xsd becomes <namespace>::foo_bar_xsd.
function(deit_embed_files target ns)
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/embedded)
  file(MAKE_DIRECTORY ${out_dir})
  foreach(file IN LISTS ARGN)
    get_filename_component(abs ${file} ABSOLUTE)
    get_filename_component(name ${file} NAME)
    string(MAKE_C_IDENTIFIER ${name} ident)
    set(cpp ${out_dir}/${ident}.cpp)
    add_custom_command(
      OUTPUT ${cpp}
      COMMAND ${CMAKE_COMMAND} -DIN=${abs} -DOUT=${cpp} -DNS=${ns} -DIDENT=${ident}
              -P ${PROJECT_SOURCE_DIR}/cmake/EmbedOne.cmake
      DEPENDS ${abs} ${PROJECT_SOURCE_DIR}/cmake/EmbedOne.cmake
      COMMENT "Embedding ${name}")
    target_sources(${target} PRIVATE ${cpp})
  endforeach()
endfunction()
