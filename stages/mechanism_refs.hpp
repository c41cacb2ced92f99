#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stages/stage.hpp"

// Mechanisms are named by id across stages: stage 1 finds them, stages 2 to
// 5 refer to them. Both ends are held by construction rather than hoped for.
namespace pipeline::stages {

// Numbers stage 1's mechanisms M1, M2, M3 in their order, whatever ids the
// model wrote: the ids are bookkeeping, and later stages refer to them.
void number_mechanisms(nlohmann::json& output);

// The ids of the mechanisms stage 1 found, in order; empty without its output.
std::vector<std::string> found_mechanism_ids(const StageContext& context);

// `schema` with every mechanism reference (a "mechanism_id" property, the
// items of a "mechanism_ids" array) limited to `ids`, so that an answer
// naming a mechanism stage 1 did not find breaks the request's contract.
// Unchanged when `ids` is empty.
nlohmann::json limit_mechanism_refs(nlohmann::json schema, const std::vector<std::string>& ids);

}  // namespace pipeline::stages
