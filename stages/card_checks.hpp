#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stages/brand_facts.hpp"

// The checks that make stage 5's plan and cards brand-specific, feasible and
// distinct, beyond what a schema can say. Each returns the problems in words
// for a re-ask, empty when there are none. Which are contract and which are
// style is the caller's choice; opportunities_stage.cpp says which it makes.
namespace pipeline::stages {

// Appends `problem` to `problems`, "; " between them; an empty problem adds nothing.
void add_problem(std::string& problems, const std::string& problem);

// Text as the checks compare it: lower case, runs of whitespace as one space, trimmed.
std::string normalised_text(const std::string& text);

// True when `text` names one of `names`: one contains the other as whole
// words (so "jar" does not name "Spice jars"), ignoring case and runs of
// whitespace. Text under three characters names nothing.
bool names_one_of(const std::string& text, const std::vector<std::string>& names);

// A brand_anchor object whose product_line names no product line of the
// profile, or whose customer_segment names none of its target customers.
// `where` prefixes each problem (e.g. "the convenience concept's").
std::string brand_anchor_problems(const nlohmann::json& anchor, const BrandFacts& facts, const std::string& where);

// Every brand_anchor of a plan or a card checked (a plan holds one per
// pattern, a card one of its own).
std::string anchors_problems(const nlohmann::json& answer, const BrandFacts& facts);

// Two planned concepts that share a title, a pair of shopper and occasion,
// or a format.
std::string plan_problems(const nlohmann::json& plan);

// A card of `pattern` whose title is the one planned for another pattern.
std::string card_title_problem(const nlohmann::json& card, const nlohmann::json& plan, const std::string& pattern);

// A card the brand could not make or sell: storage or channel the facts rule
// out, or its title, description, price point or shelf line speaking of
// chilled or frozen goods without a cold chain, or of a subscription or a
// direct-to-consumer offer without a direct channel.
std::string feasibility_problems(const nlohmann::json& card, const BrandFacts& facts);

// `text` speaking of chilled or frozen goods without a cold chain, or of a
// subscription or a direct-to-consumer offer without a direct channel; `where`
// names what says it ("the card", "the convenience concept").
std::string wording_problems(const std::string& text, const BrandFacts& facts, const std::string& where);

// Every planned concept's title, concept, occasion and format read with wording_problems.
std::string plan_feasibility_problems(const nlohmann::json& plan, const BrandFacts& facts);

// What `card` repeats of the `others` (by pattern): a next step, a buyer
// question, or the same price, rate of sale and margin.
std::string repeats_against(const nlohmann::json& card, const std::map<std::string, nlohmann::json>& others);

}  // namespace pipeline::stages
