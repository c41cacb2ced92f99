#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "lib/llm/request_fingerprint.hpp"
#include "stages/run_stage_work.hpp"
#include "tests/support/memory_chat_client.hpp"

using namespace pipeline;
using testing::MemoryChatClient;

namespace {

// Keeps parts in memory, as the chain keeps them in the checkpoint.
class MemoryJournal final : public stages::StageJournal {
 public:
  std::optional<nlohmann::json> saved_part(const std::string& part, const std::string& fingerprint) override {
    std::lock_guard lock(m_mutex);
    auto it = parts.find(part);
    if (it == parts.end() || it->second.first != fingerprint) return std::nullopt;
    return it->second.second;
  }
  util::Expected<void> save_part(const std::string& part, const std::string& fingerprint, const std::string&,
                                 const llm::ChatResult& result) override {
    std::lock_guard lock(m_mutex);
    parts[part] = {fingerprint, result.json};
    return {};
  }
  void record_spent(const std::string& part, const llm::Usage& usage) override {
    std::lock_guard lock(m_mutex);
    spent[part] += usage;
  }
  void emit(nlohmann::json event) override {
    std::lock_guard lock(m_mutex);
    events.push_back(std::move(event));
  }
  std::map<std::string, std::pair<std::string, nlohmann::json>> parts;
  std::vector<nlohmann::json> events;
  std::map<std::string, llm::Usage> spent;

 private:
  std::mutex m_mutex;
};

stages::NamedRequest request_for(const std::string& part) {
  llm::ChatRequest request;
  request.model = "test-model";
  request.messages = {{"user", "write " + part}};
  request.schema = nlohmann::json{{"type", "object"}};
  return {part, request};
}

llm::ChatResult answer(const llm::ChatRequest& request) {
  llm::ChatResult result;
  result.json = {{"for", request.messages.back().content}};
  result.content = result.json.dump();
  result.usage.prompt_tokens = 10;
  result.usage.cost_usd = 0.01;
  return result;
}

struct Setup {
  MemoryChatClient client;
  MemoryJournal journal;
  util::CancelToken cancel;
  stages::RunStageWork work{{}, {}, "test-model", {{"opportunities", {"s", "u", "built-in", {}}}}, client, cancel, journal};
};

}  // namespace

TEST_CASE("requests are asked in parallel, answers come back in order and are saved as parts") {
  Setup setup;
  std::atomic<int> in_flight{0};
  std::atomic<int> most{0};
  setup.client.set_handler([&](const llm::ChatRequest& request, const util::CancelToken&) -> util::Expected<llm::ChatResult> {
    const int now = ++in_flight;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    --in_flight;
    return answer(request);
  });
  auto answers = setup.work.ask({request_for("card-a"), request_for("card-b"), request_for("card-c")});
  REQUIRE(answers);
  REQUIRE(answers->size() == 3);
  CHECK(answers->at(0).at("for") == "write card-a");
  CHECK(answers->at(2).at("for") == "write card-c");
  CHECK(most.load() >= 2);
  CHECK(setup.journal.parts.size() == 3);
  CHECK(setup.work.calls() == 3);
  int done_events = 0;
  for (const auto& event : setup.journal.events) done_events += event.at("event") == "stage_part_done";
  CHECK(done_events == 3);
  CHECK(setup.work.prompt("opportunities"));
  CHECK_FALSE(setup.work.prompt("unknown"));
}

TEST_CASE("a part saved for the same request is reused; a changed request asks again") {
  Setup setup;
  const auto kept = request_for("card-a");
  setup.journal.parts["card-a"] = {llm::request_fingerprint(kept.request), {{"kept", true}}};
  auto changed = request_for("card-b");
  setup.journal.parts["card-b"] = {"0000", {{"kept", true}}};
  auto answers = setup.work.ask({kept, changed});
  REQUIRE(answers);
  CHECK(answers->at(0).at("kept") == true);
  CHECK_FALSE(answers->at(1).contains("kept"));
  REQUIRE(setup.client.requests().size() == 1);
  CHECK(setup.client.requests().front().messages.back().content == "write card-b");
}

TEST_CASE("when one request fails the others still end and keep their answers") {
  Setup setup;
  setup.client.set_handler([](const llm::ChatRequest& request, const util::CancelToken&) -> util::Expected<llm::ChatResult> {
    if (request.messages.back().content == "write card-b") {
      return util::fail(util::ErrorKind::failed, "the answer was still invalid");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    return answer(request);
  });
  auto answers = setup.work.ask({request_for("card-a"), request_for("card-b"), request_for("card-c")});
  REQUIRE_FALSE(answers);
  CHECK(answers.error().message.find("still invalid") != std::string::npos);
  CHECK(setup.journal.parts.count("card-a") == 1);
  CHECK(setup.journal.parts.count("card-c") == 1);
  CHECK(setup.journal.parts.count("card-b") == 0);

  // The next invocation asks only for the missing part.
  setup.client.set_handler(nullptr);
  MemoryChatClient fresh;
  stages::RunStageWork next({}, {}, "test-model", {}, fresh, setup.cancel, setup.journal);
  auto again = next.ask({request_for("card-a"), request_for("card-b"), request_for("card-c")});
  REQUIRE(again);
  REQUIRE(fresh.requests().size() == 1);
  CHECK(fresh.requests().front().messages.back().content == "write card-b");
}

TEST_CASE("a stopped token asks nothing more") {
  Setup setup;
  util::CancelToken stopped;
  stopped.cancel();
  stages::RunStageWork work({}, {}, "test-model", {}, setup.client, stopped, setup.journal);
  auto answers = work.ask({request_for("card-a"), request_for("card-b")});
  REQUIRE_FALSE(answers);
  CHECK(setup.client.requests().empty());
}
