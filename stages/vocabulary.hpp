#pragma once

#include <string>
#include <string_view>
#include <vector>

// The closed vocabularies of the methodology (MISSION.md), shared by the
// stages' schemas, prompts and renderings.
namespace pipeline::stages::vocabulary {

// Mechanism ids: stage 1 names its one to three mechanisms M1..M3 and later stages refer to them.
const std::vector<std::string>& mechanism_ids();

// The ten mechanism types of stage 1 (unbundle, combine, remove_friction, ...).
const std::vector<std::string>& mechanism_types();

// The constraints a mechanism can remove: time, cost, knowledge, access, effort.
const std::vector<std::string>& constraint_kinds();

// Strength of the evidence in the document: strong, moderate, weak, anecdotal.
const std::vector<std::string>& evidence_strengths();

// Doblin's Ten Types of Innovation, in the order of their three categories.
const std::vector<std::string>& ten_types();

// The category of one of the ten types: configuration, offering or experience.
std::string_view ten_type_category(std::string_view type);

// Defensibility of a combination of types: low, medium, high.
const std::vector<std::string>& defensibility_levels();

// low, medium, high: for ratings, severities and threats.
const std::vector<std::string>& levels();

// The five consumer-goods patterns in card order: better_for_you, premiumisation,
// convenience, format_migration, occasion_expansion.
const std::vector<std::string>& patterns();

// A pattern as people write it: "Better-for-you", "Format migration".
std::string pattern_label(std::string_view pattern);

// "better_for_you" -> "better-for-you", for file names.
std::string dashed(std::string_view value);

}  // namespace pipeline::stages::vocabulary
