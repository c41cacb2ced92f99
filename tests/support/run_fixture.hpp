#pragma once

#include <memory>
#include <string>

#include "checkpoints/run_store.hpp"
#include "tests/support/process.hpp"

namespace pipeline::testing {

// The example case study PDF shipped in examples/.
std::string example_pdf_path();

// Writes a valid brand profile named <id>.json into `dir` and returns its path.
std::string write_test_brand(const std::string& dir, const std::string& id, const std::string& company_name);

// A run store in a temporary folder with one fresh run of the example PDF
// for a test brand, created through stages::create_run.
struct RunFixture {
  RunFixture();
  // The run as saved now; fails the test when it does not load.
  checkpoints::RunState state() const;
  // Makes another run of the example PDF in the same store, for `brand_file`
  // (default: the fixture's brand); returns its state.
  checkpoints::RunState add_run(const std::string& id, const std::string& brand_file = {}) const;
  TempDir dir;
  std::unique_ptr<checkpoints::RunStore> store;
  std::string run_id;
  std::string brand_path;
};

}  // namespace pipeline::testing
