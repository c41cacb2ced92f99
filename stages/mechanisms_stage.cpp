#include "stages/mechanisms_stage.hpp"

#include <cstdint>

#include "lib/llm/token_estimate.hpp"
#include "stages/markdown.hpp"
#include "stages/mechanism_refs.hpp"
#include "stages/page_chunks.hpp"
#include "stages/prompt_inputs.hpp"
#include "stages/schema_builder.hpp"
#include "stages/stage_files.hpp"
#include "stages/stage_params.hpp"
#include "stages/stage_request.hpp"
#include "stages/stage_work.hpp"
#include "stages/vocabulary.hpp"

namespace pipeline::stages {
namespace {

namespace md = markdown;

nlohmann::json make_mechanisms_schema() {
  using namespace schema;
  const auto mechanism = object({
      {"id", enumeration(vocabulary::mechanism_ids(), "M1 for the first mechanism, then M2 and M3, in order")},
      {"example", object({
                      {"who", string("The company, organisation or people who did it")},
                      {"what", string("What they concretely did")},
                      {"measurable_effect",
                       string("The effect it had, with the figures the document gives; say plainly when the document gives none")},
                  }, "The concrete example from the document")},
      {"mechanism", string("The transferable mechanism behind the example, stated without the company, brand or industry")},
      {"constraint_removed",
       object({
           {"kind", enumeration(vocabulary::constraint_kinds(), "The kind of constraint the mechanism removes")},
           {"description", string("What the constraint was and for whom")},
           {"quantified", nullable_string("Its size before and after, with the document's figures (e.g. 'from 3 weeks to "
                                          "2 days'); null when the document gives no figure")},
       })},
      {"why_it_works", string("The causal reason it works: the behaviour, economics or psychology behind it")},
      {"type", enumeration(vocabulary::mechanism_types(), "The kind of mechanism")},
      {"name", string("A short plain name for what the mechanism does; no hype words", 80)},
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
      {"mechanisms", array(mechanism, 1, 3,
                           "The mechanisms that make the innovation work, most important first: usually two or three, "
                           "one when the document shows only one strong mechanism")},
      {"evidence", object({
                       {"rationale", string("What the document shows for the mechanisms (sources, figures, how many "
                                            "reports agree); say so when it shows only one strong mechanism")},
                       {"gaps", array(string("One thing the document does not show"), 0, 5,
                                      "What a sceptical reader would still want to see")},
                       {"strength", enumeration(vocabulary::evidence_strengths(),
                                                "The strength the rationale and gaps give: strong: measured results from a "
                                                "named source; moderate: some figures or several consistent reports; weak: "
                                                "claims without figures; anecdotal: a single story or opinion")},
                   })},
  });
}

std::string mechanisms_markdown(const MechanismsStage& stage, const nlohmann::json& output) {
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

// The prompt that merges the chunks' findings of a long document.
constexpr const char* k_merge_prompt = "mechanisms_merge";

// Tokens a chunk request may take beyond its prompt measured with an empty
// document: the part suffix of a split page's title, rounding, and closing
// tags escaped inside the text.
constexpr std::int64_t k_chunk_slack_tokens = 32;

// Fewer tokens of document per chunk than this means the limit is too small
// for the prompt itself: the document would be read in crumbs.
constexpr std::int64_t k_least_chunk_tokens = 500;

// The context of one chunk: its pages as the document, titled with their range.
StageContext chunk_context(const StageContext& context, const PageChunk& chunk, int pages) {
  StageContext out;
  out.document_text = chunk.text;
  out.document_title = context.document_title + " (" + page_range_label(chunk, pages) + ")";
  out.brand_text = context.brand_text;
  out.outputs = context.outputs;
  return out;
}

// The chunks' answers, each with its page range, as the merge prompt's data.
std::string candidates_block(const std::vector<PageChunk>& chunks, const std::vector<nlohmann::json>& answers, int pages) {
  nlohmann::json candidates = nlohmann::json::array();
  for (size_t i = 0; i < chunks.size(); ++i) {
    nlohmann::json candidate = {{"part", i + 1}, {"pages", page_range_label(chunks[i], pages)}};
    for (const auto& [key, value] : answers[i].items()) candidate[key] = value;
    candidates.push_back(std::move(candidate));
  }
  return data_block("candidates", "parts=\"" + std::to_string(chunks.size()) + "\"", json_lines(candidates));
}

}  // namespace

StageParams MechanismsStage::default_params() const { return {0.3, 5000, {}, 100'000}; }

const nlohmann::json& MechanismsStage::schema() const {
  static const nlohmann::json schema = make_mechanisms_schema();
  return schema;
}

std::map<std::string, std::string> MechanismsStage::prompt_variables(const StageContext& context) const {
  return standard_variables(*this, context);
}

std::vector<RenderedFile> MechanismsStage::render(const nlohmann::json& output) const {
  return stage_files(*this, output, mechanisms_markdown(*this, output));
}

std::vector<std::string> MechanismsStage::prompt_names() const { return {std::string(name()), k_merge_prompt}; }

util::Expected<nlohmann::json> MechanismsStage::produce(StageWork& work) const {
  using util::ErrorKind;
  using util::fail;
  const StageContext& context = work.context();
  const StageParams& params = work.params();
  auto prompt = work.prompt(std::string(name()));
  if (!prompt) return prompt.error();
  auto whole = build_request(*this, *prompt, context, params, work.run_model());
  if (!whole) return whole.error();
  const std::int64_t limit = params.max_input_tokens;
  if (limit == 0 || llm::estimate_prompt_tokens(whole->messages) <= limit) {
    auto answers = work.ask({NamedRequest{"answer", std::move(*whole)}});
    if (!answers) return answers.error();
    number_mechanisms(answers->front());
    return std::move(answers->front());
  }

  // The room for pages: the limit less the prompt around them, measured with
  // no text and the last page's title (k_chunk_slack_tokens covers longer ones).
  const int pages = page_count(context.document_text);
  auto empty = build_request(*this, *prompt, chunk_context(context, PageChunk{pages, pages, 1, 1, {}}, pages), params,
                             work.run_model());
  if (!empty) return empty.error();
  const std::int64_t overhead = llm::estimate_prompt_tokens(empty->messages) + k_chunk_slack_tokens;
  if (limit - overhead < k_least_chunk_tokens) {
    return fail(ErrorKind::bad_input,
                "stage mechanisms: max_input_tokens " + std::to_string(limit) + " leaves too little room for the document beside its prompt (about " +
                    std::to_string(overhead) + " tokens); set it to at least " + std::to_string(overhead + k_least_chunk_tokens));
  }
  const auto chunks = page_chunks(context.document_text, limit - overhead);
  std::vector<NamedRequest> requests;
  for (size_t i = 0; i < chunks.size(); ++i) {
    auto request = build_request(*this, *prompt, chunk_context(context, chunks[i], pages), params, work.run_model());
    if (!request) return request.error();
    requests.push_back({"chunk-" + std::to_string(i + 1), std::move(*request)});
  }
  auto answers = work.ask(requests);
  if (!answers) return answers.error();

  auto merge_prompt = work.prompt(k_merge_prompt);
  if (!merge_prompt) return merge_prompt.error();
  StageContext titled;
  titled.document_title = context.document_title;
  auto variables = standard_variables(*this, titled);
  variables.erase("document");  // the merge reads the chunks' findings, not the text
  variables["candidates"] = candidates_block(chunks, *answers, pages);
  variables["chunk_count"] = std::to_string(chunks.size());
  variables["page_count"] = std::to_string(pages);
  auto merge = fill_request(*this, *merge_prompt, variables, params, work.run_model());
  if (!merge) return merge.error();
  merge->schema_name = k_merge_prompt;
  auto merged = work.ask({NamedRequest{"merge", std::move(*merge)}});
  if (!merged) return merged.error();
  number_mechanisms(merged->front());
  return std::move(merged->front());
}

}  // namespace pipeline::stages
