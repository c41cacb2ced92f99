#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "lib/util/error.hpp"
#include "lib/util/expected.hpp"

using pipeline::util::ErrorKind;
using pipeline::util::exit_code;

namespace pipeline::testing {
namespace {

// Every ErrorKind; a kind added to the enum without a place here makes the
// count check below fail.
const std::vector<ErrorKind> k_all_kinds = {
    ErrorKind::failed,           ErrorKind::usage,     ErrorKind::bad_input,
    ErrorKind::provider,         ErrorKind::busy,      ErrorKind::budget_too_small,
    ErrorKind::cost_limit,       ErrorKind::transient,        ErrorKind::deadline,  ErrorKind::interrupted,
};

// The codes in the first column of README's "Exit codes" table.
std::set<int> readme_exit_codes() {
  std::ifstream in(std::filesystem::path(PIPELINE_TEST_SOURCE_DIR).parent_path() / "README.md");
  REQUIRE(in);
  std::set<int> codes;
  bool in_section = false;
  const std::regex row(R"(^\|\s*([0-9][0-9, ]*)\s*\|)");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("## ", 0) == 0) in_section = line == "## Exit codes";
    std::smatch match;
    if (!in_section || !std::regex_search(line, match, row)) continue;
    std::istringstream numbers(match[1].str());
    for (std::string number; std::getline(numbers, number, ',');) codes.insert(std::stoi(number));
  }
  return codes;
}

}  // namespace
}  // namespace pipeline::testing

using pipeline::testing::k_all_kinds;

TEST_CASE("the list of kinds covers the enum") {
  // interrupted is the last enumerator.
  CHECK(k_all_kinds.size() == static_cast<std::size_t>(ErrorKind::interrupted) + 1);
}

TEST_CASE("exit_code follows README's table") {
  CHECK(exit_code(ErrorKind::failed) == 1);
  CHECK(exit_code(ErrorKind::usage) == 2);
  CHECK(exit_code(ErrorKind::bad_input) == 3);
  CHECK(exit_code(ErrorKind::provider) == 4);
  CHECK(exit_code(ErrorKind::busy) == 5);
  CHECK(exit_code(ErrorKind::budget_too_small) == 6);
  CHECK(exit_code(ErrorKind::cost_limit) == 7);
  CHECK(exit_code(ErrorKind::transient) == 75);
  CHECK(exit_code(ErrorKind::deadline) == 75);
  CHECK(exit_code(ErrorKind::interrupted, SIGINT) == 130);
  CHECK(exit_code(ErrorKind::interrupted, SIGTERM) == 143);
  // The documented default: no signal means SIGINT.
  CHECK(exit_code(ErrorKind::interrupted) == 130);
}

TEST_CASE("every exit code of an error is in README's table, and every error code there is used") {
  const auto documented = pipeline::testing::readme_exit_codes();
  REQUIRE(documented.count(0) == 1);
  std::set<int> produced;
  for (auto kind : k_all_kinds) {
    for (int signal : {0, SIGINT, SIGTERM}) {
      const int code = exit_code(kind, signal);
      CAPTURE(pipeline::util::to_string(kind));
      CAPTURE(signal);
      CHECK(code != 0);
      CHECK(documented.count(code) == 1);
      produced.insert(code);
    }
  }
  std::set<int> documented_errors = documented;
  documented_errors.erase(0);
  CHECK(produced == documented_errors);
}

TEST_CASE("to_string names are unique, lowercase and not empty") {
  std::set<std::string> names;
  for (auto kind : k_all_kinds) {
    const std::string name(pipeline::util::to_string(kind));
    CAPTURE(name);
    CHECK_FALSE(name.empty());
    for (char c : name) CHECK(((c >= 'a' && c <= 'z') || c == '_'));
    names.insert(name);
  }
  CHECK(names.size() == k_all_kinds.size());
  CHECK(pipeline::util::to_string(ErrorKind::bad_input) == "bad_input");
}

TEST_CASE("an Expected error turns into a FatalError of the same kind") {
  pipeline::util::Expected<int> failed = pipeline::util::fail(ErrorKind::busy, "locked by 42", "locked");
  REQUIRE_FALSE(failed);
  CHECK(failed.error().code == "locked");
  try {
    (void)std::move(failed).value_or_throw();
    FAIL("value_or_throw did not throw");
  } catch (const pipeline::util::FatalError& error) {
    CHECK(error.kind() == ErrorKind::busy);
    CHECK(std::string(error.what()) == "locked by 42");
    CHECK(exit_code(error.kind()) == 5);
  }
}
