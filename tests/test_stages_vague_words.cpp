#include <doctest/doctest.h>

#include <algorithm>

#include "stages/vague_words.hpp"

using pipeline::stages::vague_word_problems;
using pipeline::stages::vague_words;

TEST_CASE("the banned list holds the hype words and the empty adjectives") {
  for (const char* word : {"innovative", "disruptive", "revolutionary", "game-changing", "cutting-edge", "better", "improved",
                           "unique", "interesting", "creative", "inspiring"}) {
    CAPTURE(word);
    CHECK(std::find(vague_words().begin(), vague_words().end(), word) != vague_words().end());
  }
}

TEST_CASE("a banned word is found as a whole word in any case, and named with its path") {
  const nlohmann::json answer = {{"title", "Plain rolls"},
                                 {"steps", {"Bake 2,000 bags", "A truly Innovative, UNIQUE pack."}},
                                 {"card", {{"shelf", "It sells better."}}}};
  const std::string problems = vague_word_problems(answer);
  CHECK(problems.find("$.steps[1] uses \"innovative\", \"unique\"") != std::string::npos);
  CHECK(problems.find("$.card.shelf uses \"better\"") != std::string::npos);
  CHECK(problems.find("$.title") == std::string::npos);
  CHECK(problems.find("replace each") != std::string::npos);
}

TEST_CASE("words that only contain a banned word, and the pattern names, pass") {
  const nlohmann::json answer = {{"pattern", "better_for_you"},
                                 {"label", "Better-for-you rolls"},
                                 {"note", "Innovation teams betterment, uniqueness, improvements"},
                                 {"count", 3}};
  CHECK(vague_word_problems(answer).empty());
  CHECK(vague_word_problems(nlohmann::json("A game-changing, cutting-edge launch")).find("game-changing") != std::string::npos);
}

TEST_CASE("the list holds the words stage 1 banned too, and a banned phrase is found only with its words in a row") {
  for (const char* word : {"groundbreaking", "next-generation", "synergy", "seamless", "best-in-class", "world-class",
                           "paradigm shift"}) {
    CAPTURE(word);
    CHECK(std::find(vague_words().begin(), vague_words().end(), word) != vague_words().end());
  }
  CHECK(vague_word_problems(nlohmann::json("A seamless hand-off")).find("\"seamless\"") != std::string::npos);
  CHECK(vague_word_problems(nlohmann::json("A real Paradigm  Shift in chilled")).find("\"paradigm shift\"") !=
        std::string::npos);
  CHECK(vague_word_problems(nlohmann::json("The paradigm of a night shift")).empty());
  CHECK(pipeline::stages::vague_words_text().rfind("innovative, disruptive, ", 0) == 0);
  CHECK(pipeline::stages::vague_words_text().find("paradigm shift") != std::string::npos);
}
