#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "lib/llm/provider_profile.hpp"
#include "lib/util/cancel.hpp"
#include "lib/util/key_latch.hpp"

namespace pipeline::llm {

// Whether an HTTP error answer refuses the structured output asked for
// (response_format, json_schema, a schema keyword, the parameters) rather
// than anything else: only then is the next rung worth asking.
bool is_structured_output_refusal(int status, const std::string& body);

// Whether a refusal is of the schema's content (a keyword, strictness), so
// that the non-strict rung may still work; otherwise it refuses json_schema
// itself and both schema rungs are skipped.
bool refuses_schema_content(const std::string& body);

// The rung of structured output each model is asked on, learned once per
// client: it starts at the profile's first rung (or one learned by an
// earlier invocation) and drops one rung each time the provider refuses one.
// Until a rung has answered once, only one request at a time tries it, so a
// run pays at most one refused request per rung even when its requests run
// in parallel. Thread-safe.
class StructuredLadder {
 public:
  // `forced`: --structured-output named a rung, which is then the only one.
  // `learned`: rungs that answered before, by model.
  StructuredLadder(std::optional<StructuredRung> forced, std::map<std::string, StructuredRung> learned);

  // A request's hold on a rung; while it probes an untried rung the others wait.
  struct Turn {
    StructuredRung rung = StructuredRung::strict_schema;
    std::unique_ptr<util::KeyHold> probe;  // set while this request is the one trying the rung
  };

  // The rung to ask `model` on; nullopt when `cancel` stopped the wait.
  std::optional<Turn> begin(const std::string& model, const ProviderProfile& profile, const util::CancelToken& cancel);
  // The provider answered on the turn's rung.
  void answered(const std::string& model, Turn& turn);
  // The provider refused the turn's rung; the rung to ask next, or nullopt
  // when there is none (the bottom rung, or a forced one).
  std::optional<StructuredRung> refused(const std::string& model, Turn& turn, const ProviderProfile& profile,
                                        const std::string& body);

  // The rungs that have answered, by model.
  std::map<std::string, StructuredRung> learned() const;

 private:
  struct State {
    StructuredRung rung = StructuredRung::strict_schema;
    bool answered = false;
  };
  State& state_of(const std::string& model, const ProviderProfile& profile);

  std::optional<StructuredRung> m_forced;
  mutable std::mutex m_mutex;
  std::map<std::string, State> m_states;
  util::KeyLatch m_probes;
};

}  // namespace pipeline::llm
