#include "tests/support/sample_run.hpp"

#include <fstream>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "lib/llm/chat.hpp"
#include "report/report.hpp"
#include "stages/run_factory.hpp"
#include "stages/run_files.hpp"
#include "stages/stage_registry.hpp"
#include "stages/vocabulary.hpp"
#include "tests/support/pdf_builder.hpp"
#include "tests/support/stage_samples.hpp"

namespace pipeline::testing {
namespace {

constexpr const char* k_sample_model = "openai/gpt-4o-mini";

template <typename T>
T sample_or_fail(util::Expected<T> value, const std::string& what) {
  if (!value) throw std::runtime_error("sample run: " + what + ": " + value.error().message);
  return std::move(*value);
}

void sample_or_fail(const util::Expected<void>& done, const std::string& what) {
  if (!done) throw std::runtime_error("sample run: " + what + ": " + done.error().message);
}

// The sample case study as lines of at most about 90 ASCII characters.
std::vector<std::string> sample_pdf_pages() {
  std::string page;
  std::string line;
  for (char c : sample_document_text()) {
    if (static_cast<unsigned char>(c) >= 0x80) continue;
    if (c == '\n') {
      page += line + "\n";
      line.clear();
      continue;
    }
    line += c;
    if (line.size() > 90 && c == ' ') {
      page += line + "\n";
      line.clear();
    }
  }
  return {page + line};
}

nlohmann::json sample_usage(std::int64_t prompt_tokens, std::int64_t completion_tokens) {
  // At gpt-4o-mini's list price: $0.15 and $0.60 per million tokens.
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"cached_tokens", 0},
          {"reasoning_tokens", 0},
          {"cost_usd", (static_cast<double>(prompt_tokens) * 0.15 + static_cast<double>(completion_tokens) * 0.6) / 1e6}};
}

checkpoints::PartRecord sample_part(checkpoints::RunStore& store, const std::string& run_id, const stages::Stage& stage,
                                const std::string& name, const nlohmann::json& answer, std::int64_t prompt_tokens,
                                std::int64_t completion_tokens) {
  checkpoints::PartRecord part;
  part.name = name;
  part.fingerprint = std::string(64, 'a');
  part.artifact = sample_or_fail(store.write_artifact(run_id, stages::part_path(stage, name), answer.dump(2)), "part " + name);
  part.usage = sample_usage(prompt_tokens, completion_tokens);
  part.model = k_sample_model;
  part.rung = "strict";
  return part;
}

}  // namespace

checkpoints::RunState make_sample_run(checkpoints::RunStore& store, const std::string& dir, const std::string& run_id) {
  const std::string pdf = dir + "/nordvik-station-lockers.pdf";
  write_text_pdf(pdf, sample_pdf_pages(), {"Nordvik Bakery's station lockers", {}, {}});
  const std::string brand = dir + "/acme-foods.json";
  std::ofstream(brand) << sample_brand_profile().dump(2);

  stages::NewRunRequest request;
  request.input = pdf;
  request.brand = brand;
  request.run_id = run_id;
  request.settings = sample_or_fail(stages::build_settings("https://openrouter.ai/api/v1", k_sample_model, "auto",
                                                    nlohmann::json::object(), {}),
                             "settings");
  auto created = sample_or_fail(stages::create_run(store, request), "create");
  checkpoints::RunState state = std::move(created.state);

  // The earlier Python version's seconds per stage (MISSION.md), and tokens of that order.
  const double seconds[] = {8.2, 24.1, 44.7, 35.3, 47.9};
  const std::int64_t prompt_tokens[] = {3900, 5200, 6800, 9400, 7100};
  const std::int64_t completion_tokens[] = {1450, 1200, 1600, 2900, 900};
  for (const auto& stage : stages::all_stages()) {
    const int number = stage->number();
    auto& record = state.stage(number);
    const nlohmann::json& output = sample_output(number);
    for (const auto& file : stage->render(output)) {
      record.artifacts.push_back(sample_or_fail(store.write_artifact(run_id, file.path, file.content), file.path));
    }
    const auto index = static_cast<size_t>(number - 1);
    if (number < 5) {
      record.parts.push_back(
          sample_part(store, run_id, *stage, "answer", output, prompt_tokens[index], completion_tokens[index]));
    } else {
      nlohmann::json plan = nlohmann::json::object();
      for (const auto& pattern : stages::vocabulary::patterns()) plan[pattern] = {{"title", output[pattern]["title"]}};
      record.parts.push_back(sample_part(store, run_id, *stage, "plan", plan, 6200, 1100));
      for (const auto& pattern : stages::vocabulary::patterns()) {
        record.parts.push_back(sample_part(store, run_id, *stage, "card-" + stages::vocabulary::dashed(pattern),
                                       output[pattern], prompt_tokens[index], completion_tokens[index]));
      }
      record.warnings.push_back(std::string("card-convenience: ") + k_sample_card_warning);
    }
    llm::Usage total;
    for (const auto& part : record.parts) total += llm::Usage::from_json(part.usage);
    record.usage = total.to_json();
    record.status = checkpoints::StageStatus::done;
    record.attempts = 1;
    record.duration_s = seconds[index];
    record.started_at = state.created_at;
    record.finished_at = state.created_at;
    record.fingerprint = std::string(64, 'b');
  }
  state.status = checkpoints::RunStatus::completed;
  sample_or_fail(report::write_reports(store, state), "reports");
  sample_or_fail(store.save(state), "save");
  return state;
}

}  // namespace pipeline::testing
