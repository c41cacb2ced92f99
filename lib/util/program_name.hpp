#pragma once

#include <string>
#include <string_view>

namespace pipeline::util {

// Remembers how the program was invoked, so that messages name a command the
// user can type: "pipeline" when that is what the shell finds on PATH, else
// the path it was started by (e.g. "build/pipeline"). Call once from main.
void set_program_name(std::string_view argv0);

// The program's name for messages; "pipeline" until set_program_name is called.
const std::string& program_name();

// `text` with every command it quotes ("`pipeline resume x`") naming the
// program as it was invoked ("`build/pipeline resume x`"); for what is
// printed to the user, not for what is recorded in runs.
std::string name_commands(std::string text);

}  // namespace pipeline::util
