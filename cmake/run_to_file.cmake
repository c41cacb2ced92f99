# cmake -DOUTPUT=<file> -P run_to_file.cmake <program> <args>...
# Runs a program and writes its stdout to OUTPUT, failing when the program
# fails, so that a build step can save a generated file without a shell.
set(_command)
set(_take OFF)
foreach(_i RANGE ${CMAKE_ARGC})
  if(_take AND DEFINED CMAKE_ARGV${_i})
    list(APPEND _command "${CMAKE_ARGV${_i}}")
  elseif("${CMAKE_ARGV${_i}}" STREQUAL "--")
    set(_take ON)
  endif()
endforeach()
execute_process(COMMAND ${_command} OUTPUT_FILE "${OUTPUT}.tmp" RESULT_VARIABLE _result)
if(NOT _result EQUAL 0)
  file(REMOVE "${OUTPUT}.tmp")
  message(FATAL_ERROR "${_command}: ${_result}")
endif()
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
