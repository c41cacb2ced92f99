#include "service/http_problem.hpp"

#include <array>

namespace pipeline::service {
namespace {

struct ProblemKind {
  std::string_view slug;
  int status;
  std::string_view title;
};

constexpr std::array k_problem_kinds{
    ProblemKind{"invalid-request", 400, "The request is malformed"},
    ProblemKind{"unauthorized", 401, "A valid token is needed"},
    ProblemKind{"forbidden", 403, "The token does not allow this"},
    ProblemKind{"not-found", 404, "Not found"},
    ProblemKind{"method-not-allowed", 405, "The method is not allowed here"},
    ProblemKind{"conflict", 409, "The request conflicts with the state of the run"},
    ProblemKind{"payload-too-large", 413, "The request body is too large"},
    ProblemKind{"unsupported-media-type", 415, "The request body's type is not accepted"},
    ProblemKind{"unprocessable", 422, "The request cannot be carried out as given"},
    ProblemKind{"idempotency-key-reused", 422, "The idempotency key was used for another request"},
    ProblemKind{"internal", 500, "The server failed"},
    ProblemKind{"too-many-streams", 503, "Too many event streams are open"},
    ProblemKind{"not-ready", 503, "The server is not ready"},
};

}  // namespace

Problem make_problem(std::string_view slug, std::string detail) {
  for (const auto& kind : k_problem_kinds) {
    if (kind.slug == slug) return {kind.status, std::string(kind.slug), std::string(kind.title), std::move(detail)};
  }
  return make_problem("internal", std::move(detail));
}

Problem problem_from_error(const util::Error& error) {
  switch (error.kind) {
    case util::ErrorKind::bad_input:
    case util::ErrorKind::usage:
      return make_problem("unprocessable", error.message);
    case util::ErrorKind::busy:
      return make_problem("conflict", error.message);
    default:
      return make_problem("internal", error.message);
  }
}

nlohmann::json to_json(const Problem& problem) {
  return {{"type", "urn:pipeline:problem:" + problem.slug},
          {"title", problem.title},
          {"status", problem.status},
          {"detail", problem.detail}};
}

}  // namespace pipeline::service
