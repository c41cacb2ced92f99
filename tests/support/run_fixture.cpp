#include "tests/support/run_fixture.hpp"

#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "stages/run_factory.hpp"

namespace pipeline::testing {

std::string example_pdf_path() { return std::string(PIPELINE_SOURCE_DIR) + "/examples/example-case-study.pdf"; }

std::string write_test_brand(const std::string& dir, const std::string& id, const std::string& company_name) {
  const nlohmann::json brand = {
      {"id", id},
      {"company_name", company_name},
      {"country", "Denmark"},
      {"industry", "Dairy"},
      {"positioning", "Everyday organic dairy from cooperative farms"},
      {"portfolio", {"Organic milk", "Skyr", "Butter"}},
      {"target_customers", {"Families who shop weekly in supermarkets"}},
      {"recent_innovations", {"Oat and milk blend"}},
      {"strategic_priorities", {"Grow in convenience stores"}},
      {"brand_values", {"Honest", "Local"}},
      {"research", "## Notes\nShoppers value short ingredient lists."}};
  const std::string path = dir + "/" + id + ".json";
  std::ofstream(path) << brand.dump(2);
  return path;
}

RunFixture::RunFixture() {
  brand_path = write_test_brand(dir.path(), "test-dairy", "Testmark Dairy Cooperative");
  store = checkpoints::make_file_run_store(dir / "runs");
  stages::NewRunRequest request;
  request.input = example_pdf_path();
  request.brand = brand_path;
  request.run_id = "fixture-run";
  request.settings = stages::build_settings("http://127.0.0.1:9/v1", "test-model", "json_schema",
                                            nlohmann::json::object(), {})
                         .value_or_throw();
  auto created = stages::create_run(*store, request);
  if (!created) throw std::runtime_error("fixture run: " + created.error().message);
  run_id = created->state.run_id;
}

checkpoints::RunState RunFixture::state() const {
  auto loaded = store->load(run_id);
  if (!loaded) throw std::runtime_error("fixture run does not load: " + loaded.error().message);
  return std::move(*loaded);
}

}  // namespace pipeline::testing
