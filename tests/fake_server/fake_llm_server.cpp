#include "tests/fake_server/fake_llm_server.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <stdexcept>
#include <thread>

#include <httplib.h>

#include "lib/llm/structured_output.hpp"
#include "tests/fake_server/prompt_cache.hpp"

namespace pipeline::testing {
namespace {

constexpr double k_prompt_price_per_token = 1.0 / 1e6;
constexpr double k_completion_price_per_token = 2.0 / 1e6;
// What a cached prompt token costs, as a share of the prompt price: OpenAI
// reads at a half (or less), Anthropic reads at a tenth and writes at 1.25.
constexpr double k_openai_read_share = 0.5;
constexpr double k_anthropic_read_share = 0.1;
constexpr double k_anthropic_write_share = 1.25;
// A request part short enough to be an instruction, not data (stage 4's
// holds the brand profile, which names values only by chance).
constexpr std::size_t k_most_hint_chars = 1000;
constexpr std::size_t k_piece_chars = 4;  // one streamed "token"
constexpr auto k_keepalive_interval = std::chrono::milliseconds(200);
// The thinking a reasoning model reports for every answer, in tokens.
constexpr std::int64_t k_reasoning_tokens = 64;

std::uint64_t fnv1a(const std::string& text) {
  std::uint64_t hash = 1469598103934665603ULL;
  for (unsigned char c : text) hash = (hash ^ c) * 1099511628211ULL;
  return hash;
}

std::string error_body(const std::string& message, const std::string& type, const nlohmann::json& code) {
  return nlohmann::json{{"error", {{"message", message}, {"type", type}, {"code", code}}}}.dump();
}

// Splits an answer into short pieces on UTF-8 boundaries, as a model streams tokens.
std::vector<std::string> pieces_of(const std::string& text) {
  std::vector<std::string> pieces;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = std::min(text.size(), start + k_piece_chars);
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
    pieces.push_back(text.substr(start, end - start));
    start = end;
  }
  return pieces;
}

std::string default_text(std::uint64_t seed) {
  static const char* const k_openings[] = {"The refill club", "A weekly pantry box", "The morning oat ritual",
                                           "A shared garden market"};
  return std::string(k_openings[seed % 4]) +
         " works because it removes a small daily friction: people get what they need without planning ahead.";
}

std::optional<nlohmann::json> schema_of(const nlohmann::json& body) {
  const auto format = body.find("response_format");
  if (format != body.end() && format->is_object() && format->value("type", "") == "json_schema") {
    const auto& wrapper = (*format)["json_schema"];
    if (wrapper.is_object() && wrapper.contains("schema")) return wrapper["schema"];
  }
  if (auto messages = body.find("messages"); messages != body.end() && messages->is_array()) {
    for (const auto& message : *messages) {
      if (auto schema = llm::schema_from_prompt(content_text(message.value("content", nlohmann::json())))) return schema;
    }
  }
  return std::nullopt;
}

std::string chunk(const std::string& model, const nlohmann::json& delta, const nlohmann::json& finish_reason) {
  nlohmann::json json = {{"id", "chatcmpl-fake"},
                         {"object", "chat.completion.chunk"},
                         {"created", 0},
                         {"model", model},
                         {"choices", {{{"index", 0}, {"delta", delta}, {"finish_reason", finish_reason}}}}};
  return "data: " + json.dump() + "\n\n";
}

}  // namespace

namespace {

// `text` without its data blocks (a line "<tag ...>" through the line
// "</tag>", as stages/prompt_inputs.hpp's data_block writes them): what is
// left is the request's own instruction.
std::string without_data_blocks(std::string text) {
  std::size_t at = 0;
  while ((at = text.find('<', at)) != std::string::npos) {
    std::size_t name_end = at + 1;
    while (name_end < text.size() && (std::islower(static_cast<unsigned char>(text[name_end])) || text[name_end] == '_')) ++name_end;
    const bool line_start = at == 0 || text[at - 1] == '\n';
    const auto open_end = text.find(">\n", name_end);
    if (!line_start || name_end == at + 1 || open_end == std::string::npos || text.find('\n', name_end) < open_end) {
      ++at;
      continue;
    }
    const std::string closing = "\n</" + text.substr(at + 1, name_end - at - 1) + ">";
    const auto close = text.find(closing, open_end);
    if (close == std::string::npos) break;
    text.erase(at, close + closing.size() - at);
  }
  return text;
}

}  // namespace

std::string request_hint(const nlohmann::json& messages) {
  if (!messages.is_array()) return {};
  // A correction of the answer before it: the client's re-ask and stage 5's
  // request to write a repeating card again. A model keeps the task it corrects.
  const auto corrects = [](const std::string& text) {
    return text.rfind("Your previous answer was not usable", 0) == 0 || text.rfind("Read across the five cards", 0) == 0;
  };
  int users = 0;
  bool after_answer = false;
  std::string last;
  for (const auto& message : messages) {
    if (!message.is_object()) continue;
    const std::string role = message.value("role", std::string());
    if (role == "assistant") after_answer = true;
    if (role != "user") continue;
    const std::string text = message.contains("content") ? content_text(message["content"]) : std::string();
    if (after_answer && corrects(text)) continue;
    ++users;
    last = without_data_blocks(text);
  }
  return users >= 2 && last.size() < k_most_hint_chars ? last : std::string();
}

nlohmann::json fake_usage(const nlohmann::json& messages, const std::string& answer) {
  std::size_t prompt_chars = 0;
  if (messages.is_array())
    for (const auto& message : messages)
      if (message.is_object() && message.contains("content")) prompt_chars += content_text(message["content"]).size();
  const auto prompt_tokens = static_cast<std::int64_t>(std::max<std::size_t>(1, prompt_chars / 4));
  const auto completion_tokens = static_cast<std::int64_t>(std::max<std::size_t>(1, answer.size() / 4));
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", 0}}},
          {"completion_tokens_details", {{"reasoning_tokens", 0}}},
          {"cost", static_cast<double>(prompt_tokens) * k_prompt_price_per_token +
                       static_cast<double>(completion_tokens) * k_completion_price_per_token}};
}

struct FakeLlmServer::Impl {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::atomic<bool> stopping{false};
  std::atomic<int> in_flight{0};
  std::atomic<int> max_in_flight{0};
  std::shared_ptr<ProviderLimits> limits;  // guarded by mutex

  mutable std::mutex mutex;
  std::deque<ScriptedReply> queue;
  Pace pace;
  std::vector<std::string> models{"test-model"};
  std::string key;
  bool models_need_key = true;
  bool report_cost = true;
  Dialect dialect = Dialect::openai;
  bool list_prices = false;
  bool list_parameters = true;
  std::vector<nlohmann::json> requests;
  std::vector<std::string> raw_requests;
  std::vector<int> client_ports;
  std::vector<std::pair<std::string, std::string>> last_headers;
  PromptCache cache;
  std::vector<nlohmann::json> usages;

  // Counts a request as in flight for as long as the guard lives.
  struct InFlight {
    Impl& impl;
    explicit InFlight(Impl& owner) : impl(owner) {
      const int now = ++impl.in_flight;
      int seen = impl.max_in_flight.load();
      while (now > seen && !impl.max_in_flight.compare_exchange_weak(seen, now)) {
      }
    }
    // Set when the request is answered: its prompt joins the cache as the answer ends.
    std::optional<PromptStream> prompt;
    ~InFlight() {
      if (prompt) impl.cache.complete(std::move(*prompt));
      --impl.in_flight;
    }
  };

  // Sleeps unless the server is stopping; false when it is.
  bool pause(std::chrono::milliseconds duration) {
    const auto until = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < until) {
      if (stopping) return false;
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          std::chrono::milliseconds(10), until - std::chrono::steady_clock::now()));
    }
    return !stopping;
  }

  static std::chrono::milliseconds token_gap(const Pace& pace) {
    if (pace.tokens_per_second <= 0) return std::chrono::milliseconds(0);
    return std::chrono::milliseconds(static_cast<long>(1000.0 / pace.tokens_per_second));
  }

  Dialect current_dialect() const {
    std::lock_guard lock(mutex);
    return dialect;
  }

  Pace current_pace() const {
    std::lock_guard lock(mutex);
    return pace;
  }

  bool authorised(const httplib::Request& request, httplib::Response& response) {
    std::lock_guard lock(mutex);
    if (key.empty() || request.get_header_value("Authorization") == "Bearer " + key) return true;
    response.status = 401;
    response.set_content(error_body("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
                         "application/json");
    return false;
  }

  std::optional<ScriptedReply> take_reply(const std::string& body) {
    std::lock_guard lock(mutex);
    for (auto it = queue.begin(); it != queue.end(); ++it) {
      if (it->match.empty() || body.find(it->match) != std::string::npos) {
        ScriptedReply reply = *it;
        queue.erase(it);
        return reply;
      }
    }
    return std::nullopt;
  }

  void handle_models(const httplib::Request& request, httplib::Response& response) {
    bool need_key = true;
    {
      std::lock_guard lock(mutex);
      need_key = models_need_key;
    }
    if (need_key && !authorised(request, response)) return;
    nlohmann::json data = nlohmann::json::array();
    {
      std::lock_guard lock(mutex);
      for (const auto& model : models) {
        nlohmann::json entry = {{"id", model}, {"object", "model"}, {"owned_by", "fake"}};
        // OpenRouter's shape: US dollars per token, as strings; the same prices as usage.cost.
        if (list_prices) entry["pricing"] = {{"prompt", "0.000001"}, {"completion", "0.000002"}, {"request", "0"}};
        if (dialect == Dialect::openrouter && list_parameters)
          entry["supported_parameters"] = openrouter_supported_parameters(model);
        data.push_back(std::move(entry));
      }
    }
    response.set_content(nlohmann::json{{"object", "list"}, {"data", data}}.dump(), "application/json");
  }

  std::shared_ptr<ProviderLimits> provider_limits() {
    std::lock_guard lock(mutex);
    return limits;
  }

  void handle_chat(const httplib::Request& request, httplib::Response& response) {
    auto guard = std::make_shared<InFlight>(*this);
    auto body = nlohmann::json::parse(request.body, nullptr, false);
    {
      std::lock_guard lock(mutex);
      last_headers.clear();
      for (const auto& [name, value] : request.headers) {
        std::string lower = name;
        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
        last_headers.emplace_back(lower, value);
      }
      if (!body.is_discarded()) requests.push_back(body);
      raw_requests.push_back(request.body);
      client_ports.push_back(request.remote_port);
    }
    if (body.is_discarded() || !body.is_object() || !body.contains("messages")) {
      response.status = 400;
      response.set_content(error_body("The request body is not valid JSON.", "invalid_request_error", nullptr),
                           "application/json");
      return;
    }
    if (!authorised(request, response)) return;
    const std::string model = body.value("model", "");
    {
      std::lock_guard lock(mutex);
      if (std::find(models.begin(), models.end(), model) == models.end()) {
        response.status = 404;
        response.set_content(error_body("The model `" + model + "` does not exist.", "invalid_request_error",
                                        "model_not_found"),
                             "application/json");
        return;
      }
    }
    // A request the played provider refuses never reaches a scripted reply.
    const Dialect played = current_dialect();
    const nlohmann::json supported =
        played == Dialect::openrouter ? openrouter_supported_parameters(model) : nlohmann::json();
    if (auto refusal = parameter_refusal(played, body, supported)) {
      response.status = refusal->status;
      response.set_content(refusal->body, "application/json");
      return;
    }
    if (auto refusal = refusal_for(played, body)) {
      response.status = refusal->status;
      response.set_content(refusal->body, "application/json");
      return;
    }
    if (!answer_within_limits(provider_limits().get(), body, response)) return;
    const ScriptedReply reply = take_reply(request.body).value_or(ScriptedReply{});
    if (reply.fault == FaultKind::echo_authorization) {
      std::string presented = request.get_header_value("Authorization");
      if (presented.rfind("Bearer ", 0) == 0) presented = presented.substr(7);
      response.status = reply.status >= 400 ? reply.status : 401;
      response.set_content(error_body("Incorrect API key provided: " + presented + ".", "invalid_request_error",
                                      "invalid_api_key"),
                           "application/json");
      return;
    }
    if (reply.fault == FaultKind::raw) {
      raw_answer(response, reply, guard);
      return;
    }
    if (reply.fault == FaultKind::http_status) {
      response.status = reply.status;
      if (reply.retry_after) response.set_header("Retry-After", *reply.retry_after);
      response.set_content(error_body("Fake error with status " + std::to_string(reply.status) + ".",
                                      reply.status >= 500 ? "server_error" : "invalid_request_error", reply.status),
                           "application/json");
      return;
    }

    const std::uint64_t seed = fnv1a(body["messages"].dump());
    std::string content;
    if (reply.content) {
      content = *reply.content;
    } else if (reply.fault == FaultKind::invalid_json) {
      content = "Here is the answer you asked for: {\"title\": \"Fresh refill club\", \"pattern\": ";
    } else if (auto schema = schema_of(body)) {
      content = generate_from_schema(*schema, seed, request_hint(body["messages"])).dump();
    } else {
      content = default_text(seed);
    }
    std::string finish_reason = "stop";
    if (reply.fault == FaultKind::truncated) {
      content = content.substr(0, content.size() / 2);
      finish_reason = "length";
    }
    nlohmann::json usage = fake_usage(body["messages"], content);
    // A reasoning model bills its thinking as completion tokens, and says how many were thinking.
    const bool thinking = reasons(played, body);
    std::string reasoning;
    if (thinking) {
      usage["completion_tokens_details"]["reasoning_tokens"] = k_reasoning_tokens;
      usage["completion_tokens"] = usage["completion_tokens"].get<std::int64_t>() + k_reasoning_tokens;
      usage["total_tokens"] = usage["total_tokens"].get<std::int64_t>() + k_reasoning_tokens;
      usage["cost"] = usage["cost"].get<double>() + k_reasoning_tokens * k_completion_price_per_token;
      const auto asked = body.value("reasoning", nlohmann::json::object());
      if (played == Dialect::openrouter && asked.is_object() && asked.contains("effort") &&
          !asked.value("exclude", false))
        reasoning = "First I weigh what the document shows against what the brand sells. ";
    }
    apply_cache(body, usage, *guard);
    {
      std::lock_guard lock(mutex);
      if (!report_cost) usage.erase("cost");
      if (!reports_usage(dialect)) usage = nullptr;
      usages.push_back(usage);
    }
    if (body.value("stream", false) && reply.fault != FaultKind::ignore_stream) {
      const bool include_usage = body.contains("stream_options") && body["stream_options"].value("include_usage", false);
      stream_answer(response, model, content, reasoning, finish_reason, include_usage ? usage : nlohmann::json(), reply,
                    guard, played == Dialect::openrouter);
    } else {
      whole_answer(response, model, content, finish_reason, usage, reply);
    }
  }

  // The usage of a request under the cache rules played: the prompt counted
  // with its schema, as providers count it, and what it read from (and wrote
  // to) the cache in the fields and at the prices of the provider played.
  void apply_cache(const nlohmann::json& body, nlohmann::json& usage, InFlight& guard) {
    const CacheRules rules = cache.rules();
    if (rules == CacheRules::none) return;
    PromptStream stream = prompt_stream(body);
    const CacheOutcome outcome = cache.lookup(stream);
    const std::int64_t prompt = std::max<std::int64_t>(1, stream.tokens());
    const std::int64_t completion = usage["completion_tokens"].get<std::int64_t>();
    const std::int64_t fresh = prompt - outcome.read_tokens - outcome.write_tokens;
    usage["prompt_tokens"] = prompt;
    usage["total_tokens"] = prompt + completion;
    if (rules == CacheRules::openai) {
      usage["prompt_tokens_details"] = {{"cached_tokens", outcome.read_tokens}};
      usage["cost"] = (static_cast<double>(fresh) + k_openai_read_share * static_cast<double>(outcome.read_tokens)) *
                          k_prompt_price_per_token +
                      static_cast<double>(completion) * k_completion_price_per_token;
    } else {
      usage.erase("prompt_tokens_details");
      usage["cache_read_input_tokens"] = outcome.read_tokens;
      usage["cache_creation_input_tokens"] = outcome.write_tokens;
      usage["cost"] = (static_cast<double>(fresh) + k_anthropic_read_share * static_cast<double>(outcome.read_tokens) +
                       k_anthropic_write_share * static_cast<double>(outcome.write_tokens)) *
                          k_prompt_price_per_token +
                      static_cast<double>(completion) * k_completion_price_per_token;
    }
    guard.prompt = std::move(stream);
  }

  // Sends a scripted reply's pieces exactly as given, `stall` apart, so that
  // tests can present any frame a real server sends and space it in time.
  void raw_answer(httplib::Response& response, const ScriptedReply& reply, std::shared_ptr<InFlight> guard) {
    response.status = reply.status;
    response.set_chunked_content_provider(
        reply.content_type, [this, reply, guard, next = std::size_t{0}](std::size_t, httplib::DataSink& sink) mutable {
          if (next >= reply.raw_pieces.size()) {
            sink.done();
            return true;
          }
          if (next > 0 && !pause(reply.stall)) return false;
          // The request stops counting before its last bytes leave: a client that has them may send the next one.
          if (next + 1 == reply.raw_pieces.size()) guard.reset();
          const std::string& piece = reply.raw_pieces[next++];
          return sink.write(piece.data(), piece.size());
        });
  }

  void whole_answer(httplib::Response& response, const std::string& model, const std::string& content,
                    const std::string& finish_reason, const nlohmann::json& usage, const ScriptedReply& reply) {
    const auto pieces = pieces_of(content);
    const Pace pace_now = current_pace();
    const auto wait = pace_now.first_token + token_gap(pace_now) * static_cast<long>(pieces.size());
    if (!pause(reply.fault == FaultKind::ignore_stream ? wait : wait + reply.stall)) return;
    nlohmann::json answer = {{"id", "chatcmpl-fake"}, {"object", "chat.completion"}, {"created", 0},
                             {"model", model},        {"usage", usage}};
    if (usage.is_null()) answer.erase("usage");
    answer["choices"] = {{{"index", 0},
                          {"message", {{"role", "assistant"}, {"content", content}}},
                          {"finish_reason", finish_reason}}};
    if (reply.fault == FaultKind::error_chunk_openai) {
      answer = nlohmann::json::parse(error_body("The upstream model failed.", "server_error", nullptr));
    } else if (reply.fault == FaultKind::error_chunk_openrouter) {
      answer["error"] = {{"code", 502}, {"message", "Provider returned error"}};
      answer["choices"][0]["finish_reason"] = "error";
    }
    const std::string text = answer.dump();
    if (reply.fault == FaultKind::cut_mid_stream) {
      response.set_content_provider(text.size(), "application/json",
                                    [text](std::size_t, std::size_t, httplib::DataSink& sink) {
                                      sink.write(text.data(), text.size() / 2);
                                      return false;
                                    });
      return;
    }
    if (reply.fault == FaultKind::ignore_stream) {
      constexpr std::size_t k_parts = 8;
      const auto gap = reply.stall / static_cast<long>(k_parts);
      response.set_content_provider(
          text.size(), "application/json", [this, text, gap](std::size_t offset, std::size_t, httplib::DataSink& sink) {
            if (!pause(gap)) return false;
            const std::size_t part = std::max<std::size_t>(1, text.size() / k_parts + 1);
            return sink.write(text.data() + offset, std::min(part, text.size() - offset));
          });
      return;
    }
    response.set_content(text, "application/json");
  }

  // Streams `content` in pieces after the pace's silence; OpenRouter fills
  // the silence with keep-alive comments, and sends `reasoning` first as
  // delta.reasoning.
  void stream_answer(httplib::Response& response, const std::string& model, const std::string& content,
                     const std::string& reasoning, const std::string& finish_reason, const nlohmann::json& usage,
                     const ScriptedReply& reply, std::shared_ptr<InFlight> guard, bool keep_alive_while_thinking) {
    response.set_header("Cache-Control", "no-cache");
    auto pieces = pieces_of(content);
    const Pace pace_now = current_pace();
    response.set_chunked_content_provider(
        "text/event-stream", [this, model, pieces, reasoning, finish_reason, usage, reply, guard, pace_now,
                              keep_alive_while_thinking](std::size_t, httplib::DataSink& sink) mutable {
          auto send = [&sink](const std::string& text) { return sink.write(text.data(), text.size()); };
          auto keep_alive_for = [&](std::chrono::milliseconds span) {
            const auto until = std::chrono::steady_clock::now() + span;
            while (std::chrono::steady_clock::now() < until) {
              if (!send(": OPENROUTER PROCESSING\n\n") ||
                  !pause(std::min<std::chrono::milliseconds>(k_keepalive_interval, span)))
                return false;
            }
            return true;
          };
          if (reply.stall.count() > 0 && !keep_alive_for(reply.stall)) return false;
          if (keep_alive_while_thinking && pace_now.first_token.count() > 0) {
            // An empty first chunk, as OpenRouter sends one, is no progress either.
            if (!send(chunk(model, {{"role", "assistant"}, {"content", ""}}, nullptr))) return false;
            if (!keep_alive_for(pace_now.first_token)) return false;
          } else if (!pause(pace_now.first_token)) {
            return false;
          }
          if (!reasoning.empty() && !send(chunk(model, {{"role", "assistant"}, {"content", ""}, {"reasoning", reasoning}}, nullptr)))
            return false;
          const std::size_t half = pieces.size() / 2;
          for (std::size_t i = 0; i < pieces.size(); ++i) {
            if (i == half && reply.fault == FaultKind::cut_mid_stream) return false;
            if (i == half && reply.fault == FaultKind::error_chunk_openai) {
              guard.reset();
              send("data: " + error_body("The upstream model failed.", "server_error", nullptr) + "\n\n");
              sink.done();
              return true;
            }
            if (i == half && reply.fault == FaultKind::error_chunk_openrouter) {
              nlohmann::json error_chunk = nlohmann::json::parse(chunk(model, {{"content", ""}}, "error").substr(6));
              error_chunk["error"] = {{"code", 502}, {"message", "Provider returned error"}};
              guard.reset();
              send("data: " + error_chunk.dump() + "\n\n");
              send("data: [DONE]\n\n");
              sink.done();
              return true;
            }
            nlohmann::json delta = {{"content", pieces[i]}};
            if (i == 0) delta["role"] = "assistant";
            if (!send(chunk(model, delta, nullptr))) return false;
            if (i + 1 < pieces.size() && !pause(token_gap(pace_now))) return false;
          }
          send(chunk(model, nlohmann::json::object(), finish_reason));
          if (!usage.is_null()) {
            nlohmann::json usage_chunk = {{"id", "chatcmpl-fake"}, {"object", "chat.completion.chunk"},
                                          {"created", 0}, {"model", model},
                                          {"choices", nlohmann::json::array()}, {"usage", usage}};
            send("data: " + usage_chunk.dump() + "\n\n");
          }
          guard.reset();
          send("data: [DONE]\n\n");
          sink.done();
          return true;
        });
  }
};

FakeLlmServer::FakeLlmServer(int port) : m_impl(std::make_unique<Impl>()) {
  Impl& impl = *m_impl;
  impl.server.new_task_queue = [] { return new httplib::ThreadPool(24); };
  impl.server.set_keep_alive_timeout(1);
  // Small streamed writes must not wait for delayed acknowledgements, or every
  // answer would seem 40 ms slower than the model made it.
  impl.server.set_tcp_nodelay(true);
  // The paths also match an absolute request target ("POST http://openrouter.ai/api/v1/..."), as a client
  // sends it through an HTTP proxy: tests reach a provider's host name that way with no DNS look-up.
  impl.server.Post(R"((?:http://[^/]+)?(?:/api)?/v1/chat/completions)",
                   [&impl](const httplib::Request& request, httplib::Response& response) {
                     impl.handle_chat(request, response);
                   });
  impl.server.Get(R"((?:http://[^/]+)?(?:/api)?/v1/models)", [&impl](const httplib::Request& request,
                                                                    httplib::Response& response) {
    impl.handle_models(request, response);
  });
  if (port == 0) {
    impl.port = impl.server.bind_to_any_port("127.0.0.1");
  } else {
    impl.port = impl.server.bind_to_port("127.0.0.1", port) ? port : -1;
  }
  if (impl.port <= 0) throw std::runtime_error("the fake LLM server could not bind a port on 127.0.0.1");
  impl.thread = std::thread([&impl] { impl.server.listen_after_bind(); });
  // stop() does nothing before the accept loop runs, so a server destroyed at
  // once would never end: wait for the loop.
  while (!impl.server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

FakeLlmServer::~FakeLlmServer() {
  m_impl->stopping = true;
  m_impl->server.stop();
  if (m_impl->thread.joinable()) m_impl->thread.join();
}

std::string FakeLlmServer::base_url() const { return "http://127.0.0.1:" + std::to_string(m_impl->port) + "/v1"; }

int FakeLlmServer::port() const { return m_impl->port; }

void FakeLlmServer::enqueue(ScriptedReply reply) {
  std::lock_guard lock(m_impl->mutex);
  m_impl->queue.push_back(std::move(reply));
}

void FakeLlmServer::set_pace(Pace pace) {
  std::lock_guard lock(m_impl->mutex);
  m_impl->pace = pace;
}

void FakeLlmServer::set_list_prices(bool list) {
  std::lock_guard lock(m_impl->mutex);
  m_impl->list_prices = list;
}

void FakeLlmServer::set_list_parameters(bool list) {
  std::lock_guard lock(m_impl->mutex);
  m_impl->list_parameters = list;
}

void FakeLlmServer::set_dialect(Dialect dialect) {
  std::lock_guard lock(m_impl->mutex);
  m_impl->dialect = dialect;
}

void FakeLlmServer::set_cache_rules(CacheRules rules) { m_impl->cache.set_rules(rules); }

std::vector<nlohmann::json> FakeLlmServer::usages() const {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->usages;
}

void FakeLlmServer::set_report_cost(bool report) {
  std::lock_guard lock(m_impl->mutex);
  m_impl->report_cost = report;
}

void FakeLlmServer::set_models(std::vector<std::string> models) {
  std::lock_guard lock(m_impl->mutex);
  m_impl->models = std::move(models);
}

void FakeLlmServer::require_key(std::string key) {
  std::lock_guard lock(m_impl->mutex);
  m_impl->key = std::move(key);
}

void FakeLlmServer::set_models_need_key(bool need) {
  std::lock_guard lock(m_impl->mutex);
  m_impl->models_need_key = need;
}

std::vector<int> FakeLlmServer::client_ports() const {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->client_ports;
}

std::vector<std::string> FakeLlmServer::raw_requests() const {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->raw_requests;
}

std::vector<nlohmann::json> FakeLlmServer::requests() const {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->requests;
}

std::vector<std::pair<std::string, std::string>> FakeLlmServer::last_headers() const {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->last_headers;
}

int FakeLlmServer::request_count() const {
  std::lock_guard lock(m_impl->mutex);
  return static_cast<int>(m_impl->requests.size());
}

int FakeLlmServer::max_in_flight() const { return m_impl->max_in_flight.load(); }

void FakeLlmServer::set_provider_limits(ProviderLimitSettings settings) {
  std::lock_guard lock(m_impl->mutex);
  m_impl->limits = std::make_shared<ProviderLimits>(settings);
}

int FakeLlmServer::rate_limited_count() const {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->limits ? m_impl->limits->refused() : 0;
}

std::vector<std::pair<std::chrono::steady_clock::time_point, std::int64_t>> FakeLlmServer::provider_admissions() const {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->limits ? m_impl->limits->admissions() : decltype(m_impl->limits->admissions()){};
}

}  // namespace pipeline::testing
