#pragma once

#include <map>
#include <string>
#include <string_view>

#include "lib/util/expected.hpp"

namespace pipeline::prompts {

// A stage's prompt: a system part and a user part with {{placeholders}}, and
// optionally a request part: the short end that differs between requests
// sharing the rest, sent as a user message of its own after the user part,
// so that providers can cache everything before it.
struct PromptTemplate {
  std::string system;
  std::string user;
  std::string source;   // "built-in" or the override file's path
  std::string request;  // empty: none
};

// The prompt of a stage by its name: `<override_dir>/<name>.prompt` when that
// file exists, else the one compiled into the binary. A malformed file is bad_input.
util::Expected<PromptTemplate> load_prompt(std::string_view stage_name, const std::string& override_dir = {});

// Replaces every {{name}} with its value; an unknown placeholder is an error.
util::Expected<std::string> fill(std::string_view text, const std::map<std::string, std::string>& variables);

// Parses the text of a prompt file (format in lib/prompts/README.md); `source`
// names the file in error messages. A malformed text is bad_input.
util::Expected<PromptTemplate> parse_prompt(std::string_view text, const std::string& source);

// The text of a prompt file holding `prompt`, such that parse_prompt gives
// back the same system and user parts; for saving the prompts a run used.
std::string format_prompt(const PromptTemplate& prompt);

// Checks a --prompts directory: it exists, and each of its *.prompt files is
// named after a built-in prompt and parses. bad_input naming the first problem.
util::Expected<void> check_prompt_dir(const std::string& dir);

}  // namespace pipeline::prompts
