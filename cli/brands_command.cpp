#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli/app.hpp"
#include "cli/run_support.hpp"
#include "lib/brand/brand.hpp"
#include "lib/util/error.hpp"
#include "lib/util/json_text.hpp"
#include "stages/brand_facts.hpp"

namespace pipeline::cli {
namespace {

// Left-aligned columns, padded to the widest cell of each.
std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}


void list_command(const GlobalOptions& options) {
  const auto dirs = brand_search_dirs(options);
  auto scan = brand::scan_brands(dirs);
  for (const auto& problem : scan.problems) print_warning("skipped " + problem.message);
  scan.brands = service::listed_brands(brand_search(options), store_url(options), *open_store(options), scan);
  if (options.json) {
    auto items = nlohmann::json::array();
    for (const auto& b : scan.brands) {
      items.push_back({{"id", b.id}, {"company_name", b.company_name}, {"industry", b.industry},
                       {"source", b.source.string()}});
    }
    print_json(items);
    return;
  }
  if (scan.brands.empty()) {
    std::string searched;
    for (const auto& dir : dirs) searched += (searched.empty() ? "" : ", ") + dir.string();
    print_human(options, "No brands found (searched " + searched + ").");
    return;
  }
  std::vector<std::vector<std::string>> rows{{"ID", "COMPANY", "INDUSTRY", "SOURCE"}};
  for (const auto& b : scan.brands) rows.push_back({b.id, b.company_name, b.industry, b.source.string()});
  print_human(options, table(rows));
}

void show_command(const GlobalOptions& options, const std::string& reference) {
  auto store = open_store(options);
  auto profile = resolve_run_brand(options, *store, reference);
  if (options.json) {
    print_json(profile.json);
    return;
  }
  // The facts the stages go by, each marked stated or inferred, after the profile as the model reads it.
  print_human(options, "Source: " + profile.source.string() + "\n\n" + brand::to_prompt_text(profile) +
                           "\n## Facts the stages use\n" + stages::facts_summary(stages::brand_facts(profile.json)));
}

void validate_command(const GlobalOptions& options, const std::vector<std::string>& files) {
  auto results = nlohmann::json::array();
  std::size_t invalid = 0;
  for (const auto& file : files) {
    const std::filesystem::path path(file);
    auto profile = brand::load_brand_file(path);
    if (profile) {
      std::string line = file + ": ok (brand \"" + profile->id + "\")";
      if (path.stem().string() != profile->id) {
        line += "; note: the file is not named " + profile->id + ".json, so it can be used by path but not by id";
      }
      print_human(options, line);
      results.push_back({{"file", file}, {"valid", true}, {"error", nullptr}, {"id", profile->id}});
    } else {
      ++invalid;
      print_human(options, profile.error().message);
      results.push_back({{"file", file}, {"valid", false}, {"error", profile.error().message}});
    }
  }
  if (options.json) print_json(results);
  if (invalid > 0) {
    throw util::FatalError(util::ErrorKind::bad_input,
                           std::to_string(invalid) + " of " + std::to_string(files.size()) +
                               (files.size() == 1 ? " brand file is invalid" : " brand files are invalid"));
  }
}

// Keeps brand files in the store, research notes inline, so that every
// machine using the store finds them by id.
void push_command(const GlobalOptions& options, const std::vector<std::string>& files) {
  std::vector<brand::BrandProfile> profiles;
  for (const auto& file : files) profiles.push_back(brand::load_brand_file(file).value_or_throw());
  auto store = open_store(options);
  auto results = nlohmann::json::array();
  for (const auto& profile : profiles) {
    store->save_brand(profile.id, util::dump_json(profile.json, 2) + "\n").value_or_throw();
    print_human(options, "pushed brand " + profile.id + " (" + profile.company_name + ") to " + store_place(options));
    results.push_back({{"id", profile.id}, {"file", profile.source.string()}, {"store", store_place(options)}});
  }
  if (options.json) print_json(results);
}

}  // namespace

void register_brands_command(CLI::App& app, GlobalOptions& options) {
  auto* brands = app.add_subcommand("brands", "List, show, validate and push brand profiles");
  brands->require_subcommand(1);
  brands->footer(
      "Brands are looked up by id as <dir>/<id>.json in --brands-dir (or PIPELINE_BRANDS_DIR), then among the "
      "brands pushed to the store (--store), then in the brands shipped with the tool. A reference containing '/' "
      "or ending in .json is a file path.");

  auto* list = brands->add_subcommand("list", "List the brands found in the brand folders");
  list->callback([&options] { list_command(options); });

  auto reference = std::make_shared<std::string>();
  auto* show = brands->add_subcommand("show", "Show one brand profile, research notes included");
  show->add_option("brand", *reference, "Brand id or path to a brand .json file")->required();
  show->callback([&options, reference] { show_command(options, *reference); });

  auto files = std::make_shared<std::vector<std::string>>();
  auto* validate = brands->add_subcommand("validate", "Check brand files; exit 3 if any is invalid");
  validate->add_option("files", *files, "Brand .json files to check")->required()->default_str("");
  validate->callback([&options, files] { validate_command(options, *files); });

  auto pushed = std::make_shared<std::vector<std::string>>();
  auto* push = brands->add_subcommand("push", "Keep brand files in the store (--store), found there by id from any machine");
  push->add_option("files", *pushed, "Brand .json files to push")->required()->default_str("");
  push->callback([&options, pushed] { push_command(options, *pushed); });
}

}  // namespace pipeline::cli
