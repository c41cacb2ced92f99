#include <doctest/doctest.h>

#include <algorithm>

#include "lib/llm/provider_profile.hpp"

using namespace pipeline::llm;

namespace {

bool refuses(const ProviderProfile& profile, const std::string& keyword) {
  const auto& refused = profile.refused_keywords;
  return std::find(refused.begin(), refused.end(), keyword) != refused.end();
}

ProviderProfile dialect(const char* name) {
  auto profile = profile_by_dialect(name);
  REQUIRE_MESSAGE(profile, name);
  return *profile;
}

}  // namespace

TEST_CASE("detect_profile picks the dialect, first rung and reason from the base URL and the model") {
  struct Case {
    std::string base_url;
    std::string model;
    std::string dialect;
    std::string chosen_by;
    StructuredRung first_rung;
  };
  const std::string openrouter = "https://openrouter.ai/api/v1";
  const std::vector<Case> cases = {
      {"https://api.openai.com/v1", "gpt-4o-mini", "openai", "the base URL api.openai.com",
       StructuredRung::strict_schema},
      {openrouter, "openai/gpt-4o-mini", "openai", "the OpenRouter model openai/gpt-4o-mini",
       StructuredRung::strict_schema},
      {openrouter, "anthropic/claude-sonnet-4.5", "anthropic", "the OpenRouter model anthropic/claude-sonnet-4.5",
       StructuredRung::strict_schema},
      {openrouter, "google/gemini-2.5-flash", "gemini", "the OpenRouter model google/gemini-2.5-flash",
       StructuredRung::strict_schema},
      {openrouter, "meta-llama/llama-3.3-70b-instruct", "generic",
       "the OpenRouter model meta-llama/llama-3.3-70b-instruct (no profile of its vendor)",
       StructuredRung::strict_schema},
      {"http://localhost:11434/v1", "qwen2.5:7b", "ollama", "a local server on port 11434", StructuredRung::schema},
      {"http://127.0.0.1:8080/v1", "any", "llama.cpp", "a local server on port 8080", StructuredRung::schema},
      {"http://127.0.0.1:8000/v1", "any", "vllm", "a local server on port 8000", StructuredRung::schema},
      {"http://127.0.0.1:1234/v1", "any", "lm-studio", "a local server on port 1234", StructuredRung::schema},
      {"http://127.0.0.1:5555/v1", "any", "generic", "a local server on port 5555 (no usual port)",
       StructuredRung::strict_schema},
      {"https://llm.example.com/v1", "any", "generic", "the base URL llm.example.com (no profile of its own)",
       StructuredRung::strict_schema},
  };
  for (const auto& c : cases) {
    CAPTURE(c.base_url);
    CAPTURE(c.model);
    const auto profile = detect_profile(c.base_url, c.model);
    CHECK(profile.dialect == c.dialect);
    CHECK(profile.chosen_by == c.chosen_by);
    CHECK(profile.first_rung == c.first_rung);
  }
}

TEST_CASE("of the local servers only LM Studio lacks json_object") {
  CHECK_FALSE(detect_profile("http://127.0.0.1:1234/v1", "m").json_object);
  for (const char* url : {"http://localhost:11434/v1", "http://127.0.0.1:8080/v1", "http://127.0.0.1:8000/v1"}) {
    CAPTURE(url);
    CHECK(detect_profile(url, "m").json_object);
  }
}

TEST_CASE("choose_profile detects on auto or empty, obeys a named dialect and refuses an unknown one") {
  const std::string url = "https://api.openai.com/v1";
  for (const char* automatic : {"auto", ""}) {
    CAPTURE(automatic);
    const auto profile = choose_profile(automatic, url, "gpt-4o");
    REQUIRE(profile);
    CHECK(profile->dialect == "openai");
    CHECK(profile->chosen_by == "the base URL api.openai.com");
  }
  // The named dialect wins over what the URL would say.
  const auto anthropic = choose_profile("anthropic", url, "gpt-4o");
  REQUIRE(anthropic);
  CHECK(anthropic->dialect == "anthropic");
  CHECK(anthropic->chosen_by == "--schema-dialect anthropic");
  // The spelling without a dot is accepted, and the reason quotes it as given.
  const auto llamacpp = choose_profile("llamacpp", url, "m");
  REQUIRE(llamacpp);
  CHECK(llamacpp->dialect == "llama.cpp");
  CHECK(llamacpp->chosen_by == "--schema-dialect llamacpp");
  CHECK_FALSE(choose_profile("nonsense", url, "m"));
}

TEST_CASE("every dialect name but auto has a profile of that name") {
  const auto& names = dialect_names();
  REQUIRE(names.size() == 9);
  CHECK(names.front() == "auto");
  CHECK_FALSE(profile_by_dialect("auto"));
  for (std::size_t i = 1; i < names.size(); ++i) {
    CAPTURE(names[i]);
    CHECK(dialect(names[i].c_str()).dialect == names[i]);
  }
  CHECK(dialect("lmstudio").dialect == "lm-studio");
  CHECK(dialect("OpenAI").dialect == "openai");
}

TEST_CASE("OpenAI refuses string lengths and formats but keeps patterns, number and item bounds") {
  const auto openai = dialect("openai");
  for (const char* keyword : {"minLength", "maxLength", "format", "uniqueItems", "patternProperties"}) {
    CAPTURE(keyword);
    CHECK(refuses(openai, keyword));
  }
  for (const char* keyword : {"pattern", "minimum", "maximum", "minItems", "maxItems", "enum"}) {
    CAPTURE(keyword);
    CHECK_FALSE(refuses(openai, keyword));
  }
  CHECK_FALSE(openai.no_type_arrays);
  CHECK_FALSE(openai.nullable_as_any_of);
  CHECK_FALSE(openai.no_const);
  CHECK(openai.json_object);
  // An unknown server is lowered exactly like OpenAI, the strictest common case.
  CHECK(dialect("generic").refused_keywords == openai.refused_keywords);
}

TEST_CASE("Anthropic also refuses bounds and patterns and takes nullable only as anyOf") {
  const auto anthropic = dialect("anthropic");
  for (const char* keyword : {"minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "multipleOf",
                              "minItems", "maxItems", "pattern"}) {
    CAPTURE(keyword);
    CHECK(refuses(anthropic, keyword));
  }
  CHECK_FALSE(refuses(anthropic, "enum"));
  CHECK(anthropic.nullable_as_any_of);
  CHECK_FALSE(anthropic.no_type_arrays);
  CHECK_FALSE(anthropic.no_const);
}

TEST_CASE("Gemini takes an OpenAPI subset: no const, type arrays, additionalProperties or patterns") {
  const auto gemini = dialect("gemini");
  CHECK(gemini.no_const);
  CHECK(gemini.no_type_arrays);
  CHECK(gemini.no_additional_properties);
  CHECK_FALSE(gemini.nullable_as_any_of);
  CHECK(refuses(gemini, "pattern"));
  CHECK(refuses(gemini, "minLength"));
  // Gemini's subset keeps number bounds and item counts.
  for (const char* keyword : {"minimum", "maximum", "minItems", "maxItems"}) {
    CAPTURE(keyword);
    CHECK_FALSE(refuses(gemini, keyword));
  }
}

TEST_CASE("local servers take the whole schema as a grammar, starting at the non-strict rung") {
  for (const char* name : {"ollama", "llama.cpp", "vllm", "lm-studio"}) {
    CAPTURE(name);
    const auto profile = dialect(name);
    CHECK(profile.refused_keywords.empty());
    CHECK(profile.first_rung == StructuredRung::schema);
  }
}

TEST_CASE("a profile's JSON carries what doctor prints") {
  auto profile = detect_profile("http://127.0.0.1:1234/v1", "m");
  const auto json = profile.to_json();
  CHECK(json["dialect"] == "lm-studio");
  CHECK(json["chosen_by"] == "a local server on port 1234");
  CHECK(json["refused_keywords"] == nlohmann::json::array());
  CHECK(json["first_rung"] == "schema");
  CHECK(json["json_object"] == false);
  CHECK(json["stream_usage"] == true);
  CHECK(json["note"] == "json_schema only: refuses json_object");
}

TEST_CASE("rung names round-trip, with json_schema as the old name of strict") {
  for (auto rung : {StructuredRung::strict_schema, StructuredRung::schema, StructuredRung::json_object,
                    StructuredRung::prompt}) {
    CAPTURE(to_string(rung));
    CHECK(parse_rung(to_string(rung)) == rung);
  }
  CHECK(to_string(StructuredRung::strict_schema) == "strict");
  CHECK(to_string(StructuredRung::json_object) == "json_object");
  CHECK(parse_rung("json_schema") == StructuredRung::strict_schema);
  CHECK_FALSE(parse_rung("Strict"));
  CHECK_FALSE(parse_rung(""));
}

TEST_CASE("next_rung walks down the ladder, skipping json_object where the profile has none") {
  const auto openai = dialect("openai");
  CHECK(next_rung(StructuredRung::strict_schema, openai) == StructuredRung::schema);
  CHECK(next_rung(StructuredRung::schema, openai) == StructuredRung::json_object);
  CHECK(next_rung(StructuredRung::json_object, openai) == StructuredRung::prompt);
  CHECK_FALSE(next_rung(StructuredRung::prompt, openai));
  const auto lm_studio = dialect("lm-studio");
  CHECK(next_rung(StructuredRung::schema, lm_studio) == StructuredRung::prompt);
  CHECK_FALSE(next_rung(StructuredRung::prompt, lm_studio));
}

TEST_CASE("url_host and url_port read any URL shape; is_local_url knows loopback") {
  struct Case {
    std::string url;
    std::string host;
    int port;
    bool local;
  };
  const std::vector<Case> cases = {
      {"http://[::1]:8080/v1", "::1", 8080, true},
      {"http://user:pw@localhost:11434/v1", "localhost", 11434, true},
      {"https://user:pw@api.openai.com/v1", "api.openai.com", 0, false},
      {"https://api.openai.com/v1", "api.openai.com", 0, false},
      {"HTTPS://API.OpenAI.COM/v1", "api.openai.com", 0, false},
      {"http://LOCALHOST:1234", "localhost", 1234, true},
      {"http://127.0.0.5:8000/v1?x=1", "127.0.0.5", 8000, true},
      {"http://0.0.0.0:8080", "0.0.0.0", 8080, true},
      {"http://model.localhost/v1", "model.localhost", 0, true},
      {"http://[::1]/v1", "::1", 0, true},
      {"127.0.0.1:9000/v1", "127.0.0.1", 9000, true},
      {"http://128.0.0.1:8080/v1", "128.0.0.1", 8080, false},
      {"http://localhost:99999/v1", "localhost", 0, true},
      {"http://localhost:80x/v1", "localhost", 0, true},
  };
  for (const auto& c : cases) {
    CAPTURE(c.url);
    CHECK(url_host(c.url) == c.host);
    CHECK(url_port(c.url) == c.port);
    CHECK(is_local_url(c.url) == c.local);
  }
}

TEST_CASE("an uppercase local URL is detected by its port like a lowercase one") {
  const auto profile = detect_profile("HTTP://LOCALHOST:11434/v1", "llama3");
  CHECK(profile.dialect == "ollama");
  CHECK(profile.chosen_by == "a local server on port 11434");
}

TEST_CASE("OpenRouter is recognised by its host, not by a substring of the URL") {
  CHECK(is_openrouter_url("https://openrouter.ai/api/v1"));
  CHECK(is_openrouter_url("http://eu.openrouter.ai/api/v1"));
  CHECK_FALSE(is_openrouter_url("http://127.0.0.1:8080/openrouter.ai/v1"));
  CHECK_FALSE(is_openrouter_url("https://proxy.example/?upstream=openrouter.ai"));
  CHECK_FALSE(is_openrouter_url("https://notopenrouter.ai/api/v1"));
}
