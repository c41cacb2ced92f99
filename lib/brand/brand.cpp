#include "lib/brand/brand.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

#include "lib/brand/research_file.hpp"
#include "lib/util/file_io.hpp"
#include "lib/util/json_text.hpp"
#include "lib/util/log.hpp"
#include "lib/util/text.hpp"

namespace pipeline::brand {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A profile file larger than this is not a hand-written brand profile.
constexpr std::size_t k_max_profile_bytes = 1024 * 1024;
constexpr std::size_t k_max_id_length = 64;

constexpr std::array<std::string_view, 5> k_text_fields = {"id", "company_name", "country", "industry",
                                                            "positioning"};
constexpr std::array<std::string_view, 5> k_list_fields = {"portfolio", "target_customers", "recent_innovations",
                                                            "strategic_priorities", "brand_values"};
constexpr std::array<std::string_view, 2> k_research_fields = {"research", "research_file"};

util::Error bad_input(std::string message) {
  return util::fail(util::ErrorKind::bad_input, std::move(message));
}

std::string in_quotes(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

bool is_known_field(std::string_view name) {
  auto in = [name](const auto& fields) { return std::find(std::begin(fields), std::end(fields), name) != std::end(fields); };
  return in(k_text_fields) || in(k_list_fields) || in(k_research_fields) || in(k_market_fact_fields);
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The known field a mistyped name most likely meant, or empty.
std::string closest_field(std::string_view name) {
  std::string best;
  std::size_t best_distance = 4;
  auto consider = [&](const auto& fields) {
    for (auto field : fields) {
      const auto distance = edit_distance(name, field);
      if (distance < best_distance) {
        best_distance = distance;
        best = field;
      }
    }
  };
  consider(k_text_fields);
  consider(k_list_fields);
  consider(k_research_fields);
  consider(k_market_fact_fields);
  return best;
}

std::string all_fields() {
  std::string names;
  auto add = [&](const auto& fields) {
    for (auto field : fields) names += (names.empty() ? "" : ", ") + std::string(field);
  };
  add(k_text_fields);
  add(k_list_fields);
  add(k_research_fields);
  add(k_market_fact_fields);
  return names;
}

// Checks one profile and collects every problem, so that one run of
// `brands validate` shows all of them.
class Checker {
 public:
  explicit Checker(const json& profile) : m_profile(profile) {}

  std::string text(std::string_view field) {
    auto it = m_profile.find(field);
    if (it == m_profile.end()) {
      problem(field, "is missing (a non-empty string)");
      return {};
    }
    if (!it->is_string() || util::is_blank(it->get_ref<const std::string&>())) {
      problem(field, "must be a non-empty string");
      return {};
    }
    return it->get<std::string>();
  }

  std::vector<std::string> list(std::string_view field) {
    auto it = m_profile.find(field);
    if (it == m_profile.end()) {
      problem(field, "is missing (a non-empty array of strings)");
      return {};
    }
    if (!it->is_array() || it->empty()) {
      problem(field, "must be a non-empty array of strings");
      return {};
    }
    std::vector<std::string> items;
    for (std::size_t i = 0; i < it->size(); ++i) {
      const auto& item = (*it)[i];
      if (!item.is_string() || util::is_blank(item.get_ref<const std::string&>())) {
        problem(field, "item " + std::to_string(i + 1) + " must be a non-empty string");
        return {};
      }
      items.push_back(item.get<std::string>());
    }
    return items;
  }

  void problem(std::string_view field, const std::string& what) {
    m_problems.push_back("field " + in_quotes(field) + " " + what);
  }

  void note(std::string what) { m_problems.push_back(std::move(what)); }

  bool ok() const { return m_problems.empty(); }

  std::string joined() const {
    std::string all;
    for (const auto& item : m_problems) all += (all.empty() ? "" : "; ") + item;
    return all;
  }

 private:
  const json& m_profile;
  std::vector<std::string> m_problems;
};

std::string json_error_reason(const std::string& what) {
  // nlohmann's text is "[json.exception...] parse error at line L, column C: reason".
  const auto column = what.find("column ");
  const auto colon = what.find(": ", column == std::string::npos ? 0 : column);
  if (colon != std::string::npos) return what.substr(colon + 2);
  const auto bracket = what.find("] ");
  return bracket == std::string::npos ? what : what.substr(bracket + 2);
}

std::string line_and_column(const std::string& text, std::size_t byte) {
  std::size_t line = 1;
  std::size_t column = 1;
  const std::size_t end = std::min(byte > 0 ? byte - 1 : 0, text.size());
  for (std::size_t i = 0; i < end; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

util::Expected<json> parse_json_file(const std::string& text, const fs::path& path) {
  if (util::is_blank(text)) return bad_input(path.string() + ": the file is empty; a brand profile is a JSON object");
  std::set<std::string> seen;
  std::set<std::string> duplicates;
  // Rejecting repeated top-level keys keeps a second "portfolio" from silently
  // replacing the first.
  json::parser_callback_t on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1) {
      const auto key = parsed.get<std::string>();
      if (!seen.insert(key).second) duplicates.insert(key);
    }
    return true;
  };
  std::size_t error_byte = 0;
  auto value = util::parse_json(text, on_event, &error_byte);
  if (!value) {
    return bad_input(path.string() + ": invalid JSON at " + line_and_column(text, error_byte) + ": " +
                     json_error_reason(value.error().message));
  }
  if (!duplicates.empty()) {
    return bad_input(path.string() + ": field " + in_quotes(*duplicates.begin()) + " appears more than once");
  }
  return std::move(*value);
}

// The demoted copy of Markdown headings, so that the notes' own "# Title"
// lines sit under the profile's "## Research notes".
std::string demote_headings(const std::string& markdown) {
  std::istringstream in(markdown);
  std::ostringstream out;
  std::string line;
  bool in_fence = false;
  while (std::getline(in, line)) {
    if (line.rfind("```", 0) == 0 || line.rfind("~~~", 0) == 0) in_fence = !in_fence;
    const auto hashes = line.find_first_not_of('#');
    const bool heading = !in_fence && hashes != std::string::npos && hashes > 0 && hashes <= 4 && line[hashes] == ' ';
    out << (heading ? "##" : "") << line << '\n';
  }
  return out.str();
}

void append_list(std::string& out, std::string_view title, const std::vector<std::string>& items) {
  out += "\n## ";
  out += title;
  out += "\n";
  for (const auto& item : items) out += "- " + item + "\n";
}

std::vector<fs::path> existing_dirs(const std::vector<fs::path>& dirs) {
  std::vector<fs::path> result;
  std::error_code ec;
  for (const auto& dir : dirs) {
    if (fs::is_directory(dir, ec)) result.push_back(dir);
  }
  return result;
}

std::string joined_paths(const std::vector<fs::path>& paths) {
  std::string text;
  for (const auto& path : paths) text += (text.empty() ? "" : ", ") + path.string();
  return text;
}

}  // namespace

bool is_valid_brand_id(std::string_view id) {
  if (id.empty() || id.size() > k_max_id_length || id.front() == '-') return false;
  return std::all_of(id.begin(), id.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

util::Expected<BrandProfile> parse_brand(const json& profile_json, const fs::path& source) {
  const auto file = source.string();
  if (!profile_json.is_object()) return bad_input(file + ": a brand profile must be a JSON object");
  Checker check(profile_json);
  BrandProfile profile;
  profile.source = source;
  profile.id = check.text("id");
  if (!profile.id.empty() && !is_valid_brand_id(profile.id)) {
    check.problem("id", "must be a brand id of at most " + std::to_string(k_max_id_length) +
                            " lowercase letters, digits and '-', not starting with '-' (got " + in_quotes(profile.id) + ")");
  }
  profile.company_name = check.text("company_name");
  profile.country = check.text("country");
  profile.industry = check.text("industry");
  profile.positioning = check.text("positioning");
  profile.portfolio = check.list("portfolio");
  profile.target_customers = check.list("target_customers");
  profile.recent_innovations = check.list("recent_innovations");
  profile.strategic_priorities = check.list("strategic_priorities");
  profile.brand_values = check.list("brand_values");
  std::vector<std::string> fact_problems;
  profile.market = read_market_facts(profile_json, fact_problems);
  for (auto& problem : fact_problems) check.note(std::move(problem));

  const bool has_inline = profile_json.contains("research");
  const bool has_file = profile_json.contains("research_file");
  if (has_inline && has_file) {
    check.note("fields \"research\" and \"research_file\" are both given; keep one");
  } else if (has_inline) {
    profile.research = check.text("research");
    if (profile.research.size() > k_max_research_bytes) {
      check.problem("research", "is longer than " + std::to_string(k_max_research_bytes) + " bytes");
    }
  } else if (has_file) {
    const auto reference = check.text("research_file");
    if (!reference.empty()) {
      auto notes = read_research_file(source.parent_path(), reference);
      if (notes) profile.research = std::move(notes).value();
      else check.problem("research_file", notes.error().message);
    }
  }

  for (const auto& [key, value] : profile_json.items()) {
    if (is_known_field(key)) continue;
    const auto guess = closest_field(key);
    check.note("unknown field " + in_quotes(key) +
               (guess.empty() ? " (known fields: " + all_fields() + ")" : " (did you mean " + in_quotes(guess) + "?)"));
  }
  if (!check.ok()) return bad_input(file + ": " + check.joined());

  profile.json = profile_json;
  profile.json.erase("research_file");
  if (!profile.research.empty()) profile.json["research"] = profile.research;
  return profile;
}

util::Expected<BrandProfile> load_brand_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return bad_input("brand file " + path.string() + " does not exist");
  // Capped whatever the file is: /dev/zero or a FIFO is refused at once.
  auto text = util::read_file(path, {.max_bytes = k_max_profile_bytes});
  if (!text) return bad_input(text.error().message + " (a brand profile is a JSON file of at most 1 MiB)");
  auto parsed = parse_json_file(*text, path);
  if (!parsed) return parsed.error();
  return parse_brand(*parsed, path);
}

util::Expected<BrandProfile> resolve_brand(std::string_view reference, const std::vector<fs::path>& search_dirs) {
  const std::string ref(reference);
  const bool is_path = ref.find('/') != std::string::npos ||
                       (ref.size() >= 5 && ref.compare(ref.size() - 5, 5, ".json") == 0);
  if (is_path) return load_brand_file(ref);
  if (!is_valid_brand_id(ref)) {
    return bad_input("invalid brand id " + in_quotes(ref) +
                     ": ids are lowercase letters, digits and '-', not starting with '-'; "
                     "to use a file, give its path (containing '/' or ending in .json)");
  }
  std::error_code ec;
  for (const auto& dir : search_dirs) {
    const auto candidate = dir / (ref + ".json");
    if (!fs::exists(candidate, ec)) continue;
    auto profile = load_brand_file(candidate);
    if (profile && profile->id != ref) {
      return bad_input(candidate.string() + ": field \"id\" is " + in_quotes(profile->id) + " but the file is named " +
                       in_quotes(ref + ".json") + "; a brand found by id must be in <id>.json");
    }
    return profile;
  }
  const auto dirs = existing_dirs(search_dirs);
  if (dirs.empty()) {
    return bad_input("unknown brand " + in_quotes(ref) + ": no brand folder exists (looked in " +
                     joined_paths(search_dirs) + "); set --brands-dir or give a path to a .json file");
  }
  std::string ids;
  for (const auto& brand : list_brands(search_dirs)) ids += (ids.empty() ? "" : ", ") + brand.id;
  return bad_input("unknown brand " + in_quotes(ref) + "; available: " + (ids.empty() ? "none" : ids) +
                   " (searched " + joined_paths(dirs) + ")");
}

BrandScan scan_brands(const std::vector<fs::path>& search_dirs) {
  BrandScan scan;
  std::set<std::string> claimed;
  for (const auto& dir : existing_dirs(search_dirs)) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().extension() == ".json" && it->is_regular_file(ec)) files.push_back(it->path());
    }
    if (ec) scan.problems.push_back(bad_input("cannot list " + dir.string() + ": " + ec.message()));
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      const auto stem = file.stem().string();
      if (!is_valid_brand_id(stem)) {
        scan.problems.push_back(bad_input(file.string() + ": the file name is not a brand id (" + stem + ")"));
        continue;
      }
      // The first folder holding <id>.json owns the id, valid or not, just
      // as resolve_brand() would pick it.
      if (!claimed.insert(stem).second) continue;
      auto profile = load_brand_file(file);
      if (!profile) {
        scan.problems.push_back(profile.error());
      } else if (profile->id != stem) {
        scan.problems.push_back(bad_input(file.string() + ": field \"id\" is " + in_quotes(profile->id) +
                                          " but a brand file in a brand folder must be named <id>.json"));
      } else {
        scan.brands.push_back(std::move(profile).value());
      }
    }
  }
  std::sort(scan.brands.begin(), scan.brands.end(),
            [](const BrandProfile& a, const BrandProfile& b) { return a.id < b.id; });
  return scan;
}

std::vector<BrandProfile> list_brands(const std::vector<fs::path>& search_dirs) {
  auto scan = scan_brands(search_dirs);
  for (const auto& problem : scan.problems) util::log_verbose("skipped brand file: " + problem.message);
  return std::move(scan.brands);
}

std::string to_prompt_text(const BrandProfile& brand) {
  std::string out = "# Brand: " + brand.company_name + " (" + brand.id + ")\n\n";
  out += "- Country: " + brand.country + "\n";
  out += "- Industry: " + brand.industry + "\n";
  out += "- Positioning: " + brand.positioning + "\n";
  append_list(out, "Portfolio", brand.portfolio);
  append_list(out, "Target customers", brand.target_customers);
  append_list(out, "Recent innovations", brand.recent_innovations);
  append_list(out, "Strategic priorities", brand.strategic_priorities);
  append_list(out, "Brand values", brand.brand_values);
  const auto& market = brand.market;
  const auto& limits = market.launch_limits;
  if (!market.currency.empty() || !market.price_position.empty() || !market.channels.empty() || market.cold_chain ||
      !market.current_prices.empty() || limits.largest_investment || limits.longest_months_to_launch) {
    out += "\n## Market facts\n";
    if (!market.currency.empty()) out += "- Currency: " + market.currency + "\n";
    if (!market.price_position.empty()) out += "- Price position: " + market.price_position + "\n";
    if (!market.channels.empty()) {
      std::string channels;
      for (const auto& channel : market.channels) channels += (channels.empty() ? "" : ", ") + channel;
      out += "- Channels: " + channels + "\n";
    }
    if (market.cold_chain) out += std::string("- Cold chain: ") + (*market.cold_chain ? "yes" : "no") + "\n";
    for (const auto& price : market.current_prices) {
      out += "- Current price: " + price.product + ", " + price.pack + ": " +
             fmt::format("{:.2f}", price.price) + (market.currency.empty() ? "" : " " + market.currency) + "\n";
    }
    if (limits.largest_investment)
      out += "- Largest launch investment: " + fmt::format("{:.0f}", *limits.largest_investment) +
             (market.currency.empty() ? "" : " " + market.currency) + "\n";
    if (limits.longest_months_to_launch)
      out += "- Longest time to launch: " + std::to_string(*limits.longest_months_to_launch) + " months\n";
  }
  if (!brand.research.empty()) {
    out += "\n## Research notes\n\n";
    out += demote_headings(brand.research);
  }
  return out;
}

}  // namespace pipeline::brand
