#pragma once

#include <string>

#include "tests/fake_server/fake_llm_server.hpp"
#include "tests/support/cli_env.hpp"

namespace pipeline::testing {

// Writes a short case-study PDF of its own into the environment's folder,
// with `marker`, a word no other document has, in its text and title;
// returns its path.
std::string write_marked_pdf(const CliEnv& env, const std::string& marker);

// The requests the server saw with schema `schema` whose text holds
// `marker`: how often one document's stage was asked.
int marked_requests(const FakeLlmServer& server, const std::string& marker, const std::string& schema);

}  // namespace pipeline::testing
