#include "stages/report.hpp"

#include "stages/markdown.hpp"
#include "stages/stage_files.hpp"
#include "stages/stage_registry.hpp"

namespace pipeline::stages {

std::string render_report(const std::string& run_id, const std::map<int, nlohmann::json>& outputs,
                          const std::map<int, std::vector<std::string>>& warnings) {
  std::string out = markdown::heading(1, "Innovation report: " + run_id);
  std::vector<std::string> contents;
  for (const auto& stage : all_stages()) contents.push_back(stage_heading(*stage));
  out += markdown::bullet_list(contents);
  for (const auto& stage : all_stages()) {
    auto found = outputs.find(stage->number());
    if (found == outputs.end()) {
      out += markdown::heading(2, stage_heading(*stage));
      out += markdown::paragraph("*Not done yet.*");
      continue;
    }
    const std::string wanted = stage_file_path(*stage, "md");
    for (const auto& file : stage->render(found->second)) {
      if (file.path == wanted) out += markdown::demote_headings(file.content) + "\n";
    }
    if (auto noted = warnings.find(stage->number()); noted != warnings.end() && !noted->second.empty()) {
      out += markdown::paragraph("**Warnings.** The model's answer still breaks these style rules after every re-ask; "
                                 "it was kept because its content is complete:");
      out += markdown::bullet_list(noted->second) + "\n";
    }
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out + "\n";
}

}  // namespace pipeline::stages
