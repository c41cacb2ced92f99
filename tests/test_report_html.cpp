#include <doctest/doctest.h>

#include "report/html.hpp"
#include "stages/markdown.hpp"

using namespace pipeline::stages;
using namespace pipeline::report;

TEST_CASE("escape turns every character that could open markup into a reference") {
  CHECK(html::escape("<script>alert('x') & \"y\"</script>") ==
        "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;");
  CHECK(html::escape("</style>") == "&lt;/style&gt;");
  CHECK(html::escape("plain text, ünïcödé ✓") == "plain text, ünïcödé ✓");
}

TEST_CASE("escape replaces bytes that are not UTF-8 and drops control characters") {
  CHECK(html::escape(std::string("a\xff" "b")) == "a\xEF\xBF\xBD" "b");
  CHECK(html::escape(std::string("\xC3")) == "\xEF\xBF\xBD");            // a sequence cut short
  CHECK(html::escape(std::string("\xC0\xAF")) == "\xEF\xBF\xBD\xEF\xBF\xBD");  // an overlong '/'
  CHECK(html::escape(std::string("\xED\xA0\x80")) == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
  CHECK(html::escape(std::string("a\x01\x7f\rb\tc\nd")) == "ab\tc\nd");
  CHECK(html::escape(std::string("nul\0byte", 8)) == "nulbyte");
}

TEST_CASE("element escapes its text and its class") {
  CHECK(html::element("p", "<b>", "note") == "<p class=\"note\">&lt;b&gt;</p>");
  CHECK(html::element("td", "1 & 2") == "<td>1 &amp; 2</td>");
  CHECK(html::element("span", "x", "a\" onclick=\"y") == "<span class=\"a&quot; onclick=&quot;y\">x</span>");
}

TEST_CASE("from_markdown reads what stages/markdown.hpp writes") {
  std::string md = markdown::heading(1, "Top") + markdown::field("Who", "Nordvik *Bakery*") +
                   markdown::paragraph("> When X holds, removing Y by Z creates W.") +
                   markdown::bullet_list({"one", "**two**: more"}) + markdown::bullet_list({"first", "second"}, true) +
                   markdown::table({"A", "B|C"}, {{"x|y", "line\nbreak"}}) + markdown::paragraph("*Not done yet.*");
  CHECK(html::from_markdown(md, 1) ==
        "<h2>Top</h2>\n"
        "<p><strong>Who:</strong> Nordvik <em>Bakery</em></p>\n"
        "<blockquote>When X holds, removing Y by Z creates W.</blockquote>\n"
        "<ul><li>one</li><li><strong>two</strong>: more</li></ul>\n"
        "<ol><li>first</li><li>second</li></ol>\n"
        "<div class=\"scroll-box\" role=\"region\" tabindex=\"0\" aria-label=\"Table: A, B|C\">"
        "<table><thead><tr><th>A</th><th>B|C</th></tr></thead><tbody><tr><td>x|y</td><td>line<br>break</td></tr>"
        "</tbody></table></div>\n"
        "<p><em>Not done yet.</em></p>\n");
}

TEST_CASE("from_markdown escapes the text and reads no HTML from it") {
  CHECK(html::from_markdown("<script>x</script> **<b>** *</style>*") ==
        "<p>&lt;script&gt;x&lt;/script&gt; <strong>&lt;b&gt;</strong> <em>&lt;/style&gt;</em></p>\n");
  CHECK(html::from_markdown("| <img src=x> | a<br>b |\n| --- | --- |\n") ==
        "<div class=\"scroll-box\" role=\"region\" tabindex=\"0\" aria-label=\"Table: &lt;img src=x&gt;, a b\">"
            "<table><thead><tr><th>&lt;img src=x&gt;</th><th>a<br>b</th></tr></thead><tbody></tbody></table></div>\n");
}

TEST_CASE("from_markdown leaves lone stars, deep headings and line breaks in text as they are meant") {
  CHECK(html::from_markdown("5 * 3 * 2 and a*b") == "<p>5 * 3 * 2 and a*b</p>\n");
  CHECK(html::from_markdown("**unclosed") == "<p>**unclosed</p>\n");
  CHECK(html::from_markdown("###### Six", 3) == "<h6>Six</h6>\n");
  CHECK(html::from_markdown("#NoSpace") == "<p>#NoSpace</p>\n");
  CHECK(html::from_markdown("first line\nsecond line\n\nnext") == "<p>first line<br>second line</p>\n<p>next</p>\n");
  CHECK(html::from_markdown("- item\n  continued\n- next") == "<ul><li>item<br>  continued</li><li>next</li></ul>\n");
}

TEST_CASE("file_name keeps a document's file name, without local folders or a URL's query") {
  using pipeline::report::html::file_name;
  CHECK(file_name("/home/analyst/private/case study.pdf") == "case study.pdf");
  CHECK(file_name("C:\\Users\\ana\\case.pdf") == "case.pdf");
  CHECK(file_name("https://example.org/studies/refill.pdf?token=secret#page=2") == "refill.pdf");
  CHECK(file_name("case.pdf") == "case.pdf");
  CHECK(file_name("/") == "/");
}
