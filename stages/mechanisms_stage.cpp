#include "stages/mechanisms_stage.hpp"

#include "stages/markdown.hpp"
#include "stages/prompt_inputs.hpp"
#include "stages/schema_builder.hpp"
#include "stages/stage_files.hpp"
#include "stages/stage_params.hpp"
#include "stages/vocabulary.hpp"

namespace pipeline::stages {
namespace {

namespace md = markdown;

nlohmann::json make_schema() {
  using namespace schema;
  const auto mechanism = object({
      {"id", enumeration(vocabulary::mechanism_ids(), "M1 for the first mechanism, then M2 and M3, in order")},
      {"name", string("A short plain name for what the mechanism does; no hype words", 80)},
      {"example", object({
                      {"who", string("The company, organisation or people who did it")},
                      {"what", string("What they concretely did")},
                      {"measurable_effect",
                       string("The effect it had, with the figures the document gives; say plainly when the document gives none")},
                  }, "The concrete example from the document")},
      {"mechanism", string("The transferable mechanism behind the example, stated without the company, brand or industry")},
      {"type", enumeration(vocabulary::mechanism_types(), "The kind of mechanism")},
      {"constraint_removed",
       object({
           {"kind", enumeration(vocabulary::constraint_kinds(), "The kind of constraint the mechanism removes")},
           {"description", string("What the constraint was and for whom")},
           {"quantified", nullable_string("Its size before and after, with the document's figures (e.g. 'from 3 weeks to "
                                          "2 days'); null when the document gives no figure")},
       })},
      {"why_it_works", string("The causal reason it works: the behaviour, economics or psychology behind it")},
      {"structural_sentence",
       pattern_string("One sentence of the form 'When X holds, removing Y by Z creates W.'",
                      "^When .+, removing .+ by .+ creates .+$", 400)},
  });
  return object({
      {"innovation", object({
                         {"name", string("A short neutral name for the innovation", 120)},
                         {"actor", string("Who is behind it")},
                         {"sector", string("The industry or field it comes from", 120)},
                         {"summary", string("What happened, in two or three plain sentences with the document's figures")},
                     })},
      {"mechanisms", array(mechanism, 2, 3, "The two or three mechanisms that make the innovation work, most important first")},
      {"evidence", object({
                       {"strength", enumeration(vocabulary::evidence_strengths(),
                                                "strong: measured results from a named source; moderate: some figures or "
                                                "several consistent reports; weak: claims without figures; anecdotal: a "
                                                "single story or opinion")},
                       {"rationale", string("Why the evidence has that strength, citing what the document shows")},
                       {"gaps", array(string("One thing the document does not show"), 0, 5,
                                      "What a sceptical reader would still want to see")},
                   })},
  });
}

std::string render_markdown(const MechanismsStage& stage, const nlohmann::json& output) {
  std::string out = md::heading(1, stage_heading(stage));
  const auto& innovation = md::child(output, "innovation");
  out += md::heading(2, "The innovation: " + md::text(innovation, "name"));
  out += md::field("Who", md::text(innovation, "actor"));
  out += md::field("Sector", md::text(innovation, "sector"));
  out += md::paragraph(md::text(innovation, "summary"));

  std::vector<std::vector<std::string>> rows;
  for (const auto& mechanism : md::child(output, "mechanisms")) {
    const auto& constraint = md::child(mechanism, "constraint_removed");
    rows.push_back({md::text(mechanism, "id"), md::text(mechanism, "name"), md::label(md::text(mechanism, "type")),
                    md::label(md::text(constraint, "kind"))});
  }
  out += md::heading(2, "Mechanisms");
  out += md::table({"Id", "Mechanism", "Type", "Constraint removed"}, rows);
  for (const auto& mechanism : md::child(output, "mechanisms")) {
    out += md::heading(3, md::text(mechanism, "id") + ". " + md::text(mechanism, "name"));
    out += md::paragraph("> " + md::text(mechanism, "structural_sentence"));
    const auto& example = md::child(mechanism, "example");
    out += md::field("Example", md::text(example, "who") + ": " + md::text(example, "what"));
    out += md::field("Measured effect", md::text(example, "measurable_effect"));
    out += md::field("Mechanism", md::text(mechanism, "mechanism"));
    out += md::field("Type", md::label(md::text(mechanism, "type")));
    const auto& constraint = md::child(mechanism, "constraint_removed");
    std::string removed = md::label(md::text(constraint, "kind")) + ": " + md::text(constraint, "description");
    if (!md::text(constraint, "quantified").empty()) removed += " (" + md::text(constraint, "quantified") + ")";
    out += md::field("Constraint removed", removed);
    out += md::field("Why it works", md::text(mechanism, "why_it_works"));
  }
  const auto& evidence = md::child(output, "evidence");
  out += md::heading(2, "Evidence");
  out += md::field("Strength", md::label(md::text(evidence, "strength")));
  out += md::paragraph(md::text(evidence, "rationale"));
  auto gaps = md::texts(evidence, "gaps");
  if (!gaps.empty()) {
    out += md::paragraph("What the document does not show:");
    out += md::bullet_list(gaps);
  }
  return out;
}

}  // namespace

StageParams MechanismsStage::default_params() const { return {0.3, 5000, {}, 100'000}; }

const nlohmann::json& MechanismsStage::schema() const {
  static const nlohmann::json schema = make_schema();
  return schema;
}

std::map<std::string, std::string> MechanismsStage::prompt_variables(const StageContext& context) const {
  return standard_variables(*this, context);
}

std::vector<RenderedFile> MechanismsStage::render(const nlohmann::json& output) const {
  return stage_files(*this, output, render_markdown(*this, output));
}

}  // namespace pipeline::stages
