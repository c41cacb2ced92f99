#pragma once

// The command-line layer: the only code that parses arguments (CLI11) or
// prints for humans. Each command group lives in its own cli/<name>_command.cpp
// and registers itself on the app through one register_* function.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "checkpoints/open_run_store.hpp"
#include "lib/llm/client_config.hpp"
#include "lib/pdf/ingest.hpp"

namespace pipeline::cli {

// Options shared by every command. Precedence: flag, then environment, then default.
struct GlobalOptions {
  std::string runs_dir = "./runs";  // PIPELINE_RUNS_DIR
  std::string store;                // PIPELINE_STORE: a folder, file:DIR, redis:// or rediss://; empty: runs_dir
  std::string store_file;           // PIPELINE_STORE_FILE: a file holding the store URL; wins over store
  std::string redis_ca;             // PIPELINE_REDIS_CA
  std::string brands_dir;           // PIPELINE_BRANDS_DIR
  bool json = false;
  bool verbose = false;
  // Model provider.
  std::string base_url = llm::k_default_base_url;  // PIPELINE_BASE_URL
  std::string model = llm::k_default_model;        // PIPELINE_MODEL
  // Durations, given like --deadline (30s, 5m, 500ms; a plain number is seconds), kept in seconds.
  double connect_timeout_s = 15;
  double request_timeout_s = 300;  // PIPELINE_REQUEST_TIMEOUT
  double first_token_timeout_s = 600;  // PIPELINE_FIRST_TOKEN_TIMEOUT
  double idle_timeout_s = 60;          // PIPELINE_IDLE_TIMEOUT
  int max_retries = 4;
  int max_concurrency = 8;
  bool no_stream = false;
  std::string structured_output = "auto";  // PIPELINE_STRUCTURED_OUTPUT: auto or a rung (llm::parse_rung)
  std::string schema_dialect = "auto";     // PIPELINE_SCHEMA_DIALECT: auto or one of llm::dialect_names()
  std::string reasoning_effort;            // PIPELINE_REASONING_EFFORT: empty or one of stages::reasoning_efforts()
  bool keep_reasoning = false;             // PIPELINE_KEEP_REASONING
  std::string record_dir;
  std::string replay_dir;
  std::string prices;  // PIPELINE_PRICES: "MODEL=PROMPT,COMPLETION;..."
  std::string app_url = llm::ClientConfig().app_url;      // PIPELINE_APP_URL
  std::string app_title = llm::ClientConfig().app_title;  // PIPELINE_APP_TITLE
  // Money and sharing.
  std::string cache_dir;  // PIPELINE_CACHE_DIR; empty: checkpoints::default_stage_cache_dir()
  bool no_cache = false;
  std::string max_cost;   // PIPELINE_MAX_COST, in USD; empty: no cap
  int rpm = 0;            // PIPELINE_RPM; 0: no limit
  std::int64_t tpm = 0;   // PIPELINE_TPM; 0: no limit
  // PIPELINE_RATE_WINDOW: the "minute" of --rpm and --tpm, shorter only in tests and benches.
  std::string rate_window = "60s";
  // PDF input.
  double max_download_mb = 100;
  bool allow_private_urls = false;  // PIPELINE_ALLOW_PRIVATE_URLS
  int max_pages = 2000;             // PIPELINE_MAX_PAGES
  double max_text_mb = 20;          // PIPELINE_MAX_TEXT_MB
};

// Adds the global options to the app and sets up the environment fallbacks.
void register_global_options(CLI::App& app, GlobalOptions& options);

// The brand search path: --brands-dir first, then the brands shipped with the tool.
std::vector<std::filesystem::path> brand_search_dirs(const GlobalOptions& options);

// How documents are fetched and read: download caps, the URL guard, the page
// and text limits. Every command that reads a document uses it.
pdf::IngestOptions ingest_options(const GlobalOptions& options);

// Where runs live: the URL in --store-file, else --store, else --runs-dir.
std::string store_url(const GlobalOptions& options);

// How to open the store: --redis-ca, --connect-timeout.
checkpoints::StoreOptions store_options(const GlobalOptions& options);

// The model client settings from the options and the environment's API key:
// the one place where client options become llm::ClientConfig.
llm::ClientConfig client_config(const GlobalOptions& options);

// Option checks whose messages are one short line: a number above 0 (where
// CLI::PositiveNumber prints a 309-digit bound), and a value not left empty
// (`--run-id ''`).
const CLI::Validator& above_zero();
const CLI::Validator& not_empty();

// Machine-readable output goes to stdout, one JSON document per call. Invalid
// UTF-8 in its strings is replaced by U+FFFD, with a warning on stderr.
void print_json(const nlohmann::json& value);

// Human text goes to stdout without --json and to stderr with it; control
// characters other than line breaks and tabs are printed as escapes.
void print_human(const GlobalOptions& options, const std::string& text);

// "pipeline: warning: <text>" on stderr, on one line whatever `text` holds.
void print_warning(std::string_view text);

// Command groups; each lives in its own cli/<name>_command.cpp.
void register_extract_command(CLI::App& app, GlobalOptions& options);
void register_brands_command(CLI::App& app, GlobalOptions& options);
void register_doctor_command(CLI::App& app, GlobalOptions& options);
void register_run_commands(CLI::App& app, GlobalOptions& options);
void register_batch_command(CLI::App& app, GlobalOptions& options);
void register_report_command(CLI::App& app, GlobalOptions& options);
void register_compare_command(CLI::App& app, GlobalOptions& options);
void register_review_command(CLI::App& app, GlobalOptions& options);
void register_queue_commands(CLI::App& app, GlobalOptions& options);
// The worker's options, beside the queue's (cli/queue_commands.cpp).
void register_worker_command(CLI::App& app, GlobalOptions& options);
void register_serve_command(CLI::App& app, GlobalOptions& options);
void register_prune_command(CLI::App& app, GlobalOptions& options);

}  // namespace pipeline::cli
