#include "cli/batch_command.hpp"

#include <fmt/format.h>

#include "checkpoints/batch_manifest.hpp"
#include "cli/compare_command.hpp"
#include "cli/progress.hpp"
#include "cli/run_support.hpp"
#include "lib/brand/brand.hpp"
#include "lib/pdf/ingest.hpp"
#include "lib/util/error.hpp"
#include "report/report.hpp"
#include "service/run_settings.hpp"
#include "service/run_webhooks.hpp"
#include "stages/batch_runner.hpp"
#include "stages/run_factory.hpp"
#include "stages/run_files.hpp"

namespace pipeline::cli {
namespace {

using checkpoints::BatchManifest;
using checkpoints::RunState;
using util::ErrorKind;
using util::FatalError;

struct BatchOptions {
  std::vector<std::string> inputs;
  std::vector<std::string> brands;
  int jobs = 4;
  std::string batch_id;
  std::string deadline;
  service::RunSetup setup;
  NotifyOption notify;
};

double total_seconds(const RunState& state) {
  double seconds = 0;
  for (const auto& record : state.stages) seconds += record.duration_s.value_or(0);
  return seconds;
}

// Runs the jobs of a batch and reports the outcome; throws FatalError unless every run completed.
void run_jobs(const GlobalOptions& options, const service::RunSettings& settings, checkpoints::RunStore& store,
              const BatchManifest& manifest, std::vector<stages::BatchJob> jobs,
              std::optional<util::Clock::time_point> deadline, int parallel, const NotifyOption& notify) {
  // One client for the whole batch, so that --max-concurrency, --rpm, a
  // server's Retry-After and --max-cost hold across all its runs.
  std::optional<RunState> first;
  double spent = 0;
  for (const auto& run : manifest.runs) {
    auto state = store.load(run.run_id);
    if (!state) continue;
    spent += service::spent_usd(*state);
    // Every run that will notify can, or none starts.
    service::apply_notify(notify.value(), state->settings);
    service::RunWebhooks::check_run(*state, settings.allow_private_urls);
    if (!first) first = std::move(*state);
  }
  if (!first) throw FatalError(ErrorKind::bad_input, fmt::format("no run of batch {} can be read", manifest.batch_id));
  service::apply_explicit_settings(settings, *first, false);
  std::optional<double> cap = settings.max_cost;
  if (!cap && manifest.settings.contains("max_cost_usd")) cap = manifest.settings.at("max_cost_usd").get<double>();
  auto config = service::run_client_config(settings, *first, cap, spent);
  service::require_key(config);
  auto client = llm::make_chat_client(config);

  // Without the disk cache the runs still share stages 1 to 3 through memory.
  auto cache = service::open_stage_cache(settings);
  if (!cache) cache = checkpoints::make_memory_stage_cache();
  util::KeyLatch latch;
  ProgressPrinter printer(options, true);
  service::RunWebhooks webhooks(store, settings.allow_private_urls);
  const auto outcomes = stages::run_batch(
      store, *client, std::move(jobs), parallel, {cache.get(), &latch, report::write_reports},
      webhooks.sink(std::ref(printer)), util::CancelToken(deadline), [&](RunState& state) {
        service::apply_explicit_settings(settings, state, false);
        service::apply_notify(notify.value(), state.settings);
        webhooks.watch(state);
      });

  int completed = 0;
  nlohmann::json runs = nlohmann::json::array();
  std::string text;
  for (const auto& outcome : outcomes) {
    const std::string status = outcome.status ? std::string(checkpoints::to_string(*outcome.status)) : "unreadable";
    completed += outcome.status == checkpoints::RunStatus::completed;
    nlohmann::json run = {{"run_id", outcome.run_id}, {"status", status}};
    if (outcome.error) {
      run["error"] = outcome.error->message;
      run["error_kind"] = util::to_string(outcome.error->kind);
    }
    runs.push_back(std::move(run));
    if (outcome.status != checkpoints::RunStatus::completed) {
      text += fmt::format("  {} {}{}\n", outcome.run_id, status, outcome.error ? ": " + outcome.error->message : "");
    }
  }
  const auto kind = stages::batch_error_kind(outcomes);
  // The last line of the batch's NDJSON events.
  if (options.json) {
    printer({{"event", "batch_finished"}, {"batch_id", manifest.batch_id}, {"time", util::now_iso8601()},
             {"completed", completed}, {"runs", std::move(runs)}});
  }
  const std::string summary = fmt::format("batch {}: {} of {} runs completed", manifest.batch_id, completed,
                                          outcomes.size());
  if (!kind) {
    print_human(options, summary + fmt::format("; `pipeline status {}` lists them", manifest.batch_id));
    return;
  }
  if (!text.empty()) print_human(options, text);
  const std::string hint = *kind == ErrorKind::cost_limit
                               ? fmt::format("the cost cap stopped it; `pipeline resume {} --max-cost <higher>` goes on",
                                             manifest.batch_id)
                               : service::resume_hint(manifest.batch_id);
  throw FatalError(*kind, summary + "; " + hint);
}

void start_batch(const CLI::App& app, const GlobalOptions& options, const BatchOptions& batch) {
  const auto deadline = parse_deadline(batch.deadline);
  if (batch.jobs < 1) throw FatalError(ErrorKind::usage, "--jobs must be at least 1");
  const auto resolved = run_settings(app, options);
  service::require_key(resolved.client);
  check_notify_option(options, batch.notify, true);
  auto store = open_store(options);
  BatchManifest manifest;
  manifest.batch_id = batch.batch_id.empty() ? checkpoints::generate_batch_id() : batch.batch_id;
  if (!checkpoints::is_valid_run_id(manifest.batch_id)) {
    throw FatalError(ErrorKind::usage, fmt::format("batch id \"{}\" is not valid: use lowercase letters, digits, '.', "
                                                   "'_' and '-', starting with a letter or digit",
                                                   manifest.batch_id));
  }
  if (store->batch_exists(manifest.batch_id) || store->exists(manifest.batch_id)) {
    throw FatalError(ErrorKind::bad_input, fmt::format("{} exists already; choose another --batch-id or resume it with "
                                                       "`pipeline resume {}`",
                                                       manifest.batch_id, manifest.batch_id));
  }
  // Everything is checked before any run is made: brands, settings, documents.
  std::vector<brand::BrandProfile> brands;
  for (const auto& name : batch.brands) {
    brands.push_back(service::resolve_run_brand(resolved.brands, resolved.store_url, *store, name));
  }
  auto settings = service::new_run_settings(resolved, batch.setup);
  service::apply_notify(batch.notify.value(), settings);
  if (settings.contains("max_cost_usd")) {
    manifest.settings["max_cost_usd"] = settings.at("max_cost_usd");
    settings.erase("max_cost_usd");
  }
  manifest.settings["jobs"] = batch.jobs;
  const util::CancelToken cancel(deadline);
  const auto& ingest = resolved.ingest;
  std::vector<std::shared_ptr<const pdf::ExtractedDocument>> documents;
  for (const auto& input : batch.inputs) {
    documents.push_back(std::make_shared<const pdf::ExtractedDocument>(pdf::ingest(input, ingest, cancel).value_or_throw()));
  }

  manifest.tool_version = PIPELINE_VERSION;
  manifest.created_at = util::now_iso8601();
  manifest.inputs = batch.inputs;
  for (const auto& profile : brands) manifest.brands.push_back(profile.id);
  std::vector<stages::BatchJob> jobs;
  for (std::size_t d = 0; d < documents.size(); ++d) {
    for (std::size_t b = 0; b < brands.size(); ++b) {
      stages::NewRunRequest request;
      request.input = batch.inputs[d];
      request.brand = batch.brands[b];
      request.profile = std::make_shared<const brand::BrandProfile>(brands[b]);
      request.brand_search_dirs = resolved.brands.dirs;
      request.prompts_dir = batch.setup.prompts_dir;
      request.settings = settings;
      request.document = documents[d];
      auto created = stages::create_run(*store, request).value_or_throw();
      manifest.runs.push_back({created.state.run_id, batch.inputs[d], brands[b].id});
      jobs.push_back({created.state.run_id, std::move(created.lock)});
    }
  }
  store->save_batch(manifest).value_or_throw();
  print_human(options, fmt::format("batch {} created: {} documents x {} brands = {} runs", manifest.batch_id,
                                   documents.size(), brands.size(), manifest.runs.size()));
  run_jobs(options, resolved, *store, manifest, std::move(jobs), deadline, batch.jobs, NotifyOption{});
}

}  // namespace

void resume_batch(const CLI::App& app, const GlobalOptions& options, checkpoints::RunStore& store,
                  const std::string& batch_id, std::optional<util::Clock::time_point> deadline, int jobs,
                  const NotifyOption& notify) {
  const auto manifest = store.load_batch(batch_id).value_or_throw();
  std::vector<stages::BatchJob> pending;
  for (const auto& run : manifest.runs) pending.push_back({run.run_id, nullptr});
  const int parallel = jobs > 0 ? jobs : manifest.settings.value("jobs", 4);
  run_jobs(options, run_settings(app, options), store, manifest, std::move(pending), deadline, parallel, notify);
}

void print_batch_status(const GlobalOptions& options, checkpoints::RunStore& store, const std::string& batch_id) {
  const auto manifest = store.load_batch(batch_id).value_or_throw();
  nlohmann::json runs = nlohmann::json::array();
  std::map<std::string, int> counts;
  llm::Usage total;
  bool cost_known = true;
  std::string table = fmt::format("  {:<56} {:<20} {:<11} {:>8} {:>9} {:>9}\n", "run", "brand", "state", "time",
                                  "tokens", "cost");
  for (const auto& run : manifest.runs) {
    auto state = store.load(run.run_id);
    if (!state) {
      counts["unreadable"] += 1;
      runs.push_back({{"run_id", run.run_id}, {"input", run.input}, {"brand", run.brand}, {"status", "unreadable"},
                      {"error", state.error().message}});
      table += fmt::format("  {:<56} {:<20} unreadable: {}\n", run.run_id, run.brand, state.error().message);
      continue;
    }
    const auto status = service::live_status(store, *state);
    counts[status] += 1;
    const auto usage_json = stages::run_usage(*state);
    const auto usage = llm::Usage::from_json(usage_json);
    total += usage;
    cost_known = cost_known && usage.cost_usd.has_value();
    int done = 0;
    for (const auto& record : state->stages) done += record.status == checkpoints::StageStatus::done;
    runs.push_back({{"run_id", run.run_id}, {"input", run.input}, {"brand", run.brand}, {"status", status},
                    {"stages_done", done}, {"duration_s", total_seconds(*state)}, {"usage", usage_json}});
    table += fmt::format("  {:<56} {:<20} {:<11} {:>7.1f}s {:>9} {:>9}\n", run.run_id, run.brand, status,
                         total_seconds(*state), usage.prompt_tokens + usage.completion_tokens,
                         usage.cost_usd ? fmt::format("${:.4f}", *usage.cost_usd) : "?");
  }
  auto total_json = total.to_json();
  if (!cost_known) total_json["cost_usd"] = nullptr;
  const auto differentiation = report::batch_differentiation(store, manifest);
  if (options.json) {
    print_json({{"batch_id", manifest.batch_id}, {"created_at", manifest.created_at}, {"inputs", manifest.inputs},
                {"brands", manifest.brands}, {"settings", manifest.settings}, {"counts", counts},
                {"runs", std::move(runs)}, {"usage", total_json},
                {"differentiation", report::to_json(differentiation)}});
    return;
  }
  std::string counts_text;
  for (const auto& [status, count] : counts) counts_text += fmt::format("{}{} {}", counts_text.empty() ? "" : ", ", count, status);
  std::string text = fmt::format("batch {}  {} documents x {} brands = {} runs: {}\n", manifest.batch_id,
                                 manifest.inputs.size(), manifest.brands.size(), manifest.runs.size(), counts_text);
  text += table;
  text += fmt::format("  total  {}", describe_usage(total_json));
  if (manifest.settings.contains("max_cost_usd")) {
    text += fmt::format(" of a ${:.4f} cap (--max-cost)", manifest.settings.at("max_cost_usd").get<double>());
  }
  text += "\n";
  if (counts["completed"] != static_cast<int>(manifest.runs.size())) {
    text += "  " + service::resume_hint(batch_id) + "\n";
  }
  text += batch_differentiation_text(differentiation);
  print_human(options, text);
}

void register_batch_command(CLI::App& app, GlobalOptions& options) {
  auto batch = std::make_shared<BatchOptions>();
  auto* command = app.add_subcommand("batch", "Run many documents for many brands: one run per (document, brand)");
  command->add_option("inputs", batch->inputs, "The PDFs: local paths or http(s) URLs")->required();
  command->add_option("--brand", batch->brands, "A brand id or brand file (repeatable)")->required();
  command->add_option("--jobs", batch->jobs, "Runs in progress at once")->check(above_zero());
  command->add_option("--batch-id", batch->batch_id, "Id for the batch (default: generated from the time)");
  command->add_option("--deadline", batch->deadline,
                      "Wall-clock budget for the whole batch (e.g. 55s, 4m); unfinished runs are left for "
                      "`pipeline resume <batch_id>`");
  register_setup_options(command, batch->setup);
  register_notify_option(command, batch->notify);
  command->footer(
      "Stages 1 to 3 depend on the document alone: they are computed once per document and shared by its\n"
      "brands (through the stage cache, or in memory with --no-cache); stages 4 and 5 run per brand.\n"
      "--max-concurrency, --rpm, a server's Retry-After and --max-cost hold for the whole batch.\n"
      "Exit 0 when every run completed; 75 when some can be resumed (`pipeline resume <batch_id>`);\n"
      "7 when the cost cap stopped it; 130/143 on SIGINT/SIGTERM after saving.\n\n"
      "Example: pipeline batch a.pdf b.pdf --brand hollowmere-dairy --brand larchline-outdoor --jobs 4");
  command->callback([&app, &options, batch] { start_batch(app, options, *batch); });
}

}  // namespace pipeline::cli
