#include <algorithm>
#include <optional>

#include <fmt/format.h>
#include <unistd.h>

#include "checkpoints/run_store.hpp"
#include "cli/app.hpp"
#include "cli/batch_command.hpp"
#include "cli/notify_options.hpp"
#include "cli/progress.hpp"
#include "cli/run_support.hpp"
#include "lib/llm/doctor.hpp"
#include "lib/notify/webhook_url.hpp"
#include "lib/util/error.hpp"
#include "lib/util/file_io.hpp"
#include "lib/util/json_text.hpp"
#include "lib/util/text.hpp"
#include "lib/util/time.hpp"
#include "service/run_execution.hpp"
#include "service/run_webhooks.hpp"
#include "stages/chain.hpp"
#include "stages/run_factory.hpp"
#include "stages/run_files.hpp"
#include "stages/stage.hpp"
#include "stages/stage_registry.hpp"

namespace pipeline::cli {
namespace {

using checkpoints::RunState;
using util::ErrorKind;
using util::FatalError;

// Options of the commands that run stages.
struct StageRunOptions {
  std::string run_id;
  std::string deadline;
  std::string from;
  std::string stage;
  int jobs = 0;
  NotifyOption notify;  // resume's
  bool review = false;       // run's and resume's --review
  std::string review_model;  // --review-model
};

// --review and --review-model of run and resume.
void add_review_options(CLI::App* command, StageRunOptions& run) {
  auto* flag = command->add_flag("--review", run.review,
                                 "Once the run is complete, have each card reviewed (see `pipeline review`)");
  command->add_option("--review-model", run.review_model, "The model that reviews (default: the run's model)")
      ->check(not_empty())
      ->needs(flag);
}

// Reviews the run when --review asked for it and the run is complete now.
void review_if_asked(const GlobalOptions& options, const service::RunSettings& settings, checkpoints::RunStore& store,
                     const std::string& run_id, const StageRunOptions& run,
                     std::optional<util::Clock::time_point> deadline) {
  if (!run.review) return;
  if (store.read_checkpoint(run_id).value_or_throw().status != checkpoints::RunStatus::completed) return;
  review_printed(options, settings, store, run_id, run.review_model, deadline);
}

const stages::Stage& parse_stage(const std::string& text) {
  const stages::Stage* stage = stages::find_stage(text);
  if (!stage) {
    throw FatalError(ErrorKind::usage, fmt::format("there is no stage \"{}\": use 1-5 or mechanisms, signals, "
                                                   "lessons, contextualize, opportunities",
                                                   text));
  }
  return *stage;
}

// Runs stages of a run through service::execute with its progress printed,
// then says where to look. Throws FatalError as service::execute does.
void execute_printed(const GlobalOptions& options, const service::RunSettings& settings, checkpoints::RunStore& store,
                     const std::string& run_id, std::optional<util::Clock::time_point> deadline, int redo_from,
                     const std::function<std::vector<int>(const RunState&)>& which,
                     std::unique_ptr<checkpoints::RunLock> lock = nullptr,
                     std::optional<RunState> created = std::nullopt,
                     const std::optional<std::string>& notify = std::nullopt) {
  ProgressPrinter printer(options);
  service::ExecutionControl control;
  control.observer = std::ref(printer);
  const auto done = service::execute(settings, store, run_id, deadline, redo_from, which, std::move(lock),
                                     std::move(created), notify, control);
  if (!done.ran) {
    print_human(options, fmt::format("run {} is complete; nothing to do", run_id));
    if (options.json) {
      printer({{"event", "run_finished"}, {"run_id", run_id}, {"time", util::now_iso8601()}, {"status", "completed"},
               {"usage", stages::run_usage(done.state)}, {"artifacts", stages::run_artifacts(done.state)}});
    }
    return;
  }
  if (options.json) return;
  // The run_finished line said the status and the totals; this says where to look.
  const std::string place = store.location(run_id);
  const bool completed = done.state.status == checkpoints::RunStatus::completed;
  if (is_folder_store(options)) {
    print_human(options, completed ? "report: " + place + "/report.html (also report.md)" : "run folder: " + place);
  } else {
    print_human(options, completed ? fmt::format("report: {}/report.html (`pipeline report {} -o report.html` "
                                                 "writes it to a file)",
                                                 place, run_id)
                                   : "run: " + place);
  }
}

// "report: <run folder>/report.html", or for a run completed before the
// tool wrote one, the command that renders it.
std::string html_report_hint(const checkpoints::RunStore& store, const RunState& state) {
  for (const auto& file : state.files) {
    if (file.path == stages::k_html_report_path) return "report: " + store.location(state.run_id) + "/" + file.path;
  }
  return fmt::format("HTML report: `pipeline report {} -o report.html`", state.run_id);
}

std::vector<int> numbers_from(int first) {
  std::vector<int> numbers;
  for (int n = first; n <= 5; ++n) numbers.push_back(n);
  return numbers;
}

void add_deadline_option(CLI::App* command, StageRunOptions& run) {
  command->add_option("--deadline", run.deadline,
                      "Wall-clock budget for this invocation (e.g. 55s, 4m): stages that will not fit are left for "
                      "the next resume; exits 75 when time runs out");
}

std::string stage_status_text(const checkpoints::StageRecord& record) {
  std::string text(checkpoints::to_string(record.status));
  if (record.status != checkpoints::StageStatus::done) return text;
  if (record.cached) return text + " (cached)";
  if (record.duration_s) text += fmt::format(" {:.1f}s", *record.duration_s);
  return text;
}

// How the run asks for structured output: the forced rung, or the rung that
// answered each model; and the schema dialect.
std::string structured_output_text(const nlohmann::json& settings) {
  std::string text;
  const std::string mode = settings.value("structured_output", std::string("auto"));
  if (mode != "auto" && mode != "json_schema") {
    text = mode + " (forced by --structured-output)";
  } else {
    for (const auto& [model, rung] : stages::learned_rungs(settings))
      text += (text.empty() ? "" : ", ") + std::string(llm::to_string(rung)) + " for " + model;
  }
  if (text.empty()) text = "not asked yet";
  return text + "; schema dialect " + settings.value("schema_dialect", std::string("auto"));
}

// What each model was learned to take, where a refusal or OpenRouter's
// models list taught it ("gpt-x: max_completion_tokens, no temperature
// (learned: max_tokens, temperature)"); empty when nothing was.
std::string model_parameters_text(const nlohmann::json& settings) {
  std::string text;
  for (const auto& [model, parameters] : stages::model_parameters(settings))
    text += (text.empty() ? "" : "; ") + model + ": " + parameters.describe();
  return text;
}

// " [strict, answered by openai/gpt-4o-mini-2024-07-18]": the rungs and
// models that answered a stage's requests; empty when it made none.
std::string answered_text(const checkpoints::StageRecord& record) {
  const auto answered = stages::answered_by(record);
  std::string text;
  for (const auto& rung : answered.at("rungs")) text += (text.empty() ? "" : ", ") + rung.get<std::string>();
  for (const auto& model : answered.at("models"))
    text += (text.empty() ? "answered by " : ", answered by ") + model.get<std::string>();
  return text.empty() ? text : "  [" + text + "]";
}

nlohmann::json status_json(checkpoints::RunStore& store, const RunState& state) {
  auto json = checkpoints::to_json(state);
  json["live_status"] = service::live_status(store, state);
  json["usage"] = stages::run_usage(state);
  json["location"] = store.location(state.run_id);
  // The webhook URL's query or user name may hold the receiver's token.
  if (const auto url = service::notify_url(state.settings); !url.empty()) {
    json["settings"][notify::k_notify_url_setting] = notify::redacted_url(url);
  }
  return json;
}

void print_status(const GlobalOptions& options, checkpoints::RunStore& store, const RunState& state) {
  if (options.json) {
    print_json(status_json(store, state));
    return;
  }
  // Fields read from the checkpoint keep to their line whatever they hold.
  using util::escape_control;
  std::string text = fmt::format("run {}  {}\n  input  {} ({} pages)\n  brand  {} ({})\n  model  {}\n", state.run_id,
                                 service::live_status(store, state), escape_control(state.input.source),
                                 state.input.pages, escape_control(state.brand.id),
                                 escape_control(state.brand.company_name),
                                 escape_control(state.settings.value("model", "")));
  text += "  output " + structured_output_text(state.settings) + "\n";
  if (const auto parameters = model_parameters_text(state.settings); !parameters.empty())
    text += "  parameters " + parameters + "\n";
  if (const auto effort = state.settings.value("reasoning_effort", std::string()); !effort.empty())
    text += "  reasoning effort " + effort + "\n";
  if (const auto url = service::notify_url(state.settings); !url.empty()) {
    text += "  notify " + notify::redacted_url(url) + "\n";
  }
  for (const auto& record : state.stages) {
    text += fmt::format("  {}. {:<14} {:<16} {}{}\n", record.number, record.name, stage_status_text(record),
                        record.usage.empty() ? std::string() : describe_usage(record.usage), answered_text(record));
    if (record.error && record.status != checkpoints::StageStatus::done) {
      text += fmt::format("     {}: {}\n", record.error->kind, escape_control(record.error->message));
    }
    for (const auto& warning : record.warnings) text += "     warning: " + escape_control(warning) + "\n";
  }
  text += fmt::format("  total  {}", describe_usage(stages::run_usage(state)));
  if (state.settings.contains("max_cost_usd") && state.settings.at("max_cost_usd").is_number()) {
    text += fmt::format(" of a ${:.4f} cap (--max-cost)", state.settings.at("max_cost_usd").get<double>());
  }
  text += "\n";
  if (state.status != checkpoints::RunStatus::completed) text += "  " + service::resume_hint(state.run_id) + "\n";
  print_human(options, text);
}

void register_new_options(CLI::App* command, NewRunArgs& args) {
  command->add_option("input", args.input, "The PDF: a local path or an http(s) URL")->required();
  command->add_option("--brand", args.brand, "Brand id (looked up in the brand folders) or path to a brand file")
      ->required();
  command->add_option("--run-id", args.run_id, "Id for the run (default: generated from document, brand and time)")
      ->check(not_empty());
  register_setup_options(command, args.setup);
  register_notify_option(command, args.notify_option);
}

void register_stage_command(CLI::App& app, GlobalOptions& options, const std::string& name,
                            const std::string& description, std::shared_ptr<StageRunOptions> run,
                            std::function<int()> stage_number) {
  auto* command = app.add_subcommand(name, description);
  if (name == "stage") command->add_option("stage", run->stage, "Stage number (1-5) or name")->required();
  command->add_option("run_id", run->run_id, "The run")->required();
  add_deadline_option(command, *run);
  command->callback([&app, &options, run, stage_number] {
    const auto deadline = parse_deadline(run->deadline);
    auto store = open_store(options);
    const int number = stage_number();
    execute_printed(options, run_settings(app, options), *store, run->run_id, deadline, number,
                    [number](const RunState&) { return std::vector<int>{number}; });
  });
}

}  // namespace

void register_run_commands(CLI::App& app, GlobalOptions& options) {
  auto new_run = std::make_shared<NewRunArgs>();
  auto* new_command = app.add_subcommand("new", "Create a run: ingest the PDF and snapshot the brand; no model calls");
  register_new_options(new_command, *new_run);
  new_command->callback([&app, &options, new_run] {
    const auto settings = run_settings(app, options);
    // The command that runs it signs the webhooks: no secret is needed yet.
    check_notify_option(options, new_run->notify_option, false);
    auto store = open_store(options);
    const auto created = service::create(settings, new_run->resolved(), *store);
    const auto& id = created.state.run_id;
    if (options.json) print_json({{"run_id", id}, {"location", store->location(id)}});
    else print_human(options, id);
  });

  auto run_run = std::make_shared<NewRunArgs>();
  auto run_stages = std::make_shared<StageRunOptions>();
  auto* run_command = app.add_subcommand("run", "Create a run and do all five stages");
  register_new_options(run_command, *run_run);
  add_deadline_option(run_command, *run_stages);
  add_review_options(run_command, *run_stages);
  run_command->footer(
      "Prints progress on stderr (NDJSON events on stdout with --json). Exit 0 when all five stages\n"
      "are done; 75 when the deadline or temporary errors stopped it (resume with `pipeline resume\n"
      "<run_id>`); 130/143 on SIGINT/SIGTERM after saving.\n\n"
      "Example: pipeline run report.pdf --brand hollowmere-dairy --deadline 55s --json");
  run_command->callback([&app, &options, run_run, run_stages] {
    // The budget counts from the start: ingesting the PDF spends it too.
    const auto deadline = parse_deadline(run_stages->deadline);
    const auto settings = run_settings(app, options);
    service::require_key(settings.client);
    check_notify_option(options, run_run->notify_option, true);
    auto store = open_store(options);
    auto created = service::create(settings, run_run->resolved(), *store, deadline);
    const std::string id = created.state.run_id;
    print_human(options, fmt::format("run {} created", id));
    execute_printed(options, settings, *store, id, deadline, 0, stages::Chain::remaining_stages,
                    std::move(created.lock), std::move(created.state));
    review_if_asked(options, settings, *store, id, *run_stages, deadline);
  });

  auto resume = std::make_shared<StageRunOptions>();
  auto* resume_command =
      app.add_subcommand("resume", "Carry on a run from its first stage not done, or a batch's unfinished runs");
  resume_command->add_option("run_id", resume->run_id, "The run or batch")->required();
  resume_command->add_option("--from", resume->from, "Redo this stage (1-5 or name) and every stage after it");
  resume_command->add_option("--jobs", resume->jobs, "For a batch: runs in progress at once (default: the batch's)")
      ->check(above_zero());
  add_deadline_option(resume_command, *resume);
  add_review_options(resume_command, *resume);
  register_notify_option(resume_command, resume->notify, true);
  resume_command->footer(
      "Runs every stage not done (pending, failed, stale, or cut off by a kill), in order. A completed\n"
      "run has nothing to do and exits 0. Serverless use: call `pipeline resume <id> --deadline 55s`\n"
      "until it exits 0; it exits 75 while work remains, 6 when a stage cannot fit the budget.");
  resume_command->callback([&app, &options, resume] {
    const auto deadline = parse_deadline(resume->deadline);
    check_notify_option(options, resume->notify, true);
    auto store = open_store(options);
    if (store->batch_exists(resume->run_id)) {
      if (!resume->from.empty()) throw FatalError(ErrorKind::usage, "--from redoes stages of one run, not of a batch");
      if (resume->review) throw FatalError(ErrorKind::usage, "--review reviews one run, not a batch: review its runs one by one");
      resume_batch(app, options, *store, resume->run_id, deadline, resume->jobs, resume->notify);
      return;
    }
    std::optional<int> from;
    if (!resume->from.empty()) from = parse_stage(resume->from).number();
    const auto settings = run_settings(app, options);
    execute_printed(
        options, settings, *store, resume->run_id, deadline, from.value_or(0),
        [from](const RunState& state) { return from ? numbers_from(*from) : stages::Chain::remaining_stages(state); },
        nullptr, std::nullopt, resume->notify.value());
    review_if_asked(options, settings, *store, resume->run_id, *resume, deadline);
  });

  auto stage_options = std::make_shared<StageRunOptions>();
  register_stage_command(app, options, "stage", "Run one stage (1-5 or name) of a run; later stages become stale",
                         stage_options, [stage_options] { return parse_stage(stage_options->stage).number(); });
  for (const auto& stage : stages::all_stages()) {
    const int number = stage->number();
    register_stage_command(app, options, std::string(stage->name()),
                           fmt::format("Run stage {} ({}) of a run", number, stage->title()),
                           std::make_shared<StageRunOptions>(), [number] { return number; });
  }

  auto status_id = std::make_shared<std::string>();
  auto* status_command = app.add_subcommand(
      "status", "What a run is doing: each stage's state, time, tokens and cost; or a table of a batch's runs");
  status_command->add_option("run_id", *status_id, "The run or batch")->required();
  status_command->callback([&options, status_id] {
    auto store = open_store(options);
    if (store->batch_exists(*status_id)) {
      print_batch_status(options, *store, *status_id);
      return;
    }
    print_status(options, *store, store->load(*status_id).value_or_throw());
  });

  auto* list_command = app.add_subcommand("list", "Every run in the store with its state");
  list_command->callback([&options] {
    auto store = open_store(options);
    nlohmann::json runs = nlohmann::json::array();
    std::string text;
    for (const auto& id : store->list()) {
      auto state = store->load(id);
      // One damaged run must not hide the others: it is listed as
      // unreadable, with a warning, and the listing goes on.
      if (!state) {
        print_warning(fmt::format("run {} cannot be read, listed as unreadable: {}", id, state.error().message));
        runs.push_back({{"run_id", id}, {"status", "unreadable"}, {"error", state.error().message}});
        text += fmt::format("{:<48} unreadable\n", id);
        continue;
      }
      const auto status = service::live_status(*store, *state);
      const auto usage = stages::run_usage(*state);
      int done = 0;
      for (const auto& record : state->stages) done += record.status == checkpoints::StageStatus::done;
      runs.push_back({{"run_id", id}, {"status", status}, {"brand", state->brand.id}, {"input", state->input.source},
                      {"stages_done", done}, {"created_at", state->created_at}, {"usage", usage}});
      text += fmt::format("{:<48} {:<11} {}/5  {:<16} {}\n", id, status, done, util::escape_control(state->brand.id),
                          describe_usage(usage));
    }
    if (options.json) print_json(runs);
    else print_human(options, text.empty() ? "no runs in " + store_place(options) : text);
  });

  auto show = std::make_shared<StageRunOptions>();
  auto* show_command = app.add_subcommand("show", "A run's report, or one stage's output with --stage");
  show_command->add_option("run_id", show->run_id, "The run")->required();
  show_command->add_option("--stage", show->stage, "Stage number (1-5) or name");
  show_command->callback([&options, show] {
    auto store = open_store(options);
    RunState state = store->load(show->run_id).value_or_throw();
    if (show->stage.empty()) {
      if (state.status != checkpoints::RunStatus::completed) {
        throw FatalError(ErrorKind::bad_input, fmt::format("run {} is not complete yet (see `pipeline status {}`); "
                                                           "show one stage with --stage",
                                                           state.run_id, state.run_id));
      }
      if (options.json) {
        auto cards = util::parse_json(store->read_artifact(state.run_id, "opportunities.json").value_or_throw());
        if (!cards) {
          throw FatalError(ErrorKind::bad_input,
                           fmt::format("opportunities.json of run {}: {}", state.run_id, cards.error().message));
        }
        print_json(*cards);
      } else {
        print_human(options, store->read_artifact(state.run_id, stages::k_report_path).value_or_throw());
        // On a terminal, after a page of Markdown, the way to the page people read.
        if (::isatty(STDOUT_FILENO)) print_human(options, html_report_hint(*store, state));
      }
      return;
    }
    const auto& stage = parse_stage(show->stage);
    if (state.stage(stage.number()).status != checkpoints::StageStatus::done) {
      throw FatalError(ErrorKind::bad_input, fmt::format("stage {} ({}) of run {} is {}, not done", stage.number(),
                                                         stage.name(), state.run_id,
                                                         checkpoints::to_string(state.stage(stage.number()).status)));
    }
    const auto json_text = store->read_artifact(state.run_id, stages::output_path(stage)).value_or_throw();
    if (options.json) {
      auto json = util::parse_json(json_text);
      if (!json) {
        throw FatalError(ErrorKind::bad_input, fmt::format("{} of run {}: {}", stages::output_path(stage),
                                                           state.run_id, json.error().message));
      }
      print_json(*json);
      return;
    }
    auto markdown_path = stages::output_path(stage);
    markdown_path.replace(markdown_path.size() - 5, 5, ".md");
    print_human(options, store->read_artifact(state.run_id, markdown_path).value_or_throw());
  });
}

}  // namespace pipeline::cli
