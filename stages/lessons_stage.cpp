#include "stages/lessons_stage.hpp"

#include "stages/markdown.hpp"
#include "stages/prompt_inputs.hpp"
#include "stages/schema_builder.hpp"
#include "stages/stage_files.hpp"
#include "stages/stage_params.hpp"
#include "stages/vocabulary.hpp"

namespace pipeline::stages {
namespace {

namespace md = markdown;

const std::vector<std::string>& figure_sources() {
  static const std::vector<std::string> values = {"document", "estimate", "no_figure"};
  return values;
}

nlohmann::json make_lessons_schema() {
  using namespace schema;
  const auto constraint = object({
      {"mechanism_id", enumeration(vocabulary::mechanism_ids(), "The stage 1 mechanism that removes it")},
      {"kind", enumeration(vocabulary::constraint_kinds(), "The kind of constraint")},
      {"before", string("The situation before, with a figure where it can be measured (e.g. '45 minutes of preparation')", 200)},
      {"after", string("The situation after, with a figure in the same unit where there is one (e.g. '5 minutes')", 200)},
      {"figures_source", enumeration(figure_sources(),
                                     "document: the figures come from the text; estimate: your reasoned estimate; "
                                     "no_figure: described in words (knowledge and access constraints often have no "
                                     "honest figure)")},
  });
  const auto industry = object({
      {"industry", string("An industry outside the document's own", 100)},
      {"shared_problem_structure", string("The same problem structure as it appears there")},
      {"how_it_would_transfer", string("What the mechanism would concretely do in that industry")},
  });
  return object({
      {"jobs_to_be_done",
       object({
           {"functional", pattern_string("The functional job: 'I need to ... so that ...'", "^I need to .+ so that .+$", 300)},
           {"emotional", string("How the person wants to feel, or to stop feeling", 300)},
           {"social", string("How the person wants to be seen by others", 300)},
       })},
      {"triggering_circumstance", string("The moment or situation in which someone starts looking for a solution")},
      {"constraints_removed", array(constraint, 1, 5, "The constraints removed, with before and after figures")},
      {"analogous_industries", array(industry, 3, 3, "Exactly three industries with the same problem structure")},
      {"transferable_insight",
       string("One sentence that holds in any industry and names no brand, company or sector", 300)},
      {"consumer_goods_fit",
       object({
           {"rationale", string("What makes the insight easy or hard to apply to packaged goods")},
           {"where_it_applies", array(string("A consumer-goods category or situation where it applies", 160), 1, 4)},
           {"rating", enumeration(vocabulary::levels(), "How well the insight could apply to consumer goods")},
       })},
  });
}

std::string lessons_markdown(const LessonsStage& stage, const nlohmann::json& output) {
  std::string out = md::heading(1, stage_heading(stage));
  out += md::heading(2, "Transferable insight");
  out += md::paragraph("> " + md::text(output, "transferable_insight"));
  const auto& jobs = md::child(output, "jobs_to_be_done");
  out += md::heading(2, "Jobs to be done");
  out += md::field("Functional", md::text(jobs, "functional"));
  out += md::field("Emotional", md::text(jobs, "emotional"));
  out += md::field("Social", md::text(jobs, "social"));
  out += md::field("Triggering circumstance", md::text(output, "triggering_circumstance"));
  std::vector<std::vector<std::string>> rows;
  for (const auto& constraint : md::child(output, "constraints_removed")) {
    rows.push_back({md::text(constraint, "mechanism_id"), md::label(md::text(constraint, "kind")), md::text(constraint, "before"),
                    md::text(constraint, "after"), md::label(md::text(constraint, "figures_source"))});
  }
  out += md::heading(2, "Constraints removed");
  out += md::table({"Mechanism", "Constraint", "Before", "After", "Figures from"}, rows);
  rows.clear();
  for (const auto& industry : md::child(output, "analogous_industries")) {
    rows.push_back({md::text(industry, "industry"), md::text(industry, "shared_problem_structure"),
                    md::text(industry, "how_it_would_transfer")});
  }
  out += md::heading(2, "Industries with the same problem structure");
  out += md::table({"Industry", "Same problem", "How it would transfer"}, rows);
  const auto& fit = md::child(output, "consumer_goods_fit");
  out += md::heading(2, "Fit with consumer goods");
  out += md::field("Rating", md::label(md::text(fit, "rating")));
  out += md::paragraph(md::text(fit, "rationale"));
  out += md::bullet_list(md::texts(fit, "where_it_applies"));
  return out;
}

}  // namespace

StageParams LessonsStage::default_params() const { return {0.4, 5000, {}}; }

const nlohmann::json& LessonsStage::schema() const {
  static const nlohmann::json schema = make_lessons_schema();
  return schema;
}

std::map<std::string, std::string> LessonsStage::prompt_variables(const StageContext& context) const {
  return standard_variables(*this, context);
}

std::vector<RenderedFile> LessonsStage::render(const nlohmann::json& output) const {
  return stage_files(*this, output, lessons_markdown(*this, output));
}

}  // namespace pipeline::stages
