#include <doctest/doctest.h>

#include <filesystem>

#include "lib/util/file_io.hpp"
#include "tests/support/cli_env.hpp"
#include "tests/support/http_file_server.hpp"
#include "tests/support/run_fixture.hpp"

using namespace pipeline::testing;
using nlohmann::json;

namespace {

void check_single_error(const ProcessResult& result, int code) {
  CHECK(result.exit_code == code);
  const auto lines = split_lines(result.err);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind("pipeline: error: ", 0) == 0);
}

}  // namespace

TEST_CASE("new prints the run id, makes no model call, and a generated id names document and brand") {
  FakeLlmServer server;
  CliEnv env(server);
  auto created = env.run({"new", example_pdf_path(), "--brand", env.brand_path});
  REQUIRE(created.exit_code == 0);
  const std::string id = split_lines(created.out).at(0);
  CHECK(id.rfind("example-case-study-test-dairy-", 0) == 0);
  CHECK(server.request_count() == 0);
  CHECK(env.checkpoint(id).at("status") == "created");
  auto as_json = env.run({"new", example_pdf_path(), "--brand", env.brand_path, "--json"});
  REQUIRE(as_json.exit_code == 0);
  CHECK(json::parse(as_json.out).at("run_id").get<std::string>() != id);
}

TEST_CASE("a PDF given by URL is downloaded into the run") {
  FakeLlmServer server;
  CliEnv env(server);
  HttpFileServer files;
  files.serve("/report.pdf", *pipeline::util::read_file(example_pdf_path()));
  // The file server listens on loopback, which only --allow-private-urls reaches.
  const auto refused = env.run({"new", files.url("/report.pdf"), "--brand", env.brand_path, "--run-id", "fetched"});
  CHECK(refused.exit_code == 3);
  CHECK(refused.err.find("--allow-private-urls") != std::string::npos);
  CHECK(files.requests() == 0);
  CHECK_FALSE(std::filesystem::exists(env.runs_dir + "/fetched"));
  auto created = env.run({"new", files.url("/report.pdf"), "--brand", env.brand_path, "--run-id", "fetched",
                          "--allow-private-urls"});
  INFO(created.err);
  REQUIRE(created.exit_code == 0);
  const auto checkpoint = env.checkpoint("fetched");
  CHECK(checkpoint.at("input").at("source") == files.url("/report.pdf"));
  CHECK(checkpoint.at("input").at("pages").get<int>() >= 2);
  CHECK(env.read("fetched", "input/document.txt").find("Kettle") != std::string::npos);
}

TEST_CASE("bad input to run and new: one line, exit 2 or 3, and no run left behind") {
  FakeLlmServer server;
  CliEnv env(server);
  check_single_error(env.run({"run", example_pdf_path(), "--brand", "no-such-brand"}), 3);
  check_single_error(env.run({"run", env.dir / "missing.pdf", "--brand", env.brand_path}), 3);
  check_single_error(env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "Bad/Id"}), 2);
  check_single_error(env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--deadline", "soon"}), 2);
  check_single_error(env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--set", "signals.top_p=1"}), 2);
  check_single_error(env.run({"new", example_pdf_path(), "--brand", env.brand_path, "--prompts", env.dir / "none"}), 3);
  check_single_error(env.run({"resume", "never-made"}), 3);
  check_single_error(env.run({"status", "never-made"}), 3);
  CHECK(env.run({"run", example_pdf_path()}).exit_code == 2);
  CHECK(server.request_count() == 0);
  CHECK((!std::filesystem::exists(env.runs_dir) || std::filesystem::is_empty(env.runs_dir)));
}

TEST_CASE("the chain also runs in prompt mode and without streaming") {
  FakeLlmServer server;
  CliEnv env(server);
  env.disable_cache();
  auto prompt_mode = env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "prompted",
                              "--structured-output", "prompt"});
  INFO(prompt_mode.err);
  REQUIRE(prompt_mode.exit_code == 0);
  for (const auto& request : server.requests()) CHECK_FALSE(request.contains("response_format"));
  CHECK(json::parse(env.read("prompted", "opportunities.json")).at("opportunities").size() == 5);

  auto whole = env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "whole", "--no-stream"});
  INFO(whole.err);
  REQUIRE(whole.exit_code == 0);
  CHECK(server.requests().back().value("stream", false) == false);
  CHECK(env.checkpoint("prompted").at("settings").at("structured_output") == "prompt");
}

TEST_CASE("a remote provider without a key is refused before any run is made") {
  FakeLlmServer server;
  CliEnv env(server);
  env.options.env["PIPELINE_API_KEY"] = "";
  env.options.env["PIPELINE_BASE_URL"] = "https://models.example.invalid/v1";
  auto result = env.run({"run", example_pdf_path(), "--brand", env.brand_path});
  check_single_error(result, 4);
  CHECK(result.err.find("PIPELINE_API_KEY") != std::string::npos);
  CHECK((!std::filesystem::exists(env.runs_dir) || std::filesystem::is_empty(env.runs_dir)));
}

TEST_CASE("a timeout that is not a duration is a usage error of one line, by flag or by environment") {
  FakeLlmServer server;
  CliEnv env(server);
  const std::vector<std::string> run = {"run", example_pdf_path(), "--brand", env.brand_path};
  const auto with = [&run](std::vector<std::string> extra) {
    extra.insert(extra.begin(), run.begin(), run.end());
    return extra;
  };
  auto result = env.run(with({"--idle-timeout", "soon"}));
  check_single_error(result, 2);
  CHECK(result.err.find("--idle-timeout: \"soon\" is not a duration: use e.g. 30s, 5m, 500ms or 1.5h") !=
        std::string::npos);
  check_single_error(env.run(with({"--connect-timeout", "0"})), 2);
  check_single_error(env.run(with({"--request-timeout", "-5m"})), 2);
  check_single_error(env.run(with({"--request-timeout", "5 parsecs"})), 2);
  env.options.env["PIPELINE_REQUEST_TIMEOUT"] = "5w";
  result = env.run(run);
  check_single_error(result, 2);
  CHECK(result.err.find("\"5w\" is not a duration") != std::string::npos);
  CHECK(server.request_count() == 0);
  CHECK((!std::filesystem::exists(env.runs_dir) || std::filesystem::is_empty(env.runs_dir)));
}

TEST_CASE("messages name the program as it was invoked, so the command they suggest works") {
  FakeLlmServer server;
  CliEnv env(server);
  REQUIRE(env.run({"new", example_pdf_path(), "--brand", env.brand_path, "--run-id", "named"}).exit_code == 0);
  auto early = env.run({"signals", "named"});
  CHECK(early.exit_code == 3);
  // The tests start the binary by its full path, which is not on PATH.
  CHECK(early.err.find("run `" + pipeline_binary() + " mechanisms named`") != std::string::npos);
  CHECK(early.err.rfind("pipeline: error: ", 0) == 0);
}
