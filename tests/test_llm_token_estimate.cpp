#include <doctest/doctest.h>

#include <string>

#include "lib/llm/token_estimate.hpp"

using namespace pipeline::llm;

TEST_CASE("a text is guessed at one token per three bytes, rounded up") {
  CHECK(estimate_tokens("") == 0);
  CHECK(estimate_tokens("a") == 1);
  CHECK(estimate_tokens("abc") == 1);
  CHECK(estimate_tokens("abcd") == 2);
  CHECK(estimate_tokens(std::string(3000, 'x')) == 1000);
  CHECK(estimate_tokens(std::string(3001, 'x')) == 1001);
  // Bytes, not characters: "é" is two bytes.
  CHECK(estimate_tokens("ééé") == 2);
}

TEST_CASE("a prompt adds four tokens of framing per message") {
  CHECK(estimate_prompt_tokens({}) == 0);
  CHECK(estimate_prompt_tokens({{"user", ""}}) == 4);
  const std::vector<Message> messages = {{"system", std::string(30, 's')}, {"user", std::string(31, 'u')}};
  CHECK(estimate_prompt_tokens(messages) == (10 + 4) + (11 + 4));
}
