// pipeline submit, jobs, queue and worker: putting runs in the queue, looking
// at it, and working on it (the loop itself is service/worker_loop.cpp).

#include <fmt/format.h>

#include "cli/app.hpp"
#include "cli/progress.hpp"
#include "cli/queue_support.hpp"
#include "cli/run_support.hpp"
#include "lib/queue/job_source.hpp"
#include "lib/queue/shared_rate_limit.hpp"
#include "lib/util/error.hpp"
#include "lib/util/json_text.hpp"
#include "lib/util/text.hpp"
#include "lib/util/time.hpp"
#include "service/run_execution.hpp"
#include "service/run_webhooks.hpp"
#include "service/worker_loop.hpp"

namespace pipeline::cli {
namespace {

using util::ErrorKind;
using util::FatalError;

struct SubmitOptions {
  NewRunArgs run;
  std::string existing_run;
  std::string priority = "normal";
  std::string ttl;
};

// The worker's options as given.
struct WorkerArgs {
  int concurrency = 1;
  std::string lease = "30s";
  bool once = false;
  std::string deadline;
  std::string drain_timeout = "25s";
  std::string allow_local_sources;
  std::string ttl;
};

queue::Priority parse_priority_option(const std::string& text) {
  const auto priority = queue::parse_priority(text);
  if (!priority) throw FatalError(ErrorKind::usage, fmt::format("--priority is high, normal or low, not \"{}\"", text));
  return *priority;
}

void submit(const CLI::App& app, const GlobalOptions& options, const SubmitOptions& submit) {
  const queue::Priority priority = parse_priority_option(submit.priority);
  const auto ttl = parse_run_ttl(submit.ttl);
  if (submit.existing_run.empty() && (submit.run.input.empty() || submit.run.brand.empty())) {
    throw FatalError(ErrorKind::usage, "submit needs a PDF and --brand, or --run <run_id> for a run that exists");
  }
  if (!submit.existing_run.empty() && !submit.run.input.empty()) {
    throw FatalError(ErrorKind::usage, "submit takes a PDF or --run <run_id>, not both");
  }
  // The worker that runs the job signs the webhooks: no secret is needed here.
  check_notify_option(options, submit.run.notify_option, false);
  auto store = open_queue_store(options, "submit");
  auto job_queue = service::open_job_queue(*store, "submit");
  queue::Job job;
  job.priority = priority;
  if (!submit.existing_run.empty()) {
    if (!store->exists(submit.existing_run)) {
      throw FatalError(ErrorKind::bad_input, fmt::format("run {} not found in {}", submit.existing_run, store->where()));
    }
    job.run_id = submit.existing_run;
    // One run, one live job: a second entry would only wait for the first.
    if (const auto live = job_queue->find(job.run_id).value_or_throw(); live && !queue::is_final(live->state)) {
      throw FatalError(ErrorKind::bad_input, fmt::format("run {} is {} in the queue already (see `pipeline jobs show {}`)",
                                                         job.run_id, queue::to_string(live->state), job.run_id));
    }
  } else {
    auto created = service::create(run_settings(app, options), submit.run.resolved(), *store);
    job.run_id = created.state.run_id;
    job.notify = service::notify_url(created.state.settings);
  }
  job.job_id = job.run_id;
  job.ttl_s = static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(ttl).count());
  job_queue->enqueue(job).value_or_throw();
  job_queue->update_status(job.run_id, {{"status", "queued"}, {"error", ""}}).value_or_throw();
  if (options.json) print_json({{"run_id", job.run_id}, {"status", "queued"}});
  else print_human(options, job.run_id);
}

void print_jobs(const GlobalOptions& options, const std::vector<queue::Job>& jobs) {
  if (options.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& job : jobs) list.push_back(job_json(job));
    print_json(list);
    return;
  }
  std::string text;
  for (const auto& job : jobs) {
    // Ids and errors come from whoever wrote to the queue: one row each, whatever they hold.
    text += fmt::format("{:<48} {:<9} {:<6} {:<6} attempts {} deaths {}{}\n", util::escape_control(job.job_id),
                        queue::to_string(job.state), queue::to_string(job.priority), queue::to_string(job.kind),
                        job.attempts, job.deaths, job.error.empty() ? std::string() : "  " + util::escape_control(job.error));
  }
  print_human(options, text.empty() ? "no jobs" : text);
}

void print_job(const GlobalOptions& options, const queue::Job& job) {
  if (options.json) {
    print_json(job_json(job));
    return;
  }
  std::string text;
  const nlohmann::json fields = job_json(job);
  for (const auto& [name, value] : fields.items()) {
    text += fmt::format("  {:<12} {}\n", name,
                        value.is_string() ? util::escape_control(value.get<std::string>()) : util::dump_json(value));
  }
  print_human(options, "job " + util::escape_control(job.job_id) + "\n" + text);
}

queue::Job find_job(queue::JobQueue& job_queue, const std::string& job_id) {
  auto job = job_queue.find(job_id).value_or_throw();
  if (!job) throw FatalError(ErrorKind::bad_input, fmt::format("there is no job {}", job_id));
  return *job;
}

// The limiters' lines of `pipeline queue`, and their JSON.
nlohmann::json rate_limits_json(const std::vector<queue::RateLimitStatus>& limits) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& limit : limits) {
    const auto effective = llm::effective_limits(limit.configured, limit.learned);
    list.push_back({{"host", limit.host},
                    {"model", limit.model},
                    {"key_fingerprint", limit.key_fingerprint},
                    {"window_s", static_cast<double>(limit.window_ms) / 1000.0},
                    {"configured", {{"rpm", limit.configured.requests_per_minute}, {"tpm", limit.configured.tokens_per_minute}}},
                    {"learned", {{"rpm", limit.learned.requests_per_minute}, {"tpm", limit.learned.tokens_per_minute}}},
                    {"budget", {{"rpm", effective.requests_per_minute}, {"tpm", effective.tokens_per_minute}}},
                    {"used", {{"requests", limit.requests_in_window}, {"tokens", limit.tokens_in_window}}},
                    {"waiting", limit.waiting},
                    {"paused_for_s", static_cast<double>(limit.paused_ms) / 1000.0},
                    {"granted", limit.granted},
                    {"pauses", limit.pauses},
                    {"paused_s_total", static_cast<double>(limit.paused_ms_total) / 1000.0}});
  }
  return list;
}

std::string rate_limits_text(const std::vector<queue::RateLimitStatus>& limits) {
  std::string text;
  auto budget_text = [](std::int64_t used, std::int64_t budget) {
    return budget > 0 ? fmt::format("{}/{}", used, budget) : fmt::format("{}/-", used);
  };
  for (const auto& limit : limits) {
    const auto effective = llm::effective_limits(limit.configured, limit.learned);
    text += fmt::format(
        "\nlimit      {} {} key {}: requests {}, tokens {} per {:g} s{}; {} waiting; {} granted, {} pauses ({:.1f} s){}",
        limit.host, limit.model, limit.key_fingerprint, budget_text(limit.requests_in_window, effective.requests_per_minute),
        budget_text(limit.tokens_in_window, effective.tokens_per_minute), static_cast<double>(limit.window_ms) / 1000.0,
        limit.learned.any() ? " (provider's limits learned)" : "", limit.waiting, limit.granted, limit.pauses,
        static_cast<double>(limit.paused_ms_total) / 1000.0,
        limit.paused_ms > 0 ? fmt::format(", paused {:.1f} s more", static_cast<double>(limit.paused_ms) / 1000.0)
                            : std::string());
  }
  return text;
}

void print_queue(const GlobalOptions& options, const queue::QueueCounts& counts,
                 const std::vector<queue::RateLimitStatus>& limits) {
  nlohmann::json queued = nlohmann::json::object();
  long long total = 0;
  for (const auto& [priority, count] : counts.queued) {
    queued[std::string(queue::to_string(priority))] = count;
    total += count;
  }
  nlohmann::json json = {{"queued", queued},         {"in_flight", counts.in_flight}, {"delayed", counts.delayed},
                         {"dead", counts.dead},      {"live_workers", counts.live_workers},
                         {"oldest_queued_age_s", counts.oldest_queued_age_s ? nlohmann::json(*counts.oldest_queued_age_s)
                                                                            : nlohmann::json(nullptr)}};
  json["rate_limits"] = rate_limits_json(limits);
  if (options.json) {
    print_json(json);
    return;
  }
  print_human(options,
              fmt::format("queued     {} (high {}, normal {}, low {}){}\nin flight  {}\nretrying   {}\ndead       {}\n"
                          "workers    {} live{}",
                          total, queued.value("high", 0LL), queued.value("normal", 0LL), queued.value("low", 0LL),
                          counts.oldest_queued_age_s ? fmt::format(", oldest {:.1f} s", *counts.oldest_queued_age_s)
                                                     : std::string(),
                          counts.in_flight, counts.delayed, counts.dead, counts.live_workers, rate_limits_text(limits)));
}

}  // namespace

void register_queue_commands(CLI::App& app, GlobalOptions& options) {
  auto submit_options = std::make_shared<SubmitOptions>();
  auto* submit_command = app.add_subcommand(
      "submit", "Create a run in a Redis store and queue it for the workers; prints the run id at once");
  submit_command->add_option("input", submit_options->run.input, "The PDF: a local path or an http(s) URL");
  submit_command->add_option("--brand", submit_options->run.brand,
                             "Brand id (looked up in the brand folders and the store) or path to a brand file");
  submit_command->add_option("--run-id", submit_options->run.run_id,
                             "Id for the run (default: generated from document, brand and time)")
      ->check(not_empty());
  submit_command->add_option("--run", submit_options->existing_run, "Queue this existing run instead of a new one");
  submit_command->add_option("--priority", submit_options->priority, "high, normal (default) or low");
  add_run_ttl_option(submit_command, submit_options->ttl);
  register_setup_options(submit_command, submit_options->run.setup);
  register_notify_option(submit_command, submit_options->run.notify_option);
  submit_command->footer(
      "Needs a Redis store (--store redis://... or PIPELINE_STORE). Exit 0 once queued; `pipeline worker`\n"
      "runs it; poll `HGETALL pipeline:status:<run_id>` or `pipeline status <run_id>`.");
  submit_command->callback([&app, &options, submit_options] { submit(app, options, *submit_options); });

  auto job_id = std::make_shared<std::string>();
  auto* jobs_command = app.add_subcommand("jobs", "The queue's jobs: list, show, retry, cancel");
  jobs_command->require_subcommand(1);
  jobs_command->add_subcommand("list", "Every job with its state, oldest first")->callback([&options] {
    auto store = open_queue_store(options, "jobs");
    print_jobs(options, service::open_job_queue(*store, "jobs")->list().value_or_throw());
  });
  auto* show_command = jobs_command->add_subcommand("show", "One job's fields");
  show_command->add_option("job_id", *job_id, "The job (its run's id)")->required();
  show_command->callback([&options, job_id] {
    auto store = open_queue_store(options, "jobs");
    print_job(options, find_job(*service::open_job_queue(*store, "jobs"), *job_id));
  });
  auto* retry_command = jobs_command->add_subcommand("retry", "Queue a failed, dead or cancelled job again");
  retry_command->add_option("job_id", *job_id, "The job (its run's id)")->required();
  retry_command->callback([&options, job_id] {
    auto store = open_queue_store(options, "jobs");
    auto job_queue = service::open_job_queue(*store, "jobs");
    const auto job = job_queue->retry(*job_id).value_or_throw();
    job_queue->update_status(job.run_id, {{"status", "queued"}, {"error", ""}}).value_or_throw();
    print_job(options, job);
  });
  auto* cancel_command = jobs_command->add_subcommand("cancel", "Cancel a job; a worker running it stops and saves");
  cancel_command->add_option("job_id", *job_id, "The job (its run's id)")->required();
  cancel_command->callback([&options, job_id] {
    auto store = open_queue_store(options, "jobs");
    auto job_queue = service::open_job_queue(*store, "jobs");
    const auto job = job_queue->cancel(*job_id).value_or_throw();
    job_queue->update_status(job.run_id, {{"status", "cancelled"}}).value_or_throw();
    print_job(options, job);
  });

  auto* queue_command =
      app.add_subcommand("queue", "The queue at a glance: queued per priority, in flight, dead, live workers, and each "
                                  "rate limit's budget, use and pauses");
  queue_command->callback([&options] {
    auto store = open_queue_store(options, "queue");
    const auto counts = service::open_job_queue(*store, "queue")->counts().value_or_throw();
    auto connection = store->new_connection();
    print_queue(options, counts, queue::rate_limit_statuses(*connection, store->keys().prefix()).value_or_throw());
  });
}

void register_worker_command(CLI::App& app, GlobalOptions& options) {
  auto worker = std::make_shared<WorkerArgs>();
  auto* command = app.add_subcommand("worker", "Take jobs from the queue of a Redis store and run them as resume does");
  command->add_option("--concurrency", worker->concurrency, "Jobs at once (default 1)")->check(CLI::PositiveNumber);
  command->add_option("--lease", worker->lease,
                      "How long a run's lease and a job last without renewal (renewed every third; default 30s)");
  command->add_flag("--once", worker->once, "Take one job, work on it within --deadline, then exit");
  command->add_option("--deadline", worker->deadline,
                      "Wall-clock budget (e.g. 50s): what does not fit is saved and the job goes back to the queue");
  command->add_option("--drain-timeout", worker->drain_timeout,
                      "On SIGTERM, how long the stages in flight may take to finish (default 25s); the worker exits "
                      "within it");
  command->add_option("--allow-local-sources", worker->allow_local_sources,
                      "Let source jobs name local files, only regular files under this folder (default: http(s) "
                      "URLs only)")
      ->type_name("DIR");
  add_run_ttl_option(command, worker->ttl);
  command->footer(
      "Exit 0 on SIGTERM after draining, and with --once when the job is done or the queue empty; 75 with\n"
      "--once when the job was left unfinished (it is back in the queue for the next invocation); 3 when the\n"
      "Redis server evicts keys (maxmemory-policy other than noeviction).\n\n"
      "Example: pipeline worker --store rediss://default:PASSWORD@host:6379 --concurrency 4");
  command->callback([&app, &options, worker] {
    service::WorkerOptions loop;
    loop.concurrency = worker->concurrency;
    loop.lease = parse_duration_option(worker->lease, "--lease");
    loop.drain_timeout = parse_duration_option(worker->drain_timeout, "--drain-timeout");
    loop.deadline = parse_deadline(worker->deadline);
    loop.once = worker->once;
    loop.ttl = parse_run_ttl(worker->ttl);
    if (!worker->allow_local_sources.empty()) {
      loop.sources = queue::local_sources_under(worker->allow_local_sources).value_or_throw();
    }
    loop.log = [](const std::string& line) { fmt::print(stderr, "pipeline worker: {}\n", line); };
    ProgressPrinter printer(options);
    loop.progress = std::ref(printer);
    const auto settings = run_settings(app, options);
    const int code = service::run_worker(settings, open_queue_store(options, "worker"), loop);
    if (code == util::exit_code(ErrorKind::deadline)) {
      throw FatalError(ErrorKind::deadline, "the job is unfinished and back in the queue");
    }
    if (code != 0) throw FatalError(ErrorKind::failed, "the worker could not take a job; see the lines above");
  });
}


}  // namespace pipeline::cli
