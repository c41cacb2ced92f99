#pragma once

// Errors of `pipeline serve` as RFC 9457 problem documents
// (application/problem+json), each of a stable type a client can switch on:
// urn:pipeline:problem:<slug> (docs/http-api.md lists them).

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "lib/util/error.hpp"

namespace pipeline::service {

inline constexpr const char* k_problem_content_type = "application/problem+json";

struct Problem {
  int status = 500;
  std::string slug;    // e.g. "not-found"
  std::string title;   // the same for every problem of the slug
  std::string detail;  // this occurrence, for a person
};

// The problem of a slug, with its status and title; an unknown slug is an internal error.
Problem make_problem(std::string_view slug, std::string detail);

// The problem for an error of the service layer: bad_input is unprocessable,
// busy is a conflict, anything else an internal error whose detail is kept.
Problem problem_from_error(const util::Error& error);

// {type, title, status, detail}.
nlohmann::json to_json(const Problem& problem);

}  // namespace pipeline::service
