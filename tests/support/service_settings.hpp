#pragma once

#include <string>

#include "service/run_settings.hpp"
#include "tests/fake_server/fake_llm_server.hpp"

namespace pipeline::testing {

// Settings as a command would resolve them for the fake model server and
// the store at `store_url`: no retries (a scripted failure fails at once)
// and no stage cache (every stage asks the model).
service::RunSettings fake_model_settings(const FakeLlmServer& server, const std::string& store_url);

}  // namespace pipeline::testing
