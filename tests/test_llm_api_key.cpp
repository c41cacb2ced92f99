#include <doctest/doctest.h>

#include <cstdlib>

#include "lib/llm/client_config.hpp"

using pipeline::llm::ApiKey;
using pipeline::llm::api_key_from_environment;

namespace {

// Sets or unsets the three key variables for one test and restores them after.
class KeyEnvironment {
 public:
  KeyEnvironment(const char* pipeline, const char* openrouter, const char* openai) {
    for (const char* name : k_names) {
      const char* value = std::getenv(name);
      m_saved.emplace_back(name, value ? std::optional<std::string>(value) : std::nullopt);
    }
    set("PIPELINE_API_KEY", pipeline);
    set("OPENROUTER_API_KEY", openrouter);
    set("OPENAI_API_KEY", openai);
  }
  ~KeyEnvironment() {
    for (const auto& [name, value] : m_saved) set(name.c_str(), value ? value->c_str() : nullptr);
  }

 private:
  static void set(const char* name, const char* value) {
    if (value) ::setenv(name, value, 1);
    else ::unsetenv(name);
  }
  static constexpr const char* k_names[] = {"PIPELINE_API_KEY", "OPENROUTER_API_KEY", "OPENAI_API_KEY"};
  std::vector<std::pair<std::string, std::optional<std::string>>> m_saved;
};

}  // namespace

TEST_CASE("the key comes from PIPELINE_API_KEY, then OPENROUTER_API_KEY, then OPENAI_API_KEY") {
  {
    KeyEnvironment env("sk-pipeline-key-00000001", "sk-or-key-000000002", "sk-openai-key-0000003");
    auto key = api_key_from_environment();
    CHECK(key.value == "sk-pipeline-key-00000001");
    CHECK(key.source == "PIPELINE_API_KEY");
  }
  {
    KeyEnvironment env(nullptr, "sk-or-key-000000002", "sk-openai-key-0000003");
    CHECK(api_key_from_environment().source == "OPENROUTER_API_KEY");
  }
  {
    KeyEnvironment env("", "", "sk-openai-key-0000003");
    auto key = api_key_from_environment();
    CHECK(key.source == "OPENAI_API_KEY");
    CHECK(key.value == "sk-openai-key-0000003");
  }
  {
    KeyEnvironment env(nullptr, nullptr, nullptr);
    auto key = api_key_from_environment();
    CHECK(key.value.empty());
    CHECK(key.source.empty());
  }
}

TEST_CASE("surrounding whitespace is not part of the key") {
  KeyEnvironment env("  sk-or-v1-abcdefghijkl7f2c\n", nullptr, nullptr);
  CHECK(api_key_from_environment().value == "sk-or-v1-abcdefghijkl7f2c");
}

TEST_CASE("a masked key shows its vendor prefix and last four characters only") {
  CHECK(ApiKey{"sk-or-v1-0123456789abcdef7f2c", "X"}.masked() == "sk-or-...7f2c");
  CHECK(ApiKey{"sk-proj-0123456789abcdefghij", "X"}.masked() == "sk-...ghij");
  CHECK(ApiKey{"0123456789abcdefWXYZ", "X"}.masked() == "...WXYZ");
  CHECK(ApiKey{"short-key", "X"}.masked() == "********");
  CHECK(ApiKey{}.masked().empty());
}

TEST_CASE("redact replaces every occurrence of the key") {
  const ApiKey key{"sk-or-v1-SECRETSECRETSECRET9999", "X"};
  const auto text = key.redact("bad key sk-or-v1-SECRETSECRETSECRET9999, again sk-or-v1-SECRETSECRETSECRET9999.");
  CHECK(text == "bad key sk-or-...9999, again sk-or-...9999.");
  CHECK(ApiKey{}.redact("unchanged") == "unchanged");
}

TEST_CASE("a short key is masked only where it stands alone; a long one wherever it stands") {
  const ApiKey short_key{"xist", "X"};
  CHECK(short_key.redact("The model `m` does not exist.") == "The model `m` does not exist.");
  CHECK(short_key.redact("Incorrect API key provided: xist.") ==
        "Incorrect API key provided: " + short_key.masked() + ".");
  CHECK(short_key.redact("xist") == short_key.masked());
  CHECK(short_key.redact("key=xist&x") == "key=" + short_key.masked() + "&x");
  // A long key cannot occur by chance: it is masked inside other text too.
  const ApiKey long_key{"sk-test-SECRET-7f2c9d1e4b", "X"};
  CHECK(long_key.redact("tokensk-test-SECRET-7f2c9d1e4bXYZ").find("SECRET") == std::string::npos);
}
