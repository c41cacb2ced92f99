#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cli/command_tree.hpp"

namespace pipeline::cli {
namespace {

using Type = ValueKind::Type;

// One command of the tree, with what can follow it on the command line.
struct CommandEntry {
  std::string path;  // "pipeline", "pipeline brands", "pipeline brands show"
  std::vector<const CLI::App*> subcommands;
  std::vector<const CLI::Option*> options;      // its own and its parents' (global options may follow the command)
  std::vector<const CLI::Option*> own_options;  // its own only
  std::vector<const CLI::Option*> positionals;  // in order
};

bool visible(const CLI::Option* option) { return !option->get_group().empty(); }

void collect_commands(const CLI::App& command, const std::string& path, std::vector<const CLI::Option*> inherited,
             std::vector<CommandEntry>& entries) {
  CommandEntry entry{path, visible_subcommands(command), {}, {}, {}};
  std::set<std::string> seen;
  for (const auto* option : command.get_options()) {
    if (!visible(option)) continue;
    if (!option->nonpositional()) {
      entry.positionals.push_back(option);
    } else if (seen.insert(option->get_name()).second) {
      entry.options.push_back(option);
      entry.own_options.push_back(option);
    }
  }
  for (const auto* option : inherited) {
    if (seen.insert(option->get_name()).second) {
      entry.options.push_back(option);
    } else {  // Its own --help hides its parent's: describe one of them.
      std::erase_if(entry.own_options, [&](const CLI::Option* own) { return own->get_name() == option->get_name(); });
    }
  }
  const auto passed_down = entry.options;
  entries.push_back(std::move(entry));
  for (const auto* sub : visible_subcommands(command)) collect_commands(*sub, path + " " + sub->get_name(), passed_down, entries);
}

std::vector<CommandEntry> command_entries(const CLI::App& app) {
  std::vector<CommandEntry> entries;
  collect_commands(app, app.get_name(), {}, entries);
  return entries;
}

std::vector<std::string> option_words(const CLI::Option& option) {
  std::vector<std::string> words;
  for (const auto& name : option.get_lnames()) words.push_back("--" + name);
  for (const auto& name : option.get_snames()) words.push_back("-" + name);
  return words;
}

// The kind as the scripts spell it: empty for a flag, else a word, with the
// values after "choice".
std::string kind_word(const ValueKind& kind) {
  switch (kind.type) {
    case Type::flag: return "";
    case Type::text: return "text";
    case Type::file: return "file";
    case Type::directory: return "directory";
    case Type::run_id: return "run";
    case Type::brand: return "brand";
    case Type::choice: {
      std::string word = "choice";
      for (const auto& choice : kind.choices) word += " " + choice;
      return word;
    }
  }
  return "";
}

std::string quoted(const std::string& text) {
  std::string out = "'";
  for (const char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& word : words) out += (out.empty() ? "" : " ") + word;
  return out;
}

// The shell functions both scripts share (bash and zsh read the same case
// syntax): each sets REPLY from a command path and an option or position.
std::string data_functions(const std::vector<CommandEntry>& entries) {
  std::string out;
  out += "# _pipeline_subcommands PATH: the commands that may follow PATH.\n";
  out += "_pipeline_subcommands() {\n  case $1 in\n";
  for (const auto& entry : entries) {
    if (entry.subcommands.empty()) continue;
    std::vector<std::string> names;
    for (const auto* sub : entry.subcommands) names.push_back(sub->get_name());
    out += "    " + quoted(entry.path) + ") REPLY=" + quoted(joined(names)) + " ;;\n";
  }
  out += "    *) REPLY='' ;;\n  esac\n}\n\n";

  out += "# _pipeline_options PATH: the options accepted after PATH.\n";
  out += "_pipeline_options() {\n  case $1 in\n";
  for (const auto& entry : entries) {
    std::vector<std::string> words;
    for (const auto* option : entry.options) {
      for (const auto& word : option_words(*option)) words.push_back(word);
    }
    out += "    " + quoted(entry.path) + ") REPLY=" + quoted(joined(words)) + " ;;\n";
  }
  out += "    *) REPLY='' ;;\n  esac\n}\n\n";

  // An option spelled the same everywhere with the same kind of value is
  // matched by name alone; one whose value differs by command, by path.
  std::map<std::string, std::map<std::string, std::vector<std::string>>> kinds;  // word -> kind -> paths
  std::vector<std::string> order;
  for (const auto& entry : entries) {
    for (const auto* option : entry.options) {
      const auto kind = kind_word(value_kind(*option));
      for (const auto& word : option_words(*option)) {
        if (kinds.count(word) == 0) order.push_back(word);
        kinds[word][kind].push_back(entry.path);
      }
    }
  }
  out += "# _pipeline_option_value PATH OPTION: what OPTION's value is there; empty for a flag.\n";
  out += "_pipeline_option_value() {\n  case \"$1 $2\" in\n";
  for (const auto& word : order) {
    const auto& by_kind = kinds[word];
    if (by_kind.size() == 1) {
      if (!by_kind.begin()->first.empty()) out += "    *" + quoted(" " + word) + ") REPLY=" + quoted(by_kind.begin()->first) + " ;;\n";
      continue;
    }
    for (const auto& [kind, paths] : by_kind) {
      if (kind.empty()) continue;
      for (const auto& path : paths) out += "    " + quoted(path + " " + word) + ") REPLY=" + quoted(kind) + " ;;\n";
    }
  }
  out += "    *) REPLY='' ;;\n  esac\n}\n\n";

  out += "# _pipeline_positional PATH INDEX: what the INDEXth (from 0) argument after PATH is.\n";
  out += "_pipeline_positional() {\n  case \"$1:$2\" in\n";
  for (const auto& entry : entries) {
    for (std::size_t i = 0; i < entry.positionals.size(); ++i) {
      const auto* positional = entry.positionals[i];
      const auto kind = kind_word(value_kind(*positional));
      const bool repeats = i + 1 == entry.positionals.size() && positional->get_expected_max() > 1;
      const std::string pattern = repeats ? quoted(entry.path + ":") + "*" : quoted(entry.path + ":" + std::to_string(i));
      out += "    " + pattern + ") REPLY=" + quoted(kind) + " ;;\n";
    }
  }
  out += "    *) REPLY='' ;;\n  esac\n}\n\n";
  return out;
}

// Walks the words before the cursor: the command path, the option waiting
// for its value, the number of arguments given, and the --runs-dir and
// --brands-dir to pass on to `list` and `brands list`.
const char* const k_walk = R"sh(# _pipeline_walk WORD...: reads the words before the cursor into cmd_path,
# pending (an option still waiting for its value), npos and extra.
_pipeline_walk() {
  local word
  cmd_path=pipeline
  pending=''
  npos=0
  extra=()
  for word in "$@"; do
    if [[ -n $pending ]]; then
      [[ $word == = ]] && continue
      [[ $pending == --runs-dir || $pending == --brands-dir ]] && extra+=("$pending" "$word")
      pending=''
    elif [[ $word == --*=* ]]; then
      [[ ${word%%=*} == --runs-dir || ${word%%=*} == --brands-dir ]] && extra+=("$word")
    elif [[ $word == -* ]]; then
      _pipeline_option_value "$cmd_path" "$word"
      [[ -n $REPLY ]] && pending=$word
    else
      _pipeline_subcommands "$cmd_path"
      if [[ " $REPLY " == *" $word "* ]]; then
        cmd_path="$cmd_path $word" npos=0
      else
        npos=$((npos + 1))
      fi
    fi
  done
}

# _pipeline_ids PROGRAM: the run ids of `list --json`; _pipeline_brand_ids: the brand ids of `brands list --json`.
_pipeline_ids() {
  "$1" "${extra[@]}" list --json 2>/dev/null | sed -n 's/^    "run_id": "\([^"]*\)".*/\1/p'
}
_pipeline_brand_ids() {
  "$1" "${extra[@]}" brands list --json 2>/dev/null | sed -n 's/^    "id": "\([^"]*\)".*/\1/p'
}
)sh";

const char* const k_bash_main = R"sh(
# _pipeline_complete_value KIND CURRENT: adds the values of that kind to COMPREPLY.
_pipeline_complete_value() {
  local kind=$1 cur=$2 program=${COMP_WORDS[0]}
  command -v "$program" >/dev/null 2>&1 || program=pipeline
  case $kind in
    choice\ *) COMPREPLY+=($(compgen -W "${kind#choice }" -- "$cur")) ;;
    run) COMPREPLY+=($(compgen -W "$(_pipeline_ids "$program")" -- "$cur")) ;;
    brand)
      COMPREPLY+=($(compgen -W "$(_pipeline_brand_ids "$program")" -- "$cur"))
      if [[ $cur == */* || $cur == .* ]]; then
        compopt -o filenames 2>/dev/null
        COMPREPLY+=($(compgen -f -X '!*.json' -- "$cur") $(compgen -d -- "$cur"))
      fi ;;
    file) compopt -o filenames 2>/dev/null; COMPREPLY+=($(compgen -f -- "$cur")) ;;
    directory) compopt -o filenames 2>/dev/null; COMPREPLY+=($(compgen -d -- "$cur")) ;;
  esac
}

_pipeline() {
  local cur=${COMP_WORDS[COMP_CWORD]} cmd_path pending npos REPLY
  local -a extra
  COMPREPLY=()
  _pipeline_walk "${COMP_WORDS[@]:1:COMP_CWORD-1}"
  [[ $cur == = && -n $pending ]] && cur=''
  if [[ -n $pending ]]; then
    _pipeline_option_value "$cmd_path" "$pending"
    _pipeline_complete_value "$REPLY" "$cur"
  elif [[ $cur == --*=* ]]; then
    _pipeline_option_value "$cmd_path" "${cur%%=*}"
    _pipeline_complete_value "$REPLY" "${cur#*=}"
  elif [[ $cur == -* ]]; then
    _pipeline_options "$cmd_path"
    COMPREPLY=($(compgen -W "$REPLY" -- "$cur"))
  else
    _pipeline_subcommands "$cmd_path"
    COMPREPLY=($(compgen -W "$REPLY" -- "$cur"))
    _pipeline_positional "$cmd_path" "$npos"
    _pipeline_complete_value "$REPLY" "$cur"
  fi
}
complete -F _pipeline pipeline
)sh";

const char* const k_zsh_main = R"sh(
# _pipeline_complete_value KIND: offers the values of that kind.
_pipeline_complete_value() {
  local kind=$1 program=${words[1]}
  (( $+commands[$program] )) || [[ -x $program ]] || program=pipeline
  case $kind in
    choice\ *) compadd -- ${=${kind#choice }} ;;
    run) compadd -- ${(f)"$(_pipeline_ids "$program")"} ;;
    brand) compadd -- ${(f)"$(_pipeline_brand_ids "$program")"}; _files -g '*.json' ;;
    file) _files ;;
    directory) _files -/ ;;
    text) _message 'value' ;;
  esac
}

_pipeline() {
  local cmd_path pending npos REPLY
  local -a extra reply
  _pipeline_walk "${(@)words[2,CURRENT-1]}"
  local cur=${words[CURRENT]}
  if [[ -n $pending ]]; then
    _pipeline_option_value "$cmd_path" "$pending"
    _pipeline_complete_value "$REPLY"
  elif [[ $cur == --*=* ]]; then
    _pipeline_option_value "$cmd_path" "${cur%%=*}"
    compset -P '*='
    _pipeline_complete_value "$REPLY"
  elif [[ $cur == -* ]]; then
    _pipeline_describe_options "$cmd_path"
    _describe -t options 'option' reply
  else
    _pipeline_describe_subcommands "$cmd_path"
    (( ${#reply} )) && _describe -t commands 'command' reply
    _pipeline_positional "$cmd_path" "$npos"
    _pipeline_complete_value "$REPLY"
  fi
}

if [[ ${funcstack[1]} == _pipeline ]]; then
  _pipeline "$@"
else
  compdef _pipeline pipeline
fi
)sh";

// "name:description" entries for zsh's _describe; a colon in the name is escaped.
std::string described(const std::string& name, const std::string& description) {
  std::string escaped;
  for (const char c : name) escaped += c == ':' ? std::string("\\:") : std::string(1, c);
  const auto line_end = description.find('\n');
  return quoted(escaped + ":" + description.substr(0, line_end));
}

std::string zsh_describe_functions(const std::vector<CommandEntry>& entries) {
  std::string out = "# _pipeline_describe_subcommands PATH, _pipeline_describe_options PATH: name:description pairs in reply\n"
      "# (the options of PATH and of the commands above it).\n";
  out += "_pipeline_describe_subcommands() {\n  case $1 in\n";
  for (const auto& entry : entries) {
    if (entry.subcommands.empty()) continue;
    out += "    " + quoted(entry.path) + ") reply=(";
    for (const auto* sub : entry.subcommands) out += "\n      " + described(sub->get_name(), sub->get_description());
    out += "\n    ) ;;\n";
  }
  out += "    *) reply=() ;;\n  esac\n}\n";
  out += "_pipeline_describe_own_options() {\n  case $1 in\n";
  for (const auto& entry : entries) {
    if (entry.own_options.empty()) continue;
    out += "    " + quoted(entry.path) + ") reply+=(";
    for (const auto* option : entry.own_options) {
      for (const auto& word : option_words(*option)) out += "\n      " + described(word, option->get_description());
    }
    out += "\n    ) ;;\n";
  }
  out += "  esac\n}\n";
  out += "_pipeline_describe_options() {\n"
         "  local p=$1\n"
         "  reply=()\n"
         "  while :; do\n"
         "    _pipeline_describe_own_options \"$p\"\n"
         "    [[ $p == *' '* ]] || break\n"
         "    p=${p% *}\n"
         "  done\n"
         "}\n";
  return out;
}

}  // namespace

std::string bash_completion(const CLI::App& app) {
  const auto entries = command_entries(app);
  return "# bash completion for pipeline, generated by `pipeline completion bash` from its command tree.\n"
         "# Install as share/bash-completion/completions/pipeline, or: source <(pipeline completion bash)\n\n" +
         data_functions(entries) + k_walk + k_bash_main;
}

std::string zsh_completion(const CLI::App& app) {
  const auto entries = command_entries(app);
  return "#compdef pipeline\n"
         "# zsh completion for pipeline, generated by `pipeline completion zsh` from its command tree.\n"
         "# Install as _pipeline in a folder of $fpath, or: source <(pipeline completion zsh)\n\n" +
         data_functions(entries) + zsh_describe_functions(entries) + k_walk + k_zsh_main;
}

void register_completion_command(CLI::App& app) {
  auto shell = std::make_shared<std::string>();
  auto* command = app.add_subcommand("completion", "Print a completion script for bash or zsh");
  command->add_option("shell", *shell, "The shell")->required()->check(CLI::IsMember({"bash", "zsh"}));
  command->footer(
      "bash: source <(pipeline completion bash), or save it as\n"
      "/usr/share/bash-completion/completions/pipeline (~/.local/share/bash-completion/completions/pipeline).\n"
      "zsh: save it as _pipeline in a folder of $fpath before compinit runs.\n"
      "Run ids and brand ids are completed from `pipeline list --json` and `pipeline brands list --json`.");
  command->callback([&app, shell] { std::cout << (*shell == "bash" ? bash_completion(app) : zsh_completion(app)); });
}

}  // namespace pipeline::cli
