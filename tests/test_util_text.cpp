#include <doctest/doctest.h>

#include "lib/util/text.hpp"

using namespace pipeline::util;

TEST_CASE("to_lower folds ASCII letters only") {
  CHECK(to_lower("OpenRouter.AI:443") == "openrouter.ai:443");
  // UTF-8 bytes pass through untouched.
  CHECK(to_lower("CAFÉ") == "cafÉ");
  CHECK(to_lower("") == "");
}

TEST_CASE("is_blank is true for spaces, tabs and line breaks only") {
  CHECK(is_blank(""));
  CHECK(is_blank(" \t\r\n "));
  CHECK_FALSE(is_blank("  x "));
  CHECK_FALSE(is_blank("\v"));
}

TEST_CASE("starts_with_ignoring_case compares the prefix in either case") {
  CHECK(starts_with_ignoring_case("HTTPS://example.com/a.pdf", "https://"));
  CHECK(starts_with_ignoring_case("</Document>", "</document"));
  CHECK_FALSE(starts_with_ignoring_case("http", "https://"));
  CHECK_FALSE(starts_with_ignoring_case("ftp://x", "http"));
  CHECK(starts_with_ignoring_case("anything", ""));
}

TEST_CASE("contains_any finds any needle as a substring") {
  CHECK(contains_any("sold chilled in stores", {"frozen", "chilled"}));
  CHECK_FALSE(contains_any("ambient shelf", {"frozen", "chilled"}));
  CHECK_FALSE(contains_any("anything", {}));
}

TEST_CASE("megabytes_text writes sizes in MB with up to four significant digits") {
  CHECK(pipeline::util::megabytes_text(20ull * 1024 * 1024) == "20 MB");
  CHECK(pipeline::util::megabytes_text(512 * 1024) == "0.5 MB");
  CHECK(pipeline::util::megabytes_text(1280 * 1024) == "1.25 MB");
  CHECK(pipeline::util::megabytes_text(10486) == "0.01 MB");
}

TEST_CASE("escape_control keeps data on one line and away from the terminal") {
  CHECK(escape_control("run-1") == "run-1");
  CHECK(escape_control(std::string("a\x1b[2Jb\x07" "c\rd\ne\0f\x7f", 15)) == "a\\x1b[2Jb\\x07c\\rd\\ne\\x00f\\x7f");
  CHECK(escape_control("tab\there") == "tab\\there");
  // UTF-8 passes untouched.
  CHECK(escape_control("caf\xc3\xa9") == "caf\xc3\xa9");
  // Text for pages keeps its lines and tabs, and loses only the rest.
  CHECK(escape_control("# Report\n\tcard\x1b]0;x\x07\r\n", true) == "# Report\n\tcard\\x1b]0;x\\x07\\r\n");
}
