#include "lib/llm/structured_ladder.hpp"
#include "lib/util/text.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace pipeline::llm {
namespace {


// Whether `text` holds one of `needles` as a whole word or phrase: a needle
// that begins or ends with a letter must not touch another letter there, so
// "strict" is not found in "restricted".
bool mentions_any(const std::string& text, std::initializer_list<const char*> needles) {
  auto is_letter = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; };
  for (const std::string needle : needles) {
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
      const bool starts_clean = at == 0 || !is_letter(needle.front()) || !is_letter(text[at - 1]);
      const auto end = at + needle.size();
      const bool ends_clean = end == text.size() || !is_letter(needle.back()) || !is_letter(text[end]);
      if (starts_clean && ends_clean) return true;
    }
  }
  return false;
}

}  // namespace

bool is_structured_output_refusal(int status, const std::string& body) {
  if (status != 400 && status != 404 && status != 422) return false;
  const std::string text = util::to_lower(body);
  // A prompt too long for the model is refused whatever the rung.
  if (mentions_any(text, {"context length", "context_length", "context size", "too many tokens"})) return false;
  return mentions_any(text, {"response_format", "response format", "json_schema", "json_object", "structured output",
                             "structured_output", "output_format", "schema", "strict", "is not permitted",
                             "no endpoints found that can handle the requested parameters"});
}

bool refuses_schema_content(const std::string& body) {
  const std::string text = util::to_lower(body);
  return mentions_any(text, {"invalid schema", "is not permitted", "output_format.schema", "is not supported for",
                             "property '", "keyword", "strict"});
}

StructuredLadder::StructuredLadder(std::optional<StructuredRung> forced, std::map<std::string, StructuredRung> learned)
    : m_forced(forced) {
  for (const auto& [model, rung] : learned) m_states[model] = State{rung, true};
}

StructuredLadder::State& StructuredLadder::state_of(const std::string& model, const ProviderProfile& profile) {
  auto it = m_states.find(model);
  if (it == m_states.end()) it = m_states.emplace(model, State{profile.first_rung, false}).first;
  return it->second;
}

std::optional<StructuredLadder::Turn> StructuredLadder::begin(const std::string& model, const ProviderProfile& profile,
                                                              const util::CancelToken& cancel) {
  if (m_forced) return Turn{*m_forced, nullptr};
  {
    std::lock_guard lock(m_mutex);
    const State& state = state_of(model, profile);
    if (state.answered) return Turn{state.rung, nullptr};
  }
  if (!m_probes.acquire(model, cancel)) return std::nullopt;
  auto probe = std::make_unique<util::KeyHold>(m_probes, model);
  std::lock_guard lock(m_mutex);
  const State& state = state_of(model, profile);
  // Another probe may have settled the rung while this request waited.
  if (state.answered) return Turn{state.rung, nullptr};
  return Turn{state.rung, std::move(probe)};
}

void StructuredLadder::answered(const std::string& model, Turn& turn) {
  if (m_forced) return;
  {
    std::lock_guard lock(m_mutex);
    auto it = m_states.find(model);
    if (it != m_states.end() && it->second.rung == turn.rung) it->second.answered = true;
  }
  turn.probe.reset();
}

std::optional<StructuredRung> StructuredLadder::refused(const std::string& model, Turn& turn,
                                                        const ProviderProfile& profile, const std::string& body) {
  if (m_forced) return std::nullopt;
  std::optional<StructuredRung> next;
  {
    std::lock_guard lock(m_mutex);
    State& state = state_of(model, profile);
    if (state.rung == turn.rung) {
      next = next_rung(turn.rung, profile);
      // A provider that refuses json_schema itself would refuse it unstrict too.
      if (next == StructuredRung::schema && !refuses_schema_content(body)) next = next_rung(*next, profile);
      if (next) state = State{*next, false};
    } else if (static_cast<int>(state.rung) > static_cast<int>(turn.rung)) {
      // A parallel request already moved below this rung.
      next = state.rung;
    }
  }
  turn.probe.reset();
  return next;
}

std::map<std::string, StructuredRung> StructuredLadder::learned() const {
  std::lock_guard lock(m_mutex);
  std::map<std::string, StructuredRung> out;
  for (const auto& [model, state] : m_states)
    if (state.answered) out[model] = state.rung;
  return out;
}

}  // namespace pipeline::llm
