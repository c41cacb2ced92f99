#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

// Hype and empty adjectives that stand in for a fact: every stage's answer
// is checked for them in code, as a style rule (re-asked, then a warning).
namespace pipeline::stages {

// The banned words, lower case: innovative, disruptive, revolutionary, ...
const std::vector<std::string>& vague_words();

// Names each string of `answer` (by its JSON path) that uses a banned word,
// as a whole word in any case; empty when none does. Words are runs of
// letters, digits, '-' and '_', so "better-for-you" and "better_for_you" are
// not "better".
std::string vague_word_problems(const nlohmann::json& answer);

}  // namespace pipeline::stages
