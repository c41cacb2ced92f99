#include "lib/util/content_words.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <unordered_set>

namespace pipeline::util {
namespace {

// English function words, lower case; written for this project.
constexpr std::array k_stop_words = {
    // articles, determiners and quantifiers
    "a", "an", "the", "this", "that", "these", "those", "some", "any", "each", "every", "all", "both", "either",
    "neither", "no", "none", "other", "another", "such", "own", "same", "few", "more", "most", "less", "least",
    "many", "much", "several", "enough",
    // pronouns
    "i", "me", "my", "mine", "myself", "we", "us", "our", "ours", "ourselves", "you", "your", "yours", "yourself",
    "yourselves", "he", "him", "his", "himself", "she", "her", "hers", "herself", "it", "its", "itself", "they",
    "them", "their", "theirs", "themselves", "one", "ones", "who", "whom", "whose", "which", "what", "whatever",
    "whoever", "something", "anything", "nothing", "everything", "someone", "anyone", "everyone",
    // prepositions
    "about", "above", "across", "after", "against", "along", "among", "around", "as", "at", "before", "behind",
    "below", "beneath", "beside", "besides", "between", "beyond", "by", "down", "during", "except", "for", "from",
    "in", "inside", "into", "like", "near", "of", "off", "on", "onto", "out", "outside", "over", "past", "per",
    "since", "than", "through", "throughout", "till", "to", "toward", "towards", "under", "until", "up", "upon",
    "via", "with", "within", "without",
    // conjunctions and connectives
    "and", "or", "but", "nor", "so", "yet", "if", "then", "else", "because", "although", "though", "while",
    "whereas", "whether", "unless", "once", "when", "whenever", "where", "wherever", "why", "how", "however",
    "therefore", "thus", "hence", "also", "too", "instead", "rather", "even", "just", "only", "still", "already",
    "again", "ever", "never", "always", "often", "here", "there", "now", "very", "quite", "really", "almost",
    "not", "yes", "etc", "ie", "eg", "vs",
    // auxiliary and modal verbs
    "be", "am", "is", "are", "was", "were", "been", "being", "have", "has", "had", "having", "do", "does", "did",
    "doing", "done", "will", "would", "shall", "should", "can", "could", "may", "might", "must", "ought",
    "get", "gets", "got",
    // the halves of contractions that apostrophes leave
    "ll", "re", "ve", "don", "doesn", "didn", "isn", "aren", "wasn", "weren", "won", "wouldn", "shouldn",
    "couldn", "hasn", "haven", "hadn", "cannot"};

const std::unordered_set<std::string_view>& stop_word_set() {
  static const std::unordered_set<std::string_view> words(k_stop_words.begin(), k_stop_words.end());
  return words;
}

bool ends_with(std::string_view word, std::string_view suffix) {
  return word.size() >= suffix.size() && word.substr(word.size() - suffix.size()) == suffix;
}

// The length of the UTF-8 sequence that starts at `text[i]` when it is
// punctuation rather than a letter: U+0080-U+00BF (no-break space, «, », ©,
// °, ...), × and ÷, and U+2000-U+20CF (spaces, dashes, curly quotes,
// bullets, ellipsis, currency signs); 0 otherwise.
std::size_t punctuation_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t at) { return at < text.size() ? static_cast<unsigned char>(text[at]) : 0; };
  const unsigned char first = byte(i);
  if (first == 0xC2 && byte(i + 1) >= 0x80 && byte(i + 1) <= 0xBF) return 2;
  if (first == 0xC3 && (byte(i + 1) == 0x97 || byte(i + 1) == 0xB7)) return 2;
  if (first == 0xE2 && byte(i + 1) >= 0x80 && byte(i + 1) <= 0x82 && byte(i + 2) >= 0x80) return 3;
  return 0;
}

bool has_letter(std::string_view word) {
  return std::any_of(word.begin(), word.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isalpha(u) || u >= 0x80;
  });
}

}  // namespace

bool is_stop_word(std::string_view word) { return stop_word_set().count(word) > 0; }

std::string singular(std::string_view word) {
  std::string out(word);
  if (out.size() < 4) return out;
  if (ends_with(out, "ies") && !ends_with(out, "eies") && !ends_with(out, "aies")) {
    out.replace(out.size() - 3, 3, "y");
  } else if (ends_with(out, "es") && !ends_with(out, "aes") && !ends_with(out, "ees") && !ends_with(out, "oes")) {
    out.pop_back();
  } else if (ends_with(out, "s") && !ends_with(out, "us") && !ends_with(out, "ss")) {
    out.pop_back();
  }
  return out;
}

std::vector<std::string> content_words(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  const auto finish = [&] {
    if (word.size() >= 2 && has_letter(word) && !is_stop_word(word)) {
      std::string folded = singular(word);
      if (!is_stop_word(folded)) words.push_back(std::move(folded));
    }
    word.clear();
  };
  for (std::size_t i = 0; i < text.size();) {
    const auto u = static_cast<unsigned char>(text[i]);
    if (u >= 0x80) {
      if (const std::size_t skip = punctuation_length(text, i); skip > 0) {
        finish();
        i += skip;
        continue;
      }
      word += text[i++];
      continue;
    }
    if (std::isalnum(u)) {
      word += static_cast<char>(std::tolower(u));
    } else {
      finish();
    }
    ++i;
  }
  finish();
  return words;
}

}  // namespace pipeline::util
