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

namespace {

checkpoints::RunState make_run(checkpoints::RunStore& store, const std::string& id, const std::string& brand_file) {
  stages::NewRunRequest request;
  request.input = example_pdf_path();
  request.brand = brand_file;
  request.run_id = id;
  request.settings = stages::build_settings("http://127.0.0.1:9/v1", "test-model", "json_schema",
                                            nlohmann::json::object(), {})
                         .value_or_throw();
  auto created = stages::create_run(store, request);
  if (!created) throw std::runtime_error("fixture run: " + created.error().message);
  return std::move(created->state);
}

}  // namespace

RunFixture::RunFixture() {
  brand_path = write_test_brand(dir.path(), "test-dairy", "Testmark Dairy Cooperative");
  store = checkpoints::make_file_run_store(dir / "runs");
  run_id = make_run(*store, "fixture-run", brand_path).run_id;
}

checkpoints::RunState RunFixture::add_run(const std::string& id, const std::string& brand_file) const {
  return make_run(*store, id, brand_file.empty() ? brand_path : brand_file);
}

checkpoints::RunState RunFixture::state() const {
  auto loaded = store->load(run_id);
  if (!loaded) throw std::runtime_error("fixture run does not load: " + loaded.error().message);
  return std::move(*loaded);
}

}  // namespace pipeline::testing
