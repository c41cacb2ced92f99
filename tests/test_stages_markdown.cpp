#include <doctest/doctest.h>

#include "stages/markdown.hpp"

namespace md = pipeline::stages::markdown;

TEST_CASE("headings, paragraphs and fields end with a blank line; empty ones vanish") {
  CHECK(md::heading(2, "Risks") == "## Risks\n\n");
  CHECK(md::heading(9, "Deep") == "###### Deep\n\n");
  CHECK(md::paragraph("Text") == "Text\n\n");
  CHECK(md::paragraph("").empty());
  CHECK(md::field("Price", "3.49") == "**Price:** 3.49\n\n");
  CHECK(md::field("Price", "").empty());
}

TEST_CASE("bullet lists are plain or numbered") {
  CHECK(md::bullet_list({"a", "b"}) == "- a\n- b\n\n");
  CHECK(md::bullet_list({"a", "b"}, true) == "1. a\n2. b\n\n");
  CHECK(md::bullet_list({}).empty());
}

TEST_CASE("tables escape pipes and newlines and pad short rows") {
  const auto table = md::table({"A", "B"}, {{"x|y", "line\nbreak"}, {"only"}});
  CHECK(table == "| A | B |\n| --- | --- |\n| x\\|y | line<br>break |\n| only |  |\n\n");
}

TEST_CASE("demote_headings deepens every heading and nothing else") {
  CHECK(md::demote_headings("# Title\n\nText # not a heading\n## Sub\n") == "## Title\n\nText # not a heading\n### Sub\n");
}

TEST_CASE("accessors tolerate missing keys and wrong types") {
  const nlohmann::json object = {{"name", "Ada"}, {"count", 3}, {"list", {"a", 1, "b"}}, {"none", nullptr}};
  CHECK(md::text(object, "name") == "Ada");
  CHECK(md::text(object, "count").empty());
  CHECK(md::text(object, "missing").empty());
  CHECK(md::text(nlohmann::json::array(), "name").empty());
  CHECK(md::texts(object, "list") == std::vector<std::string>{"a", "b"});
  CHECK(md::texts(object, "missing").empty());
  CHECK(md::child(object, "none").empty());
  CHECK(md::child(object, "list").size() == 3);
}

TEST_CASE("numbers and labels read well") {
  CHECK(md::number(nlohmann::json(12)) == "12");
  CHECK(md::number(nlohmann::json(12.0)) == "12");
  CHECK(md::number(nlohmann::json(3.5)) == "3.5");
  CHECK(md::number(nlohmann::json(3.14159)) == "3.14");
  CHECK(md::number(nlohmann::json(0.125), 1) == "0.1");
  CHECK(md::number(nlohmann::json("x")).empty());
  CHECK(md::label("remove_friction") == "Remove friction");
  CHECK(md::label("").empty());
}
