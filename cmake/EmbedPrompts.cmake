# Compiles every file in a folder of prompt texts into one generated source
# that defines pipeline::prompts::embedded_prompt_files().
function(embed_prompts out_var dir)
  set(generated ${CMAKE_CURRENT_BINARY_DIR}/embedded_prompts.cpp)
  file(GLOB prompt_files CONFIGURE_DEPENDS ${dir}/*)
  add_custom_command(
    OUTPUT ${generated}
    COMMAND ${CMAKE_COMMAND} -DINPUT_DIR=${dir} -DOUTPUT=${generated}
            -P ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/embed_prompts_script.cmake
    DEPENDS ${prompt_files} ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/embed_prompts_script.cmake
    COMMENT "Embedding prompt texts")
  set(${out_var} ${generated} PARENT_SCOPE)
endfunction()
