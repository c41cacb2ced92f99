#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "lib/util/file_io.hpp"
#include "stages/chain.hpp"
#include "stages/deadline_plan.hpp"
#include "tests/support/memory_chat_client.hpp"
#include "tests/support/run_fixture.hpp"

using namespace pipeline;
using checkpoints::RunStatus;
using checkpoints::StageStatus;
using testing::MemoryChatClient;
using testing::RunFixture;

namespace {

// One request for each of stages 1 to 4; stage 5 plans, then writes five cards.
constexpr std::size_t k_requests_per_run = 10;

util::Expected<llm::ChatResult> wait_for_stop(const llm::ChatRequest&, const util::CancelToken& cancel) {
  while (!cancel.stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return util::fail(util::ErrorKind::deadline, "the deadline passed during the call");
}

}  // namespace

TEST_CASE("the chain runs all five stages and writes every artifact") {
  RunFixture fixture;
  MemoryChatClient client;
  std::vector<nlohmann::json> events;
  int finish_calls = 0;
  stages::ChainShared shared;
  shared.finish = [&](checkpoints::RunStore&, checkpoints::RunState& done) -> util::Expected<void> {
    ++finish_calls;
    CHECK(done.status != RunStatus::completed);
    return {};
  };
  stages::Chain chain(*fixture.store, client, [&](const nlohmann::json& e) { events.push_back(e); }, shared);
  auto state = chain.run(fixture.state(), {1, 2, 3, 4, 5}, util::CancelToken());
  REQUIRE(state);
  CHECK(state->status == RunStatus::completed);
  CHECK(client.requests().size() == k_requests_per_run);
  for (const auto& record : state->stages) {
    CHECK(record.status == StageStatus::done);
    CHECK(record.fingerprint.size() == 64);
    CHECK_FALSE(record.artifacts.empty());
  }
  const auto opportunities = fixture.store->read_artifact(fixture.run_id, "opportunities.json");
  REQUIRE(opportunities);
  CHECK(nlohmann::json::parse(*opportunities).at("opportunities").size() == 5);
  // The caller's finish (the reports) ran once, before the run was marked completed.
  CHECK(finish_calls == 1);
  CHECK(events.front().at("event") == "run_started");
  CHECK(events.back().at("event") == "run_finished");
  CHECK(events.back().at("status") == "completed");
  CHECK(stages::Chain::remaining_stages(*state).empty());

  // The reloaded checkpoint agrees, and its artifacts verify.
  auto reloaded = fixture.store->load(fixture.run_id);
  REQUIRE(reloaded);
  CHECK(reloaded->status == RunStatus::completed);
}

TEST_CASE("only stages 4 and 5 see the brand; each stage sees the stages it reads") {
  RunFixture fixture;
  MemoryChatClient client;
  stages::Chain chain(*fixture.store, client, nullptr);
  REQUIRE(chain.run(fixture.state(), {1, 2, 3, 4, 5}, util::CancelToken()));
  const auto requests = client.requests();
  REQUIRE(requests.size() == k_requests_per_run);
  for (size_t i = 0; i < requests.size(); ++i) {
    std::string all_text;
    for (const auto& message : requests[i].messages) all_text += message.content;
    const bool has_brand = all_text.find("Testmark Dairy Cooperative") != std::string::npos;
    CHECK_MESSAGE(has_brand == (i >= 3), "request " << i + 1);
    CHECK(requests[i].schema.has_value());
  }
}

TEST_CASE("redoing a stage marks the done stages after it stale, and a stage whose input is stale is refused") {
  RunFixture fixture;
  MemoryChatClient client;
  stages::Chain chain(*fixture.store, client, nullptr);
  REQUIRE(chain.run(fixture.state(), {1, 2, 3, 4, 5}, util::CancelToken()));
  auto redone = chain.run(fixture.state(), {2}, util::CancelToken());
  REQUIRE(redone);
  CHECK(redone->stage(2).status == StageStatus::done);
  for (int n = 3; n <= 5; ++n) CHECK(redone->stage(n).status == StageStatus::stale);
  CHECK(redone->status == RunStatus::incomplete);
  CHECK(stages::Chain::remaining_stages(*redone) == std::vector<int>{3, 4, 5});

  const auto before = util::read_file(fixture.dir / "runs/fixture-run/checkpoint.json");
  auto refused = chain.run(fixture.state(), {4}, util::CancelToken());
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == util::ErrorKind::bad_input);
  CHECK(refused.error().message.find("pipeline lessons fixture-run") != std::string::npos);
  CHECK(*util::read_file(fixture.dir / "runs/fixture-run/checkpoint.json") == *before);
}

TEST_CASE("a stage cut off by the deadline is saved as not done, and twice with a whole budget is too small") {
  RunFixture fixture;
  MemoryChatClient client;
  client.set_handler(wait_for_stop);
  stages::Chain chain(*fixture.store, client, nullptr);
  const auto budget = std::chrono::milliseconds(100);

  auto first = chain.run(fixture.state(), {1, 2, 3, 4, 5}, util::CancelToken(util::Clock::now() + budget));
  REQUIRE_FALSE(first);
  CHECK(first.error().kind == util::ErrorKind::deadline);
  auto state = fixture.store->load(fixture.run_id);
  REQUIRE(state);
  CHECK(state->status == RunStatus::incomplete);
  CHECK(state->stage(1).status == StageStatus::pending);
  CHECK(state->stage(1).deadline_abandons == 1);
  CHECK(state->stage(1).duration_s.value_or(0) >= 0.05);

  auto second = chain.run(fixture.state(), {1, 2, 3, 4, 5}, util::CancelToken(util::Clock::now() + budget));
  REQUIRE_FALSE(second);
  CHECK(second.error().kind == util::ErrorKind::budget_too_small);

  // With a budget that fits, the stage finishes and the count starts again.
  client.set_handler(nullptr);
  auto third = chain.run(fixture.state(), {1}, util::CancelToken(util::Clock::now() + std::chrono::seconds(30)));
  REQUIRE(third);
  CHECK(third->stage(1).deadline_abandons == 0);
}

TEST_CASE("a later stage is not started when this run's measurements say it will not fit") {
  RunFixture fixture;
  MemoryChatClient client;
  client.set_handler([](const llm::ChatRequest& request, const util::CancelToken&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return util::Expected<llm::ChatResult>(MemoryChatClient::default_answer(request));
  });
  stages::Chain chain(*fixture.store, client, nullptr);
  auto result = chain.run(fixture.state(), {1, 2, 3, 4, 5}, util::CancelToken(util::Clock::now() + std::chrono::milliseconds(450)));
  REQUIRE_FALSE(result);
  CHECK(result.error().kind == util::ErrorKind::deadline);
  CHECK(client.requests().size() == 1);
  auto state = fixture.store->load(fixture.run_id);
  REQUIRE(state);
  CHECK(state->stage(1).status == StageStatus::done);
  CHECK(state->stage(2).status == StageStatus::pending);
  CHECK(state->stage(2).attempts == 0);
}

TEST_CASE("a provider error fails the stage and the run; resume after the fix completes it") {
  RunFixture fixture;
  MemoryChatClient client;
  client.set_handler([](const llm::ChatRequest&, const util::CancelToken&) -> util::Expected<llm::ChatResult> {
    return util::fail(util::ErrorKind::provider, "the API key was refused (HTTP 401)");
  });
  stages::Chain chain(*fixture.store, client, nullptr);
  auto failed = chain.run(fixture.state(), {1, 2, 3, 4, 5}, util::CancelToken());
  REQUIRE_FALSE(failed);
  CHECK(failed.error().kind == util::ErrorKind::provider);
  auto state = fixture.store->load(fixture.run_id);
  REQUIRE(state);
  CHECK(state->status == RunStatus::failed);
  CHECK(state->stage(1).status == StageStatus::failed);
  REQUIRE(state->stage(1).error);
  CHECK(state->stage(1).error->kind == "provider");

  client.set_handler(nullptr);
  CHECK(stages::Chain::remaining_stages(*state) == std::vector<int>{1, 2, 3, 4, 5});
  auto resumed = chain.run(fixture.state(), stages::Chain::remaining_stages(*state), util::CancelToken());
  REQUIRE(resumed);
  CHECK(resumed->status == RunStatus::completed);
}

TEST_CASE("a stage left running by a killed process is redone") {
  RunFixture fixture;
  auto state = fixture.store->load(fixture.run_id);
  REQUIRE(state);
  state->stage(1).status = StageStatus::running;
  state->status = RunStatus::running;
  REQUIRE(fixture.store->save(*state));
  MemoryChatClient client;
  stages::Chain chain(*fixture.store, client, nullptr);
  auto loaded = fixture.store->load(fixture.run_id);
  REQUIRE(loaded);
  CHECK(stages::Chain::remaining_stages(*loaded).front() == 1);
  auto done = chain.run(fixture.state(), stages::Chain::remaining_stages(*loaded), util::CancelToken());
  REQUIRE(done);
  CHECK(done->status == RunStatus::completed);
  CHECK(client.requests().size() == k_requests_per_run);
}

TEST_CASE("a run killed after its last stage but before it was marked complete is finished without a model call") {
  RunFixture fixture;
  MemoryChatClient client;
  int finish_calls = 0;
  stages::ChainShared shared;
  shared.finish = [&](checkpoints::RunStore&, checkpoints::RunState&) -> util::Expected<void> {
    ++finish_calls;
    return {};
  };
  stages::Chain chain(*fixture.store, client, nullptr, shared);
  REQUIRE(chain.run(fixture.state(), {1, 2, 3, 4, 5}, util::CancelToken()));
  // The state as saved after stage 5, before the run was finished.
  auto state = fixture.state();
  state.status = RunStatus::running;
  REQUIRE(fixture.store->save(state));

  CHECK(stages::Chain::remaining_stages(state).empty());
  auto finished = chain.run(fixture.state(), {}, util::CancelToken());
  REQUIRE(finished);
  CHECK(finished->status == RunStatus::completed);
  CHECK(finish_calls == 2);
  CHECK(client.requests().size() == k_requests_per_run);
}

TEST_CASE("a redone stage adds its new call's tokens and cost to what the stage already spent") {
  RunFixture fixture;
  MemoryChatClient client;
  stages::Chain chain(*fixture.store, client, nullptr);
  auto first = chain.run(fixture.state(), {1}, util::CancelToken());
  REQUIRE(first);
  const auto once = llm::Usage::from_json(first->stage(1).usage);
  auto again = chain.run(fixture.state(), {1}, util::CancelToken());
  REQUIRE(again);
  const auto twice = llm::Usage::from_json(again->stage(1).usage);
  CHECK(twice.completion_tokens == 2 * once.completion_tokens);
  CHECK(*twice.cost_usd == doctest::Approx(2 * *once.cost_usd));
}

TEST_CASE("a stage found in the cache is done without a model call, recorded as cached at zero cost") {
  RunFixture fixture;
  MemoryChatClient client;
  auto cache = checkpoints::make_memory_stage_cache();
  stages::Chain chain(*fixture.store, client, nullptr, {cache.get(), nullptr, {}});
  REQUIRE(chain.run(fixture.state(), {1, 2, 3, 4, 5}, util::CancelToken()));
  REQUIRE(client.requests().size() == k_requests_per_run);

  std::vector<nlohmann::json> events;
  stages::Chain again(*fixture.store, client, [&](const nlohmann::json& e) { events.push_back(e); },
                      {cache.get(), nullptr, {}});
  auto second = again.run(fixture.add_run("second-run"), {1, 2, 3, 4, 5}, util::CancelToken());
  REQUIRE(second);
  CHECK(second->status == RunStatus::completed);
  CHECK(client.requests().size() == k_requests_per_run);
  for (const auto& record : second->stages) {
    CHECK(record.cached);
    CHECK(record.usage.at("cost_usd") == 0.0);
    CHECK(record.fingerprint == fixture.state().stage(record.number).fingerprint);
  }
  CHECK(*fixture.store->read_artifact("second-run", "opportunities.json") ==
        *fixture.store->read_artifact(fixture.run_id, "opportunities.json"));
  int cached_done = 0;
  for (const auto& event : events) cached_done += event.value("event", "") == "stage_done" && event.value("cached", false);
  CHECK(cached_done == 5);

  // A stage that was done when the call began is redone on purpose: it asks the model.
  auto redone = again.run(*second, {5}, util::CancelToken());
  REQUIRE(redone);
  CHECK(client.requests().size() == k_requests_per_run + 6);
  CHECK_FALSE(redone->stage(5).cached);
}

TEST_CASE("runs that need the same stage at once compute it once; brand stages are computed per brand") {
  RunFixture fixture;
  const auto other_brand = testing::write_test_brand(fixture.dir.path(), "other-brand", "Othermark Foods");
  MemoryChatClient client;
  client.set_handler([](const llm::ChatRequest& request, const util::CancelToken&) -> util::Expected<llm::ChatResult> {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    return MemoryChatClient::default_answer(request);
  });
  auto cache = checkpoints::make_memory_stage_cache();
  util::KeyLatch latch;
  std::vector<checkpoints::RunState> runs = {fixture.state(), fixture.add_run("same-brand"),
                                             fixture.add_run("other-brand-run", other_brand)};
  std::vector<util::Expected<checkpoints::RunState>> results(runs.size(), util::fail(util::ErrorKind::failed, "not run"));
  std::atomic<int> waits{0};
  {
    std::vector<std::jthread> threads;
    for (std::size_t i = 0; i < runs.size(); ++i) {
      threads.emplace_back([&, i] {
        stages::Chain chain(*fixture.store, client, [&](const nlohmann::json& e) {
          if (e.value("event", "") == "stage_waiting") ++waits;
        }, {cache.get(), &latch, {}});
        results[i] = chain.run(runs[i], {1, 2, 3, 4, 5}, util::CancelToken());
      });
    }
  }
  for (auto& result : results) {
    REQUIRE(result);
    CHECK(result->status == RunStatus::completed);
  }
  // Stages 1 to 3 once for the document, 4 and 5 once per brand.
  CHECK(client.requests().size() == 3 + 2 * 7);
  CHECK(waits.load() > 0);
}
