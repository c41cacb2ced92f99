// `pipeline serve`: the HTTP API and its page over a store, with workers
// (the server itself is service/serve.cpp; docs/http-api.md).

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/app.hpp"
#include "cli/queue_support.hpp"
#include "cli/run_support.hpp"
#include "lib/util/error.hpp"
#include "service/access_tokens.hpp"
#include "service/serve.hpp"

namespace pipeline::cli {
namespace {

using util::ErrorKind;
using util::FatalError;

struct ServeArgs {
  std::string listen = "127.0.0.1:8080";
  int workers = 2;
  double max_upload_mb = 50;
  std::vector<std::string> cors_origins;
  std::string token_file;
  std::string read_token_ttl = "1h";
  std::string sse_keepalive = "15s";
  std::string drain_timeout = "25s";
  std::string allow_local_sources;
  std::string ttl;
};

// HOST:PORT, [IPv6]:PORT, or a bare port on 127.0.0.1.
std::pair<std::string, int> parse_listen(const std::string& text) {
  std::string host = "127.0.0.1";
  std::string port = text;
  if (const auto colon = text.rfind(':'); colon != std::string::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  }
  try {
    std::size_t used = 0;
    const int number = std::stoi(port, &used);
    if (used == port.size() && number >= 0 && number <= 65535 && !host.empty()) return {host, number};
  } catch (const std::exception&) {
  }
  throw FatalError(ErrorKind::usage, fmt::format("--listen takes HOST:PORT (e.g. 127.0.0.1:8080), not \"{}\"", text));
}

}  // namespace

void register_serve_command(CLI::App& app, GlobalOptions& options) {
  auto args = std::make_shared<ServeArgs>();
  auto* command = app.add_subcommand("serve", "Serve the HTTP API and a page to start runs and watch them live");
  command->add_option("--listen", args->listen, "HOST:PORT to listen on (default 127.0.0.1:8080; port 0: any free one)")
      ->envname("PIPELINE_SERVE_LISTEN");
  command->add_option("--workers", args->workers,
                      "Jobs run at once in this process (default 2); with a Redis store 0 leaves them to `pipeline "
                      "worker` processes")
      ->check(CLI::NonNegativeNumber);
  command->add_option("--max-upload-mb", args->max_upload_mb, "Largest PDF upload in MiB (default 50)")
      ->check(CLI::PositiveNumber);
  command->add_option("--cors-origin", args->cors_origins,
                      "An origin (https://app.example.com) whose pages may call the API; repeatable");
  command->add_option("--token-file", args->token_file,
                      "A file of service tokens, one a line, besides PIPELINE_SERVE_TOKENS (comma-separated)")
      ->envname("PIPELINE_SERVE_TOKEN_FILE")->type_name("FILE");
  command->add_option("--read-token-ttl", args->read_token_ttl,
                      "How long the read token of a new run lasts (default 1h)");
  command->add_option("--sse-keepalive", args->sse_keepalive,
                      "How often an idle event stream gets a keep-alive comment (default 15s)");
  command->add_option("--drain-timeout", args->drain_timeout,
                      "On SIGTERM, how long the stages in flight may take to finish (default 25s)");
  command->add_option("--allow-local-sources", args->allow_local_sources,
                      "Let source_url name local files, only regular files under this folder")
      ->type_name("DIR");
  add_run_ttl_option(command, args->ttl);
  command->footer(
      "Without tokens it listens on loopback only. Tokens: PIPELINE_SERVE_TOKENS or --token-file; a run's\n"
      "read token (POST /v1/runs) lets a browser read that run alone. See docs/http-api.md.\n\n"
      "Example: PIPELINE_SERVE_TOKENS=$(openssl rand -hex 24) pipeline serve --listen 0.0.0.0:8080 --workers 4");
  command->callback([&app, &options, args] {
    service::ServeOptions serve;
    std::tie(serve.host, serve.port) = parse_listen(args->listen);
    serve.workers = args->workers;
    serve.max_upload_bytes = static_cast<std::uint64_t>(args->max_upload_mb * 1024 * 1024);
    serve.cors_origins = args->cors_origins;
    const char* listed = std::getenv("PIPELINE_SERVE_TOKENS");
    std::optional<std::filesystem::path> token_file;
    if (!args->token_file.empty()) token_file = args->token_file;
    serve.tokens = service::load_service_tokens(listed ? listed : "", token_file).value_or_throw();
    if (const char* key = std::getenv("PIPELINE_SERVE_SIGNING_KEY"); key && *key) serve.signing_key = key;
    serve.read_token_ttl = std::chrono::duration_cast<std::chrono::seconds>(
        parse_duration_option(args->read_token_ttl, "--read-token-ttl"));
    serve.sse_keepalive = parse_duration_option(args->sse_keepalive, "--sse-keepalive");
    serve.drain_timeout = parse_duration_option(args->drain_timeout, "--drain-timeout");
    serve.run_ttl = parse_run_ttl(args->ttl);
    if (serve.run_ttl.count() > 0 && is_folder_store(options)) {
      throw FatalError(ErrorKind::usage, "--ttl needs a Redis store, where runs can expire; prune a folder store "
                                         "with `pipeline prune`");
    }
    if (serve.read_token_ttl.count() < 1) throw FatalError(ErrorKind::usage, "--read-token-ttl must be 1s or more");
    if (serve.sse_keepalive.count() < 100) throw FatalError(ErrorKind::usage, "--sse-keepalive must be 100ms or more");
    if (!args->allow_local_sources.empty()) {
      serve.sources = queue::local_sources_under(args->allow_local_sources).value_or_throw();
    }
    serve.log = [](const std::string& line) { fmt::print(stderr, "pipeline serve: {}\n", line); };
    serve.on_listening = [&options](const std::string& url) {
      // Scripts wait for this line on stdout before they call the server.
      fmt::print("listening on {}\n", url);
      std::fflush(stdout);
      if (!options.json) fmt::print(stderr, "pipeline serve: open {}/ in a browser; the API is under {}/v1\n", url, url);
    };
    const auto settings = run_settings(app, options);
    service::serve(settings, serve);
  });
}

}  // namespace pipeline::cli
