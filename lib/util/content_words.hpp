#pragma once

#include <string>
#include <string_view>
#include <vector>

// The words of a text that carry its content, for measures that compare
// texts without a model (report/differentiation.hpp).
namespace pipeline::util {

// The content words of `text`, in order, repeats kept:
// - words are runs of ASCII letters and digits and of non-ASCII letters;
//   everything else separates them: spaces, ASCII punctuation ('-' and '\''
//   too, so "better-for-you" is three words and "brand's" is "brand" and
//   "s"), and the Latin-1 and Unicode punctuation a model writes (no-break
//   space, curly quotes, dashes, bullets, currency signs, '×');
// - ASCII letters are lower-cased, other letters kept as written;
// - left out: words of one character, words without a letter (figures such
//   as "3" or "2024"), and the English function words of is_stop_word();
// - plural endings folded by singular(): "oats" and "oat" are one word.
std::vector<std::string> content_words(std::string_view text);

// Whether `word`, in lower case, is one of the English function words that
// content_words() leaves out: articles, pronouns, prepositions,
// conjunctions, auxiliary and modal verbs, and words such as "also", "very",
// "per". Content-bearing words (nouns, verbs, adjectives) are never on the list.
bool is_stop_word(std::string_view word);

// `word` with a plural ending folded by Harman's S-stemmer (1991), for
// words of four characters or more; the first rule that applies is the only
// one: "-ies" becomes "-y" (not "-eies", "-aies"); else "-es" becomes "-e"
// (not "-aes", "-ees", "-oes"); else a final "-s" goes (not "-us", "-ss").
// So "berries" is "berry", "packages" "package", "trees" "tree", "oats"
// "oat", while "glass", "focus" and "gas" stay. Nothing else is stemmed.
std::string singular(std::string_view word);

}  // namespace pipeline::util
