#include <doctest/doctest.h>

#include "stages/stage_fingerprint.hpp"
#include "stages/stage_registry.hpp"

using namespace pipeline;

namespace {

struct Inputs {
  const stages::Stage* stage = stages::find_stage("contextualize");
  std::vector<prompts::PromptTemplate> prompts = {{"system text", "user {{document}}", "built-in", {}}};
  stages::StageContext context;
  stages::StageParams params = stage->default_params();
  std::string base_url = "http://127.0.0.1:9/v1";

  Inputs() {
    context.document_text = "page one\fpage two";
    context.document_title = "A case";
    context.brand_text = "Brand: Testmark";
    for (int n : stage->reads()) context.outputs[n] = {{"stage", n}};
    params.model = "test-model";
  }
  std::string fingerprint() const { return stages::stage_fingerprint(*stage, prompts, context, params, base_url); }
};

}  // namespace

TEST_CASE("equal inputs give equal fingerprints; every input changes it") {
  const Inputs base;
  const auto fingerprint = base.fingerprint();
  CHECK(fingerprint.size() == 64);
  CHECK(Inputs().fingerprint() == fingerprint);
  // The prompt's source is where it came from, not what it says.
  Inputs moved;
  moved.prompts[0].source = "/elsewhere/contextualize.prompt";
  CHECK(moved.fingerprint() == fingerprint);

  std::vector<Inputs> changed(9);
  changed[0].prompts[0].system += ".";
  changed[1].prompts.push_back({"extra", "prompt", "built-in", {}});
  changed[2].context.document_text += " more";
  changed[3].context.brand_text = "Brand: Othermark";
  changed[4].context.outputs.begin()->second["extra"] = true;
  changed[5].params.model = "another-model";
  changed[6].params.temperature += 0.1;
  changed[7].base_url = "https://openrouter.ai/api/v1";
  changed[8].prompts[0].request = "The card for one pattern.";
  for (std::size_t i = 0; i < changed.size(); ++i) {
    CAPTURE(i);
    CHECK(changed[i].fingerprint() != fingerprint);
  }
  Inputs other_stage;
  other_stage.stage = stages::find_stage("opportunities");
  CHECK(other_stage.fingerprint() != fingerprint);
}
