#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "lib/brand/market_facts.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::brand {

// A validated brand profile. `json` is the whole profile with `research`
// resolved to inline Markdown (research_file read and dropped), which is what
// a run snapshots and what the brand-aware stages see.
struct BrandProfile {
  std::string id;
  std::string company_name;
  std::string country;
  std::string industry;
  std::string positioning;
  std::vector<std::string> portfolio;
  std::vector<std::string> target_customers;
  std::vector<std::string> recent_innovations;
  std::vector<std::string> strategic_priorities;
  std::vector<std::string> brand_values;
  MarketFacts market;    // what the profile states of currency, prices, channels, cold chain
  std::string research;  // Markdown, may be empty
  std::filesystem::path source;  // the file it was read from
  nlohmann::json json;
};

// True for ids of the form [a-z0-9][a-z0-9-]*.
bool is_valid_brand_id(std::string_view id);

// Validates a profile already parsed; errors name `source` and the field.
util::Expected<BrandProfile> parse_brand(const nlohmann::json& json, const std::filesystem::path& source);

// Reads and validates one brand file (bad_input naming the file and field).
util::Expected<BrandProfile> load_brand_file(const std::filesystem::path& path);

// Resolves --brand: a path to a file (contains '/' or ends in .json), else an
// id looked up as <dir>/<id>.json in each of `search_dirs` in order.
util::Expected<BrandProfile> resolve_brand(std::string_view reference,
                                           const std::vector<std::filesystem::path>& search_dirs);

// Every valid brand found in `search_dirs` (earlier directories win on the
// same id), sorted by id; invalid files are skipped (reported via log_verbose).
std::vector<BrandProfile> list_brands(const std::vector<std::filesystem::path>& search_dirs);

// Every brand file found in `search_dirs` and what was wrong with the rest.
// The first folder holding <id>.json owns the id, valid or not, as in
// resolve_brand(); a file whose id differs from its name is a problem.
struct BrandScan {
  std::vector<BrandProfile> brands;  // sorted by id
  std::vector<util::Error> problems;
};
BrandScan scan_brands(const std::vector<std::filesystem::path>& search_dirs);

// Renders the profile as compact Markdown for a prompt.
std::string to_prompt_text(const BrandProfile& brand);

}  // namespace pipeline::brand
