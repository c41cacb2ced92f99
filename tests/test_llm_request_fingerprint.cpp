#include <doctest/doctest.h>

#include <cstdlib>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lib/llm/request_fingerprint.hpp"
#include "tests/support/scoped_env.hpp"

using pipeline::llm::canonical_request;
using pipeline::llm::ChatRequest;
using pipeline::llm::request_fingerprint;

namespace pipeline::testing {
namespace {

ChatRequest sample_request() {
  ChatRequest request;
  request.model = "vendor/model-a";
  request.messages = {{"system", "You analyse innovations."}, {"user", "Document: a cheese cave."}};
  request.temperature = 0.4;
  request.max_tokens = 3000;
  request.schema = nlohmann::json{{"type", "object"}, {"required", {"items"}}};
  request.schema_name = "mechanisms";
  return request;
}

// Keys of a JSON object, as a set.
std::set<std::string> keys_of(const nlohmann::json& object) {
  std::set<std::string> keys;
  for (const auto& item : object.items()) keys.insert(item.key());
  return keys;
}

}  // namespace
}  // namespace pipeline::testing

using pipeline::testing::sample_request;

TEST_CASE("equal requests have equal fingerprints") {
  const auto first = request_fingerprint(sample_request());
  CHECK(first == request_fingerprint(sample_request()));
  CHECK(first.size() == 64);
  CHECK(first.find_first_not_of("0123456789abcdef") == std::string::npos);

  // The schema's key order as written does not matter; its content does.
  auto reordered = sample_request();
  reordered.schema = nlohmann::json::parse(R"({"required":["items"],"type":"object"})");
  CHECK(request_fingerprint(reordered) == first);
}

TEST_CASE("every field that decides the answer changes the fingerprint") {
  const auto base = request_fingerprint(sample_request());
  const std::vector<std::pair<const char*, std::function<void(ChatRequest&)>>> changes = {
      {"model", [](ChatRequest& r) { r.model = "vendor/model-b"; }},
      {"message content", [](ChatRequest& r) { r.messages[1].content += " "; }},
      {"message role", [](ChatRequest& r) { r.messages[1].role = "assistant"; }},
      {"message order", [](ChatRequest& r) { std::swap(r.messages[0], r.messages[1]); }},
      {"message split", [](ChatRequest& r) {
         r.messages[1].content = "Document: a cheese";
         r.messages.push_back({"user", " cave."});
       }},
      {"extra message", [](ChatRequest& r) { r.messages.push_back({"user", ""}); }},
      {"temperature", [](ChatRequest& r) { r.temperature = 0.41; }},
      {"max_tokens", [](ChatRequest& r) { r.max_tokens = 3001; }},
      {"schema content", [](ChatRequest& r) { (*r.schema)["required"] = {"cards"}; }},
      {"no schema", [](ChatRequest& r) { r.schema.reset(); }},
      {"empty schema", [](ChatRequest& r) { r.schema = nlohmann::json::object(); }},
      {"schema_name", [](ChatRequest& r) { r.schema_name = "signals"; }},
  };
  std::set<std::string> fingerprints{base};
  for (const auto& [what, change] : changes) {
    auto request = sample_request();
    change(request);
    const auto changed = request_fingerprint(request);
    CAPTURE(what);
    CHECK(changed != base);
    fingerprints.insert(changed);
  }
  // And no two changes collide with each other.
  CHECK(fingerprints.size() == changes.size() + 1);
}

TEST_CASE("canonical_request holds only the fields that decide the answer") {
  // A key in the environment must never reach the canonical form.
  const std::string secret = "sk-or-v1-fingerprint-test-secret";
  nlohmann::json canonical;
  {
    pipeline::testing::ScopedEnv pipeline_key("PIPELINE_API_KEY", secret);
    pipeline::testing::ScopedEnv openrouter_key("OPENROUTER_API_KEY", secret);
    canonical = canonical_request(sample_request());
  }

  REQUIRE(canonical.is_object());
  CHECK(pipeline::testing::keys_of(canonical) ==
        std::set<std::string>{"model", "messages", "temperature", "max_tokens", "schema", "schema_name"});
  REQUIRE(canonical["messages"].is_array());
  REQUIRE(canonical["messages"].size() == 2);
  for (const auto& message : canonical["messages"]) {
    CHECK(pipeline::testing::keys_of(message) == std::set<std::string>{"role", "content"});
  }
  const auto text = canonical.dump();
  CHECK(text.find(secret) == std::string::npos);
  CHECK(text.find("Authorization") == std::string::npos);

  // The values are the request's own.
  const auto request = sample_request();
  CHECK(canonical["model"] == request.model);
  CHECK(canonical["messages"][1]["content"] == request.messages[1].content);
  CHECK(canonical["temperature"] == request.temperature);
  CHECK(canonical["max_tokens"] == request.max_tokens);
  CHECK(canonical["schema"] == *request.schema);
  CHECK(canonical["schema_name"] == request.schema_name);
}

TEST_CASE("a request without a schema has a null schema in its canonical form") {
  auto request = sample_request();
  request.schema.reset();
  CHECK(canonical_request(request)["schema"].is_null());
}
