#include <csignal>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "cli/command_tree.hpp"
#include "lib/util/error.hpp"

namespace pipeline::cli {
namespace {

using util::ErrorKind;

// One exit status of the man page; the code comes from util::exit_code so
// the page cannot drift from what the program returns.
struct ExitStatus {
  int code;
  const char* meaning;
};

std::vector<ExitStatus> exit_statuses() {
  return {
      {0, "Success (also: resuming a completed run)."},
      {util::exit_code(ErrorKind::failed),
       "The work failed for another reason: the model's answer was still invalid after every re-ask, was cut at "
       "max_tokens, or the model refused."},
      {util::exit_code(ErrorKind::usage),
       "Usage error: unknown option, bad --deadline or timeout, bad --set, invalid --run-id."},
      {util::exit_code(ErrorKind::bad_input),
       "Bad input: unreadable or unsupported PDF, unknown brand or invalid brand file, run not found, corrupt "
       "checkpoint or changed artifact, a stage whose inputs are not done."},
      {util::exit_code(ErrorKind::provider),
       "Provider error that needs a person: no key for a remote provider, key refused, no credit, unknown model, "
       "request refused, request longer than the model's context."},
      {util::exit_code(ErrorKind::busy), "Run busy: locked by another process (the message names its pid and host)."},
      {util::exit_code(ErrorKind::budget_too_small),
       "Time budget too small: a stage was cut off by --deadline twice in a row, each time with the whole budget."},
      {util::exit_code(ErrorKind::cost_limit),
       "Cost cap reached: the next model call could have passed --max-cost; the run is saved, and resuming with a "
       "higher cap carries on."},
      {util::exit_code(ErrorKind::deadline),
       "Incomplete but resumable: the deadline passed, or temporary errors (429, 5xx, cut streams, timeouts) "
       "outlasted the retries; the message ends with the resume command."},
      {util::exit_code(ErrorKind::interrupted, SIGINT), "Interrupted by SIGINT, after saving the run."},
      {util::exit_code(ErrorKind::interrupted, SIGTERM), "Interrupted by SIGTERM, after saving the run."},
  };
}

// Variables read directly rather than as an option's fallback.
struct Variable {
  const char* name;
  const char* meaning;
};
const std::vector<Variable> k_other_variables{
    {"PIPELINE_API_KEY", "The provider's API key. No option takes it, since options show in ps(1)."},
    {"OPENROUTER_API_KEY", "The API key when PIPELINE_API_KEY is not set."},
    {"OPENAI_API_KEY", "The API key when neither PIPELINE_API_KEY nor OPENROUTER_API_KEY is set."},
    {"XDG_CACHE_HOME", "The stage cache is $XDG_CACHE_HOME/pipeline when --cache-dir is not given (else "
                       "~/.cache/pipeline)."},
};

const char* const k_examples = R"(.PP
Run the whole chain on the shipped example for the shipped example brand:
.PP
.RS
.nf
pipeline run /usr/share/pipeline/examples/example\-case\-study.pdf \e
  \-\-brand hollowmere\-dairy
.fi
.RE
.PP
Against a local OpenAI-compatible server, with no key:
.PP
.RS
.nf
PIPELINE_BASE_URL=http://127.0.0.1:8080/v1 PIPELINE_MODEL=qwen2.5 \e
  pipeline run report.pdf \-\-brand hollowmere\-dairy
.fi
.RE
.PP
In a serverless function: call resume until it exits 0 (it exits 75 while work remains):
.PP
.RS
.nf
RUN_ID=$(pipeline new report.pdf \-\-brand acme.json)
pipeline resume "$RUN_ID" \-\-deadline 55s \-\-json
.fi
.RE
.PP
Every document for every brand, four runs at a time:
.PP
.RS
.nf
pipeline batch a.pdf b.pdf \-\-brand hollowmere\-dairy \-\-brand larchline\-outdoor \-\-jobs 4
.fi
.RE
.PP
Check the provider settings, then enable completion in bash:
.PP
.RS
.nf
pipeline doctor \-\-ping
source <(pipeline completion bash)
.fi
.RE
)";

// Text in fill mode: backslashes escaped, and a line that would start with a
// control character protected.
std::string text(const std::string& in) {
  std::string out;
  bool line_start = true;
  for (const char c : in) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    if (c == '\\') out += "\\e";
    else out += c;
    line_start = c == '\n';
  }
  return out;
}

// A command, option or value name: as text, with its hyphens as minus signs
// so that it can be searched for and copied.
std::string literal(const std::string& in) {
  std::string out;
  for (const char c : text(in)) {
    if (c == '-') out += "\\-";
    else out += c;
  }
  return out;
}

// Paragraphs, split at blank lines; indented lines (a footer's lists and
// examples) are kept as they are, the rest is filled.
std::string paragraphs(const std::string& in) {
  std::string out = ".PP\n";
  bool kept = false;
  std::size_t start = 0;
  while (start < in.size()) {
    auto end = in.find('\n', start);
    if (end == std::string::npos) end = in.size();
    const std::string line = in.substr(start, end - start);
    const bool indented = line.rfind("  ", 0) == 0;
    if (indented != kept) out += indented ? ".nf\n" : ".fi\n";
    kept = indented;
    out += line.empty() ? ".PP\n" : text(line) + "\n";
    start = end + 1;
  }
  if (kept) out += ".fi\n";
  return out;
}

std::string sentence(std::string in) {
  if (!in.empty() && in.back() != '.') in += '.';
  return in;
}

// The placeholder of an option's value: its type name without the checks
// CLI11 appends (TEXT:{a,b} gives TEXT).
std::string value_name(const CLI::Option& option) {
  const std::string type = option.get_type_name();
  return type.substr(0, type.find(':'));
}

std::string option_heading(const CLI::Option& option) {
  if (!option.nonpositional()) return "\\fI" + literal(option.get_name()) + "\\fR";
  std::string names;
  for (const auto& name : option.get_snames()) names += (names.empty() ? "" : ", ") + ("\\fB" + literal("-" + name) + "\\fR");
  for (const auto& name : option.get_lnames()) names += (names.empty() ? "" : ", ") + ("\\fB" + literal("--" + name) + "\\fR");
  if (option.get_type_size_max() > 0) names += " \\fI" + literal(value_name(option)) + "\\fR";
  return names;
}

std::string option_entry(const CLI::Option& option) {
  std::string body = sentence(option.get_description());
  const auto kind = value_kind(option);
  if (kind.type == ValueKind::Type::choice) {
    std::string values;
    for (const auto& choice : kind.choices) values += (values.empty() ? "" : ", ") + choice;
    body += " One of: " + values + ".";
  }
  if (option.get_type_size_max() > 0 && !option.get_default_str().empty()) {
    body += " Default: " + option.get_default_str() + ".";
  }
  if (!option.get_envname().empty()) body += " Environment: " + option.get_envname() + ".";
  if (option.get_expected_max() > 1) body += " May be given more than once.";
  return ".TP\n" + option_heading(option) + "\n" + text(body) + "\n";
}

bool shown(const CLI::Option* option) {
  return !option->get_group().empty() && option->get_name() != "--help";
}

// The command line of one command: its name, positionals and required options.
std::string synopsis(const CLI::App& command, const std::string& path) {
  std::string line = "\\fB" + literal(path) + "\\fR";
  const auto subs = visible_subcommands(command);
  if (!subs.empty()) {
    std::string names;
    for (const auto* sub : subs) names += (names.empty() ? "" : "|") + sub->get_name();
    line += " \\fI" + literal(names) + "\\fR";
  }
  bool optional = false;
  for (const auto* option : command.get_options()) {
    if (!shown(option)) continue;
    if (!option->nonpositional()) {
      const std::string name = "\\fI" + literal(option->get_name()) + "\\fR" + (option->get_expected_max() > 1 ? "..." : "");
      line += " " + (option->get_required() ? name : "[" + name + "]");
    } else if (option->get_required()) {
      line += " \\fB" + literal(option->get_name()) + "\\fR \\fI" + literal(value_name(*option)) + "\\fR";
    } else {
      optional = true;
    }
  }
  if (optional) line += " [\\fIoptions\\fR]";
  return line;
}

void describe_commands(const CLI::App& command, const std::string& path, std::string& out) {
  for (const auto* sub : visible_subcommands(command)) {
    const std::string sub_path = path + " " + sub->get_name();
    out += ".SS \"" + synopsis(*sub, sub_path) + "\"\n";
    out += paragraphs(sentence(sub->get_description()));
    // A command inherits its parent's footer unless it has its own.
    if (!sub->get_footer().empty() && sub->get_footer() != command.get_footer()) out += paragraphs(sub->get_footer());
    for (const auto* option : sub->get_options()) {
      if (shown(option)) out += option_entry(*option);
    }
    describe_commands(*sub, sub_path, out);
  }
}

void collect_environment(const CLI::App& command, std::set<std::string>& seen, std::string& out) {
  for (const auto* option : command.get_options()) {
    const auto name = option->get_envname();
    if (name.empty() || !seen.insert(name).second) continue;
    out += ".TP\n.B " + literal(name) + "\n" + text("Stands for " + option->get_name() + " when it is not given. ") +
           text(sentence(option->get_description())) + "\n";
  }
  for (const auto* sub : command.get_subcommands([](const CLI::App*) { return true; })) {
    collect_environment(*sub, seen, out);
  }
}

}  // namespace

std::string man_page(const CLI::App& app) {
  const std::string name = app.get_name();
  std::string summary = app.get_description();
  if (summary.rfind(name + ": ", 0) == 0) summary.erase(0, name.size() + 2);

  std::string out;
  out += ".\\\" pipeline(1), generated by `pipeline manpage` from the program's command tree.\n";
  out += ".TH PIPELINE 1 \"\" \"pipeline " PIPELINE_VERSION "\" \"User Commands\"\n";
  out += ".SH NAME\n" + name + " \\- " + text(summary) + "\n";
  out += ".SH SYNOPSIS\n\\fB" + literal(name) + "\\fR [\\fIoptions\\fR] \\fIcommand\\fR [\\fIargs\\fR] [\\fIoptions\\fR]\n";
  out += ".br\n\\fB" + literal(name) + "\\fR \\fB\\-\\-version\\fR | \\fB\\-\\-help\\fR\n";
  std::string commands;
  for (const auto* sub : visible_subcommands(app)) commands += (commands.empty() ? "" : ", ") + ("\\fB" + literal(sub->get_name()) + "\\fR");
  out += ".PP\nThe commands are " + commands + "; each is described under COMMANDS.\n";
  out += ".SH DESCRIPTION\n";
  out += paragraphs(
      "pipeline turns a PDF about an innovation (a trend report, a case study, a spotted product launch) into five "
      "brand-specific innovation opportunity cards, through a chain of five model stages: mechanisms, signals, "
      "lessons, contextualize and opportunities. Every stage ends with a JSON checkpoint in the run's folder, so a "
      "run that dies, is killed or runs out of its time budget resumes from the last completed stage.\n\n"
      "It talks to any OpenAI-compatible chat-completions API: OpenRouter by default; OpenAI, Ollama, llama.cpp "
      "server, vLLM or LM Studio by --base-url. Global options may stand before or after the command. Precedence "
      "is always: option, then environment variable, then default. Durations are written 30s, 5m, 500ms, 1.5h or "
      "2min; a plain number is seconds.");
  out += ".SH COMMANDS\n";
  describe_commands(app, name, out);
  out += ".SH GLOBAL OPTIONS\n";
  for (const auto* option : app.get_options()) {
    if (shown(option) && option->nonpositional()) out += option_entry(*option);
  }
  out += ".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nPrint help, of the program or of the command it follows.\n";
  out += ".SH EXIT STATUS\nThe same for every command.\n";
  for (const auto& status : exit_statuses()) out += ".TP\n.B " + std::to_string(status.code) + "\n" + text(status.meaning) + "\n";
  out += ".SH ENVIRONMENT\n";
  std::set<std::string> seen;
  collect_environment(app, seen, out);
  for (const auto& variable : k_other_variables) {
    out += ".TP\n.B " + literal(variable.name) + "\n" + text(variable.meaning) + "\n";
  }
  out += ".SH FILES\n";
  out += ".TP\n.I ./runs/<run_id>/\n" +
         text("A run: checkpoint.json, the stage outputs stages/NN-<name>.json and .md, cards/ and report.md.") + "\n";
  out += ".TP\n.I /usr/share/pipeline/brands/\n" +
         text("The brand profiles shipped with the tool (beside the binary's bin/, under share/pipeline), searched "
              "after --brands-dir.") + "\n";
  out += ".SH EXAMPLES\n";
  out += k_examples;
  return out;
}

void register_manpage_command(CLI::App& app) {
  auto* command = app.add_subcommand("manpage", "Print the man page pipeline(1) in roff");
  command->group("");  // Hidden: the build runs it to write pipeline.1.
  command->callback([&app] { std::cout << man_page(app); });
}

}  // namespace pipeline::cli
