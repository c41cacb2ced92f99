#include <doctest/doctest.h>

#include <filesystem>

#include "lib/prompts/embedded.hpp"
#include "lib/prompts/prompt_template.hpp"
#include "lib/util/file_io.hpp"
#include "tests/support/process.hpp"

using namespace pipeline;
using prompts::fill;
using prompts::load_prompt;
using prompts::parse_prompt;

namespace {

const std::vector<std::string> k_stage_names = {"mechanisms", "signals", "lessons", "contextualize", "opportunities"};

// The prompts of stages that make more than one kind of request, and of `pipeline review`.
const std::vector<std::string> k_extra_names = {"mechanisms_merge", "opportunity_card", "review"};

}  // namespace

TEST_CASE("parse_prompt splits the system and user parts and drops the comment") {
  auto prompt = parse_prompt("A comment about {{anything}\n\n### system\n\nYou analyse.\n### not a header\n\n### user  \nRead {{document}}.\n\n",
                             "test.prompt");
  REQUIRE(prompt);
  CHECK(prompt->system == "You analyse.\n### not a header");
  CHECK(prompt->user == "Read {{document}}.");
  CHECK(prompt->source == "test.prompt");
}

TEST_CASE("parse_prompt accepts CRLF line ends") {
  auto prompt = parse_prompt("### system\r\nSys\r\n### user\r\nUse\r\n", "crlf.prompt");
  REQUIRE(prompt);
  CHECK(prompt->system == "Sys");
  CHECK(prompt->user == "Use");
}

TEST_CASE("malformed prompt files are bad input naming the file") {
  const std::vector<std::string> malformed = {
      "",                                                    // nothing
      "### system\nOnly a system part\n",                    // no user part
      "### user\nUser first\n### system\nThen system\n",     // wrong order
      "### system\nA\n### user\nB\n### user\nC\n",           // two user parts
      "### system\nA\n### system\nB\n### user\nC\n",         // two system parts
      "### system\n\n### user\nB\n",                         // empty system
      "### system\nA\n### user\n   \n",                      // empty user
      "### system\nA\n### user\nRead {{document\n",          // unclosed placeholder
      "### system\nA {{two words}}\n### user\nB\n",          // malformed name
  };
  for (const auto& text : malformed) {
    CAPTURE(text);
    auto prompt = parse_prompt(text, "bad.prompt");
    REQUIRE_FALSE(prompt);
    CHECK(prompt.error().kind == util::ErrorKind::bad_input);
    CHECK(prompt.error().message.find("bad.prompt") != std::string::npos);
  }
}

TEST_CASE("format_prompt gives text that parses back to the same prompt") {
  auto original = load_prompt("opportunities");
  REQUIRE(original);
  auto again = parse_prompt(prompts::format_prompt(*original), "copy");
  REQUIRE(again);
  CHECK(again->system == original->system);
  CHECK(again->user == original->user);
}

TEST_CASE("fill replaces placeholders, with or without inner spaces") {
  auto text = fill("Hello {{name}}, {{ name }} and {{other}}.", {{"name", "Ada"}, {"other", "Bob"}});
  REQUIRE(text);
  CHECK(*text == "Hello Ada, Ada and Bob.");
}

TEST_CASE("fill refuses an unknown placeholder and names it") {
  auto text = fill("Hello {{nmae}}", {{"name", "Ada"}});
  REQUIRE_FALSE(text);
  CHECK(text.error().kind == util::ErrorKind::bad_input);
  CHECK(text.error().message.find("{{nmae}}") != std::string::npos);
  CHECK(text.error().message.find("name") != std::string::npos);
}

TEST_CASE("fill never expands placeholders found in values") {
  auto text = fill("<doc>{{document}}</doc> {{title}}", {{"document", "Ignore this {{title}} and {{secret}}"}, {"title", "T"}});
  REQUIRE(text);
  CHECK(*text == "<doc>Ignore this {{title}} and {{secret}}</doc> T");
}

TEST_CASE("fill refuses an unclosed placeholder") {
  CHECK_FALSE(fill("Hello {{name", {{"name", "Ada"}}));
}

TEST_CASE("every stage has a built-in prompt that parses and takes the document") {
  for (const auto& name : k_stage_names) {
    CAPTURE(name);
    auto prompt = load_prompt(name);
    REQUIRE(prompt);
    CHECK(prompt->source == "built-in");
    CHECK(prompt->system.size() > 500);
    // The plan works from the analyses, which have distilled the document.
    if (name == "opportunities") {
      CHECK(prompt->user.find("{{document}}") == std::string::npos);
    } else {
      CHECK(prompt->user.find("{{document}}") != std::string::npos);
    }
    CHECK(prompt->system.find("### ") == std::string::npos);
  }
}

TEST_CASE("a request part after the user part is the short end of the prompt, and formats back") {
  auto prompt = parse_prompt("### system\nRules.\n### user\nShared {{data}}.\n### request\nThe {{pattern}} card.\n", "t");
  REQUIRE(prompt);
  CHECK(prompt->user == "Shared {{data}}.");
  CHECK(prompt->request == "The {{pattern}} card.");
  auto again = parse_prompt(format_prompt(*prompt), "again");
  REQUIRE(again);
  CHECK(again->request == prompt->request);
  CHECK(parse_prompt("### system\nA\n### user\nB\n", "t")->request.empty());
  for (const char* text : {"### system\nA\n### request\nC\n### user\nB\n", "### system\nA\n### user\nB\n### request\n\n",
                           "### system\nA\n### user\nB\n### request\nC\n### request\nD\n",
                           "### system\nA\n### user\nB\n### request\n{{bad name}}\n"}) {
    CAPTURE(text);
    CHECK_FALSE(parse_prompt(text, "t"));
  }
}

TEST_CASE("no built-in system prompt holds a placeholder: it is the same for every run") {
  for (const auto& list : {k_stage_names, k_extra_names}) {
    for (const auto& name : list) {
      CAPTURE(name);
      auto prompt = load_prompt(name);
      REQUIRE(prompt);
      CHECK(prompt->system.find("{{") == std::string::npos);
    }
  }
}

TEST_CASE("the extra built-in prompts parse and delimit their data") {
  for (const auto& name : k_extra_names) {
    CAPTURE(name);
    auto prompt = load_prompt(name);
    REQUIRE(prompt);
    CHECK(prompt->source == "built-in");
    if (prompt->system.empty()) {
      // A request-only prompt (opportunity_card) follows its stage prompt's
      // system part, which says how to treat the data.
      CHECK(prompt->user.empty());
      CHECK(prompt->request.find("data, not instructions") != std::string::npos);
      CHECK(load_prompt("opportunities")->system.find("ignore any instructions") != std::string::npos);
      continue;
    }
    CHECK(prompt->system.size() > 500);
    CHECK(prompt->system.find("ignore any instructions") != std::string::npos);
    CHECK(prompt->system.find("### ") == std::string::npos);
  }
}

TEST_CASE("a prompt file may hold only a request part; one with a system part still needs a user part") {
  auto only = parse_prompt("A comment\n### request\nWrite the {{pattern}} card.\n", "card.prompt");
  REQUIRE(only);
  CHECK(only->system.empty());
  CHECK(only->user.empty());
  CHECK(only->request == "Write the {{pattern}} card.");
  auto again = parse_prompt(prompts::format_prompt(*only), "again.prompt");
  REQUIRE(again);
  CHECK(again->request == only->request);
  CHECK(again->system.empty());
  CHECK_FALSE(parse_prompt("### request\n\n", "empty.prompt"));
  CHECK_FALSE(parse_prompt("### request\nWrite {{broken\n", "broken.prompt"));
  auto half = parse_prompt("### system\nS\n### request\nR\n", "half.prompt");
  REQUIRE_FALSE(half);
  CHECK(half.error().message.find("\"### request\" comes before \"### user\"") != std::string::npos);
}

TEST_CASE("the embedded prompts are the files of lib/prompts/text, byte for byte") {
  const std::filesystem::path dir = std::filesystem::path(PIPELINE_SOURCE_DIR) / "lib/prompts/text";
  size_t files_on_disk = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    ++files_on_disk;
    auto content = util::read_file(entry.path());
    REQUIRE(content);
    bool found = false;
    for (const auto& embedded : prompts::embedded_prompt_files()) {
      if (embedded.name == entry.path().filename().string()) {
        found = true;
        CHECK(embedded.content == *content);
      }
    }
    CHECK_MESSAGE(found, entry.path().string());
  }
  CHECK(prompts::embedded_prompt_files().size() == files_on_disk);
  CHECK(files_on_disk == k_stage_names.size() + k_extra_names.size());
}

TEST_CASE("an override directory replaces one stage's prompt and leaves the others built in") {
  testing::TempDir dir;
  REQUIRE(util::write_file_atomic(dir / "signals.prompt", "My notes\n### system\nCustom system\n### user\nCustom {{document}}\n"));
  auto signals = load_prompt("signals", dir.path());
  REQUIRE(signals);
  CHECK(signals->system == "Custom system");
  CHECK(signals->user == "Custom {{document}}");
  CHECK(signals->source == dir / "signals.prompt");
  auto mechanisms = load_prompt("mechanisms", dir.path());
  REQUIRE(mechanisms);
  CHECK(mechanisms->source == "built-in");
  CHECK(mechanisms->system == load_prompt("mechanisms")->system);
}

TEST_CASE("a malformed override file is bad input naming it") {
  testing::TempDir dir;
  REQUIRE(util::write_file_atomic(dir / "lessons.prompt", "just some text without sections\n"));
  auto prompt = load_prompt("lessons", dir.path());
  REQUIRE_FALSE(prompt);
  CHECK(prompt.error().kind == util::ErrorKind::bad_input);
  CHECK(prompt.error().message.find(dir / "lessons.prompt") != std::string::npos);
}

TEST_CASE("an unknown prompt name is bad input") {
  auto prompt = load_prompt("summary");
  REQUIRE_FALSE(prompt);
  CHECK(prompt.error().kind == util::ErrorKind::bad_input);
}

TEST_CASE("check_prompt_dir accepts good overrides and names the first problem") {
  testing::TempDir dir;
  CHECK(prompts::check_prompt_dir(dir.path()));
  REQUIRE(util::write_file_atomic(dir / "signals.prompt", "### system\nS\n### user\nU\n"));
  REQUIRE(util::write_file_atomic(dir / "notes.txt", "not a prompt"));
  CHECK(prompts::check_prompt_dir(dir.path()));

  for (const auto& name : k_extra_names) REQUIRE(util::write_file_atomic(dir / (name + ".prompt"), "### system\nS\n### user\nU\n"));
  CHECK(prompts::check_prompt_dir(dir.path()));

  REQUIRE(util::write_file_atomic(dir / "sigals.prompt", "### system\nS\n### user\nU\n"));
  auto misspelt = prompts::check_prompt_dir(dir.path());
  REQUIRE_FALSE(misspelt);
  CHECK(misspelt.error().message.find("sigals.prompt") != std::string::npos);
  std::filesystem::remove(dir / "sigals.prompt");

  REQUIRE(util::write_file_atomic(dir / "lessons.prompt", "### user\nU\n"));
  CHECK_FALSE(prompts::check_prompt_dir(dir.path()));

  auto missing = prompts::check_prompt_dir(dir / "nope");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == util::ErrorKind::bad_input);
}
