#include <doctest/doctest.h>

#include "lib/util/content_words.hpp"

using pipeline::util::content_words;
using pipeline::util::is_stop_word;
using pipeline::util::singular;
using Words = std::vector<std::string>;

TEST_CASE("content_words lower-cases, splits at punctuation and drops stop words, figures and single letters") {
  CHECK(content_words("Better-for-you OATS: the brand's 2024 range!") == Words{"better", "oat", "brand", "range"});
  CHECK(content_words("GBP 3.49 for 4 x 125 g") == Words{"gbp"});
  CHECK(content_words("").empty());
  CHECK(content_words("the and of for with").empty());
  // Words made of letters and digits stay whole.
  CHECK(content_words("M1 12oz") == Words{"m1", "12oz"});
}

TEST_CASE("content_words: Unicode punctuation separates words, other letters belong to them") {
  // A curly apostrophe, curly quotes, an em dash, a multiplication sign, a no-break space and a euro sign.
  CHECK(content_words("Kettle\u2019s \u201crefill\u201d\u2014counter 3\u00d7250\u00a0ml \u20ac4") ==
        Words{"kettle", "refill", "counter", "ml"});
  // ASCII letters are folded, others kept as written.
  CHECK(content_words("Caf\u00e9 CR\u00c8ME") == Words{"caf\u00e9", "cr\u00c8me"});
}

TEST_CASE("singular folds plural endings by the S-stemmer and nothing else") {
  CHECK(singular("berries") == "berry");
  CHECK(singular("packages") == "package");
  CHECK(singular("oats") == "oat");
  CHECK(singular("trees") == "tree");  // "-ees" is no "-es" ending: only the s goes
  CHECK(singular("toes") == "toe");
  CHECK(singular("glass") == "glass");
  CHECK(singular("focus") == "focus");
  CHECK(singular("gas") == "gas");  // under four characters
  CHECK(singular("shopping") == "shopping");
  CHECK(singular("shoppers") == "shopper");
  // So a word and its plural are one content word.
  CHECK(content_words("oat oats berries berry") == Words{"oat", "oat", "berry", "berry"});
}

TEST_CASE("is_stop_word knows function words, not content words") {
  for (const char* word : {"the", "and", "for", "with", "per", "its", "would", "also", "which", "ll"}) {
    CAPTURE(word);
    CHECK(is_stop_word(word));
  }
  for (const char* word : {"oat", "refill", "shelf", "price", "dairy", "better", "subscription"}) {
    CAPTURE(word);
    CHECK_FALSE(is_stop_word(word));
  }
}
