#include "stages/stage_fingerprint.hpp"

#include "lib/util/sha256.hpp"

namespace pipeline::stages {

// Bump when the way a stage turns the same inputs into an output changes
// (e.g. how it splits its requests), so that older cache entries stop matching.
constexpr int k_fingerprint_version = 2;

std::string stage_fingerprint(const Stage& stage, const std::vector<prompts::PromptTemplate>& prompts,
                              const StageContext& context, const StageParams& params, const std::string& base_url) {
  nlohmann::json prompt_texts = nlohmann::json::array();
  for (const auto& prompt : prompts) {
    nlohmann::json text = {{"system", prompt.system}, {"user", prompt.user}};
    // Only when there is one, so that prompts without a request part keep their fingerprints.
    if (!prompt.request.empty()) text["request"] = prompt.request;
    prompt_texts.push_back(std::move(text));
  }
  nlohmann::json variables = nlohmann::json::object();
  for (const auto& [name, value] : stage.prompt_variables(context)) variables[name] = value;
  // Rate limits change when an answer comes, never what it says.
  nlohmann::json asked = params.to_json();
  asked.erase("rpm");
  asked.erase("tpm");
  // nlohmann's default object is ordered by key, so dump() is canonical.
  const nlohmann::json canonical = {{"version", k_fingerprint_version},
                                    {"stage", stage.name()},
                                    {"schema", stage.schema()},
                                    {"prompts", std::move(prompt_texts)},
                                    {"variables", std::move(variables)},
                                    {"params", std::move(asked)},
                                    {"base_url", base_url}};
  return util::sha256_hex(canonical.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace pipeline::stages
