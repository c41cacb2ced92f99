#include <doctest/doctest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "lib/util/error.hpp"
#include "service/http_problem.hpp"

using pipeline::service::make_problem;
using pipeline::service::Problem;
using pipeline::service::problem_from_error;

namespace {

// The problem types of the HTTP API contract (docs/http-api.md) and their statuses.
const std::vector<std::pair<std::string, int>> k_problem_contract{
    {"invalid-request", 400},   {"unauthorized", 401},
    {"forbidden", 403},         {"not-found", 404},
    {"method-not-allowed", 405}, {"conflict", 409},
    {"payload-too-large", 413}, {"unsupported-media-type", 415},
    {"unprocessable", 422},     {"idempotency-key-reused", 422},
    {"internal", 500},          {"too-many-streams", 503},
    {"not-ready", 503},
};

}  // namespace

TEST_CASE("every problem type of the contract has its status and a title of its own") {
  std::set<std::string> titles;
  for (const auto& [slug, status] : k_problem_contract) {
    CAPTURE(slug);
    const Problem problem = make_problem(slug, "detail of " + slug);
    CHECK(problem.slug == slug);
    CHECK(problem.status == status);
    CHECK(problem.detail == "detail of " + slug);
    CHECK_FALSE(problem.title.empty());
    // The title is the slug's, not the occurrence's.
    CHECK(make_problem(slug, "another detail").title == problem.title);
    titles.insert(problem.title);
  }
  CHECK(titles.size() == k_problem_contract.size());
}

TEST_CASE("an unknown slug is an internal error that keeps its detail") {
  for (const std::string slug : {"", "teapot", "Not-Found", "not-found "}) {
    CAPTURE(slug);
    const Problem problem = make_problem(slug, "what happened");
    CHECK(problem.slug == "internal");
    CHECK(problem.status == 500);
    CHECK(problem.detail == "what happened");
  }
}

TEST_CASE("errors of the service layer become problems by their kind") {
  using pipeline::util::Error;
  using pipeline::util::ErrorKind;
  const Problem bad = problem_from_error(Error{ErrorKind::bad_input, "unknown brand acme", ""});
  CHECK(bad.slug == "unprocessable");
  CHECK(bad.status == 422);
  CHECK(bad.detail == "unknown brand acme");

  const Problem busy = problem_from_error(Error{ErrorKind::busy, "run r1 is locked", ""});
  CHECK(busy.slug == "conflict");
  CHECK(busy.status == 409);
  CHECK(busy.detail == "run r1 is locked");

  for (const auto kind : {ErrorKind::failed, ErrorKind::provider, ErrorKind::transient, ErrorKind::deadline,
                          ErrorKind::cost_limit, ErrorKind::interrupted}) {
    const std::string kind_name(pipeline::util::to_string(kind));
    CAPTURE(kind_name);
    const Problem problem = problem_from_error(Error{kind, "disk full", ""});
    CHECK(problem.slug == "internal");
    CHECK(problem.status == 500);
    CHECK(problem.detail == "disk full");
  }
}

TEST_CASE("a problem document is {type, title, status, detail} with a urn type") {
  const Problem problem = make_problem("not-found", "there is no run r9");
  const nlohmann::json json = pipeline::service::to_json(problem);
  REQUIRE(json.is_object());
  CHECK(json.size() == 4);
  CHECK(json.at("type") == "urn:pipeline:problem:not-found");
  CHECK(json.at("title") == problem.title);
  CHECK(json.at("status").is_number_integer());
  CHECK(json.at("status") == 404);
  CHECK(json.at("detail") == "there is no run r9");
  CHECK(std::string(pipeline::service::k_problem_content_type) == "application/problem+json");
}
