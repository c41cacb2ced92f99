#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "lib/brand/brand.hpp"
#include "tests/support/process.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using pipeline::testing::TempDir;
using pipeline::util::ErrorKind;
namespace brand = pipeline::brand;

namespace {

json valid_profile(const std::string& id = "acme-foods") {
  return json{
      {"id", id},
      {"company_name", "Acme Foods"},
      {"country", "Netherlands"},
      {"industry", "Packaged soups"},
      {"positioning", "Honest soups for cold evenings"},
      {"portfolio", {"Tomato soup", "Pea soup"}},
      {"target_customers", {"Commuters"}},
      {"recent_innovations", {"Soup in a pouch"}},
      {"strategic_priorities", {"Grow in Belgium"}},
      {"brand_values", {"Warmth", "Thrift"}},
  };
}

fs::path write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

fs::path write_profile(const fs::path& path, const json& profile) {
  return write(path, profile.dump(2));
}

std::string error_of(const pipeline::util::Expected<brand::BrandProfile>& result) {
  REQUIRE_FALSE(result);
  CHECK(result.error().kind == ErrorKind::bad_input);
  return result.error().message;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

const fs::path k_examples = fs::path(PIPELINE_SOURCE_DIR) / "examples" / "brands";

const char* const k_text_fields[] = {"id", "company_name", "country", "industry", "positioning"};
const char* const k_list_fields[] = {"portfolio", "target_customers", "recent_innovations", "strategic_priorities",
                                     "brand_values"};

}  // namespace

TEST_CASE("a valid brand file loads with every field") {
  TempDir dir;
  auto profile_json = valid_profile();
  profile_json["research"] = "# Market\n\nSoup sales rise in winter.\n";
  const auto path = write_profile(fs::path(dir.path()) / "acme-foods.json", profile_json);

  auto loaded = brand::load_brand_file(path);
  REQUIRE(loaded);
  CHECK(loaded->id == "acme-foods");
  CHECK(loaded->company_name == "Acme Foods");
  CHECK(loaded->country == "Netherlands");
  CHECK(loaded->industry == "Packaged soups");
  CHECK(loaded->positioning == "Honest soups for cold evenings");
  CHECK(loaded->portfolio == std::vector<std::string>{"Tomato soup", "Pea soup"});
  CHECK(loaded->target_customers == std::vector<std::string>{"Commuters"});
  CHECK(loaded->recent_innovations == std::vector<std::string>{"Soup in a pouch"});
  CHECK(loaded->strategic_priorities == std::vector<std::string>{"Grow in Belgium"});
  CHECK(loaded->brand_values == std::vector<std::string>{"Warmth", "Thrift"});
  CHECK(loaded->research == "# Market\n\nSoup sales rise in winter.\n");
  CHECK(loaded->source == path);
  CHECK(loaded->json == profile_json);
}

TEST_CASE("research is optional") {
  TempDir dir;
  auto loaded = brand::load_brand_file(write_profile(fs::path(dir.path()) / "acme-foods.json", valid_profile()));
  REQUIRE(loaded);
  CHECK(loaded->research.empty());
  CHECK_FALSE(loaded->json.contains("research"));
}

TEST_CASE("research_file is read relative to the profile and inlined into the json") {
  TempDir dir;
  write(fs::path(dir.path()) / "brands" / "notes" / "acme.md", "Winter is the season.\n");
  auto profile_json = valid_profile();
  profile_json["research_file"] = "notes/acme.md";
  const auto path = write_profile(fs::path(dir.path()) / "brands" / "acme-foods.json", profile_json);

  auto loaded = brand::load_brand_file(path);
  REQUIRE(loaded);
  CHECK(loaded->research == "Winter is the season.\n");
  CHECK_FALSE(loaded->json.contains("research_file"));
  CHECK(loaded->json.at("research") == "Winter is the season.\n");
  // The snapshot is itself a valid profile, loadable without the notes file.
  auto again = brand::parse_brand(loaded->json, fs::path(dir.path()) / "run" / "brand.json");
  REQUIRE(again);
  CHECK(again->research == loaded->research);
}

TEST_CASE("every example brand validates and is a rich profile") {
  std::set<std::string> industries;
  int count = 0;
  for (const auto& entry : fs::directory_iterator(k_examples)) {
    if (entry.path().extension() != ".json") continue;
    CAPTURE(entry.path());
    auto loaded = brand::load_brand_file(entry.path());
    REQUIRE_MESSAGE(loaded, (loaded ? "" : loaded.error().message));
    ++count;
    CHECK(loaded->id == entry.path().stem().string());
    CHECK(loaded->portfolio.size() >= 6);
    CHECK(loaded->target_customers.size() >= 4);
    CHECK(loaded->recent_innovations.size() >= 4);
    CHECK(loaded->strategic_priorities.size() >= 4);
    CHECK(loaded->brand_values.size() >= 4);
    std::istringstream words(loaded->research);
    const auto word_count = std::distance(std::istream_iterator<std::string>(words), std::istream_iterator<std::string>());
    CHECK(word_count >= 600);
    CHECK(word_count <= 1100);
    // The examples state every market fact, so nothing about them is guessed.
    CHECK(brand::is_currency_code(loaded->market.currency));
    CHECK_FALSE(loaded->market.price_position.empty());
    CHECK_FALSE(loaded->market.channels.empty());
    CHECK(loaded->market.cold_chain.has_value());
    CHECK(loaded->market.current_prices.size() >= 2);
    industries.insert(loaded->industry);
  }
  CHECK(count == 3);
  CHECK(industries.size() == 3);
}

TEST_CASE("a missing field is reported with the file and the field's name") {
  TempDir dir;
  for (const char* field : k_text_fields) {
    CAPTURE(field);
    auto profile_json = valid_profile();
    profile_json.erase(field);
    const auto path = write_profile(fs::path(dir.path()) / "acme-foods.json", profile_json);
    const auto message = error_of(brand::load_brand_file(path));
    CHECK(message == path.string() + ": field \"" + field + "\" is missing (a non-empty string)");
  }
  for (const char* field : k_list_fields) {
    CAPTURE(field);
    auto profile_json = valid_profile();
    profile_json.erase(field);
    const auto path = write_profile(fs::path(dir.path()) / "acme-foods.json", profile_json);
    const auto message = error_of(brand::load_brand_file(path));
    CHECK(message == path.string() + ": field \"" + field + "\" is missing (a non-empty array of strings)");
  }
}

TEST_CASE("a field of the wrong shape is reported by name") {
  const fs::path source = "brands/acme-foods.json";
  for (const char* field : k_text_fields) {
    for (const json& wrong : {json(42), json(""), json("   "), json::array({"a"}), json(nullptr)}) {
      CAPTURE(field);
      CAPTURE(wrong.dump());
      auto profile_json = valid_profile();
      profile_json[field] = wrong;
      CHECK(error_of(brand::parse_brand(profile_json, source)) ==
            "brands/acme-foods.json: field \"" + std::string(field) + "\" must be a non-empty string");
    }
  }
  for (const char* field : k_list_fields) {
    for (const json& wrong : {json::array(), json("Tomato soup"), json::object()}) {
      CAPTURE(field);
      CAPTURE(wrong.dump());
      auto profile_json = valid_profile();
      profile_json[field] = wrong;
      CHECK(error_of(brand::parse_brand(profile_json, source)) ==
            "brands/acme-foods.json: field \"" + std::string(field) + "\" must be a non-empty array of strings");
    }
    auto profile_json = valid_profile();
    profile_json[field] = {"fine", 7};
    CHECK(error_of(brand::parse_brand(profile_json, source)) ==
          "brands/acme-foods.json: field \"" + std::string(field) + "\" item 2 must be a non-empty string");
    profile_json[field] = {""};
    CHECK(contains(error_of(brand::parse_brand(profile_json, source)), "item 1 must be a non-empty string"));
  }
}

TEST_CASE("the market facts are optional, and a wrong one is refused by name") {
  const fs::path source = "brands/acme-foods.json";
  auto profile_json = valid_profile();
  auto plain = brand::parse_brand(profile_json, source);
  REQUIRE(plain);
  CHECK(plain->market.currency.empty());
  CHECK_FALSE(plain->market.cold_chain.has_value());
  CHECK(brand::to_prompt_text(*plain).find("Market facts") == std::string::npos);

  profile_json["currency"] = "EUR";
  profile_json["price_position"] = "value";
  profile_json["channels"] = {"foodservice", "store_retail"};
  profile_json["cold_chain"] = false;
  profile_json["current_prices"] = {{{"product", "Tomato soup"}, {"pack", "400 g carton"}, {"price", 1.89}}};
  auto stated = brand::parse_brand(profile_json, source);
  REQUIRE_MESSAGE(stated, (stated ? "" : stated.error().message));
  CHECK(stated->market.currency == "EUR");
  CHECK(stated->market.channels == std::vector<std::string>{"store_retail", "foodservice"});
  CHECK(stated->market.cold_chain == false);
  const auto text = brand::to_prompt_text(*stated);
  CHECK(contains(text, "## Market facts\n- Currency: EUR\n- Price position: value\n"
                       "- Channels: store_retail, foodservice\n- Cold chain: no\n"
                       "- Current price: Tomato soup, 400 g carton: 1.89 EUR\n"));

  const std::vector<std::pair<std::string, json>> wrong = {
      {"currency", "AAA"}, {"currency", "eur"}, {"currency", 978},
      {"price_position", "cheap"}, {"channels", json::array()}, {"channels", {"shop"}},
      {"cold_chain", "no"}, {"current_prices", {{{"product", "Soup"}, {"pack", "1 l"}, {"price", 0}}}},
      {"current_prices", {{{"product", "Soup"}, {"price", 2}}}}};
  for (const auto& [field, value] : wrong) {
    CAPTURE(field);
    CAPTURE(value.dump());
    auto bad = valid_profile();
    bad[field] = value;
    const auto message = error_of(brand::parse_brand(bad, source));
    CHECK(message.rfind("brands/acme-foods.json: field \"" + field + "\" ", 0) == 0);
  }
}

TEST_CASE("all problems of a profile are reported together on one line") {
  auto profile_json = valid_profile();
  profile_json.erase("country");
  profile_json["portfolio"] = json::array();
  profile_json["brand_value"] = {"typo"};
  const auto message = error_of(brand::parse_brand(profile_json, "x.json"));
  CHECK(contains(message, "field \"country\" is missing"));
  CHECK(contains(message, "field \"portfolio\" must be a non-empty array"));
  CHECK(contains(message, "unknown field \"brand_value\""));
  CHECK(message.find('\n') == std::string::npos);
}

TEST_CASE("a profile that is not a JSON object is refused") {
  CHECK(error_of(brand::parse_brand(json::array({1, 2}), "x.json")) ==
        "x.json: a brand profile must be a JSON object");
  CHECK(contains(error_of(brand::parse_brand(json("text"), "x.json")), "must be a JSON object"));
}

TEST_CASE("unknown fields are refused, with a suggestion for a likely typo") {
  auto profile_json = valid_profile();
  profile_json["brand_value"] = {"Warmth"};
  CHECK(contains(error_of(brand::parse_brand(profile_json, "x.json")),
                 "unknown field \"brand_value\" (did you mean \"brand_values\"?)"));

  profile_json = valid_profile();
  profile_json["reserach_file"] = "notes.md";
  CHECK(contains(error_of(brand::parse_brand(profile_json, "x.json")), "did you mean \"research_file\"?"));

  profile_json = valid_profile();
  profile_json["mascot"] = "A cat";
  const auto message = error_of(brand::parse_brand(profile_json, "x.json"));
  CHECK(contains(message, "unknown field \"mascot\""));
  CHECK(contains(message, "known fields: id, company_name"));
}

TEST_CASE("bad brand ids are refused in profiles and in lookups") {
  for (const char* id : {"../etc", "Acme", "-x", "acme_foods", "acme foods", "acme/foods", ".hidden", ""}) {
    CAPTURE(id);
    CHECK_FALSE(brand::is_valid_brand_id(id));
    auto profile_json = valid_profile();
    profile_json["id"] = id;
    CHECK(contains(error_of(brand::parse_brand(profile_json, "x.json")), "field \"id\""));
  }
  CHECK_FALSE(brand::is_valid_brand_id(std::string(65, 'a')));
  for (const char* id : {"acme", "a", "0", "acme-foods-2", "x-"}) {
    CAPTURE(id);
    CHECK(brand::is_valid_brand_id(id));
  }
  TempDir dir;
  write_profile(fs::path(dir.path()) / "acme.json", valid_profile("acme"));
  for (const char* reference : {"Acme", "-x", "..", "acme_foods"}) {
    CAPTURE(reference);
    CHECK(contains(error_of(brand::resolve_brand(reference, {dir.path()})), "invalid brand id"));
  }
  // "../etc" holds a '/', so it is a path, and no such file exists there.
  CHECK(contains(error_of(brand::resolve_brand("../etc", {dir.path()})), "does not exist"));
}

TEST_CASE("research and research_file together are refused") {
  auto profile_json = valid_profile();
  profile_json["research"] = "inline";
  profile_json["research_file"] = "notes.md";
  CHECK(contains(error_of(brand::parse_brand(profile_json, "x.json")),
                 "fields \"research\" and \"research_file\" are both given"));
}

TEST_CASE("a missing or escaping research_file is reported against the profile") {
  TempDir dir;
  write(fs::path(dir.path()) / "secret.md", "outside\n");
  const fs::path brands = fs::path(dir.path()) / "brands";
  auto profile_json = valid_profile();

  profile_json["research_file"] = "acme-foods.research.md";
  auto path = write_profile(brands / "acme-foods.json", profile_json);
  auto message = error_of(brand::load_brand_file(path));
  CHECK(contains(message, path.string() + ": field \"research_file\""));
  CHECK(contains(message, "does not exist"));

  profile_json["research_file"] = "../secret.md";
  write_profile(path, profile_json);
  CHECK(contains(error_of(brand::load_brand_file(path)), "field \"research_file\" \"../secret.md\" leaves"));

  profile_json["research_file"] = (fs::path(dir.path()) / "secret.md").string();
  write_profile(path, profile_json);
  CHECK(contains(error_of(brand::load_brand_file(path)), "is absolute"));

  profile_json["research_file"] = 5;
  write_profile(path, profile_json);
  CHECK(contains(error_of(brand::load_brand_file(path)), "field \"research_file\" must be a non-empty string"));
}

TEST_CASE("invalid JSON names the file, the line and the column") {
  TempDir dir;
  const auto path = write(fs::path(dir.path()) / "broken.json", "{\n  \"id\": \"broken\",\n  oops\n}\n");
  const auto message = error_of(brand::load_brand_file(path));
  CHECK(contains(message, path.string() + ": invalid JSON at line 3, column 3"));
  CHECK(message.find('\n') == std::string::npos);

  const auto empty = write(fs::path(dir.path()) / "empty.json", "\n");
  CHECK(contains(error_of(brand::load_brand_file(empty)), "the file is empty"));

  const auto missing = fs::path(dir.path()) / "missing.json";
  CHECK(error_of(brand::load_brand_file(missing)) == "brand file " + missing.string() + " does not exist");
}

TEST_CASE("a repeated top-level field is refused") {
  TempDir dir;
  auto text = valid_profile().dump();
  text.insert(1, "\"portfolio\": [\"Hidden\"], ");
  const auto path = write(fs::path(dir.path()) / "acme-foods.json", text);
  CHECK(contains(error_of(brand::load_brand_file(path)), "field \"portfolio\" appears more than once"));
}

TEST_CASE("resolve_brand takes paths and ids, and the first folder wins") {
  TempDir dir;
  const fs::path first = fs::path(dir.path()) / "first";
  const fs::path second = fs::path(dir.path()) / "second";
  auto mine = valid_profile("acme");
  mine["company_name"] = "Acme of the first folder";
  write_profile(first / "acme.json", mine);
  write_profile(second / "acme.json", valid_profile("acme"));
  write_profile(second / "zeta.json", valid_profile("zeta"));

  auto acme = brand::resolve_brand("acme", {first, second});
  REQUIRE(acme);
  CHECK(acme->company_name == "Acme of the first folder");
  CHECK(acme->source == first / "acme.json");
  auto zeta = brand::resolve_brand("zeta", {first, second});
  REQUIRE(zeta);
  CHECK(zeta->source == second / "zeta.json");
  auto reversed = brand::resolve_brand("acme", {second, first});
  REQUIRE(reversed);
  CHECK(reversed->source == second / "acme.json");

  // A path, absolute or relative, bypasses the search folders.
  auto by_path = brand::resolve_brand((second / "acme.json").string(), {first});
  REQUIRE(by_path);
  CHECK(by_path->company_name == "Acme Foods");
  const auto copy = write_profile(fs::path(dir.path()) / "any-name.json", valid_profile("other"));
  auto by_name = brand::resolve_brand(copy.string(), {});
  REQUIRE(by_name);
  CHECK(by_name->id == "other");
}

TEST_CASE("an invalid file found by id is reported, not skipped for a later folder") {
  TempDir dir;
  const fs::path first = fs::path(dir.path()) / "first";
  const fs::path second = fs::path(dir.path()) / "second";
  auto broken = valid_profile("acme");
  broken.erase("positioning");
  write_profile(first / "acme.json", broken);
  write_profile(second / "acme.json", valid_profile("acme"));
  CHECK(contains(error_of(brand::resolve_brand("acme", {first, second})), "field \"positioning\" is missing"));

  auto scan = brand::scan_brands({first, second});
  CHECK(scan.brands.empty());
  REQUIRE(scan.problems.size() == 1);
  CHECK(contains(scan.problems[0].message, (first / "acme.json").string()));
}

TEST_CASE("a file found by id must carry that id") {
  TempDir dir;
  write_profile(fs::path(dir.path()) / "acme.json", valid_profile("globex"));
  const auto message = error_of(brand::resolve_brand("acme", {dir.path()}));
  CHECK(contains(message, "field \"id\" is \"globex\""));
  CHECK(contains(message, "<id>.json"));
  // The same file loads by path.
  CHECK(brand::resolve_brand(dir / "acme.json", {}));
  auto scan = brand::scan_brands({dir.path()});
  CHECK(scan.brands.empty());
  CHECK(scan.problems.size() == 1);
}

TEST_CASE("an unknown id lists the brands that are available") {
  TempDir dir;
  write_profile(fs::path(dir.path()) / "one" / "beta.json", valid_profile("beta"));
  write_profile(fs::path(dir.path()) / "two" / "alpha.json", valid_profile("alpha"));
  const std::vector<fs::path> dirs{fs::path(dir.path()) / "one", fs::path(dir.path()) / "two",
                                   fs::path(dir.path()) / "absent"};
  const auto message = error_of(brand::resolve_brand("gamma", dirs));
  CHECK(contains(message, "unknown brand \"gamma\"; available: alpha, beta"));
  CHECK(contains(message, (fs::path(dir.path()) / "one").string()));
  CHECK_FALSE(contains(message, "absent"));

  const auto nowhere = error_of(brand::resolve_brand("gamma", {fs::path(dir.path()) / "absent"}));
  CHECK(contains(nowhere, "no brand folder exists"));
}

TEST_CASE("list_brands reads only .json files, sorted by id, first folder first") {
  TempDir dir;
  const fs::path first = fs::path(dir.path()) / "first";
  const fs::path second = fs::path(dir.path()) / "second";
  write_profile(first / "mid.json", valid_profile("mid"));
  write(first / "mid.research.md", "# Not a profile\n");
  write(first / "notes.txt", "nothing\n");
  write_profile(second / "mid.json", valid_profile("mid"));
  write_profile(second / "aaa.json", valid_profile("aaa"));
  write(second / "Bad Name.json", "{}");

  const auto brands = brand::list_brands({first, second, fs::path(dir.path()) / "absent"});
  REQUIRE(brands.size() == 2);
  CHECK(brands[0].id == "aaa");
  CHECK(brands[1].id == "mid");
  CHECK(brands[1].source == first / "mid.json");

  auto scan = brand::scan_brands({first, second});
  REQUIRE(scan.problems.size() == 1);
  CHECK(contains(scan.problems[0].message, "not a brand id"));
}

TEST_CASE("to_prompt_text renders every field and the research notes under their own heading") {
  auto profile_json = valid_profile();
  profile_json["research"] = "# Market\n\nWinter sales.\n\n```\n# not a heading\n```\n";
  auto loaded = brand::parse_brand(profile_json, "acme-foods.json");
  REQUIRE(loaded);
  const auto text = brand::to_prompt_text(*loaded);
  CHECK(contains(text, "# Brand: Acme Foods (acme-foods)"));
  CHECK(contains(text, "- Country: Netherlands"));
  CHECK(contains(text, "- Industry: Packaged soups"));
  CHECK(contains(text, "- Positioning: Honest soups for cold evenings"));
  CHECK(contains(text, "## Portfolio\n- Tomato soup\n- Pea soup\n"));
  CHECK(contains(text, "## Target customers\n- Commuters\n"));
  CHECK(contains(text, "## Recent innovations\n- Soup in a pouch\n"));
  CHECK(contains(text, "## Strategic priorities\n- Grow in Belgium\n"));
  CHECK(contains(text, "## Brand values\n- Warmth\n- Thrift\n"));
  CHECK(contains(text, "## Research notes\n\n### Market\n\nWinter sales.\n"));
  CHECK(contains(text, "```\n# not a heading\n```"));

  loaded->research.clear();
  CHECK_FALSE(contains(brand::to_prompt_text(*loaded), "Research notes"));
}
