#pragma once

// pipeline's whole command tree, built in one place so that main(), the
// completion scripts and the man page all read the same commands and options.

#include <string>
#include <vector>

#include "cli/app.hpp"

namespace pipeline::cli {

// Builds the whole command line on `app`: name, description, version flag,
// global options and every command, the completion and man-page generators
// included. `app` and `options` must outlive the parse and the callbacks.
void build_app(CLI::App& app, GlobalOptions& options);

// What an option's or a positional's value is, as far as completing it goes.
struct ValueKind {
  enum class Type { flag, text, choice, file, directory, run_id, brand };
  Type type = Type::flag;
  std::vector<std::string> choices;  // for Type::choice
};

// The kind of an option's value: the values of its CLI::IsMember check,
// stage numbers and names for stage options, run ids, brand ids, files and
// folders by the option's name, free text otherwise, nothing for a flag.
ValueKind value_kind(const CLI::Option& option);

// The option and positional names value_kind() recognises by name; each must
// still name an option of the tree (a test checks it).
std::vector<std::string> value_kind_names();

// The commands shown in help (hidden ones left out), in the order they were added.
std::vector<const CLI::App*> visible_subcommands(const CLI::App& command);

// Completion scripts for the tree under `app`, for bash and for zsh. Run ids
// and brand ids are asked of `pipeline list --json` and `pipeline brands list
// --json` when completing.
std::string bash_completion(const CLI::App& app);
std::string zsh_completion(const CLI::App& app);

// The man page pipeline(1) in roff: every command and option, exit status,
// environment and examples.
std::string man_page(const CLI::App& app);

// The `completion bash|zsh` command and the hidden `manpage` command.
void register_completion_command(CLI::App& app);
void register_manpage_command(CLI::App& app);

}  // namespace pipeline::cli
