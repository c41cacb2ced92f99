#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli/command_tree.hpp"
#include "tests/fake_server/fake_llm_server.hpp"
#include "tests/support/cli_env.hpp"
#include "tests/support/process.hpp"

namespace testing = pipeline::testing;

namespace {

const std::string k_completion_examples = std::string(PIPELINE_SOURCE_DIR) + "/examples";

std::string write_file(const testing::TempDir& dir, const std::string& name, const std::string& text) {
  const std::string path = dir / name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// Every command path of the tree ("brands show"), hidden commands left out.
void command_paths(const CLI::App& command, const std::string& prefix, std::vector<std::string>& paths) {
  for (const auto* sub : pipeline::cli::visible_subcommands(command)) {
    paths.push_back(prefix + sub->get_name());
    command_paths(*sub, prefix + sub->get_name() + " ", paths);
  }
}

// Every long option anywhere in the tree.
void long_options(const CLI::App& command, std::vector<std::string>& names) {
  for (const auto* option : command.get_options()) {
    // An option of no group is hidden (a test knob such as --rate-window): completion leaves it out.
    if (option->get_group().empty()) continue;
    for (const auto& name : option->get_lnames()) names.push_back("--" + name);
  }
  for (const auto* sub : pipeline::cli::visible_subcommands(command)) long_options(*sub, names);
}

bool tree_has_option(const CLI::App& command, const std::string& name) {
  for (const auto* option : command.get_options()) {
    if (option->get_name() == name) return true;
  }
  for (const auto* sub : command.get_subcommands([](const CLI::App*) { return true; })) {
    if (tree_has_option(*sub, name)) return true;
  }
  return false;
}

struct Tree {
  Tree() { pipeline::cli::build_app(app, options); }
  CLI::App app;
  pipeline::cli::GlobalOptions options;
};

// What the bash completion offers for the words of a command line, the last
// one being completed, run in a bash with the script sourced.
std::string bash_complete(const std::string& script, const std::vector<std::string>& words,
                          const testing::ProcessOptions& options = {}) {
  std::string array;
  for (const auto& word : words) array += " '" + word + "'";
  const std::string program =
      "source '" + script + "'\n"
      "COMP_WORDS=(" + array + ")\nCOMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))\n"
      "_pipeline\nfor word in \"${COMPREPLY[@]}\"; do printf '%s\\n' \"$word\"; done\n";
  const auto result = testing::run_process({"bash", "-c", program}, options);
  REQUIRE(result.exit_code == 0);
  return result.out;
}

// The script saved as `name` passes `<shell> -n`.
void check_parses(const std::string& shell, const std::string& name, const std::string& script) {
  testing::TempDir dir;
  const auto syntax = testing::run_process({shell, "-n", write_file(dir, name, script)});
  CAPTURE(syntax.err);
  CHECK(syntax.exit_code == 0);
}

}  // namespace

TEST_CASE("completion bash: a script that parses and names every command, option and choice") {
  const auto result = testing::run_pipeline({"completion", "bash"});
  REQUIRE(result.exit_code == 0);
  check_parses("bash", "pipeline.bash", result.out);

  Tree tree;
  std::vector<std::string> paths;
  command_paths(tree.app, "", paths);
  CHECK(paths.size() > 15);
  for (const auto& path : paths) {
    const auto last = path.substr(path.rfind(' ') + 1);
    CAPTURE(path);
    CHECK(result.out.find(last) != std::string::npos);
  }
  std::vector<std::string> options;
  long_options(tree.app, options);
  for (const auto& option : options) {
    CAPTURE(option);
    CHECK(result.out.find(option) != std::string::npos);
  }
  CHECK(result.out.find("--structured-output") != std::string::npos);
  CHECK(result.out.find("choice auto strict json_schema schema json_object prompt") != std::string::npos);
  CHECK(result.out.find("manpage") == std::string::npos);  // hidden
  CHECK(result.out.find("--rate-window") == std::string::npos);  // hidden
  CHECK(result.out.find("complete -F _pipeline pipeline") != std::string::npos);
}

TEST_CASE("completion bash: completes commands, choices, stages and brand ids in a real bash") {
  testing::TempDir dir;
  const auto script = write_file(dir, "pipeline.bash", testing::run_pipeline({"completion", "bash"}).out);
  const std::string program = testing::pipeline_binary();

  CHECK(bash_complete(script, {program, "br"}) == "brands\n");
  CHECK(bash_complete(script, {program, "brands", ""}) == "list\nshow\nvalidate\npush\n");
  CHECK(bash_complete(script, {program, "run", "x.pdf", "--structured-output", "js"}) == "json_schema\njson_object\n");
  // bash splits --schema-dialect=ll at the '='.
  CHECK(bash_complete(script, {program, "--schema-dialect", "=", "ll"}) == "llama.cpp\n");
  CHECK(bash_complete(script, {program, "resume", "--from", "co"}) == "contextualize\n");
  CHECK(bash_complete(script, {program, "completion", ""}) == "bash\nzsh\n");
  CHECK(bash_complete(script, {program, "doctor", "--p"}) == "--ping\n--prices\n");  // no --prompts: not doctor's

  testing::ProcessOptions options;
  options.env["PIPELINE_BRANDS_DIR"] = "";
  const auto brands = bash_complete(script, {program, "brands", "show", "ho"}, options);
  CHECK(brands == "hollowmere-dairy\n");
}

TEST_CASE("completion bash: completes run ids from `pipeline list --json`, in the runs folder given") {
  testing::FakeLlmServer server;
  testing::CliEnv env(server);
  const auto created = env.run({"new", k_completion_examples + "/example-case-study.pdf", "--brand", env.brand_path,
                                "--run-id", "completion-run-1"});
  REQUIRE(created.exit_code == 0);
  testing::TempDir dir;
  const auto script = write_file(dir, "pipeline.bash", testing::run_pipeline({"completion", "bash"}).out);
  const std::string program = testing::pipeline_binary();

  CHECK(bash_complete(script, {program, "--runs-dir", env.runs_dir, "status", "comp"}) == "completion-run-1\n");
  CHECK(bash_complete(script, {program, "show", "--runs-dir", env.runs_dir, ""}) == "completion-run-1\n");
  CHECK(bash_complete(script, {program, "--runs-dir", dir.path(), "status", ""}).empty());
}

TEST_CASE("completion zsh: a script zsh parses, with a compdef header and every command described") {
  const auto result = testing::run_pipeline({"completion", "zsh"});
  REQUIRE(result.exit_code == 0);
  CHECK(result.out.rfind("#compdef pipeline\n", 0) == 0);
  check_parses("zsh", "_pipeline", result.out);
  Tree tree;
  for (const auto* sub : pipeline::cli::visible_subcommands(tree.app)) {
    CAPTURE(sub->get_name());
    CHECK(result.out.find("'" + sub->get_name() + ":") != std::string::npos);
  }
  CHECK(result.out.find("'--structured-output:") != std::string::npos);
  CHECK(result.out.find("compdef _pipeline pipeline") != std::string::npos);
}

TEST_CASE("completion: an unknown shell is a usage error") {
  const auto result = testing::run_pipeline({"completion", "fish"});
  CHECK(result.exit_code == 2);
  CHECK(result.out.empty());
}

TEST_CASE("completion: every option named in value_kind_names() is still in the tree") {
  Tree tree;
  for (const auto& name : pipeline::cli::value_kind_names()) {
    CAPTURE(name);
    CHECK(tree_has_option(tree.app, name));
  }
}

TEST_CASE("manpage: every command, the exit codes and the environment, and man renders it without warnings") {
  const auto result = testing::run_pipeline({"manpage"});
  REQUIRE(result.exit_code == 0);
  const auto& page = result.out;
  CHECK(page.find(".TH PIPELINE 1") != std::string::npos);
  for (const char* section : {".SH NAME", ".SH SYNOPSIS", ".SH COMMANDS", ".SH EXIT STATUS", ".SH ENVIRONMENT",
                              ".SH EXAMPLES"}) {
    CAPTURE(section);
    CHECK(page.find(section) != std::string::npos);
  }
  Tree tree;
  std::vector<std::string> paths;
  command_paths(tree.app, "", paths);
  for (const auto& path : paths) {
    std::string heading = ".SS \"\\fBpipeline " + path + "\\fR";
    for (std::size_t at = heading.find('-'); at != std::string::npos; at = heading.find('-', at + 2)) {
      heading.replace(at, 1, "\\-");
    }
    CAPTURE(heading);
    CHECK(page.find(heading) != std::string::npos);
  }
  const auto exit_status = page.substr(page.find(".SH EXIT STATUS"), page.find(".SH ENVIRONMENT") - page.find(".SH EXIT STATUS"));
  for (const int code : {0, 1, 2, 3, 4, 5, 6, 7, 75, 130, 143}) {
    CAPTURE(code);
    CHECK(exit_status.find(".B " + std::to_string(code) + "\n") != std::string::npos);
  }
  for (const char* variable : {"PIPELINE_RUNS_DIR", "PIPELINE_BASE_URL", "PIPELINE_MODEL", "PIPELINE_PROMPTS_DIR",
                               "PIPELINE_API_KEY", "OPENROUTER_API_KEY", "OPENAI_API_KEY"}) {
    CAPTURE(variable);
    CHECK(page.find(".B " + std::string(variable) + "\n") != std::string::npos);
  }
  CHECK(page.find("\\fB\\-\\-structured\\-output\\fR") != std::string::npos);

  testing::TempDir dir;
  const auto path = write_file(dir, "pipeline.1", page);
  testing::ProcessOptions quiet;
  quiet.env["MANWIDTH"] = "80";
  const auto rendered = testing::run_process({"man", "--warnings", "-l", path}, quiet);
  CAPTURE(rendered.err);
  CHECK(rendered.exit_code == 0);
  CHECK(rendered.err.empty());
  CHECK(rendered.out.find("EXIT STATUS") != std::string::npos);
}

TEST_CASE("manpage: the build wrote the same page next to the binary") {
  const auto built = std::filesystem::path(testing::pipeline_binary()).parent_path() / "pipeline.1";
  REQUIRE(std::filesystem::exists(built));
  std::ifstream in(built, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text == testing::run_pipeline({"manpage"}).out);
}
