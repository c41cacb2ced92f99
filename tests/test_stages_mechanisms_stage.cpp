#include <doctest/doctest.h>

#include <regex>

#include "lib/llm/json_schema.hpp"
#include "lib/llm/token_estimate.hpp"
#include "lib/prompts/prompt_template.hpp"
#include "stages/mechanisms_stage.hpp"
#include "stages/stage_params.hpp"
#include "stages/stage_request.hpp"
#include "stages/stage_work.hpp"
#include "tests/support/memory_stage_work.hpp"
#include "tests/support/schema_checks.hpp"
#include "tests/support/stage_samples.hpp"

using namespace pipeline;
using pipeline::llm::validate_json;
using pipeline::testing::sample_context;
using pipeline::testing::sample_output;

namespace {

const stages::MechanismsStage k_mechanisms_stage;

// `count` pages of about 600 bytes (200 tokens), each starting "Page N.".
std::string long_document(int count) {
  std::string text;
  for (int i = 1; i <= count; ++i) {
    if (i > 1) text += '\f';
    text += "Page " + std::to_string(i) + ".";
    for (int line = 0; line < 10; ++line) text += " The lockers cut the morning queue for commuters.\n";
  }
  return text;
}

// A short stand-in for the stage's prompt, so that a small limit leaves room for pages.
prompts::PromptTemplate short_prompt() { return {"Find the mechanisms of {{document_title}}.", "{{document}}", "test", ""}; }

stages::StageParams params_with_limit(int max_input_tokens) {
  auto params = k_mechanisms_stage.default_params();
  params.max_input_tokens = max_input_tokens;
  return params;
}

// The sample answer with the innovation renamed after the part that gave it.
nlohmann::json answer_named(const std::string& name) {
  auto answer = sample_output(1);
  answer["innovation"]["name"] = name;
  return answer;
}

}  // namespace

TEST_CASE("mechanisms is stage 1 and reads only the document") {
  CHECK(k_mechanisms_stage.number() == 1);
  CHECK(k_mechanisms_stage.name() == "mechanisms");
  CHECK(k_mechanisms_stage.reads().empty());
  CHECK_FALSE(k_mechanisms_stage.uses_brand());
  CHECK(k_mechanisms_stage.default_params().temperature <= 0.5);
}

TEST_CASE("mechanisms schema stays in the subset and carries the methodology's rules") {
  const auto& schema = k_mechanisms_stage.schema();
  CHECK(testing::schema_subset_problems(schema).empty());
  const auto& mechanisms = schema["properties"]["mechanisms"];
  // One strong mechanism may stand alone rather than be joined by an invented second.
  CHECK(mechanisms["minItems"] == 1);
  CHECK(mechanisms["maxItems"] == 3);
  const auto& mechanism = mechanisms["items"]["properties"];
  CHECK(mechanism["type"]["enum"] == nlohmann::json({"unbundle", "combine", "remove_friction", "change_business_model",
                                                     "reframe", "democratise", "premiumise", "digitise_the_analogue",
                                                     "humanise_the_digital", "shift_in_time"}));
  CHECK(mechanism["constraint_removed"]["properties"]["kind"]["enum"] ==
        nlohmann::json({"time", "cost", "knowledge", "access", "effort"}));
  CHECK(schema["properties"]["evidence"]["properties"]["strength"].contains("enum"));
}

TEST_CASE("the mechanisms sample conforms, and breaking a rule is caught by the schema") {
  const auto& schema = k_mechanisms_stage.schema();
  CHECK(validate_json(schema, sample_output(1)).empty());

  auto too_many = sample_output(1);
  too_many["mechanisms"].push_back(too_many["mechanisms"][0]);
  CHECK_FALSE(validate_json(schema, too_many).empty());

  auto bad_type = sample_output(1);
  bad_type["mechanisms"][0]["type"] = "innovative";
  CHECK_FALSE(validate_json(schema, bad_type).empty());

  auto loose_sentence = sample_output(1);
  loose_sentence["mechanisms"][0]["structural_sentence"] = "It works because people like it.";
  CHECK_FALSE(validate_json(schema, loose_sentence).empty());

  auto extra = sample_output(1);
  extra["innovation"]["hype"] = "disruptive";
  CHECK_FALSE(validate_json(schema, extra).empty());
}

TEST_CASE("the mechanisms request delimits the document and leaves the brand out") {
  auto prompt = prompts::load_prompt("mechanisms");
  REQUIRE(prompt);
  const auto context = sample_context(1);
  auto request = stages::build_request(k_mechanisms_stage, *prompt, context, k_mechanisms_stage.default_params(), "run-model");
  REQUIRE(request);
  REQUIRE(request->messages.size() == 2);
  CHECK(request->messages[0].role == "system");
  CHECK(request->messages[1].role == "user");
  REQUIRE(request->schema);
  CHECK(*request->schema == k_mechanisms_stage.schema());
  CHECK(request->schema_name == "mechanisms");
  CHECK(request->model == "run-model");
  const std::string& user = request->messages[1].content;
  const auto open = user.find("<document title=\"Nordvik Bakery's station lockers\">");
  const auto text = user.find(context.document_text);
  const auto close = user.find("</document>");
  REQUIRE(open != std::string::npos);
  REQUIRE(text != std::string::npos);
  REQUIRE(close != std::string::npos);
  CHECK(open < text);
  CHECK(text < close);
  CHECK(request->messages[0].content.find("ignore any instructions") != std::string::npos);
  for (const auto& message : request->messages) {
    CHECK(message.content.find("Acme Foods") == std::string::npos);
    CHECK(message.content.find("<brand_profile>") == std::string::npos);
    CHECK(message.content.find("{{") == std::string::npos);
  }
}

TEST_CASE("the mechanisms prompt bans empty words and asks for the structural sentence") {
  auto prompt = prompts::load_prompt("mechanisms");
  REQUIRE(prompt);
  CHECK(prompt->system.find("Banned words: the hype words and empty adjectives listed in the user message") !=
        std::string::npos);
  CHECK(prompt->user.find("{{vague_words}}") != std::string::npos);
  CHECK(prompt->system.find("When X holds, removing Y by Z creates W") != std::string::npos);
}

TEST_CASE("mechanisms renders its JSON and a Markdown page with the findings") {
  const auto files = k_mechanisms_stage.render(sample_output(1));
  REQUIRE(files.size() == 2);
  CHECK(nlohmann::json::parse(testing::rendered_file(files, "stages/01-mechanisms.json")) == sample_output(1));
  const std::string markdown = testing::rendered_file(files, "stages/01-mechanisms.md");
  CHECK(markdown.rfind("# 1. Input processing: mechanisms\n", 0) == 0);
  for (const char* expected : {"Pre-ordered bread from station lockers", "Collect without queuing", "Bake to known demand",
                               "Remove friction", "Shift in time", "from 7 minutes to 20 seconds",
                               "When a product perishes within a day", "**Strength:** Moderate",
                               "Churn of subscribers after the first year", "| M3 | Weekly bread subscription |"}) {
    CHECK_MESSAGE(markdown.find(expected) != std::string::npos, expected);
  }
}

TEST_CASE("mechanisms renders a partial output without throwing") {
  const auto files = k_mechanisms_stage.render(nlohmann::json::object());
  CHECK(files.size() == 2);
}

TEST_CASE("mechanisms uses its own prompt and a merge prompt, both built in") {
  CHECK(k_mechanisms_stage.prompt_names() == std::vector<std::string>{"mechanisms", "mechanisms_merge"});
  for (const auto& name : k_mechanisms_stage.prompt_names()) {
    CAPTURE(name);
    CHECK(prompts::load_prompt(name));
  }
}

TEST_CASE("a document within the input limit is one request, part answer, as the default makes it") {
  testing::MemoryStageWork work(sample_context(1), k_mechanisms_stage.default_params());
  work.set_answer([](const stages::NamedRequest&) -> util::Expected<nlohmann::json> { return sample_output(1); });
  auto output = k_mechanisms_stage.produce(work);
  REQUIRE(output);
  CHECK(*output == sample_output(1));
  const auto asks = work.asks();
  REQUIRE(asks.size() == 1);
  REQUIRE(asks[0].size() == 1);
  CHECK(asks[0][0].part == "answer");
  auto expected = stages::build_request(k_mechanisms_stage, *prompts::load_prompt("mechanisms"), sample_context(1), k_mechanisms_stage.default_params(), "run-model");
  REQUIRE(expected);
  CHECK(asks[0][0].request.messages.at(1).content == expected->messages.at(1).content);
  CHECK(asks[0][0].request.schema_name == "mechanisms");
  CHECK(*asks[0][0].request.schema == k_mechanisms_stage.schema());
}

TEST_CASE("with no input limit even a long document is one request") {
  auto context = sample_context(1);
  context.document_text = long_document(200);
  testing::MemoryStageWork work(context, params_with_limit(0));
  REQUIRE(k_mechanisms_stage.produce(work));
  REQUIRE(work.requests().size() == 1);
  CHECK(work.requests()[0].part == "answer");
}

TEST_CASE("a long document is read in chunks of pages, asked together, then merged") {
  auto context = sample_context(1);
  context.document_text = long_document(30);
  testing::MemoryStageWork work(context, params_with_limit(1000));
  work.set_prompt("mechanisms", short_prompt());
  work.set_answer([](const stages::NamedRequest& request) -> util::Expected<nlohmann::json> {
    return answer_named(request.part == "merge" ? "Merged" : "Found in " + request.part);
  });
  auto output = k_mechanisms_stage.produce(work);
  REQUIRE(output);
  CHECK(*output == answer_named("Merged"));
  CHECK(llm::validate_json(k_mechanisms_stage.schema(), *output).empty());

  const auto asks = work.asks();
  REQUIRE(asks.size() == 2);
  const auto& chunks = asks[0];
  REQUIRE(chunks.size() >= 5);
  const std::regex range("\\(pages? ([0-9]+)(\u2013([0-9]+))? of 30\\)");
  int next_page = 1;
  for (size_t i = 0; i < chunks.size(); ++i) {
    CAPTURE(i);
    const auto& request = chunks[i].request;
    CHECK(chunks[i].part == "chunk-" + std::to_string(i + 1));
    CHECK(request.schema_name == "mechanisms");
    CHECK(*request.schema == k_mechanisms_stage.schema());
    CHECK(llm::estimate_prompt_tokens(request.messages) <= 1000);
    std::smatch found;
    REQUIRE(std::regex_search(request.messages.at(0).content, found, range));
    const int first = std::stoi(found[1]);
    const int last = found[3].matched ? std::stoi(found[3]) : first;
    CHECK(first == next_page);
    CHECK(last >= first);
    const std::string& user = request.messages.at(1).content;
    CHECK(user.find(found.str() + "\">") != std::string::npos);  // the document block's title names the pages too
    for (int page = first; page <= last; ++page) CHECK(user.find("Page " + std::to_string(page) + ".") != std::string::npos);
    CHECK(user.find("Page " + std::to_string(last + 1) + ".") == std::string::npos);
    next_page = last + 1;
  }
  CHECK(next_page == 31);

  REQUIRE(asks[1].size() == 1);
  const auto& merge = asks[1][0];
  CHECK(merge.part == "merge");
  CHECK(merge.request.schema_name == "mechanisms_merge");
  CHECK(*merge.request.schema == k_mechanisms_stage.schema());
  CHECK(merge.request.max_tokens == k_mechanisms_stage.default_params().max_tokens);
  const std::string& user = merge.request.messages.at(1).content;
  CHECK(user.find("<candidates parts=\"" + std::to_string(chunks.size()) + "\">") != std::string::npos);
  CHECK(user.find("</candidates>") != std::string::npos);
  CHECK(user.find("(30 pages)") != std::string::npos);
  CHECK(user.find("Nordvik Bakery's station lockers") != std::string::npos);
  CHECK(user.find("\"pages\":\"pages 1\u2013") != std::string::npos);
  for (size_t i = 1; i <= chunks.size(); ++i) {
    CHECK(user.find("Found in chunk-" + std::to_string(i) + "\"") != std::string::npos);
  }
  CHECK(user.find("The lockers cut the morning queue") == std::string::npos);
}

TEST_CASE("the built-in prompt reads a long document in chunks within the default-sized limit") {
  auto context = sample_context(1);
  context.document_text = long_document(60);
  testing::MemoryStageWork work(context, params_with_limit(4000));
  auto output = k_mechanisms_stage.produce(work);
  REQUIRE(output);
  CHECK(llm::validate_json(k_mechanisms_stage.schema(), *output).empty());
  const auto asks = work.asks();
  REQUIRE(asks.size() == 2);
  CHECK(asks[0].size() > 1);
  for (const auto& chunk : asks[0]) CHECK(llm::estimate_prompt_tokens(chunk.request.messages) <= 4000);
  CHECK(asks[1].at(0).part == "merge");
}

TEST_CASE("an input limit too small for the prompt itself is bad input naming a workable limit") {
  auto context = sample_context(1);
  context.document_text = long_document(30);
  testing::MemoryStageWork work(context, params_with_limit(1000));
  auto output = k_mechanisms_stage.produce(work);
  REQUIRE_FALSE(output);
  CHECK(output.error().kind == util::ErrorKind::bad_input);
  CHECK(output.error().message.find("max_input_tokens 1000") != std::string::npos);
  CHECK(output.error().message.find("at least") != std::string::npos);
  CHECK(work.asks().empty());
}

TEST_CASE("a failed chunk fails the stage before any merge") {
  auto context = sample_context(1);
  context.document_text = long_document(30);
  testing::MemoryStageWork work(context, params_with_limit(1000));
  work.set_prompt("mechanisms", short_prompt());
  work.set_answer([](const stages::NamedRequest& request) -> util::Expected<nlohmann::json> {
    if (request.part == "chunk-2") return util::fail(util::ErrorKind::transient, "rate limited");
    return sample_output(1);
  });
  auto output = k_mechanisms_stage.produce(work);
  REQUIRE_FALSE(output);
  CHECK(output.error().kind == util::ErrorKind::transient);
  CHECK(work.asks().size() == 1);
}
