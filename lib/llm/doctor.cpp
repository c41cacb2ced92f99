#include "lib/llm/doctor.hpp"

#include <algorithm>
#include <cstdio>
#include <string>

#include "lib/llm/completion_decoder.hpp"
#include "lib/llm/http_chat_client.hpp"
#include "lib/llm/model_parameters.hpp"
#include "lib/llm/retry_policy.hpp"
#include "lib/util/json_text.hpp"

namespace pipeline::llm {
namespace {

using util::ErrorKind;

constexpr double k_models_timeout_s = 30;
constexpr double k_ping_timeout_s = 60;
constexpr int k_ping_max_tokens = 16;
constexpr const char* k_key_not_verified =
    "key not verified (GET /models needs no key on this provider); use --ping to check it";

// Interrupted, deadline and transient failures (retries spent) keep their
// kind, so doctor exits as every other command does; any other is for a person.
util::ErrorKind failure_kind_of(const util::Error& error) {
  const bool keeps_kind =
      error.kind == ErrorKind::interrupted || error.kind == ErrorKind::deadline || error.kind == ErrorKind::transient;
  return keeps_kind ? error.kind : ErrorKind::provider;
}

std::string fixed(double value, const char* format) {
  char text[48];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

DoctorCheck check_base_url(const ClientConfig& config) {
  DoctorCheck check{"base_url", true, config.base_url};
  const bool http = config.base_url.rfind("http://", 0) == 0 || config.base_url.rfind("https://", 0) == 0;
  if (!http || url_host(config.base_url).empty()) {
    check.ok = false;
    check.detail = "the base URL \"" + config.base_url +
                   "\" is not an http:// or https:// URL: set --base-url or PIPELINE_BASE_URL";
  }
  return check;
}

DoctorCheck check_key(const ClientConfig& config) {
  DoctorCheck check{"api_key", true, ""};
  if (!config.api_key.value.empty()) {
    check.detail = "from " + config.api_key.source + ": " + config.api_key.masked();
    check.data = {{"source", config.api_key.source}, {"masked", config.api_key.masked()}};
  } else if (is_local_url(config.base_url)) {
    check.detail = "none (fine for a local server)";
  } else {
    check.ok = false;
    check.detail = "no API key found: set PIPELINE_API_KEY (or OPENROUTER_API_KEY, OPENAI_API_KEY)";
  }
  return check;
}

// Whether GET /models refuses a request without the key (401 or 403), so
// that its success with the key shows the key works.
bool models_need_key(const ClientConfig& config, CurlTransport& transport, const util::CancelToken& cancel) {
  ClientConfig keyless = config;
  keyless.api_key = ApiKey{};
  auto listed = list_models(keyless, transport, cancel);
  return !listed && (listed.error().code == "http_401" || listed.error().code == "http_403");
}

DoctorCheck check_ping(const ClientConfig& config, const util::CancelToken& cancel) {
  ClientConfig ping_config = config;
  ping_config.stream = true;
  ping_config.max_retries = std::min(config.max_retries, 1);
  ping_config.request_timeout_s = std::min(config.request_timeout_s, k_ping_timeout_s);
  ping_config.record_dir.clear();
  ping_config.replay_dir.clear();
  HttpChatClient client(ping_config);
  ChatRequest request;
  request.model = config.model;
  request.messages = {Message{"user", "Reply with the single word: pong"}};
  request.temperature = 0;
  request.max_tokens = k_ping_max_tokens;
  const auto start = util::Clock::now();
  std::optional<double> first_token_s;
  Usage usage;
  CallObserver observer;
  observer.on_attempt = [&usage](const Attempt& attempt) { usage += attempt.usage; };
  observer.on_progress = [&](std::int64_t) {
    if (!first_token_s) first_token_s = util::seconds_since(start);
  };
  auto result = client.complete(request, cancel, observer);
  const double latency = util::seconds_since(start);
  DoctorCheck check{"ping", true, ""};
  // An answer cut by the ping's own tiny max_tokens (a model that thinks
  // first, say) still shows that the model answers.
  const bool cut_by_ping = !result && result.error().code == "truncated";
  if (!result && !cut_by_ping) {
    check.ok = false;
    check.failure_kind = failure_kind_of(result.error());
    check.detail = "a one-line completion failed: " + result.error().message;
    return check;
  }
  const std::string answer = result ? result->content : "";
  check.detail = cut_by_ping ? "answered, cut at the ping's max_tokens (" + std::to_string(k_ping_max_tokens) +
                                   "), in " + fixed(latency, "%.2f s")
                             : "answered \"" + one_line(answer, 40) + "\" in " + fixed(latency, "%.2f s");
  if (first_token_s) check.detail += " (first token after " + fixed(*first_token_s, "%.2f s") + ")";
  check.detail += ", " + std::to_string(usage.prompt_tokens) + " prompt + " +
                  std::to_string(usage.completion_tokens) + " completion tokens";
  if (usage.cost_usd) check.detail += ", " + fixed(*usage.cost_usd, "$%.6f");
  check.data = {{"latency_s", latency},
                {"first_token_s", first_token_s ? nlohmann::json(*first_token_s) : nlohmann::json(nullptr)},
                {"answer", answer},
                {"truncated", cut_by_ping},
                {"usage", usage.to_json()}};
  return check;
}

}  // namespace

nlohmann::json DoctorCheck::to_json() const { return {{"name", name}, {"ok", ok}, {"detail", detail}, {"data", data}}; }

bool DoctorReport::ok() const { return first_failure() == nullptr; }

const DoctorCheck* DoctorReport::first_failure() const {
  for (const auto& check : checks)
    if (!check.ok) return &check;
  return nullptr;
}

nlohmann::json DoctorReport::to_json() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& check : checks) list.push_back(check.to_json());
  return {{"ok", ok()}, {"checks", list}};
}

bool model_is_listed(const std::vector<std::string>& listed, const std::string& model) {
  const auto found = [&listed](const std::string& id) {
    return std::find(listed.begin(), listed.end(), id) != listed.end();
  };
  if (found(model)) return true;
  return model.find(':') == std::string::npos && found(model + ":latest");
}

util::Expected<nlohmann::json> fetch_models_list(const ClientConfig& config, CurlTransport& transport,
                                                 const util::CancelToken& cancel) {
  std::string base = config.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  HttpRequest request;
  request.method = "GET";
  request.url = base + "/models";
  request.headers = request_headers(config);
  request.connect_timeout_s = config.connect_timeout_s;
  request.total_timeout_s = std::min(config.request_timeout_s, k_models_timeout_s);
  const auto stopped = [&cancel] {
    return cancel.stop_reason() == util::StopReason::deadline
               ? util::fail(ErrorKind::deadline, "the time budget ran out while listing the models")
               : util::fail(ErrorKind::interrupted, "interrupted while listing the models");
  };
  if (cancel.stop_requested()) return stopped();
  std::string body;
  const auto outcome = transport.perform(
      request,
      [&body](std::string_view bytes, int) {
        body.append(bytes);
        return 0;
      },
      cancel);
  if (outcome.stop != HttpOutcome::Stop::none) return stopped();
  if (outcome.curl_code != 0)
    return util::fail(ErrorKind::provider, config.api_key.redact("could not reach " + request.url + ": " +
                                                                 outcome.curl_error + " (check --base-url)"));
  auto json = util::parse_json_or_discarded(body);
  if (outcome.status != 200) {
    const std::string said = json.is_discarded() ? "" : provider_error_message(json);
    std::string message = outcome.status == 404
                              ? "GET " + request.url + " answered HTTP 404: check --base-url (it usually ends in /v1)"
                              : provider_error_advice(outcome.status, said, config.api_key.source, config.model,
                                                      config.base_url);
    return util::fail(ErrorKind::provider, config.api_key.redact(message),
                      "http_" + std::to_string(outcome.status));
  }
  if (json.is_discarded() || !json.contains("data") || !json["data"].is_array())
    return util::fail(ErrorKind::provider, "GET " + request.url + " did not answer an OpenAI-style model list");
  return std::move(json["data"]);
}

util::Expected<std::vector<std::string>> list_models(const ClientConfig& config, CurlTransport& transport,
                                                     const util::CancelToken& cancel) {
  auto data = fetch_models_list(config, transport, cancel);
  if (!data) return data.error();
  std::vector<std::string> ids;
  for (const auto& model : *data)
    if (model.is_object() && model.contains("id") && model["id"].is_string()) ids.push_back(model["id"]);
  return ids;
}

// What doctor says of the provider profile the requests will follow.
DoctorCheck check_profile(const ClientConfig& config) {
  const ProviderProfile profile = provider_profile(config, config.model);
  std::string refused;
  for (const auto& keyword : profile.refused_keywords) refused += (refused.empty() ? "" : ", ") + keyword;
  DoctorCheck check{"profile", true, ""};
  check.detail = profile.dialect + " (" + profile.chosen_by + "): structured output from the " +
                 std::string(config.forced_rung ? to_string(*config.forced_rung) : to_string(profile.first_rung)) +
                 " rung" + (config.forced_rung ? " (forced)" : ", stepping down when refused") +
                 "; keywords moved into descriptions: " + (refused.empty() ? "none" : refused) +
                 "; json_object " + (profile.json_object ? "yes" : "no") + "; " + profile.note;
  check.data = profile.to_json();
  if (config.forced_rung) check.data["forced_rung"] = to_string(*config.forced_rung);
  return check;
}

// What doctor says of the parameters the model is sent (model_parameters.hpp).
DoctorCheck check_parameters(const ClientConfig& config) {
  const ModelParameters parameters = configured_parameters(config, config.model);
  DoctorCheck check{"parameters", true, ""};
  check.detail = parameters.describe() + "; a parameter refused anyway is fixed and asked again once";
  check.data = parameters.to_json();
  return check;
}

DoctorReport run_doctor(const ClientConfig& config, bool ping, const util::CancelToken& cancel) {
  DoctorReport report;
  report.checks.push_back(check_base_url(config));
  const bool url_usable = report.checks.back().ok;
  DoctorCheck model{"model", !config.model.empty(), config.model};
  if (!model.ok) model.detail = "no model set: use --model or PIPELINE_MODEL";
  report.checks.push_back(model);
  report.checks.push_back(check_key(config));
  report.checks.push_back(check_profile(config));
  report.checks.push_back(check_parameters(config));
  if (!url_usable) return report;

  CurlTransport transport;
  const auto start = util::Clock::now();
  auto models = list_models(config, transport, cancel);
  DoctorCheck listing{"models", models.has_value(), ""};
  if (!models) {
    listing.detail = models.error().message;
    listing.failure_kind = failure_kind_of(models.error());
    report.checks.push_back(listing);
    return report;
  }
  listing.detail = "GET /models answered in " + fixed(util::seconds_since(start), "%.2f s") + " with " +
                   std::to_string(models->size()) + " models";
  listing.data = {{"count", models->size()}};
  report.checks.push_back(listing);

  if (!ping && !config.api_key.value.empty() && !models_need_key(config, transport, cancel)) {
    for (auto& check : report.checks)
      if (check.name == "api_key") {
        check.detail += "; " + std::string(k_key_not_verified);
        check.data["verified"] = false;
      }
  }

  const bool listed = model_is_listed(*models, config.model);
  DoctorCheck model_listed{"model_listed", listed,
                           listed ? config.model + " is available"
                                  : "the server does not list the model " + config.model +
                                        ": check --model or PIPELINE_MODEL"};
  report.checks.push_back(model_listed);
  if (ping) report.checks.push_back(check_ping(config, cancel));
  return report;
}

}  // namespace pipeline::llm
