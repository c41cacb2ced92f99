#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

// Hype and empty adjectives that stand in for a fact: every stage's answer
// is checked for them in code, as a style rule (re-asked, then a warning).
// The list is the one source of what is banned: the prompts name no words of
// their own but get it through the {{vague_words}} placeholder of their user
// part (stages/prompt_inputs.hpp), so what a model is told and what it is
// checked for cannot drift apart.
namespace pipeline::stages {

// The banned words, lower case: innovative, disruptive, revolutionary, ...
// An entry of several words ("paradigm shift") is banned as that sequence.
const std::vector<std::string>& vague_words();

// The list as a prompt shows it: "innovative, disruptive, ..., inspiring".
std::string vague_words_text();

// Names each string of `answer` (by its JSON path) that uses a banned word,
// as a whole word in any case; empty when none does. Words are runs of
// letters, digits, '-' and '_', so "better-for-you" and "better_for_you" are
// not "better"; a banned sequence must have its words in a row.
std::string vague_word_problems(const nlohmann::json& answer);

}  // namespace pipeline::stages
