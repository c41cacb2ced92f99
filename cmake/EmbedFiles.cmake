# Compiles every file in a folder into one generated source that defines
# `const std::vector<EmbeddedFile>& <namespace>::<function>()`, the files
# sorted by name, where EmbeddedFile is declared by `header` in `namespace`.
function(embed_files out_var dir stem header namespace function)
  set(generated ${CMAKE_CURRENT_BINARY_DIR}/${stem}.cpp)
  file(GLOB embedded_files CONFIGURE_DEPENDS ${dir}/*)
  add_custom_command(
    OUTPUT ${generated}
    COMMAND ${CMAKE_COMMAND} -DINPUT_DIR=${dir} -DOUTPUT=${generated} -DHEADER=${header}
            -DNAMESPACE=${namespace} -DFUNCTION=${function}
            -P ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/embed_files_script.cmake
    DEPENDS ${embedded_files} ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/embed_files_script.cmake
    COMMENT "Embedding the files of ${dir}")
  set(${out_var} ${generated} PARENT_SCOPE)
endfunction()
