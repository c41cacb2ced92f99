#include "service/run_routes.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <set>
#include <variant>

#include <fmt/format.h>

#include "lib/notify/webhook_url.hpp"
#include "lib/util/error.hpp"
#include "lib/util/file_io.hpp"
#include "lib/util/hex.hpp"
#include "lib/util/json_text.hpp"
#include "lib/util/log.hpp"
#include "lib/util/text.hpp"
#include "lib/util/random_hex.hpp"
#include "lib/util/sha256.hpp"
#include "report/report.hpp"
#include "service/run_execution.hpp"
#include "service/run_view.hpp"
#include "stages/run_files.hpp"
#include "stages/stage_registry.hpp"

namespace pipeline::service {
namespace {

namespace fs = std::filesystem;
using util::ErrorKind;
using util::FatalError;

constexpr int k_default_list_limit = 20;
constexpr int k_max_list_limit = 100;

// What POST /v1/runs was asked for, whichever way it came.
struct RunRequest {
  std::string brand;
  std::string run_id;
  std::string priority = "normal";
  std::string notify;
  std::string source_url;     // JSON
  std::string upload;         // multipart: the PDF's bytes
  std::string upload_name;    // its file name as the client gave it
  std::string fingerprint;    // what an Idempotency-Key is held to
};

// A file name of ours for the client's: letters, digits, '.', '-' and '_' only, ending in .pdf.
std::string safe_upload_name(std::string_view given) {
  const auto slash = given.find_last_of("/\\");
  if (slash != std::string_view::npos) given.remove_prefix(slash + 1);
  std::string name;
  for (const char c : given.substr(0, 80)) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                       c == '_' || c == '.';
    name += plain ? c : '-';
  }
  while (!name.empty() && name.front() == '.') name.erase(0, 1);
  if (name.empty()) name = "document";
  if (name.size() < 4 || util::to_lower(name.substr(name.size() - 4)) != ".pdf") name += ".pdf";
  return name;
}

std::optional<Problem> read_multipart(const httplib::Request& request, RunRequest& run) {
  const auto field = [&](const std::string& name) -> std::optional<std::string> {
    if (!request.has_file(name)) return std::nullopt;
    return request.get_file_value(name).content;
  };
  if (!request.has_file("file")) return make_problem("invalid-request", "the form has no `file` field with the PDF");
  const auto file = request.get_file_value("file");
  run.upload = file.content;
  run.upload_name = file.filename;
  run.brand = field("brand").value_or("");
  run.run_id = field("run_id").value_or("");
  run.priority = field("priority").value_or("normal");
  run.notify = field("notify").value_or("");
  for (const auto& [name, part] : request.files) {
    if (name != "file" && name != "brand" && name != "run_id" && name != "priority" && name != "notify") {
      return make_problem("invalid-request", fmt::format("the form field `{}` is not one of file, brand, run_id, "
                                                         "priority and notify", util::escape_control(name)));
    }
  }
  run.fingerprint = util::sha256_hex(fmt::format("multipart\n{}\n{}\n{}\n{}\n{}\n{}", util::sha256_hex(run.upload),
                                                 run.upload_name, run.brand, run.run_id, run.priority, run.notify));
  return std::nullopt;
}

std::optional<Problem> read_json_request(const httplib::Request& request, RunRequest& run) {
  auto body = util::parse_json(request.body);
  if (!body || !body->is_object()) {
    return make_problem("invalid-request", "the body is not a JSON object: " +
                                               (body ? std::string("found another JSON value") : body.error().message));
  }
  for (const auto& [name, value] : body->items()) {
    if (name != "source_url" && name != "brand" && name != "run_id" && name != "priority" && name != "notify") {
      return make_problem("invalid-request", fmt::format("the field `{}` is not one of source_url, brand, run_id, "
                                                         "priority and notify", util::escape_control(name)));
    }
    if (!value.is_string()) return make_problem("invalid-request", fmt::format("the field `{}` must be a string", name));
  }
  run.source_url = body->value("source_url", "");
  run.brand = body->value("brand", "");
  run.run_id = body->value("run_id", "");
  run.priority = body->value("priority", "normal");
  run.notify = body->value("notify", "");
  if (run.source_url.empty()) return make_problem("invalid-request", "the body has no `source_url`");
  run.fingerprint = util::sha256_hex("json\n" + util::dump_json(*body));
  return std::nullopt;
}

// Checks what the client can fix before anything is made.
std::optional<Problem> check_run_request(const ServeContext& context, const RunRequest& run) {
  if (run.brand.empty()) return make_problem("invalid-request", "no `brand` was given");
  if (!brand::is_valid_brand_id(run.brand)) {
    return make_problem("unprocessable", fmt::format("`{}` is not a brand id ([a-z0-9][a-z0-9-]*)",
                                                     util::escape_control(run.brand)));
  }
  if (!queue::parse_priority(run.priority)) {
    return make_problem("unprocessable", "`priority` must be high, normal or low");
  }
  if (!run.run_id.empty()) {
    if (!checkpoints::is_valid_run_id(run.run_id)) {
      return make_problem("unprocessable", "`run_id` must be lowercase letters, digits, '.', '_' and '-', starting "
                                           "with a letter or digit");
    }
    if (context.store.exists(run.run_id) || [&] { auto found = context.board.find(run.run_id); return found && found->has_value(); }()) {
      return make_problem("conflict", fmt::format("run {} exists already", run.run_id));
    }
  }
  for (const auto* url : {&run.notify, &run.source_url}) {
    if (url->empty()) continue;
    const char* what = url == &run.notify ? "notify" : "source_url";
    auto parsed = notify::parse_webhook_url(*url);
    if (!parsed) return make_problem("unprocessable", fmt::format("`{}`: {}", what, parsed.error().message));
    if (auto allowed = notify::check_webhook_address(*parsed, context.settings.allow_private_urls); !allowed) {
      // The webhook check's words name webhooks; a document's address is refused for the same reason.
      const std::string reason = url == &run.notify ? allowed.error().message
                                                    : fmt::format("{} is a private address; documents are fetched "
                                                                  "only from public ones unless serve runs with "
                                                                  "--allow-private-urls",
                                                                  notify::redacted_url(*url));
      return make_problem("unprocessable", fmt::format("`{}`: {}", what, reason));
    }
  }
  try {
    (void)resolve_run_brand(context.settings.brands, context.settings.store_url, context.store, run.brand);
  } catch (const FatalError& error) {
    return make_problem("unprocessable", error.what());
  }
  return std::nullopt;
}

// A folder of this request's own for the upload, removed with it.
struct UploadFolder {
  fs::path path;
  UploadFolder() {
    std::error_code ignored;
    path = fs::temp_directory_path(ignored) / ("pipeline-upload-" + util::random_hex(8));
    fs::create_directories(path, ignored);
  }
  ~UploadFolder() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

// Makes the run (for an upload) or names it (for a URL) and queues its job.
// Returns the answer's body, or the problem.
std::variant<nlohmann::json, Problem> start_run(ServeContext& context, const RunRequest& run) {
  queue::Job job;
  job.priority = *queue::parse_priority(run.priority);
  job.notify = run.notify;
  if (!run.upload.empty()) {
    UploadFolder folder;
    const fs::path file = folder.path / safe_upload_name(run.upload_name);
    if (auto written = util::write_file_atomic(file, run.upload, util::Sync::later); !written) {
      return problem_from_error(written.error());
    }
    NewRunOptions options;
    options.input = file.string();
    options.brand = run.brand;
    options.run_id = run.run_id;
    if (!run.notify.empty()) options.notify = run.notify;
    try {
      auto created = create(context.settings, options, context.store);
      job.run_id = created.state.run_id;
    } catch (const FatalError& error) {
      return problem_from_error(util::fail(error.kind(), error.what()));
    }
    job.kind = queue::JobKind::run;
  } else {
    job.kind = queue::JobKind::source;
    job.source = run.source_url;
    job.brand = run.brand;
    job.run_id = run.run_id.empty() ? checkpoints::generate_run_id(fs::path(run.source_url).filename().string(), run.brand)
                                    : run.run_id;
  }
  job.job_id = job.run_id;
  if (auto queued = context.board.enqueue(job); !queued) return problem_from_error(queued.error());
  nlohmann::json body{{"run_id", job.run_id}, {"status", "queued"}, {"read_token", nullptr},
                      {"read_token_expires_at", nullptr}, {"links", run_links(job.run_id)}};
  if (context.tokens.enabled()) {
    const auto token = context.tokens.issue_read_token(job.run_id, context.options.read_token_ttl,
                                                       std::chrono::system_clock::now());
    body["read_token"] = token.token;
    body["read_token_expires_at"] = token.expires_at;
  }
  return body;
}

void post_run(ServeContext& context, const httplib::Request& request, httplib::Response& response) {
  if (!require_service(context, request, response)) return;
  if (context.stopping) return send_problem(response, make_problem("not-ready", "the server is stopping"));
  RunRequest run;
  std::optional<Problem> problem;
  const std::string type = util::to_lower(request.get_header_value("Content-Type"));
  if (request.is_multipart_form_data()) {
    problem = read_multipart(request, run);
  } else if (type.rfind("application/json", 0) == 0) {
    problem = read_json_request(request, run);
  } else {
    problem = make_problem("unsupported-media-type", "send multipart/form-data with the PDF in `file`, or "
                                                     "application/json with `source_url`");
  }
  if (!problem && run.upload.size() > context.options.max_upload_bytes) {
    problem = make_problem("payload-too-large", fmt::format("the PDF is larger than --max-upload-mb ({} MiB)",
                                                            context.options.max_upload_bytes >> 20));
  }
  if (problem) return send_problem(response, *problem);

  const std::string key = request.get_header_value("Idempotency-Key");
  const bool keyed = request.has_header("Idempotency-Key");
  if (keyed) {
    if (!is_valid_idempotency_key(key)) {
      return send_problem(response, make_problem("invalid-request", "Idempotency-Key must be 1 to 255 printable "
                                                                    "ASCII characters"));
    }
    auto claim = context.idempotency.claim(key, run.fingerprint);
    if (!claim) return send_problem(response, problem_from_error(claim.error()));
    switch (claim->outcome) {
      case KeyClaim::Outcome::replay:
        response.status = claim->answer.status;
        if (!claim->answer.location.empty()) response.set_header("Location", claim->answer.location);
        response.set_header("Idempotent-Replayed", "true");
        response.set_content(claim->answer.body, "application/json");
        return;
      case KeyClaim::Outcome::conflict:
        return send_problem(response, make_problem("idempotency-key-reused",
                                                   "this Idempotency-Key was used for a different request"));
      case KeyClaim::Outcome::in_progress:
        return send_problem(response, make_problem("conflict", "a request with this Idempotency-Key is being "
                                                               "answered; ask again in a moment"));
      case KeyClaim::Outcome::claimed:
        break;
    }
  }
  problem = check_run_request(context, run);
  std::variant<nlohmann::json, Problem> started = problem ? std::variant<nlohmann::json, Problem>(*problem)
                                                          : start_run(context, run);
  if (auto* failed = std::get_if<Problem>(&started)) {
    if (keyed) context.idempotency.release(key);
    return send_problem(response, *failed);
  }
  const auto& body = std::get<nlohmann::json>(started);
  const std::string location = body["links"]["self"];
  send_json(response, 202, body);
  response.set_header("Location", location);
  if (keyed) {
    if (auto kept = context.idempotency.complete(key, run.fingerprint, {202, location, response.body}); !kept) {
      util::log_verbose("could not keep the answer of an idempotent request: " + kept.error().message);
    }
  }
}

// The run's checkpoint (when it has one) and job (when it has one); nullopt
// when it has neither.
struct RunRecords {
  std::optional<checkpoints::RunState> state;
  std::optional<queue::Job> job;
  std::string live;
};

std::optional<RunRecords> find_run(const ServeContext& context, const std::string& run_id) {
  RunRecords records;
  if (!checkpoints::is_valid_run_id(run_id)) return std::nullopt;
  if (context.store.exists(run_id)) {
    auto state = context.store.read_checkpoint(run_id);
    if (state) {
      records.live = live_status(context.store, *state);
      records.state = std::move(*state);
    }
  }
  if (auto job = context.board.find(run_id)) records.job = std::move(*job);
  if (!records.state && !records.job) return std::nullopt;
  return records;
}

nlohmann::json describe(const std::string& run_id, const RunRecords& records, bool summary) {
  return run_document(run_id, records.state ? &*records.state : nullptr, records.job, records.live, summary);
}

void not_found(httplib::Response& response, const std::string& run_id) {
  send_problem(response, make_problem("not-found", fmt::format("there is no run {}", util::escape_control(run_id))));
}

void get_run(ServeContext& context, const httplib::Request& request, httplib::Response& response) {
  const std::string run_id = request.matches[1];
  if (!require_run_reader(context, request, response, run_id)) return;
  const auto records = find_run(context, run_id);
  if (!records) return not_found(response, run_id);
  send_json(response, 200, describe(run_id, *records, false));
}

void list_runs(ServeContext& context, const httplib::Request& request, httplib::Response& response) {
  if (!require_service(context, request, response)) return;
  int limit = k_default_list_limit;
  if (request.has_param("limit")) {
    try {
      limit = std::stoi(request.get_param_value("limit"));
    } catch (const std::exception&) {
      limit = 0;
    }
    if (limit < 1 || limit > k_max_list_limit) {
      return send_problem(response, make_problem("invalid-request", "limit must be 1 to 100"));
    }
  }
  const std::string status = request.get_param_value("status");
  static const std::set<std::string> k_api_statuses{"queued",     "running", "retrying",    "completed",
                                                    "failed",     "incomplete", "interrupted", "cancelled"};
  if (!status.empty() && !k_api_statuses.count(status)) {
    return send_problem(response, make_problem("invalid-request", "status must be one of queued, running, retrying, "
                                                                  "completed, failed, incomplete, interrupted and "
                                                                  "cancelled"));
  }
  // The cursor is the (created_at, run_id) of the last run of the page before, hex-encoded.
  std::string after_created;
  std::string after_id;
  if (request.has_param("cursor")) {
    const auto cursor = util::from_hex(request.get_param_value("cursor"));
    const auto bar = cursor ? cursor->find('|') : std::string::npos;
    if (bar == std::string::npos) return send_problem(response, make_problem("invalid-request", "the cursor is not one of ours"));
    after_created = cursor->substr(0, bar);
    after_id = cursor->substr(bar + 1);
  }
  std::vector<std::string> ids = context.store.list();
  if (auto jobs = context.board.list()) {
    for (const auto& job : *jobs) ids.push_back(job.run_id);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<std::pair<std::string, nlohmann::json>> rows;
  for (const auto& id : ids) {
    const auto records = find_run(context, id);
    if (!records) continue;
    auto summary = describe(id, *records, true);
    if (!status.empty() && summary["status"] != status) continue;
    const std::string created = summary["created_at"].is_string() ? summary["created_at"].get<std::string>() : "";
    rows.emplace_back(created, std::move(summary));
  }
  // Newest first; ties by id, so the order (and the cursor) is total.
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first > b.first;
    return a.second["run_id"].template get<std::string>() > b.second["run_id"].template get<std::string>();
  });
  nlohmann::json runs = nlohmann::json::array();
  std::optional<std::string> next;
  for (const auto& [created, summary] : rows) {
    const std::string id = summary["run_id"];
    if (!after_id.empty() && (created > after_created || (created == after_created && id >= after_id))) continue;
    if (static_cast<int>(runs.size()) == limit) {
      const auto& last = runs.back();
      next = util::to_hex(last["created_at"].is_string() ? last["created_at"].get<std::string>() + "|" + last["run_id"].get<std::string>()
                                                        : "|" + last["run_id"].get<std::string>());
      break;
    }
    runs.push_back(summary);
  }
  send_json(response, 200, {{"runs", runs}, {"next_cursor", next ? nlohmann::json(*next) : nlohmann::json(nullptr)}});
}

// One stored event as a Server-Sent Event: its sequence number, its name and its JSON on one line.
std::string sse_event(std::size_t sequence, const std::string& line) {
  const auto event = util::parse_json_or_discarded(line);
  std::string name = event.is_object() ? event.value("event", "message") : "message";
  name.erase(std::remove_if(name.begin(), name.end(), [](char c) { return c == '\n' || c == '\r'; }), name.end());
  std::string data = line;
  data.erase(std::remove_if(data.begin(), data.end(), [](char c) { return c == '\n' || c == '\r'; }), data.end());
  return fmt::format("id: {}\nevent: {}\ndata: {}\n\n", sequence, name, data);
}

void follow_events(ServeContext& context, const httplib::Request& request, httplib::Response& response) {
  const std::string run_id = request.matches[1];
  if (!require_run_reader(context, request, response, run_id)) return;
  if (!find_run(context, run_id)) return not_found(response, run_id);
  std::string last = request.get_header_value("Last-Event-ID");
  if (last.empty()) last = request.get_param_value("last_event_id");
  std::size_t next = 0;
  if (!last.empty()) {
    try {
      std::size_t used = 0;
      next = std::stoull(last, &used);
      if (used != last.size()) throw std::invalid_argument("trailing text");
    } catch (const std::exception&) {
      return send_problem(response, make_problem("invalid-request", "Last-Event-ID must be an event's id (a number)"));
    }
  }
  if (context.metrics.open_streams() >= static_cast<long long>(context.options.max_event_streams)) {
    response.set_header("Retry-After", "5");
    return send_problem(response, make_problem("too-many-streams", fmt::format("{} event streams are open; try again later",
                                                                              context.options.max_event_streams)));
  }
  context.metrics.stream_opened();
  struct Follow {
    std::size_t next = 0;
    util::Clock::time_point last_write = util::Clock::now();
    bool first = true;
  };
  auto follow = std::make_shared<Follow>();
  follow->next = next;
  response.set_header("X-Accel-Buffering", "no");
  ServeContext* shared = &context;
  response.set_chunked_content_provider(
      "text/event-stream",
      [shared, run_id, follow](std::size_t, httplib::DataSink& sink) {
        ServeContext& context = *shared;
        while (true) {
          if (context.stopping) {
            sink.done();
            return true;
          }
          const std::uint64_t rings = context.bell.rings();
          // Whether the run was over before this read: then what it reads is all there will be.
          const auto records = find_run(context, run_id);
          const bool over = records && is_final_api_status(describe(run_id, *records, true)["status"]);
          auto lines = context.store.read_events(run_id, follow->next);
          std::string out;
          if (follow->first) {
            // Tells EventSource how long to wait before it reconnects.
            out += "retry: 2000\n\n";
            follow->first = false;
          }
          bool finished = false;
          if (lines) {
            for (const auto& line : *lines) {
              out += sse_event(++follow->next, line);
              // A run that finished completed or failed has no more events until someone retries it.
              const auto event = util::parse_json_or_discarded(line);
              finished = event.is_object() && event.value("event", "") == "run_finished" &&
                         (event.value("status", "") == "completed" || event.value("status", "") == "failed");
            }
          }
          const auto now = util::Clock::now();
          if (out.empty() && now - follow->last_write >= context.options.sse_keepalive) out = ": keep-alive\n\n";
          if (!out.empty()) {
            if (!sink.write(out.data(), out.size())) return false;
            follow->last_write = now;
          }
          if (finished) {
            sink.done();
            return true;
          }
          // Every event stored before the run was seen over has been sent.
          if (over && lines && lines->empty()) {
            sink.done();
            return true;
          }
          if (!out.empty()) return true;
          if (!sink.is_writable()) return false;
          const auto until_keepalive = std::chrono::duration_cast<std::chrono::milliseconds>(
              context.options.sse_keepalive - (util::Clock::now() - follow->last_write));
          context.bell.wait(rings, std::clamp(until_keepalive, std::chrono::milliseconds(1), context.event_poll));
        }
      },
      [shared](bool) { shared->metrics.stream_closed(); });
}

// The artifact a download names; nullopt for an unknown name.
std::optional<std::pair<std::string, std::string>> download_artifact(const std::string& name) {
  if (name == "report.html") return std::pair<std::string, std::string>{stages::k_html_report_path, "text/html; charset=utf-8"};
  if (name == "report.md") return std::pair<std::string, std::string>{stages::k_report_path, "text/markdown; charset=utf-8"};
  if (name == "opportunities.json") return std::pair<std::string, std::string>{"opportunities.json", "application/json"};
  return std::nullopt;
}

void download(ServeContext& context, const httplib::Request& request, httplib::Response& response) {
  const std::string run_id = request.matches[1];
  const std::string name = request.matches[2];
  if (!require_run_reader(context, request, response, run_id)) return;
  if (!context.store.exists(run_id)) return not_found(response, run_id);
  auto state = context.store.read_checkpoint(run_id);
  if (!state) return send_problem(response, problem_from_error(state.error()));
  auto unavailable = [&](const std::string& why) {
    send_problem(response, make_problem("not-found", fmt::format("{} of run {} is not there: {}", name, run_id, why)));
  };
  if (name == "report.pdf" || name == "report.html" || name == "report.md") {
    if (auto complete = report::check_run_complete(*state); !complete) return unavailable(complete.error().message);
  }
  if (name == "report.pdf") {
    auto outputs = report::load_stage_outputs(context.store, *state);
    if (!outputs) return send_problem(response, problem_from_error(outputs.error()));
    auto pdf = report::render_pdf_report(*state, *outputs);
    if (!pdf) return send_problem(response, problem_from_error(pdf.error()));
    response.set_header("Content-Disposition", fmt::format("inline; filename=\"{}.pdf\"", run_id));
    response.set_content(std::move(*pdf), "application/pdf");
    return;
  }
  std::string path;
  std::string type = "application/json";
  if (name.rfind("stages/", 0) == 0) {
    const int number = name[7] - '0';
    if (state->stage(number).status != checkpoints::StageStatus::done) {
      return unavailable(fmt::format("stage {} is not done", number));
    }
    path = stages::output_path(*stages::all_stages().at(static_cast<std::size_t>(number - 1)));
  } else {
    const auto artifact = download_artifact(name);
    if (!artifact) return not_found(response, run_id);
    path = artifact->first;
    type = artifact->second;
    if (name == "opportunities.json" && state->stage(5).status != checkpoints::StageStatus::done) {
      return unavailable("stage 5 is not done");
    }
  }
  auto content = context.store.read_artifact(run_id, path);
  if (!content) return unavailable(content.error().message);
  if (name == "report.html") {
    // The report is the model's words: it runs no script and, sandboxed, shares nothing with the page's origin.
    response.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox");
  }
  response.set_content(std::move(*content), type);
}

void cancel_run(ServeContext& context, const httplib::Request& request, httplib::Response& response) {
  const std::string run_id = request.matches[1];
  if (!require_service(context, request, response)) return;
  const auto records = find_run(context, run_id);
  if (!records) return not_found(response, run_id);
  if (!records->job || queue::is_final(records->job->state)) {
    return send_problem(response, make_problem("conflict", fmt::format("run {} is {}: there is no job to cancel", run_id,
                                                                       describe(run_id, *records, true)["status"].get<std::string>())));
  }
  auto cancelled = context.board.cancel(run_id);
  if (!cancelled) return send_problem(response, make_problem("conflict", cancelled.error().message));
  context.bell.ring();
  send_json(response, 202, {{"run_id", run_id}, {"status", "cancelled"}});
}

void retry_run(ServeContext& context, const httplib::Request& request, httplib::Response& response) {
  const std::string run_id = request.matches[1];
  if (!require_service(context, request, response)) return;
  int from_stage = 0;
  if (!request.body.empty()) {
    auto body = util::parse_json(request.body);
    if (!body || !body->is_object()) return send_problem(response, make_problem("invalid-request", "the body is not a JSON object"));
    if (body->contains("from_stage")) {
      const auto& from = body->at("from_stage");
      if (!from.is_number_integer() || from.get<int>() < 1 || from.get<int>() > 5) {
        return send_problem(response, make_problem("unprocessable", "`from_stage` must be a stage number, 1 to 5"));
      }
      from_stage = from.get<int>();
    }
  }
  const auto records = find_run(context, run_id);
  if (!records) return not_found(response, run_id);
  util::Expected<void> queued;
  if (records->job) {
    auto retried = context.board.retry(run_id, from_stage);
    if (!retried) return send_problem(response, make_problem("conflict", retried.error().message));
  } else {
    // A run made outside serve (`pipeline run`) gets its first job.
    if (records->live == "running") {
      return send_problem(response, make_problem("conflict", fmt::format("run {} is running in another process", run_id)));
    }
    if (records->live == "completed" && from_stage == 0) {
      return send_problem(response, make_problem("conflict", fmt::format("run {} is completed; give from_stage to redo stages", run_id)));
    }
    queue::Job job;
    job.job_id = job.run_id = run_id;
    job.redo_from = from_stage;
    if (auto enqueued = context.board.enqueue(job); !enqueued) return send_problem(response, make_problem("conflict", enqueued.error().message));
  }
  context.bell.ring();
  send_json(response, 202, {{"run_id", run_id}, {"status", "queued"}});
}

}  // namespace

void install_run_routes(httplib::Server& server, ServeContext& context) {
  server.Post("/v1/runs", [&context](const httplib::Request& request, httplib::Response& response) {
    post_run(context, request, response);
  });
  server.Get("/v1/runs", [&context](const httplib::Request& request, httplib::Response& response) {
    list_runs(context, request, response);
  });
  server.Get(R"(/v1/runs/([^/]+))", [&context](const httplib::Request& request, httplib::Response& response) {
    get_run(context, request, response);
  });
  server.Get(R"(/v1/runs/([^/]+)/events)", [&context](const httplib::Request& request, httplib::Response& response) {
    follow_events(context, request, response);
  });
  server.Get(R"(/v1/runs/([^/]+)/(report\.html|report\.pdf|report\.md|opportunities\.json|stages/[1-5]\.json))",
             [&context](const httplib::Request& request, httplib::Response& response) {
               download(context, request, response);
             });
  server.Post(R"(/v1/runs/([^/]+)/cancel)", [&context](const httplib::Request& request, httplib::Response& response) {
    cancel_run(context, request, response);
  });
  server.Post(R"(/v1/runs/([^/]+)/retry)", [&context](const httplib::Request& request, httplib::Response& response) {
    retry_run(context, request, response);
  });
}

}  // namespace pipeline::service
