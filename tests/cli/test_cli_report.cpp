#include <doctest/doctest.h>

#include <zlib.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "checkpoints/run_store.hpp"
#include "lib/util/sha256.hpp"
#include "stages/markdown.hpp"
#include "stages/vocabulary.hpp"
#include "tests/support/cli_env.hpp"
#include "tests/support/pdf_builder.hpp"
#include "tests/support/proxy_recorder.hpp"
#include "tests/support/run_fixture.hpp"
#include "tests/support/sample_run.hpp"

using namespace pipeline::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* k_chromium = "/usr/bin/chromium";

// Hosts of Chromium's own services, which it asks at start whatever the page
// and despite --disable-background-networking and --disable-component-update
// (measured with Chromium 156: an on-demand component update check and an
// accounts check); a page's request goes anywhere else.
// Which of its services it asks varies from start to start, so whole
// service domains are the browser's; the test pages name none of them.
const std::vector<std::string> k_browser_service_domains = {"google.com", "googleapis.com", "gvt1.com", "gstatic.com"};

bool is_browser_service_host(const std::string& host) {
  for (const auto& domain : k_browser_service_domains) {
    if (host == domain) return true;
    if (host.size() > domain.size() && host.compare(host.size() - domain.size(), domain.size(), domain) == 0 &&
        host[host.size() - domain.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

// The hosts of the requests the proxy saw that did not come from the browser itself.
std::vector<std::string> page_requests(const ProxyRecorder& proxy) {
  std::vector<std::string> hosts;
  for (const auto& host : proxy.hosts()) {
    if (!is_browser_service_host(host)) hosts.push_back(host);
  }
  return hosts;
}

std::string joined_hosts(const std::vector<std::string>& hosts) {
  std::string text;
  for (const auto& host : hosts) text += (text.empty() ? "" : ", ") + host;
  return text;
}

// Runs headless Chromium on a page with every request it could send sent
// instead to `proxy`, which records them: no name resolves, and loopback goes
// through the proxy too.
ProcessResult run_chromium(const std::string& page, const std::vector<std::string>& action, const ProxyRecorder& proxy) {
  // setup.sh installs it; without it the test fails rather than passing unseen.
  REQUIRE_MESSAGE(fs::exists(k_chromium), "chromium is not installed: run scripts/setup.sh");
  TempDir profile;
  std::vector<std::string> argv{k_chromium,
                                "--headless",
                                "--no-sandbox",
                                "--disable-gpu",
                                "--disable-quic",
                                "--no-first-run",
                                "--disable-background-networking",
                                "--disable-component-update",
                                "--disable-sync",
                                "--hide-scrollbars",
                                "--user-data-dir=" + profile.path(),
                                "--disable-features=NetworkTimeServiceQuerying",
                                // Every name fails but the proxy's address, which must stay reachable.
                                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                                fmt::format("--proxy-server=http://127.0.0.1:{}", proxy.port()),
                                "--proxy-bypass-list=<-loopback>"};
  argv.insert(argv.end(), action.begin(), action.end());
  argv.push_back("file://" + page);
  Process browser(argv, {{{"HOME", profile.path()}}, {}, {}});
  auto result = browser.wait(std::chrono::seconds(60));
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  return result;
}

// Text as Chromium's DOM serialisation writes it: &, <, > and no-break spaces escaped.
std::string dom_text(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '&') out += "&amp;";
    else if (text[i] == '<') out += "&lt;";
    else if (text[i] == '>') out += "&gt;";
    else if (text.compare(i, 2, "\xC2\xA0") == 0) {
      out += "&nbsp;";
      ++i;
    } else out += text[i];
  }
  return out;
}

size_t occurrences(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

// Text with runs of whitespace as one space and the Latin ligatures MuPDF
// sets for "fi", "fl", "ff", "ffi" and "ffl" (U+FB00 to U+FB04) as letters.
std::string plain_words(const std::string& text) {
  static const std::vector<std::pair<std::string, std::string>> ligatures = {
      {"\xEF\xAC\x80", "ff"}, {"\xEF\xAC\x81", "fi"}, {"\xEF\xAC\x82", "fl"},
      {"\xEF\xAC\x83", "ffi"}, {"\xEF\xAC\x84", "ffl"}};
  std::string letters = text;
  for (const auto& [ligature, spelled] : ligatures) {
    for (auto at = letters.find(ligature); at != std::string::npos; at = letters.find(ligature, at)) {
      letters.replace(at, ligature.size(), spelled);
    }
  }
  std::string out;
  for (char c : letters) {
    const bool space = c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  return out;
}

struct PngPixels {
  int width = 0;
  int height = 0;
  size_t distinct_colours = 0;
  double luminance_stddev = 0;
};

std::uint32_t png_u32(const std::string& bytes, size_t at) {
  return (std::uint32_t(std::uint8_t(bytes[at])) << 24) | (std::uint32_t(std::uint8_t(bytes[at + 1])) << 16) |
         (std::uint32_t(std::uint8_t(bytes[at + 2])) << 8) | std::uint32_t(std::uint8_t(bytes[at + 3]));
}

int paeth(int a, int b, int c) {
  const int p = a + b - c;
  const int pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

// Decodes an 8-bit RGB or RGBA PNG (Chromium's screenshots) and measures how varied its pixels are.
PngPixels decode_png(const std::string& bytes) {
  REQUIRE(bytes.size() > 33);
  REQUIRE(bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
  PngPixels pixels;
  int channels = 0;
  std::string compressed;
  for (size_t at = 8; at + 8 <= bytes.size();) {
    const std::uint32_t length = png_u32(bytes, at);
    const std::string type = bytes.substr(at + 4, 4);
    if (type == "IHDR") {
      pixels.width = static_cast<int>(png_u32(bytes, at + 8));
      pixels.height = static_cast<int>(png_u32(bytes, at + 12));
      REQUIRE(bytes[at + 16] == 8);
      const int colour_type = bytes[at + 17];
      REQUIRE((colour_type == 2 || colour_type == 6));
      REQUIRE(bytes[at + 20] == 0);  // not interlaced
      channels = colour_type == 2 ? 3 : 4;
    } else if (type == "IDAT") {
      compressed += bytes.substr(at + 8, length);
    }
    at += 12 + length;
  }
  REQUIRE(channels > 0);
  const size_t stride = static_cast<size_t>(pixels.width) * static_cast<size_t>(channels);
  std::vector<unsigned char> raw((stride + 1) * static_cast<size_t>(pixels.height));
  uLongf size = raw.size();
  REQUIRE(uncompress(raw.data(), &size, reinterpret_cast<const Bytef*>(compressed.data()), compressed.size()) == Z_OK);
  REQUIRE(size == raw.size());
  std::vector<unsigned char> previous(stride, 0), row(stride);
  std::set<std::uint32_t> colours;
  double sum = 0, sum_squares = 0;
  for (int y = 0; y < pixels.height; ++y) {
    const unsigned char* line = raw.data() + static_cast<size_t>(y) * (stride + 1);
    const int filter = line[0];
    for (size_t x = 0; x < stride; ++x) {
      const int a = x >= static_cast<size_t>(channels) ? row[x - channels] : 0;
      const int b = previous[x];
      const int c = x >= static_cast<size_t>(channels) ? previous[x - channels] : 0;
      int predicted = 0;
      if (filter == 1) predicted = a;
      else if (filter == 2) predicted = b;
      else if (filter == 3) predicted = (a + b) / 2;
      else if (filter == 4) predicted = paeth(a, b, c);
      row[x] = static_cast<unsigned char>((line[1 + x] + predicted) & 0xFF);
    }
    for (int x = 0; x < pixels.width; ++x) {
      const unsigned char* p = row.data() + static_cast<size_t>(x) * static_cast<size_t>(channels);
      colours.insert((std::uint32_t(p[0]) << 16) | (std::uint32_t(p[1]) << 8) | p[2]);
      const double luminance = 0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2];
      sum += luminance;
      sum_squares += luminance * luminance;
    }
    previous = row;
  }
  const double count = static_cast<double>(pixels.width) * pixels.height;
  pixels.distinct_colours = colours.size();
  pixels.luminance_stddev = std::sqrt(std::max(0.0, sum_squares / count - (sum / count) * (sum / count)));
  return pixels;
}

// The pipeline environment with a completed offline run of the example: the
// example case study for the example dairy brand, against the fake server.
struct ExampleRun {
  FakeLlmServer server;
  CliEnv env{server};
  std::string run_id = "example";
  ExampleRun() {
    auto run = env.run({"run", example_pdf_path(), "--brand", "hollowmere-dairy", "--run-id", run_id});
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
  }
  std::string page_path() const { return env.runs_dir + "/" + run_id + "/report.html"; }
  json cards() const { return json::parse(env.read(run_id, "opportunities.json")).at("opportunities"); }
};

}  // namespace

TEST_CASE("a completed run writes report.html, which `pipeline report` renders again as html, md and pdf") {
  ExampleRun example;
  auto& env = example.env;
  const std::string page = env.read(example.run_id, "report.html");
  bool recorded = false;
  const json checkpoint = env.checkpoint(example.run_id);
  for (const auto& file : checkpoint.at("files")) {
    if (file.at("path") != "report.html") continue;
    recorded = true;
    CHECK(file.at("sha256") == pipeline::util::sha256_hex(page));
  }
  CHECK(recorded);

  auto html = env.run({"report", example.run_id});
  INFO(html.err);
  REQUIRE(html.exit_code == 0);
  CHECK(html.out == page);
  auto markdown = env.run({"report", example.run_id, "--format", "md"});
  REQUIRE(markdown.exit_code == 0);
  CHECK(markdown.out == env.read(example.run_id, "report.md"));

  const std::string pdf = env.dir / "cards.pdf";
  auto written = env.run({"report", example.run_id, "--format", "pdf", "-o", pdf});
  INFO(written.err);
  REQUIRE(written.exit_code == 0);
  CHECK(written.out == "report: " + pdf + "\n");
  auto text = run_process({"pdftotext", pdf, "-"});
  REQUIRE(text.exit_code == 0);
  const std::string words = plain_words(text.out);
  for (const auto& card : example.cards()) {
    CHECK_MESSAGE(words.find(card.at("title").get<std::string>()) != std::string::npos, card.at("title"));
  }
  CHECK(words.find("Provenance") != std::string::npos);
  // The text layer as pdftotext gives it, unmended: no ligature code point
  // (U+FB00-U+FB06), and every word of every card title findable as typed.
  for (int code = 0xFB00; code <= 0xFB06; ++code) {
    const std::string ligature = {'\xEF', '\xAC', static_cast<char>(0x80 + code - 0xFB00)};
    CHECK_MESSAGE(text.out.find(ligature) == std::string::npos, "U+" << std::hex << code);
  }
  for (const auto& card : example.cards()) {
    std::string word;
    for (char c : card.at("title").get<std::string>() + " ") {
      if (c != ' ') {
        word += c;
        continue;
      }
      if (!word.empty()) CHECK_MESSAGE(text.out.find(word) != std::string::npos, word);
      word.clear();
    }
  }
  auto info = run_process({"pdfinfo", pdf});
  INFO(info.out);
  REQUIRE(info.exit_code == 0);
  CHECK(info.out.find("Author:") != std::string::npos);
  CHECK(info.out.find("Opportunity cards for") != std::string::npos);
  // Every font embedded as a subset of the glyphs drawn: "ABCDEF+Name", emb, sub and uni all "yes".
  auto fonts = run_process({"pdffonts", pdf});
  INFO(fonts.out);
  REQUIRE(fonts.exit_code == 0);
  int subsets = 0;
  std::istringstream font_lines(fonts.out.substr(fonts.out.find("\n---") + 1));
  std::string font_line;
  std::getline(font_lines, font_line);
  while (std::getline(font_lines, font_line)) {
    if (font_line.empty()) continue;
    CHECK_MESSAGE((font_line.size() > 7 && font_line[6] == '+'), font_line);
    CHECK_MESSAGE(font_line.find(" yes yes yes ") != std::string::npos, font_line);
    ++subsets;
  }
  CHECK(subsets >= 4);

  // Without -o the PDF goes into the run folder, and the run still loads.
  auto beside = env.run({"report", example.run_id, "--format", "pdf"});
  REQUIRE(beside.exit_code == 0);
  CHECK(beside.out == "report: " + env.runs_dir + "/" + example.run_id + "/report.pdf\n");
  CHECK(read_bytes(env.runs_dir + "/" + example.run_id + "/report.pdf").rfind("%PDF-", 0) == 0);
  CHECK(env.run({"status", example.run_id}).exit_code == 0);
}

TEST_CASE("a report of a run that is not complete is refused with one line naming the missing stage") {
  FakeLlmServer server;
  CliEnv env(server);
  REQUIRE(env.run({"new", example_pdf_path(), "--brand", env.brand_path, "--run-id", "half"}).exit_code == 0);
  REQUIRE(env.run({"mechanisms", "half"}).exit_code == 0);
  for (const char* format : {"html", "md", "pdf"}) {
    auto refused = env.run({"report", "half", "--format", format});
    CHECK(refused.exit_code == 3);
    CHECK(refused.out.empty());
    CHECK(refused.err == "pipeline: error: run half is not complete: stage 2 (signals) is pending, not done; finish it "
                         "with `" + pipeline_binary() + " resume half`\n");
  }
  CHECK_FALSE(fs::exists(env.runs_dir + "/half/report.pdf"));
  auto unknown = env.run({"report", "half", "--format", "docx"});
  CHECK(unknown.exit_code == 2);
}

TEST_CASE("show on a terminal points at report.html; in a pipe it prints the Markdown alone") {
  ExampleRun example;
  auto piped = example.env.run({"show", example.run_id});
  REQUIRE(piped.exit_code == 0);
  CHECK(piped.out == example.env.read(example.run_id, "report.md"));
  // script(1) gives the command a terminal.
  auto terminal = run_process({"script", "-qec", pipeline_binary() + " show " + example.run_id, "/dev/null"},
                              example.env.options);
  REQUIRE(terminal.exit_code == 0);
  CHECK(terminal.out.find("report: " + example.page_path()) != std::string::npos);
}

TEST_CASE("headless Chromium shows the five cards with their titles and figures, draws them, and fetches nothing") {
  ExampleRun example;
  ProxyRecorder proxy;
  const auto dom = run_chromium(example.page_path(), {"--dump-dom"}, proxy).out;
  CHECK(occurrences(dom, "<article class=\"card ") == 5);
  const auto cards = example.cards();
  REQUIRE(cards.size() == 5);
  for (size_t i = 0; i < cards.size(); ++i) {
    const auto& card = cards[i];
    const auto& retail = card.at("retail");
    const std::string at = fmt::format("id=\"card-{}\"", i + 1);
    const auto start = dom.find(at);
    REQUIRE_MESSAGE(start != std::string::npos, at);
    const std::string article = dom.substr(start, dom.find("</article>", start) - start);
    CAPTURE(article);
    CHECK(article.find("data-pattern=\"" + card.at("pattern").get<std::string>() + "\"") != std::string::npos);
    CHECK(article.find(">" + dom_text(card.at("title").get<std::string>()) + "</h2>") != std::string::npos);
    CHECK(article.find(dom_text(fmt::format("{:.2f} {}", retail.at("price").get<double>(),
                                            retail.at("currency").get<std::string>()))) != std::string::npos);
    CHECK(article.find(">" + pipeline::stages::markdown::number(retail.at("units_per_store_per_week"), 1) + "</span>") !=
          std::string::npos);
    CHECK(article.find(">" + pipeline::stages::markdown::number(retail.at("gross_margin_pct"), 1) + " %</span>") !=
          std::string::npos);
    CHECK(article.find(">" + std::to_string(retail.at("months_to_launch").get<int>()) + "</span>") != std::string::npos);
  }
  CHECK(dom.find("<div class=\"chart\">") != std::string::npos);

  const std::string shot = example.env.dir / "report.png";
  run_chromium(example.page_path(), {"--screenshot=" + shot, "--window-size=1280,2000"}, proxy);
  const auto pixels = decode_png(read_bytes(shot));
  CHECK(pixels.width == 1280);
  CHECK(pixels.height == 2000);
  CHECK(pixels.distinct_colours > 64);
  CHECK(pixels.luminance_stddev > 10);
  const auto requested = page_requests(proxy);
  CHECK_MESSAGE(requested.empty(), "the page requested: " << joined_hosts(requested));

  // The same browser and proxy do see a page that fetches, so zero above means nothing was tried.
  const std::string fetching = example.env.dir / "fetching.html";
  std::ofstream(fetching) << "<html><head><link rel=\"stylesheet\" href=\"https://example.invalid/style.css\"></head>"
                             "<body><img src=\"http://127.0.0.1/pixel.png\"></body></html>";
  run_chromium(fetching, {"--dump-dom"}, proxy);
  const auto fetched = page_requests(proxy);
  const std::set<std::string> fetched_hosts(fetched.begin(), fetched.end());
  const std::set<std::string> page_hosts{"example.invalid", "127.0.0.1"};
  CHECK_MESSAGE(fetched_hosts == page_hosts, "the fetching page requested: " << joined_hosts(fetched));
}

TEST_CASE("hostile card text reaches the browser as text: no script, no markup, the style sheet intact") {
  TempDir dir;
  auto store = pipeline::checkpoints::make_file_run_store(dir / "runs");
  auto state = make_sample_run(*store, dir.path(), "hostile");
  // A card whose text tries to end the style sheet, run a script and add markup, recorded as the stage's output.
  auto output = json::parse(*store->read_artifact("hostile", "stages/05-opportunities.json"));
  output["convenience"]["title"] = "</style><script>document.body.dataset.pwned = 1</script><b>bold</b>";
  output["premiumisation"]["shelf"] = "<img src=x onerror=\"document.body.dataset.pwned = 2\">";
  auto rewritten = store->write_artifact("hostile", "stages/05-opportunities.json", output.dump(2));
  REQUIRE(rewritten);
  for (auto& artifact : state.stage(5).artifacts) {
    if (artifact.path == "stages/05-opportunities.json") artifact = *rewritten;
  }
  REQUIRE(store->save(state));
  const std::string page = dir / "hostile.html";
  auto rendered = run_pipeline({"report", "hostile", "-o", page}, {{{"PIPELINE_RUNS_DIR", dir / "runs"}}, {}, {}});
  INFO(rendered.err);
  REQUIRE(rendered.exit_code == 0);

  ProxyRecorder proxy;
  const auto dom = run_chromium(page, {"--dump-dom"}, proxy).out;
  CHECK(dom.find("<script") == std::string::npos);
  CHECK(dom.find("<img") == std::string::npos);
  CHECK(dom.find("<b>bold") == std::string::npos);
  CHECK(dom.find("data-pwned") == std::string::npos);
  CHECK(occurrences(dom, "</style>") == 1);
  CHECK(dom.find(">&lt;/style&gt;&lt;script&gt;document.body.dataset.pwned = 1&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;</h2>") !=
        std::string::npos);
  CHECK(occurrences(dom, "<article class=\"card ") == 5);
  const auto requested = page_requests(proxy);
  CHECK_MESSAGE(requested.empty(), "the page requested: " << joined_hosts(requested));
}

TEST_CASE("the report of the hand-written sample run, as the README shows it") {
  TempDir dir;
  auto store = pipeline::checkpoints::make_file_run_store(dir / "runs");
  make_sample_run(*store, dir.path(), "sample-acme");
  ProxyRecorder proxy;
  const std::string shot = dir / "report.png";
  run_chromium(dir / "runs/sample-acme/report.html", {"--screenshot=" + shot, "--window-size=1100,1500"}, proxy);
  const std::string png = read_bytes(shot);
  const auto pixels = decode_png(png);
  CHECK(pixels.distinct_colours > 64);
  CHECK(pixels.luminance_stddev > 10);
  const auto requested = page_requests(proxy);
  CHECK_MESSAGE(requested.empty(), "the page requested: " << joined_hosts(requested));
  // PIPELINE_REPORT_SCREENSHOT=docs/report.png keeps it (see README).
  if (const char* keep = std::getenv("PIPELINE_REPORT_SCREENSHOT"); keep && *keep) write_bytes(keep, png);
}
