// Writes a long PDF of generated report prose for the benchmarks.
//
// Usage: make-bench-pdf <output.pdf> [min-pages, default 320] [seed, default 0]
//
// A different seed gives a different document of the same length (other
// figures and sentence order, and the seed in the title), so that several
// documents of one benchmark have different texts and fingerprints.

#include <cstdio>
#include <cstdlib>
#include <string>

#include "lib/pdf/html_pdf.hpp"

namespace {

constexpr const char* k_sentences[] = {
    "The pilot stores sold %d kilograms of coffee from the counter in week %d.",
    "Shoppers who bought a tin came back on average every %d days, against %d days for pouch buyers.",
    "Packaging made up %d percent of the cost of goods before the change and %d percent after it.",
    "Store staff spent about %d minutes a day cleaning the bins, which the company paid for at a flat rate.",
    "Subscribers received a reminder %d days before the predicted date, and %d percent of them refilled in time.",
    "Limited blends sold out in %d days, while regular pouch blends took about %d weeks.",
    "The postal refill lost money on orders under %d grams until a minimum order was introduced.",
    "In region %d the counter grew sales by %d percent in its first full quarter.",
};

// A deterministic paragraph of five sentences with varied figures.
std::string paragraph(int index) {
  std::string text = "<p>";
  for (int s = 0; s < 5; ++s) {
    const int pick = (index * 7 + s * 3) % 8;
    char sentence[256];
    std::snprintf(sentence, sizeof sentence, k_sentences[pick], 3 + (index * 13 + s) % 90, 2 + (index + s * 5) % 40);
    text += sentence;
    text += ' ';
  }
  text += "</p>\n";
  return text;
}

// The paragraphs repeat every 360; a seed starts the text elsewhere in that cycle.
std::string report(int paragraphs, int seed) {
  const int offset = (seed * 61) % 360;
  std::string html = "<html><body>";
  for (int i = 0; i < paragraphs; ++i) {
    if (i % 24 == 0) html += "<h2>Section " + std::to_string(i / 24 + 1) + ": counter results by region</h2>\n";
    html += paragraph(i + offset);
  }
  return html + "</body></html>";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    std::fprintf(stderr, "usage: make-bench-pdf <output.pdf> [min-pages] [seed]\n");
    return 2;
  }
  const int wanted = argc >= 3 ? std::atoi(argv[2]) : 320;
  const int seed = argc == 4 ? std::atoi(argv[3]) : 0;
  if (wanted < 1 || seed < 0) {
    std::fprintf(stderr, "make-bench-pdf: min-pages must be at least 1 and seed not negative\n");
    return 2;
  }
  pipeline::pdf::HtmlPdfOptions options;
  options.title = "Refill counter results by region (benchmark document)";
  if (seed != 0) options.title = "Refill counter results by region (benchmark document " + std::to_string(seed) + ")";
  // About eight paragraphs fit on a page; grow until the page count is reached.
  int paragraphs = wanted * 8;
  for (;;) {
    auto pages = pipeline::pdf::write_html_pdf(argv[1], report(paragraphs, seed), options);
    if (!pages) {
      std::fprintf(stderr, "make-bench-pdf: %s\n", pages.error().message.c_str());
      return 1;
    }
    if (*pages >= wanted) {
      std::printf("%d\n", *pages);
      return 0;
    }
    paragraphs = paragraphs * wanted / *pages + 8;
  }
}
