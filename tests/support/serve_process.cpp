#include "tests/support/serve_process.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "lib/util/text.hpp"

namespace pipeline::testing {

ServeProcess start_serve(const CliEnv& env, const std::vector<std::string>& extra) {
  std::vector<std::string> args{"serve", "--listen", "127.0.0.1:0", "--brands-dir", env.dir.path()};
  args.insert(args.end(), extra.begin(), extra.end());
  ServeProcess serve;
  serve.process = std::make_unique<Process>([&] {
    std::vector<std::string> argv{pipeline_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }(), env.options);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < give_up) {
    const std::string out = serve.process->stdout_so_far();
    const auto found = out.find("listening on ");
    if (found != std::string::npos && out.find('\n', found) != std::string::npos) {
      serve.url = out.substr(found + 13, out.find('\n', found) - found - 13);
      return serve;
    }
    if (!serve.process->running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const auto result = serve.process->wait(std::chrono::seconds(5));
  FAIL("pipeline serve did not start listening: exit " << result.exit_code << ", stderr: " << result.err);
  return serve;
}

nlohmann::json HttpAnswer::json() const {
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  INFO(body);
  REQUIRE_FALSE(parsed.is_discarded());
  return parsed;
}

HttpAnswer curl_http(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"curl", "-sS", "-i", "--max-time", "60"};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto result = run_process(argv);
  INFO("curl: " << result.err);
  REQUIRE(result.exit_code == 0);
  HttpAnswer answer;
  std::size_t at = 0;
  // Interim answers (100 Continue) come first; the last header block is the answer's.
  while (true) {
    const auto end = result.out.find("\r\n\r\n", at);
    REQUIRE(end != std::string::npos);
    std::istringstream head(result.out.substr(at, end - at));
    std::string status_line;
    std::getline(head, status_line);
    answer.status = std::stoi(status_line.substr(status_line.find(' ') + 1, 3));
    answer.headers.clear();
    for (std::string line; std::getline(head, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      answer.headers[util::to_lower(line.substr(0, colon))] = value;
    }
    at = end + 4;
    if (answer.status != 100) break;
  }
  answer.body = result.out.substr(at);
  return answer;
}

std::vector<std::pair<long, std::string>> sse_ids_and_names(const std::string& stream) {
  std::vector<std::pair<long, std::string>> events;
  std::istringstream lines(stream);
  long id = -1;
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("id: ", 0) == 0) id = std::stol(line.substr(4));
    if (line.rfind("event: ", 0) == 0) events.emplace_back(id, line.substr(7));
  }
  return events;
}

}  // namespace pipeline::testing
