#include <doctest/doctest.h>

#include "lib/llm/retry_policy.hpp"

using namespace pipeline::llm;

TEST_CASE("statuses worth retrying and those that need a person") {
  for (int status : {408, 429, 500, 502, 503, 504}) CHECK(is_retryable_status(status, false));
  for (int status : {400, 401, 403, 404, 402, 422}) CHECK_FALSE(is_retryable_status(status, false));
  CHECK(is_retryable_status(402, true));
  CHECK_FALSE(is_retryable_status(401, true));
  // Server errors that another attempt cannot fix.
  for (int status : {501, 505, 511}) CHECK_FALSE(is_retryable_status(status, false));
}

TEST_CASE("Retry-After is read as seconds or as an HTTP date") {
  CHECK(parse_retry_after("7", 0) == 7.0);
  CHECK(parse_retry_after(" 1.5 ", 0) == 1.5);
  // Wed, 21 Oct 2015 07:28:00 GMT is 1445412480.
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 - 30) == 30.0);
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 + 30) == 0.0);
  // The obsolete forms HTTP still allows: RFC 850 and asctime.
  CHECK(parse_retry_after("Wednesday, 21-Oct-15 07:28:00 GMT", 1445412480 - 30) == 30.0);
  CHECK(parse_retry_after("Wed Oct 21 07:28:00 2015", 1445412480 - 30) == 30.0);
  // Sun Nov  6 08:49:37 1994 is 784111777; asctime pads the day with a space.
  CHECK(parse_retry_after("Sun Nov  6 08:49:37 1994", 784111777 - 5) == 5.0);
  CHECK(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", 784111777 - 5) == 5.0);
  CHECK_FALSE(parse_retry_after("Wed Oct 21 07:28:00 2015 extra", 0));
  CHECK_FALSE(parse_retry_after("soon", 0));
  CHECK_FALSE(parse_retry_after("-3", 0));
  CHECK_FALSE(parse_retry_after("", 0));
}

TEST_CASE("backoff waits grow exponentially within full jitter and a ceiling") {
  RetryPolicy policy{0.5, 3, 10};
  double largest_first = 0;
  for (int i = 0; i < 200; ++i) {
    const double first = policy.wait_before_retry(1, std::nullopt);
    CHECK(first >= 0);
    CHECK(first <= 0.5);
    largest_first = std::max(largest_first, first);
    const double third = policy.wait_before_retry(3, std::nullopt);
    CHECK(third <= 2.0);
    CHECK(policy.wait_before_retry(10, std::nullopt) <= 3.0);
  }
  // Full jitter spreads the waits over the whole range.
  CHECK(largest_first > 0.25);
}

TEST_CASE("a Retry-After wins over backoff and is capped") {
  RetryPolicy policy{0.5, 3, 10};
  CHECK(policy.wait_before_retry(1, 4.0) == 4.0);
  CHECK(policy.wait_before_retry(1, 500.0) == 10.0);
}

TEST_CASE("advice for a person names what to fix") {
  CHECK(provider_error_advice(401, "", "OPENROUTER_API_KEY", "m", "u") ==
        "the API key was refused (HTTP 401): check OPENROUTER_API_KEY");
  CHECK(provider_error_advice(401, "", "", "m", "u").find("set PIPELINE_API_KEY") != std::string::npos);
  CHECK(provider_error_advice(402, "", "PIPELINE_API_KEY", "m", "u").find("add credit") != std::string::npos);
  CHECK(provider_error_advice(404, "no such model", "", "acme/x", "http://h/v1").find("--model (acme/x)") !=
        std::string::npos);
  CHECK(provider_error_advice(400, "bad schema", "", "m", "u").find("the provider said: bad schema") !=
        std::string::npos);
}

TEST_CASE("context-length errors are recognised in each provider's words") {
  for (const char* said : {
           "This model's maximum context length is 128000 tokens. However, your messages resulted in 204308 tokens. "
           "Please reduce the length of the messages. (code context_length_exceeded)",
           "This endpoint's maximum context length is 131072 tokens. However, you requested about 138956 tokens "
           "(7884 of text input, 131072 in the output). Please reduce the length of either one, or use the "
           "\"middle-out\" transform to compress your prompt automatically. (code 400)",
           "'max_tokens' or 'max_completion_tokens' is too large: 8000. This model's maximum context length is 4096 "
           "tokens and your request has 2778 input tokens (8000 > 4096 - 2778). None (code 400)",
           "The decoder prompt (length 5000) is longer than the maximum model length of 4096. Make sure that "
           "`max_model_len` is no smaller than the number of text tokens.",
           "The prompt (total length 25938) is too long to fit into the model (context length 4096).",
           "the request exceeds the available context size, try increasing it (code 400)",
           "prompt is too long: 210000 tokens > 200000 maximum",
           "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
       }) {
    INFO(said);
    CHECK(is_context_length_error(said));
  }
  for (const char* said : {"Token limit reached (code 400)", "Rate limit exceeded", "Provider returned error (code 502)",
                           "Invalid schema for response_format 'mechanisms': 'minLength' is not permitted."}) {
    INFO(said);
    CHECK_FALSE(is_context_length_error(said));
  }
}

TEST_CASE("context-length advice names the input and answer budgets, not --structured-output") {
  const std::string advice = context_length_advice("This model's maximum context length is 8192 tokens.");
  CHECK(advice.find("the provider said: This model's maximum context length is 8192 tokens.") != std::string::npos);
  CHECK(advice.find("--set mechanisms.max_input_tokens=") != std::string::npos);
  CHECK(advice.find(".max_tokens=") != std::string::npos);
  CHECK(advice.find("--structured-output") == std::string::npos);
}
