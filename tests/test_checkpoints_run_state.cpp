#include <doctest/doctest.h>

#include <random>
#include <regex>
#include <set>

#include "checkpoints/run_state.hpp"
#include "lib/util/sha256.hpp"
#include "tests/support/stage_names.hpp"

using nlohmann::json;
using namespace pipeline::checkpoints;
using pipeline::util::ErrorKind;
namespace util = pipeline::util;

namespace pipeline::testing {
namespace {


// A run halfway through: two stages done, one failed, two pending.
RunState sample_state() {
  RunState state;
  state.tool_version = "0.1.0";
  state.run_id = "case-study-acme-foods-20260101-120000-0a1b";
  state.status = RunStatus::incomplete;
  state.created_at = "2026-01-01T12:00:00.000Z";
  state.updated_at = "2026-01-01T12:01:10.500Z";
  state.input = {"/tmp/case study.pdf", util::sha256_hex("pdf"), 123456, 7, 20480, "A case study"};
  state.brand = {"acme-foods", util::sha256_hex("brand"), "Acme Foods"};
  state.settings = {{"base_url", "http://127.0.0.1:8080/v1"}, {"model", "m1"},
                    {"stages", {{"mechanisms", {{"temperature", 0.3}, {"max_tokens", 4000}}}}}};
  state.files = {{"input/document.txt", util::sha256_hex("text")},
                 {"input/brand.json", util::sha256_hex("brand")},
                 {"input/prompts/mechanisms.prompt", util::sha256_hex("prompt")}};
  for (int number = 1; number <= 5; ++number) {
    StageRecord stage;
    stage.number = number;
    stage.name = k_stage_names[number - 1];
    state.stages.push_back(stage);
  }
  for (int number = 1; number <= 2; ++number) {
    auto& stage = state.stage(number);
    stage.status = StageStatus::done;
    stage.attempts = number;
    stage.started_at = "2026-01-01T12:00:01.000Z";
    stage.finished_at = "2026-01-01T12:00:31.000Z";
    stage.duration_s = 30.25;
    stage.fingerprint = util::sha256_hex(stage.name);
    stage.artifacts = {{"stages/0" + std::to_string(number) + "-" + stage.name + ".json", util::sha256_hex("j")},
                       {"stages/0" + std::to_string(number) + "-" + stage.name + ".md", util::sha256_hex("m")}};
    stage.usage = {{"prompt_tokens", 1000}, {"completion_tokens", 500}, {"cost_usd", 0.0125}};
  }
  state.stage(2).cached = true;
  auto& failed = state.stage(3);
  failed.parts = {{"card-convenience", util::sha256_hex("request"),
                   {"stages/03-lessons.parts/card-convenience.json", util::sha256_hex("part")},
                   {{"prompt_tokens", 10}, {"cost_usd", 0.001}}, "", ""}};
  failed.status = StageStatus::failed;
  failed.attempts = 2;
  failed.deadline_abandons = 1;
  failed.started_at = "2026-01-01T12:00:32.000Z";
  failed.error = ErrorRecord{"deadline", "the time budget ran out"};
  state.error = ErrorRecord{"deadline", "the time budget ran out during stage 3"};
  return state;
}

// The error of from_json for `document`, which must be a failure.
std::string failure_of(const json& document) {
  util::Expected<RunState> result = RunState{};
  CHECK_NOTHROW(result = from_json(document));
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::bad_input);
  return result.error().message;
}

json with(json document, const std::string& pointer, json value) {
  document[json::json_pointer(pointer)] = std::move(value);
  return document;
}

json without_field(json document, const std::string& pointer) {
  const json::json_pointer where(pointer);
  json& parent = document.at(where.parent_pointer());
  if (parent.is_array()) parent.erase(std::stoul(where.back()));
  else parent.erase(where.back());
  return document;
}

}  // namespace
}  // namespace pipeline::testing

using namespace pipeline::testing;

TEST_CASE("a run state survives to_json, text and from_json unchanged") {
  const RunState state = sample_state();
  const json first = to_json(state);
  auto parsed = from_json(json::parse(first.dump(2)));
  REQUIRE_MESSAGE(parsed.has_value(), parsed.error().message);
  CHECK(to_json(*parsed) == first);
  CHECK(parsed->stage(2).artifacts[1].path == "stages/02-signals.md");
  CHECK(parsed->stage(3).error->message == "the time budget ran out");
  CHECK(parsed->stage(3).deadline_abandons == 1);
  CHECK(parsed->stage(2).cached);
  CHECK_FALSE(parsed->stage(1).cached);
  REQUIRE(parsed->stage(3).parts.size() == 1);
  CHECK(parsed->stage(3).parts[0].name == "card-convenience");
  CHECK(parsed->stage(3).parts[0].artifact.path == "stages/03-lessons.parts/card-convenience.json");
  CHECK(parsed->stage(3).parts[0].usage.at("prompt_tokens") == 10);
  CHECK(parsed->stage(1).duration_s == doctest::Approx(30.25));
  CHECK_FALSE(parsed->stage(4).duration_s.has_value());
  CHECK(parsed->input.bytes == 123456);
  CHECK(parsed->brand.company_name == "Acme Foods");
  REQUIRE(parsed->files.size() == 3);
  CHECK(parsed->files[2].path == "input/prompts/mechanisms.prompt");
  CHECK(parsed->files[2].sha256 == util::sha256_hex("prompt"));
}

TEST_CASE("the JSON form uses snake_case keys, lowercase statuses and null for what is not there") {
  const json document = to_json(sample_state());
  CHECK(document["schema_version"] == k_schema_version);
  CHECK(document["status"] == "incomplete");
  CHECK(document["stages"][0]["status"] == "done");
  CHECK(document["stages"][2]["status"] == "failed");
  CHECK(document["stages"][2]["error"]["kind"] == "deadline");
  CHECK(document["stages"][3]["status"] == "pending");
  CHECK(document["stages"][3]["started_at"].is_null());
  CHECK(document["stages"][3]["finished_at"].is_null());
  CHECK(document["stages"][3]["duration_s"].is_null());
  CHECK(document["stages"][3]["fingerprint"].is_null());
  CHECK(document["stages"][3]["error"].is_null());
  CHECK(document["stages"][3]["artifacts"] == json::array());
  CHECK(document["input"]["pages"] == 7);
  CHECK(document["settings"]["model"] == "m1");
  CHECK(document["files"][1] == json{{"path", "input/brand.json"}, {"sha256", util::sha256_hex("brand")}});
}

TEST_CASE("a checkpoint without files, or with null files, reads as a run without run-level files") {
  const json good = to_json(sample_state());
  for (const json& document : {without_field(good, "/files"), with(good, "/files", nullptr)}) {
    auto parsed = from_json(document);
    REQUIRE_MESSAGE(parsed.has_value(), parsed.error().message);
    CHECK(parsed->files.empty());
    CHECK(to_json(*parsed)["files"] == json::array());
  }
}

TEST_CASE("optional fields may be omitted instead of null") {
  json document = to_json(sample_state());
  // "cached" and "parts" came with the stage cache: older checkpoints lack them.
  for (const char* key : {"started_at", "finished_at", "duration_s", "fingerprint", "error", "cached", "parts"}) {
    document["stages"][4].erase(key);
  }
  document.erase("error");
  document["input"].erase("title");
  auto parsed = from_json(document);
  REQUIRE_MESSAGE(parsed.has_value(), parsed.error().message);
  CHECK_FALSE(parsed->error.has_value());
  CHECK(parsed->stage(5).started_at.empty());
  CHECK_FALSE(parsed->stage(5).cached);
  CHECK(parsed->stage(5).parts.empty());
  CHECK(parsed->input.title.empty());
}

TEST_CASE("every status has a lowercase name that parses back") {
  for (auto status : {RunStatus::created, RunStatus::running, RunStatus::incomplete, RunStatus::failed,
                      RunStatus::completed}) {
    CHECK(parse_run_status(to_string(status)) == status);
  }
  for (auto status : {StageStatus::pending, StageStatus::running, StageStatus::done, StageStatus::failed,
                      StageStatus::stale}) {
    CHECK(parse_stage_status(to_string(status)) == status);
  }
  CHECK_FALSE(parse_run_status("Completed"));
  CHECK_FALSE(parse_stage_status("finished"));
}

TEST_CASE("an unsupported schema version is refused with the documented message") {
  const json document = to_json(sample_state());
  CHECK(failure_of(with(document, "/schema_version", 2)) ==
        "checkpoint schema version 2 is not supported by this pipeline (expects 1)");
  CHECK(failure_of(with(document, "/schema_version", 0)) ==
        "checkpoint schema version 0 is not supported by this pipeline (expects 1)");
  CHECK(failure_of(with(document, "/schema_version", 18446744073709551615ull)).find("not supported") !=
        std::string::npos);
  CHECK(failure_of(with(document, "/schema_version", "1")).find("schema_version must be an integer, not string") !=
        std::string::npos);
  CHECK(failure_of(without_field(document, "/schema_version")) == "invalid checkpoint: missing field schema_version");
}

TEST_CASE("each kind of problem is bad_input naming the field") {
  const json good = to_json(sample_state());
  struct Case {
    json document;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {json::array(), "the checkpoint must be a JSON object, not array"},
      {json(nullptr), "the checkpoint must be a JSON object, not null"},
      {without_field(good, "/run_id"), "missing field run_id"},
      {with(good, "/run_id", "../x"), "field run_id is \"../x\", which is not a valid run id"},
      {with(good, "/run_id", 7), "field run_id must be a string, not number"},
      {with(good, "/tool_version", nullptr), "field tool_version must be a string, not null"},
      {with(good, "/status", "finished"),
       "field status has unknown value \"finished\" (expected created, running, incomplete, failed or completed)"},
      {with(good, "/status", "Running"), "field status has unknown value \"Running\""},
      {without_field(good, "/created_at"), "missing field created_at"},
      {without_field(good, "/input"), "missing field input"},
      {with(good, "/input", "x.pdf"), "field input must be an object, not string"},
      {without_field(good, "/input/sha256"), "missing field input.sha256"},
      {with(good, "/input/sha256", "ABC"), "field input.sha256 must be a SHA-256 of 64 lowercase hex digits"},
      {with(good, "/input/bytes", -5), "field input.bytes must not be negative"},
      {with(good, "/input/chars", 1.5), "field input.chars must be a non-negative integer, not number"},
      {with(good, "/input/pages", "7"), "field input.pages must be an integer, not string"},
      {without_field(good, "/brand/id"), "missing field brand.id"},
      {with(good, "/settings", json::array()), "field settings must be an object, not array"},
      {without_field(good, "/stages"), "missing field stages"},
      {with(good, "/stages", json::object()), "field stages must be an array, not object"},
      {without_field(good, "/stages/4"), "field stages must hold exactly 5 stages, not 4"},
      {with(good, "/stages/5", good["stages"][4]), "field stages must hold exactly 5 stages, not 6"},
      {with(good, "/stages/2/number", 4), "field stages[2].number is 4; stages must be numbered 1 to 5 in order"},
      {with(good, "/stages/2/number", 9), "field stages[2].number must be between 1 and 5"},
      {with(good, "/stages/0", "mechanisms"), "field stages[0] must be an object, not string"},
      {with(good, "/stages/1/name", ""), "field stages[1].name must not be empty"},
      {with(good, "/stages/1/cached", "yes"), "field stages[1].cached must be true or false, not string"},
      {with(good, "/stages/2/parts", json::object()), "field stages[2].parts must be an array, not object"},
      {with(good, "/stages/2/parts/0/fingerprint", "x"), "stages[2].parts[0].fingerprint"},
      {with(good, "/stages/2/parts/0/artifact/path", "../x"), "stages[2].parts[0].artifact.path"},
      {with(good, "/stages/0/status", "complete"),
       "field stages[0].status has unknown value \"complete\" (expected pending, running, done, failed or stale)"},
      {without_field(good, "/stages/3/status"), "missing field stages[3].status"},
      {with(good, "/stages/1/attempts", "3"), "field stages[1].attempts must be an integer, not string"},
      {with(good, "/stages/1/attempts", -1), "field stages[1].attempts must be between 0"},
      {with(good, "/stages/1/attempts", 2.0), "field stages[1].attempts must be an integer, not number"},
      {with(good, "/stages/0/duration_s", "fast"), "field stages[0].duration_s must be a number or null, not string"},
      {with(good, "/stages/0/duration_s", -2.0), "field stages[0].duration_s must be a non-negative number"},
      {with(good, "/stages/0/started_at", 5), "field stages[0].started_at must be a string, not number"},
      {with(good, "/stages/0/artifacts", nullptr), "field stages[0].artifacts must be an array, not null"},
      {with(good, "/stages/0/artifacts/0/path", "/etc/passwd"),
       "field stages[0].artifacts[0].path is \"/etc/passwd\", which is not a relative path inside the run directory"},
      {with(good, "/stages/0/artifacts/1/path", "stages/../../x"), "field stages[0].artifacts[1].path"},
      {with(good, "/stages/0/artifacts/0/path", "checkpoint.json"), "field stages[0].artifacts[0].path"},
      {with(good, "/stages/0/artifacts/0/sha256", "xyz"),
       "field stages[0].artifacts[0].sha256 must be a SHA-256 of 64 lowercase hex digits, not \"xyz\""},
      {without_field(good, "/stages/1/artifacts/0/sha256"), "missing field stages[1].artifacts[0].sha256"},
      {with(good, "/stages/0/usage", json::array()), "field stages[0].usage must be an object, not array"},
      {with(good, "/stages/2/error", "deadline"), "field stages[2].error must be an object or null, not string"},
      {with(good, "/stages/2/error/kind", 1), "field stages[2].error.kind must be a string, not number"},
      {without_field(good, "/stages/2/error/message"), "missing field stages[2].error.message"},
      {without_field(good, "/stages/4/deadline_abandons"), "missing field stages[4].deadline_abandons"},
      {with(good, "/error", json::array()), "field error must be an object or null, not array"},
      {with(good, "/files", json::object()), "field files must be an array, not object"},
      {with(good, "/files/0", "input/document.txt"), "field files[0] must be an object, not string"},
      {with(good, "/files/1/path", "../brand.json"),
       "field files[1].path is \"../brand.json\", which is not a relative path inside the run directory"},
      {with(good, "/files/0/path", ".lock"), "field files[0].path"},
      {with(good, "/files/2/sha256", ""), "field files[2].sha256 must be a SHA-256 of 64 lowercase hex digits"},
      {without_field(good, "/files/0/path"), "missing field files[0].path"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.expected);
    const std::string message = failure_of(c.document);
    CHECK(message.rfind("invalid checkpoint: ", 0) == 0);
    CHECK(message.find(c.expected) != std::string::npos);
  }
}

TEST_CASE("from_json never throws, whatever values the fields hold") {
  const json good = to_json(sample_state());
  std::vector<json::json_pointer> leaves;
  const json flat = good.flatten();
  for (const auto& item : flat.items()) leaves.emplace_back(item.key());
  const std::vector<json> replacements = {nullptr,          true,          -1,  0,   4294967296ll, 1e308, -0.5,
                                          "",               "../../x",     "done", json::array(), json::object(),
                                          json::array({1}), json{{"a", 1}}};
  std::mt19937 random(12345);
  int refused = 0;
  for (int round = 0; round < 3000; ++round) {
    json document = good;
    const int edits = 1 + static_cast<int>(random() % 3);
    for (int i = 0; i < edits; ++i) {
      const auto& leaf = leaves[random() % leaves.size()];
      document[leaf] = replacements[random() % replacements.size()];
    }
    util::Expected<RunState> result = RunState{};
    REQUIRE_NOTHROW(result = from_json(document));
    if (!result) {
      ++refused;
      CHECK(result.error().kind == ErrorKind::bad_input);
      CHECK_FALSE(result.error().message.empty());
    }
  }
  CHECK(refused > 1000);
}

TEST_CASE("stage() finds a stage by number and refuses an unknown one") {
  RunState state = sample_state();
  CHECK(state.stage(4).name == "contextualize");
  state.stage(4).attempts = 9;
  CHECK(state.stages[3].attempts == 9);
  CHECK_THROWS_AS(state.stage(6), std::out_of_range);
}

TEST_CASE("is_valid_run_id accepts the documented form only") {
  for (const char* id : {"a", "0", "run-1", "case_study.v2", "a.b-c_d", "9lives"}) {
    CAPTURE(id);
    CHECK(is_valid_run_id(id));
  }
  for (const char* id : {"", "../x", "a..b", "..", "A", "aB", "-x", ".x", "_x", "a/b", "a b", "a\\b", "run\n",
                         "caf\xc3\xa9"}) {
    CAPTURE(id);
    CHECK_FALSE(is_valid_run_id(id));
  }
  CHECK(is_valid_run_id(std::string(128, 'a')));
  CHECK_FALSE(is_valid_run_id(std::string(129, 'a')));
}

TEST_CASE("is_safe_artifact_path keeps artifacts inside the run and off the store's files") {
  for (const char* path : {"report.md", "stages/01-mechanisms.json", "cards/01-better-for-you.md",
                           "input/prompts/mechanisms.prompt", "stages/checkpoint.json"}) {
    CAPTURE(path);
    CHECK(is_safe_artifact_path(path));
  }
  for (const char* path : {"", "/etc/passwd", "../x", "stages/../../x", "a//b", "./a", "a/.", "a/", "checkpoint.json",
                           "events.ndjson", ".lock", ".."}) {
    CAPTURE(path);
    CHECK_FALSE(is_safe_artifact_path(path));
  }
}

TEST_CASE("generate_run_id makes readable valid ids from any names") {
  const std::regex shape("^(.*)-(\\d{8}-\\d{6})-([0-9a-f]{4})$");
  struct Case {
    std::string document;
    std::string brand;
    std::string prefix;
  };
  const std::vector<Case> cases = {
      {"/home/me/Reports/Case Study (final).pdf", "acme-foods", "case-study-final-acme-foods"},
      {"https://example.com/papers/Trend_Report.2025.PDF?download=1#page=2", "Nordic Dairy", "trend-report-2025-nordic-dairy"},
      {"", "", "run"},
      {"....pdf", "---", "run"},
      {"Café—Crème Ünïcode.pdf", "b", "caf-cr-me-n-code-b"},
      {std::string(300, 'x') + ".pdf", std::string(300, 'Y'), std::string(40, 'x') + "-" + std::string(40, 'y')},
      {"../../etc/passwd", "../brand", "passwd-brand"},
  };
  for (const auto& c : cases) {
    const std::string id = generate_run_id(c.document, c.brand);
    CAPTURE(id);
    CHECK(is_valid_run_id(id));
    std::smatch match;
    REQUIRE(std::regex_match(id, match, shape));
    CHECK(match[1].str() == c.prefix);
  }
}

TEST_CASE("generate_run_id never repeats within a process") {
  std::set<std::string> ids;
  for (int i = 0; i < 5000; ++i) ids.insert(generate_run_id("report.pdf", "acme"));
  CHECK(ids.size() == 5000);
}

TEST_CASE("a part's model and rung and a stage's warnings survive the round trip") {
  RunState state = sample_state();
  auto& part = state.stage(3).parts[0];
  part.model = "openai/gpt-4o-mini-2024-07-18";
  part.rung = "json_object";
  state.stage(2).warnings = {"card-convenience: $.title: is 90 characters long, longer than maxLength 80",
                             "$.hook: \"x\" does not match the pattern \"^When \""};
  const json document = to_json(state);
  CHECK(document["stages"][2]["parts"][0]["model"] == "openai/gpt-4o-mini-2024-07-18");
  CHECK(document["stages"][2]["parts"][0]["rung"] == "json_object");
  CHECK(document["stages"][1]["warnings"].size() == 2);
  // A stage without warnings writes an empty list rather than leaving the field out.
  CHECK(document["stages"][0]["warnings"] == json::array());
  auto parsed = from_json(json::parse(document.dump()));
  REQUIRE_MESSAGE(parsed.has_value(), parsed.error().message);
  CHECK(parsed->stage(3).parts[0].model == "openai/gpt-4o-mini-2024-07-18");
  CHECK(parsed->stage(3).parts[0].rung == "json_object");
  CHECK(parsed->stage(2).warnings == state.stage(2).warnings);
  CHECK(parsed->stage(1).warnings.empty());
  CHECK(to_json(*parsed) == document);
  // An unknown model or rung is written as null.
  const json blank = to_json(sample_state());
  CHECK(blank["stages"][2]["parts"][0]["model"].is_null());
  CHECK(blank["stages"][2]["parts"][0]["rung"].is_null());
}

TEST_CASE("a checkpoint from before provider profiles, without model, rung or warnings, still loads") {
  json document = to_json(sample_state());
  document["stages"][2]["parts"][0].erase("model");
  document["stages"][2]["parts"][0].erase("rung");
  for (auto& stage : document["stages"]) stage.erase("warnings");
  auto parsed = from_json(document);
  REQUIRE_MESSAGE(parsed.has_value(), parsed.error().message);
  CHECK(parsed->stage(3).parts[0].model.empty());
  CHECK(parsed->stage(3).parts[0].rung.empty());
  for (const auto& stage : parsed->stages) CHECK(stage.warnings.empty());
  CHECK(to_json(*parsed) == to_json(sample_state()));
  CHECK(from_json(with(document, "/stages/1/warnings", nullptr)).has_value());
}

TEST_CASE("warnings that are not a list of strings, or a model that is no string, are refused") {
  const json good = to_json(sample_state());
  CHECK(failure_of(with(good, "/stages/1/warnings", "too long")) ==
        "invalid checkpoint: field stages[1].warnings must be an array, not string");
  CHECK(failure_of(with(good, "/stages/1/warnings", json{"fine", 3})) ==
        "invalid checkpoint: field stages[1].warnings must be an array of strings, not array");
  CHECK(failure_of(with(good, "/stages/1/warnings", json::object())) ==
        "invalid checkpoint: field stages[1].warnings must be an array, not object");
  CHECK(failure_of(with(good, "/stages/2/parts/0/model", 4)) ==
        "invalid checkpoint: field stages[2].parts[0].model must be a string, not number");
  CHECK(failure_of(with(good, "/stages/2/parts/0/rung", json::array())) ==
        "invalid checkpoint: field stages[2].parts[0].rung must be a string, not array");
}
