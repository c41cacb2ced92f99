#include "lib/llm/http_chat_client.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>

#include "lib/llm/backoff_sleep.hpp"
#include "lib/llm/completion_decoder.hpp"
#include "lib/llm/provider_usage.hpp"
#include "lib/llm/schema_lowering.hpp"
#include "lib/llm/token_estimate.hpp"
#include "lib/llm/spend_guard.hpp"
#include "lib/llm/structured_output.hpp"
#include "lib/llm/wire_order.hpp"
#include "lib/util/json_text.hpp"
#include "lib/util/log.hpp"

namespace pipeline::llm {
namespace {

using util::ErrorKind;

// The most bytes kept of an error body, or of a streamed answer's raw bytes
// once it is known to be an event stream.
constexpr std::size_t k_max_kept_body = 64 * 1024;

util::Error stop_error(util::StopReason reason) {
  switch (reason) {
    case util::StopReason::deadline:
      return util::fail(ErrorKind::deadline, "the time budget ran out during a model request", "deadline");
    case util::StopReason::cancelled:
      return util::fail(ErrorKind::interrupted, "the model request was cancelled", "cancelled");
    default:
      return util::fail(ErrorKind::interrupted, "the model request was interrupted by a stop signal", "interrupted");
  }
}

std::string chat_url(const std::string& base_url) {
  std::string url = base_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url + "/chat/completions";
}

// The messages whose tokens a request's cost is estimated from: those sent,
// plus a strict schema, which providers count as prompt tokens too.
std::vector<Message> priced_messages(const ChatRequest& request, const std::vector<Message>& messages,
                                     StructuredRung rung) {
  if (!request.schema || schema_in_prompt(rung)) return messages;
  std::vector<Message> priced = messages;
  priced.push_back(Message{"system", request.schema->dump()});
  return priced;
}

// What one attempt cost, to settle its reservation: the provider's figure (or
// its tokens at the configured price); nothing for an HTTP error answer,
// which providers do not bill; unknown otherwise (a stream cut or abandoned
// mid-way may have been billed), so that the reservation counts as spent.
std::optional<double> attempt_cost(const Attempt& attempt) {
  if (attempt.usage.cost_usd) return attempt.usage.cost_usd;
  const bool error_status = attempt.http_status != 0 && (attempt.http_status < 200 || attempt.http_status >= 300);
  if (error_status) return 0.0;
  return std::nullopt;
}

// A message's text as sent: its content, or the text of its content blocks.
std::string content_text(const nlohmann::ordered_json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string text;
  if (content.is_array())
    for (const auto& block : content)
      if (block.is_object() && block.contains("text") && block["text"].is_string()) text += block["text"].get<std::string>();
  return text;
}

// estimate_prompt_tokens of a request body's messages.
std::int64_t estimate_body_prompt_tokens(const nlohmann::ordered_json& body) {
  std::vector<Message> messages;
  for (const auto& message : body.value("messages", nlohmann::ordered_json::array()))
    messages.push_back({message.value("role", ""), content_text(message.value("content", nlohmann::ordered_json()))});
  return estimate_prompt_tokens(messages);
}

std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g s", seconds);
  return text;
}

}  // namespace

std::vector<std::string> request_headers(const ClientConfig& config) {
  std::vector<std::string> headers = {
      "Content-Type: application/json",
      std::string("User-Agent: pipeline/") + PIPELINE_VERSION,
      "HTTP-Referer: " + config.app_url,
      "X-Title: " + config.app_title,
  };
  if (!config.api_key.value.empty()) headers.push_back("Authorization: Bearer " + config.api_key.value);
  return headers;
}

ProviderProfile provider_profile(const ClientConfig& config, const std::string& model) {
  if (auto profile = choose_profile(config.schema_dialect, config.base_url, model)) return *profile;
  return detect_profile(config.base_url, model);
}

ModelParameters configured_parameters(const ClientConfig& config, const std::string& model) {
  if (auto it = config.model_parameters.find(model); it != config.model_parameters.end()) return it->second;
  return table_parameters(config.base_url, model);
}

nlohmann::ordered_json chat_request_body(const ChatRequest& request, const std::vector<Message>& messages,
                                         const ClientConfig& config, const ProviderProfile& profile,
                                         StructuredRung rung, const ModelParameters& parameters) {
  nlohmann::ordered_json body;
  body["model"] = request.model.empty() ? config.model : request.model;
  body["messages"] = nlohmann::ordered_json::array();
  for (const auto& message : messages) {
    const std::string role = message.role == "system" ? parameters.system_role : message.role;
    if (message.cache_break && profile.cache_control) {
      nlohmann::ordered_json block = {{"type", "text"}, {"text", message.content}, {"cache_control", {{"type", "ephemeral"}}}};
      body["messages"].push_back({{"role", role}, {"content", nlohmann::ordered_json::array({block})}});
    } else {
      body["messages"].push_back({{"role", role}, {"content", message.content}});
    }
  }
  if (profile.prompt_cache_key && !request.cache_key.empty()) body["prompt_cache_key"] = request.cache_key;
  if (parameters.temperature) body["temperature"] = request.temperature;
  body[parameters.token_field] = request.max_tokens;
  const bool openrouter = is_openrouter_url(config.base_url);
  const std::string& effort = request.reasoning_effort.empty() ? config.reasoning_effort : request.reasoning_effort;
  if (!effort.empty() && parameters.reasoning_effort) {
    // OpenRouter's own form; "exclude" keeps the thinking off the wire unless it is kept.
    if (openrouter) {
      body["reasoning"] = {{"effort", effort}};
      if (!config.keep_reasoning) body["reasoning"]["exclude"] = true;
    } else {
      body["reasoning_effort"] = effort;
    }
  }
  if (config.stream) {
    body["stream"] = true;
    if (profile.stream_usage) body["stream_options"] = {{"include_usage", true}};
  }
  if (request.schema) {
    if (rung == StructuredRung::strict_schema || rung == StructuredRung::schema) {
      const bool strict = rung == StructuredRung::strict_schema;
      const nlohmann::json schema =
          strict ? lower_schema(*request.schema, profile) : structural_schema(*request.schema, profile);
      body["response_format"] = {
          {"type", "json_schema"},
          {"json_schema", {{"name", request.schema_name}, {"strict", strict}, {"schema", in_authored_order(schema)}}}};
    } else if (rung == StructuredRung::json_object) {
      body["response_format"] = {{"type", "json_object"}};
    }
    // OpenRouter would otherwise route to a provider that silently ignores
    // response_format; this way it answers 404 and the ladder moves on.
    if (openrouter && body.contains("response_format")) body["provider"] = {{"require_parameters", true}};
  }
  // OpenRouter reports the cost in usage only when asked; other providers may reject unknown fields.
  if (openrouter) body["usage"] = {{"include", true}};
  return body;
}

// The outcome of one HTTP attempt: the attempt as reported, what the answer
// said, and whether another attempt may help.
struct HttpChatClient::Answer {
  Attempt attempt;
  DecodedAnswer decoded;
  std::string error_body;  // the body of an HTTP error answer, at most k_max_kept_body bytes
  bool retryable = false;
  std::optional<double> retry_after_s;
  ProviderRateHeaders rate_headers;
  util::StopReason stop = util::StopReason::none;
};

struct HttpChatClient::CallState {
  const util::CancelToken& cancel;
  const CallObserver& observer;
  std::string model;
  ProviderProfile profile;
  ChatResult result;
  int attempts = 0;
  int unreachable = 0;  // attempts that could not connect at all (DNS, refused connection)
  double wait_before_next = 0;
  StructuredRung rung = StructuredRung::prompt;  // of the latest attempt, when the request has a schema
};

HttpChatClient::HttpChatClient(ClientConfig config)
    : m_config(std::move(config)),
      m_retry{m_config.backoff_base_s, m_config.backoff_max_s, m_config.max_retry_after_s},
      m_limit(m_config.max_concurrency),
      // With a limiter, --rpm is its sliding-window budget, shared beyond this
      // client; the gate then only spreads a Retry-After across the client.
      m_gate(m_config.rate_limiter ? 0 : m_config.requests_per_minute),
      m_rate_limiter(m_config.rate_limiter ? m_config.rate_limiter : std::make_shared<LocalRateLimiter>()),
      m_ladder(m_config.forced_rung, m_config.learned_rungs) {}

util::Expected<ChatResult> HttpChatClient::complete(const ChatRequest& request, const util::CancelToken& cancel,
                                                    const CallObserver& observer) {
  const std::string model = request.model.empty() ? m_config.model : request.model;
  CallState call{cancel, observer, model, provider_profile(m_config, model), {}, 0, 0, 0, StructuredRung::prompt};
  // Re-asks after invalid answers follow the request's own messages on any rung.
  std::vector<Message> reasks;
  for (int ask = 0;; ++ask) {
    auto answer = ask_with_retries(request, reasks, call);
    if (!answer) return answer.error();
    Attempt attempt = answer->attempt;
    const DecodedAnswer& decoded = answer->decoded;
    if (decoded.finish_reason == "length") {
      attempt.error_class = "truncated";
      attempt.message = "the answer was cut off at max_tokens";
      report(attempt, call);
      return util::fail(ErrorKind::failed,
                        "the model's answer was cut off at max_tokens (" + std::to_string(request.max_tokens) +
                            "): allow more tokens or ask for a shorter answer",
                        "truncated");
    }
    // A refusal (delta.refusal, message.refusal) ends the call: re-asks and retries get the same no.
    if (decoded.refusal && decoded.content.empty()) {
      attempt.error_class = "refused";
      attempt.message = m_config.api_key.redact("the model refused: " + one_line(*decoded.refusal, 500));
      report(attempt, call);
      return util::fail(ErrorKind::failed, attempt.message, "refused");
    }
    StructuredCheck check;
    if (request.schema) {
      check = check_structured_answer(decoded.content, *request.schema, request);
      attempt.error_class = check.error_class;
      attempt.message = check.problem;
    }
    const bool reasks_spent = ask >= m_config.max_invalid_reasks;
    // Phrasing that is still off after every re-ask is kept with a warning:
    // the answer's contract holds, and failing it would throw away what it cost.
    const bool style_only = check.error_class == "style_violation";
    if (!check.error_class.empty()) attempt.then = !reasks_spent ? "reask" : style_only ? "kept" : "";
    report(attempt, call);
    if (check.error_class.empty() || (style_only && reasks_spent)) {
      call.result.content = decoded.content;
      if (m_config.keep_reasoning) call.result.reasoning = decoded.reasoning;
      call.result.json = std::move(check.json);
      call.result.finish_reason = decoded.finish_reason;
      call.result.model = decoded.model.empty() ? call.model : decoded.model;
      if (request.schema) call.result.rung = std::string(to_string(call.rung));
      if (style_only) call.result.warnings = std::move(check.style_problems);
      return std::move(call.result);
    }
    if (reasks_spent) {
      return util::fail(ErrorKind::failed,
                        "the model's answer was still invalid after " + std::to_string(ask) + " re-asks: " +
                            check.problem,
                        "invalid_output");
    }
    util::log_verbose("re-asking the model: " + check.problem);
    reasks.push_back(Message{"assistant", decoded.content});
    reasks.push_back(Message{"user", reask_text(check)});
  }
}

util::Expected<HttpChatClient::Answer> HttpChatClient::ask_with_retries(const ChatRequest& request,
                                                                       const std::vector<Message>& reasks,
                                                                       CallState& call) {
  const auto& guard = m_config.spend_guard;
  for (int retry = 0;; ++retry) {
    if (auto reason = call.cancel.stop_reason(); reason != util::StopReason::none) return stop_error(reason);
    // Until the model has answered once, its requests go one at a time, so
    // that a refused parameter is refused once, not once per parallel request.
    std::unique_ptr<util::KeyHold> parameter_probe;
    if (!parameters_settled(call.model)) {
      if (!m_parameter_probes.acquire(call.model, call.cancel)) return stop_error(call.cancel.stop_reason());
      parameter_probe = std::make_unique<util::KeyHold>(m_parameter_probes, call.model);
    }
    const ModelParameters parameters = parameters_of(call.model);
    std::optional<StructuredLadder::Turn> turn;
    if (request.schema) {
      turn = m_ladder.begin(call.model, call.profile, call.cancel);
      if (!turn) return stop_error(call.cancel.stop_reason());
      call.rung = turn->rung;
    }
    std::vector<Message> messages = messages_to_send(request, call.rung);
    messages.insert(messages.end(), reasks.begin(), reasks.end());
    const nlohmann::ordered_json body =
        chat_request_body(request, messages, m_config, call.profile, call.rung, parameters);
    if (!m_limit.acquire(call.cancel)) return stop_error(call.cancel.stop_reason());
    std::optional<Answer> sent;
    {
      ConcurrencySlot slot(m_limit);
      // The turn is taken with the slot held, so the request starts the moment
      // it gets its turn: --rpm spacing and Retry-After pauses then hold for the
      // real HTTP starts, which a turn taken before queueing for a slot would
      // not promise. Holding the slot meanwhile delays no one: every other
      // request needs a turn from the same gate too.
      if (!m_gate.wait_turn(call.cancel)) return stop_error(call.cancel.stop_reason());
      // Then a turn from the budget of the account, which other clients and
      // processes may share: charged the estimated prompt and all of max_tokens.
      RateRequest rate{rate_scope(m_config.base_url, call.model, m_config.api_key.value),
                       {request.requests_per_minute > 0 ? request.requests_per_minute : m_config.requests_per_minute,
                        request.tokens_per_minute > 0 ? request.tokens_per_minute : m_config.tokens_per_minute},
                       estimate_body_prompt_tokens(body) + std::max(0, request.max_tokens),
                       m_config.rate_priority};
      auto ticket = m_rate_limiter->acquire(rate, call.cancel);
      if (!ticket) return ticket.error();
      if (!*ticket) return stop_error(call.cancel.stop_reason());
      // Reserved last, just before sending, so that no waiting call holds
      // money that a call able to start could use.
      double reserved = 0;
      if (guard) {
        auto reservation = guard->reserve(call.model, priced_messages(request, messages, call.rung), request.max_tokens);
        if (!reservation) return reservation.error();
        reserved = *reservation;
      }
      sent = attempt_once(body, call);
      if (guard) guard->settle(reserved, attempt_cost(sent->attempt));
      settle_rate(rate, **ticket, *sent, request.max_tokens);
    }
    Answer& answer = *sent;
    // The server asked to slow down: every request of this client waits, not just this one.
    if (answer.retry_after_s) m_gate.pause_for(std::min(*answer.retry_after_s, m_config.max_retry_after_s));
    const int status = answer.attempt.http_status;
    if (status >= 200 && status < 300) {
      std::lock_guard lock(m_parameters_mutex);
      m_settled.insert(call.model);
      call.result.parameters = parameters.to_json();
    } else if (status >= 400 && status < 500 && answer.attempt.error_class != "context_length") {
      // A refused parameter is fixed before the ladder is asked: OpenRouter's
      // 404 for parameters no endpoint takes reads like a refused rung too.
      ModelParameters fixed = parameters;
      const auto sent = nlohmann::json::parse(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                                              nullptr, false);
      if (auto fix = learn_from_refusal(fixed, status, answer.error_body, sent, is_openrouter_url(m_config.base_url))) {
        {
          std::lock_guard lock(m_parameters_mutex);
          m_parameters[call.model] = fixed;
        }
        const auto said = util::parse_json_or_discarded(answer.error_body);
        answer.attempt.error_class = "parameter_refused";
        answer.attempt.then = "fix_parameter";
        answer.attempt.message = m_config.api_key.redact(
            "the provider refused the parameter " + fix->parameter + " of " + call.model + " (HTTP " +
            std::to_string(status) + (said.is_discarded() ? "" : ": " + provider_error_message(said)) +
            "); asking again with it " + fix->change);
        util::log_verbose(answer.attempt.message);
        report(answer.attempt, call);
        --retry;
        continue;
      }
    }
    if (turn) {
      if (status >= 200 && status < 300) {
        m_ladder.answered(call.model, *turn);
      } else if (!answer.retryable && answer.attempt.error_class != "context_length" &&
                 is_structured_output_refusal(status, answer.error_body)) {
        if (auto next = m_ladder.refused(call.model, *turn, call.profile, answer.error_body)) {
          // A refused rung is no failed attempt: the next rung is asked at once.
          answer.attempt.error_class = "structured_output_refused";
          answer.attempt.then = "next_rung";
          // The provider's own words, not the advice for a refused request: nothing is for a person to fix.
          const auto said = util::parse_json_or_discarded(answer.error_body);
          answer.attempt.message = m_config.api_key.redact(
              "the provider refused structured output on the " + std::string(to_string(turn->rung)) + " rung (HTTP " +
              std::to_string(status) + (said.is_discarded() ? "" : ": " + provider_error_message(said)) +
              "); asking on the " + std::string(to_string(*next)) + " rung");
          util::log_verbose(answer.attempt.message);
          report(answer.attempt, call);
          --retry;
          continue;
        }
      }
      turn.reset();
    }
    if (answer.attempt.error_class.empty()) return std::move(answer);
    const bool retries_left = retry < m_config.max_retries;
    if (answer.stop == util::StopReason::none && answer.retryable && retries_left) answer.attempt.then = "retry";
    if (answer.attempt.http_status == 0 && answer.attempt.error_class == "connection") ++call.unreachable;
    report(answer.attempt, call);
    if (answer.stop != util::StopReason::none) return stop_error(answer.stop);
    if (!answer.retryable) return util::fail(ErrorKind::provider, answer.attempt.message, answer.attempt.error_class);
    if (!retries_left) {
      if (call.unreachable == call.attempts) {
        // No attempt reached the provider at all: the network or the base URL, not the provider, is the problem.
        return util::fail(ErrorKind::transient,
                          "could not reach the provider at " + m_config.base_url + " in " +
                              std::to_string(call.attempts) + " attempts (" + answer.attempt.message +
                              "): check the network and --base-url, and run `pipeline doctor`; without a provider, "
                              "scripts/run-example.sh --offline runs the example against the built-in fake model",
                          "unreachable");
      }
      return util::fail(ErrorKind::transient,
                        "the model request failed " + std::to_string(retry + 1) +
                            " times; last: " + answer.attempt.message,
                        answer.attempt.error_class);
    }
    const double wait = m_retry.wait_before_retry(retry + 1, answer.retry_after_s);
    if (auto left = call.cancel.seconds_left(); left && *left < wait) return stop_error(util::StopReason::deadline);
    util::log_verbose("model request failed (" + answer.attempt.message + "); retrying in " + seconds_text(wait));
    if (auto reason = sleep_unless_stopped(wait, call.cancel); reason != util::StopReason::none)
      return stop_error(reason);
    call.wait_before_next = wait;
  }
}

HttpChatClient::Answer HttpChatClient::attempt_once(const nlohmann::ordered_json& body, CallState& call) {
  Answer answer;
  answer.attempt.number = ++call.attempts;
  answer.attempt.wait_before_s = call.wait_before_next;
  call.wait_before_next = 0;

  HttpRequest request;
  request.url = chat_url(m_config.base_url);
  request.headers = request_headers(m_config);
  // Invalid UTF-8 from anywhere (a model's answer, a file) is replaced, never thrown.
  request.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  request.connect_timeout_s = m_config.connect_timeout_s;
  request.total_timeout_s = m_config.request_timeout_s;
  request.first_progress_timeout_s = m_config.stream ? m_config.first_token_timeout_s : 0;
  request.idle_timeout_s = m_config.stream ? m_config.idle_timeout_s : 0;

  StreamDecoder decoder;
  std::string whole_body;
  bool streamed_events = false;
  const auto& on_progress = call.observer.on_progress;
  BodySink sink = [&](std::string_view bytes, int status) -> int {
    if (m_config.stream && status >= 200 && status < 300) {
      // Kept whole until an event arrives, in case the server ignored "stream"
      // and sends a whole JSON answer of any size.
      if (!streamed_events || whole_body.size() < k_max_kept_body) whole_body.append(bytes);
      const int events = decoder.feed(bytes);
      if (events > 0) streamed_events = true;
      if (events > 0 && on_progress) on_progress(decoder.streamed_chars() / 4);
      return events;
    }
    if (whole_body.size() < k_max_kept_body || (status >= 200 && status < 300)) whole_body.append(bytes);
    return 0;
  };
  const HttpOutcome outcome = m_transport.perform(request, sink, call.cancel);

  Attempt& attempt = answer.attempt;
  answer.rate_headers = parse_rate_headers(outcome.rate_headers);
  attempt.http_status = outcome.status;
  attempt.duration_s = outcome.duration_s;
  const bool success_status = outcome.status >= 200 && outcome.status < 300;
  if (success_status) {
    if (m_config.stream) {
      decoder.finish();
      answer.decoded = decoder.answer();
      const bool nothing_streamed = !answer.decoded.done && answer.decoded.finish_reason.empty() &&
                                    answer.decoded.content.empty() && !answer.decoded.error;
      const bool event_stream =
          outcome.content_type == "text/event-stream" || whole_body.find("data:") != std::string::npos;
      if (nothing_streamed && outcome.curl_code == 0 && outcome.stop == HttpOutcome::Stop::none && !event_stream) {
        if (auto whole = decode_completion_body(whole_body); !whole.malformed) answer.decoded = whole;
      }
    } else if (outcome.curl_code == 0 && outcome.stop == HttpOutcome::Stop::none) {
      answer.decoded = decode_completion_body(whole_body);
    }
    attempt.usage = usage_from_provider(answer.decoded.usage, call.model, m_config.prices);
    if (answer.decoded.usage.is_null() && (answer.decoded.done || !answer.decoded.finish_reason.empty())) {
      // An answer came but its tokens were not reported: they are unknown, not 0.
      attempt.usage.unreported_calls = 1;
      attempt.usage.estimated_prompt_tokens = estimate_body_prompt_tokens(body);
      attempt.usage.estimated_completion_tokens = estimate_tokens(answer.decoded.content);
    }
  }
  answer.retryable = true;

  if (outcome.stop == HttpOutcome::Stop::cancelled) {
    // The transport abandons a transfer only when the token has stopped.
    answer.stop = call.cancel.stop_reason();
    attempt.error_class = answer.stop == util::StopReason::deadline ? "deadline" : "interrupted";
    attempt.message = "the request was abandoned: " + stop_error(answer.stop).message;
  } else if (outcome.stop == HttpOutcome::Stop::first_progress) {
    attempt.error_class = "first_token_timeout";
    attempt.message = "nothing of the answer arrived within " + seconds_text(m_config.first_token_timeout_s) +
                      " (--first-token-timeout)";
  } else if (outcome.stop == HttpOutcome::Stop::idle) {
    attempt.error_class = "idle_timeout";
    attempt.message = "no content arrived for " + seconds_text(m_config.idle_timeout_s) + " (--idle-timeout)";
  } else if (outcome.curl_code != 0) {
    if (CurlTransport::is_timeout(outcome.curl_code)) {
      attempt.error_class = "timeout";
      attempt.message = outcome.status == 0 && outcome.duration_s < m_config.request_timeout_s
                            ? "could not connect to " + m_config.base_url + ": " + outcome.curl_error
                            : "the request took longer than " + seconds_text(m_config.request_timeout_s) +
                                  " (--request-timeout)";
    } else if (CurlTransport::is_permanent_failure(outcome.curl_code)) {
      answer.retryable = false;
      attempt.error_class = "connection";
      attempt.message = "cannot use the base URL " + m_config.base_url + " (check --base-url): " + outcome.curl_error;
    } else {
      attempt.error_class = outcome.status == 0 ? "connection" : "cut";
      attempt.message = outcome.status == 0 ? "could not reach " + m_config.base_url + ": " + outcome.curl_error
                                            : "the connection broke during the answer: " + outcome.curl_error;
    }
  } else if (!success_status) {
    answer.error_body = whole_body;
    auto error_json = util::parse_json_or_discarded(whole_body);
    const std::string said = error_json.is_discarded() ? "" : provider_error_message(error_json);
    attempt.error_class = "http_" + std::to_string(outcome.status);
    if (outcome.retry_after) answer.retry_after_s = parse_retry_after(*outcome.retry_after, std::time(nullptr));
    // A 4xx-class code inside a 5xx answer (llama.cpp) is decided by the code:
    // the request itself is at fault, and another attempt gets the same answer.
    const int inner = provider_error_status(error_json);
    const int status = outcome.status >= 500 && inner >= 400 && inner < 500 ? inner : outcome.status;
    answer.retryable = is_retryable_status(status, answer.retry_after_s.has_value());
    if (is_context_length_error(said)) {
      answer.retryable = false;
      attempt.error_class = "context_length";
      attempt.message = context_length_advice(said);
    } else if (answer.retryable) {
      attempt.message = "HTTP " + std::to_string(outcome.status) + (said.empty() ? "" : ": " + said);
    } else {
      attempt.message =
          provider_error_advice(status, said, m_config.api_key.source, call.model, m_config.base_url) +
          (status != outcome.status ? " (sent as HTTP " + std::to_string(outcome.status) + ")" : "");
    }
  } else if (answer.decoded.finish_reason == "length") {
    // Truncated, even when an error chunk followed (OpenRouter's "Token limit
    // reached"): complete() reports it with the max_tokens advice.
  } else if (answer.decoded.error && is_context_length_error(*answer.decoded.error)) {
    answer.retryable = false;
    attempt.error_class = "context_length";
    attempt.message = context_length_advice(*answer.decoded.error);
  } else if (answer.decoded.error) {
    attempt.error_class = "stream_error";
    attempt.message = "the provider reported an error during the answer: " + *answer.decoded.error;
  } else if (answer.decoded.malformed) {
    attempt.error_class = "bad_response";
    attempt.message = "the provider's answer was not the expected JSON";
  } else if (!answer.decoded.done && answer.decoded.finish_reason.empty()) {
    attempt.error_class = "cut";
    attempt.message = "the answer stream ended before it was complete";
  } else if (answer.decoded.finish_reason.empty() && answer.decoded.content.empty() && !answer.decoded.refusal) {
    // "[DONE]" after nothing (llama.cpp after its `error:` line, say) is not an empty answer.
    attempt.error_class = "empty_answer";
    attempt.message = "the answer ended with neither content nor a finish reason";
  }
  attempt.message = m_config.api_key.redact(attempt.message);
  return answer;
}

ModelParameters HttpChatClient::parameters_of(const std::string& model) {
  std::lock_guard lock(m_parameters_mutex);
  if (auto it = m_parameters.find(model); it != m_parameters.end()) return it->second;
  return configured_parameters(m_config, model);
}

bool HttpChatClient::parameters_settled(const std::string& model) {
  {
    std::lock_guard lock(m_parameters_mutex);
    if (m_settled.count(model) > 0 || m_config.model_parameters.count(model) > 0) return true;
  }
  // Parameters the table knows need no first answer to be trusted.
  return table_parameters(m_config.base_url, model).known_from.rfind("the table", 0) == 0;
}

void HttpChatClient::settle_rate(const RateRequest& rate, const RateTicket& ticket, const Answer& answer,
                                 int max_tokens) {
  if (answer.rate_headers.any()) m_rate_limiter->learn(rate.scope, answer.rate_headers);
  const int status = answer.attempt.http_status;
  if (status == 429) {
    // The provider refused: every request of the scope waits, in every
    // process that shares the limiter, until it said (Retry-After), else
    // until the exhausted limit resets.
    std::optional<std::chrono::milliseconds> wait;
    if (answer.retry_after_s) {
      wait = std::chrono::milliseconds(
          static_cast<std::int64_t>(std::ceil(std::min(*answer.retry_after_s, m_config.max_retry_after_s) * 1000)));
    } else {
      const auto& said = answer.rate_headers;
      if (said.remaining_requests == 0 && said.reset_requests) wait = said.reset_requests;
      if (said.remaining_tokens == 0 && said.reset_tokens) wait = std::max(wait.value_or(std::chrono::milliseconds(0)), *said.reset_tokens);
    }
    if (wait) m_rate_limiter->pause(rate.scope, *wait);
  }
  if (status >= 400 && status < 500) {
    // A refused request used nothing of the budget but its place.
    m_rate_limiter->settle(rate.scope, ticket, 0);
  } else if (status >= 200 && status < 300 && answer.attempt.usage.unreported_calls == 0 &&
             answer.attempt.usage.prompt_tokens > 0) {
    // The prompt's estimate gives way to the tokens counted; max_tokens stays
    // charged, as OpenAI counts it against the limit whatever the answer used.
    const auto& usage = answer.attempt.usage;
    m_rate_limiter->settle(rate.scope, ticket,
                           usage.prompt_tokens + std::max<std::int64_t>(max_tokens, usage.completion_tokens));
  }
}

void HttpChatClient::report(const Attempt& attempt, CallState& call) {
  call.result.attempts.push_back(attempt);
  call.result.usage += attempt.usage;
  if (call.observer.on_attempt) call.observer.on_attempt(attempt);
}

}  // namespace pipeline::llm
