#include "stages/vague_words.hpp"

#include <algorithm>
#include <cctype>

namespace pipeline::stages {
namespace {

bool is_word_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) || c == '-' || c == '_' || u >= 0x80;
}

// The words of `text`, lower case, in order.
std::vector<std::string> text_words(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && is_word_char(text[i])) {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
      continue;
    }
    while (!word.empty() && word.back() == '-') word.pop_back();
    if (!word.empty()) words.push_back(word);
    word.clear();
  }
  return words;
}

// Whether `words` holds the banned entry `banned` (one word, or several
// separated by spaces, which must follow each other).
bool holds_banned(const std::vector<std::string>& words, const std::string& banned) {
  const auto parts = text_words(banned);
  if (parts.empty()) return false;
  return std::search(words.begin(), words.end(), parts.begin(), parts.end()) != words.end();
}

// The banned words `text` uses, in the order of the list, each once.
std::vector<std::string> used_words(const std::string& text) {
  const auto words = text_words(text);
  std::vector<std::string> out;
  for (const auto& banned : vague_words())
    if (holds_banned(words, banned)) out.push_back(banned);
  return out;
}

void collect(const nlohmann::json& value, const std::string& path, std::string& problems) {
  if (value.is_string()) {
    const auto used = used_words(value.get<std::string>());
    if (used.empty()) return;
    std::string list;
    for (const auto& word : used) list += (list.empty() ? "\"" : ", \"") + word + "\"";
    problems += (problems.empty() ? "" : "; ") + path + " uses " + list;
  } else if (value.is_object()) {
    for (const auto& [key, member] : value.items()) collect(member, path + "." + key, problems);
  } else if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) collect(value[i], path + "[" + std::to_string(i) + "]", problems);
  }
}

}  // namespace

const std::vector<std::string>& vague_words() {
  static const std::vector<std::string> words = {
      "innovative",  "disruptive",  "revolutionary", "game-changing",  "cutting-edge", "groundbreaking",
      "next-generation", "synergy", "seamless",      "best-in-class",  "world-class",  "paradigm shift",
      "better",      "improved",    "unique",        "interesting",    "creative",     "inspiring"};
  return words;
}

std::string vague_words_text() {
  std::string text;
  for (const auto& word : vague_words()) text += (text.empty() ? "" : ", ") + word;
  return text;
}

std::string vague_word_problems(const nlohmann::json& answer) {
  std::string problems;
  collect(answer, "$", problems);
  if (problems.empty()) return {};
  return problems + ". These words claim a quality without showing it: replace each with the fact, figure or cause it "
                    "stands for.";
}

}  // namespace pipeline::stages
