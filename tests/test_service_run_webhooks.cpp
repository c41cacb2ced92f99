#include <doctest/doctest.h>

#include <string>

#include "lib/util/error.hpp"
#include "service/run_webhooks.hpp"
#include "tests/support/scoped_env.hpp"

using namespace pipeline;
using pipeline::testing::ScopedEnv;

TEST_CASE("apply_notify sets, replaces or removes the URL, and leaves it when none is given") {
  nlohmann::json settings = nlohmann::json::object();
  service::apply_notify(std::nullopt, settings);
  CHECK(service::notify_url(settings).empty());
  service::apply_notify(std::string("https://hooks.example.com/a"), settings);
  CHECK(service::notify_url(settings) == "https://hooks.example.com/a");
  service::apply_notify(std::nullopt, settings);
  CHECK(service::notify_url(settings) == "https://hooks.example.com/a");
  service::apply_notify(std::string(""), settings);
  CHECK(service::notify_url(settings).empty());
}

TEST_CASE("a webhook URL must be http(s) and, unless allowed, not reach a private address") {
  CHECK_NOTHROW(service::check_webhook_url("https://hooks.example.com/a", false));
  CHECK_THROWS_AS(service::check_webhook_url("ftp://hooks.example.com/a", false), util::FatalError);
  CHECK_THROWS_AS(service::check_webhook_url("http://127.0.0.1:9/a", false), util::FatalError);
  CHECK_NOTHROW(service::check_webhook_url("http://127.0.0.1:9/a", true));
}

TEST_CASE("a run that notifies needs the secret before any work, and names how to stop its webhooks") {
  checkpoints::RunState state;
  state.run_id = "notifying";
  CHECK_NOTHROW(service::RunWebhooks::check_run(state, false));
  service::apply_notify(std::string("https://hooks.example.com/a"), state.settings);
  {
    ScopedEnv no_secret(service::k_webhook_secret_variable, std::nullopt);
    try {
      service::RunWebhooks::check_run(state, false);
      FAIL("a run without the secret passed");
    } catch (const util::FatalError& error) {
      CHECK(error.kind() == util::ErrorKind::bad_input);
      CHECK(std::string(error.what()).find("pipeline resume notifying --notify ''") != std::string::npos);
    }
  }
  ScopedEnv secret(service::k_webhook_secret_variable, "whsec-test");
  CHECK(service::webhook_secret() == "whsec-test");
  CHECK_NOTHROW(service::RunWebhooks::check_run(state, false));
}

TEST_CASE("a secret in the whsec_ form must decode before a run that notifies starts, and is never quoted") {
  checkpoints::RunState state;
  state.run_id = "malformed";
  service::apply_notify(std::string("https://hooks.example.com/a"), state.settings);
  for (const char* secret : {"whsec_", "whsec_c2VjcmV0LWtleQ", "whsec_c2VjcmV0LWtleQ==\n", "whsec_-_-_"}) {
    INFO(secret);
    ScopedEnv bad(service::k_webhook_secret_variable, secret);
    try {
      service::RunWebhooks::check_run(state, false);
      FAIL("a secret that cannot be decoded passed");
    } catch (const util::FatalError& error) {
      CHECK(error.kind() == util::ErrorKind::bad_input);
      const std::string message = error.what();
      CHECK(message.find(service::k_webhook_secret_variable) != std::string::npos);
      CHECK(message.find("c2VjcmV0") == std::string::npos);
      CHECK(message.find("-_-_") == std::string::npos);
    }
  }
  // The spec's form, and any secret without its prefix, are good.
  for (const char* secret : {"whsec_c2VjcmV0LWtleQ==", "whsec-test", "whsec:c2VjcmV0"}) {
    INFO(secret);
    ScopedEnv good(service::k_webhook_secret_variable, secret);
    CHECK_NOTHROW(service::RunWebhooks::check_run(state, false));
  }
}
