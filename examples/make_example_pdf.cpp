// Writes examples/example-case-study.pdf: a short case study, written for this
// project, laid out by MuPDF's HTML story engine. Run by `ninja example-pdf`.
//
// Usage: make-example-pdf <output.pdf>

#include <cstdio>
#include <string>

#include "lib/pdf/html_pdf.hpp"

namespace {

constexpr const char* k_title = "Case study: Kettle & Co. and the five-minute refill";

constexpr const char* k_css = R"(
body { font-family: serif; line-height: 1.35; }
h1 { font-family: sans-serif; font-size: 1.9em; margin: 0 0 0.3em 0; }
h2 { font-family: sans-serif; font-size: 1.25em; margin: 1.1em 0 0.3em 0; }
p { margin: 0 0 0.6em 0; text-align: justify; }
p.lede { font-style: italic; }
p.source { font-size: 0.85em; color: #555555; }
li { margin-bottom: 0.3em; }
)";

constexpr const char* k_html = R"(<html><body>
<h1>Kettle &amp; Co.: the five-minute refill</h1>
<p class="lede">How a regional tea and coffee roaster turned a refill counter into a subscription business,
cut its packaging cost by a third and doubled the number of customers who came back within a month.
A case study prepared for innovation teams in consumer goods.</p>
<p class="source">Kettle &amp; Co. is a fictional company. The figures below are illustrative and were
written for this example; they describe a plausible pilot, not a real one.</p>

<h2>1. The starting point</h2>
<p>Kettle &amp; Co. roasts coffee and blends loose tea in a converted dairy outside Utrecht and sells through
forty-two grocery stores in the Netherlands and Belgium. In 2022 its products sat where premium hot drinks
usually sit: on the middle shelf, in printed stand-up pouches with a one-way valve, at EUR 8.95 for 250 grams
of coffee and EUR 6.50 for 100 grams of loose tea. Sales were steady but flat. The company's own shopper
survey of 1,180 regular buyers found two complaints that kept coming back. The first was waste: 61 percent
said they felt guilty about throwing away a multi-layer pouch that no municipal scheme would recycle. The
second was running out: 44 percent had, at least once in the past quarter, bought a supermarket own-label
coffee "just to get through the week" because they had forgotten to restock.</p>
<p>Packaging was also expensive for the roaster. The printed pouch, valve and label cost EUR 0.71 per unit,
about 19 percent of the cost of goods of a bag of coffee, and the minimum print run tied up cash in pouches for
blends that were sometimes discontinued before the stock ran out.</p>

<h2>2. What the company did</h2>
<p>In March 2023 Kettle &amp; Co. installed refill counters in six of its busiest partner stores. Each counter
is a wall unit of twelve gravity bins with a scale and a small label printer. A shopper brings any clean
container, or buys a steel tin with a printed QR code for EUR 4.00 once, weighs it empty, fills it, and pays
by weight at the till. Refill prices are 18 percent below the pouch price for the same weight.</p>
<p>The counter alone would have been a niche. The part that changed the economics came three months later: the
<b>Refill Pass</b>. Scanning the tin's QR code at the counter links it to an account. After the second refill
the app predicts when the tin will be empty, from the weight bought and the time between visits, and offers
two things: a reminder two days before the predicted date, and, for households that rarely pass a partner
store, a postal refill in a compostable paper sleeve that fits inside the tin. The pass costs EUR 3.50 a month,
gives a further 10 percent off every refill and includes postage.</p>
<p>The roaster also changed what it produces. Because bins are topped up from 5-kilogram sacks, it stopped
printing blend-specific pouches for the counter stores and moved limited blends to the counter only, where a
chalkboard label costs almost nothing to change.</p>

<h2>3. The results after twelve months</h2>
<p>Twelve months after the first counter opened, the figures for the six counter stores compared with the
pouch-only year of 2022 were these:</p>
<ul>
<li>Packaging cost per 250 grams of coffee: EUR 0.71 before; EUR 0.09 at the counter and EUR 0.22 by post.</li>
<li>Customers buying again within 30 days: 23 percent before; 49 percent after.</li>
<li>Average purchases per customer per year: 5.1 before; 9.4 after.</li>
<li>Share of sales in counter stores that came from refills: 38 percent.</li>
<li>Active Refill Pass subscribers: 6,300, from none.</li>
<li>Gross margin on coffee: 41 percent before; 47 percent after.</li>
</ul>
<p>The counters paid for themselves in seven months. The six stores with counters grew Kettle &amp; Co. sales by
31 percent while the other thirty-six stores grew by 4 percent. Roughly one in five Refill Pass subscribers
had never bought the brand before; most of them were recruited by the tin, which customers carried to work
and which doubled as a reusable advertisement. Limited blends, sold only at the counter, sold out in an
average of eleven days, against about six weeks for a pouch blend.</p>
<p>Not everything worked. Hygiene rules for the tea bins meant weekly cleaning that store staff resented until
the company paid stores EUR 40 a week per counter for it. Decaffeinated coffee did not sell from a bin at all,
and the postal refill lost money on orders under 250 grams until a minimum order was introduced.</p>

<h2>4. The mechanisms behind it</h2>
<p><b>Unbundling the product from its package.</b> Shoppers were paying for a pouch they did not want. Selling
by weight into a container they already owned removed most of that cost and gave part of the saving back as a
lower price, which made the "greener" choice also the cheaper one. When the package is a large share of the
cost and the buyer sees it as waste, separating the two creates a price advantage and a reason to switch.</p>
<p><b>Removing the friction of remembering.</b> Running out was the moment the brand lost its customers to a
cheaper substitute. The pass turns the scale data the counter already collects into a prediction of when the
next purchase is due, and either reminds the customer or sends the refill before the tin is empty. The effort
and the memory load of restocking moved from the household to the company.</p>
<p><b>Changing the business model from transactions to a relationship.</b> A monthly fee that pays for
itself after about three refills lets the company know its demand weeks ahead, roast to order and waste less
green coffee. Predictable demand is what made the 5-kilogram sack supply chain possible.</p>
<p><b>Turning the container into a channel.</b> The tin is a durable, personal object with a code on it. It
identifies the customer at every visit without a loyalty card and it advertises the brand on office desks.
Each new tin cost EUR 1.60 to make and was sold at EUR 4.00, so the channel was paid for by its users.</p>

<h2>5. Why it worked here, and where it would not</h2>
<p>The model depends on a product that is bought often, keeps well in a bin, and is used from a container at
home anyway: coffee and tea fit; ground spices, rice, oats, pasta, dry pet food and laundry powder share that
structure. It works less well where the package does a job the shopper values, such as portioning, freshness
after opening or proof of authenticity. Decaffeinated coffee failed because its buyers valued the sealed,
labelled pouch as a guarantee. In one sentence: when a frequently bought dry product carries a package that the
buyer sees as waste, removing the package by selling into a reusable, identifiable container, and then using
that container to predict the next purchase, creates lower prices, higher margins and far more repeat buying.</p>

<h2>6. Questions for a brand considering the same move</h2>
<ul>
<li>What share of our cost of goods is packaging that the shopper would rather not have?</li>
<li>Which of our products are used from a container at home anyway, and keep for weeks in a bin?</li>
<li>At what moment do we lose customers to a substitute, and could a prediction reach them before it?</li>
<li>Which retail partners have the staff time and the floor space for a counter, and what would we pay them?</li>
<li>What object could we give the customer that identifies them, lasts for years and advertises us?</li>
</ul>
</body></html>
)";

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make-example-pdf <output.pdf>\n");
    return 2;
  }
  pipeline::pdf::HtmlPdfOptions options;
  options.title = k_title;
  options.css = k_css;
  auto pages = pipeline::pdf::write_html_pdf(argv[1], k_html, options);
  if (!pages) {
    std::fprintf(stderr, "make-example-pdf: %s\n", pages.error().message.c_str());
    return 1;
  }
  if (*pages < 2 || *pages > 4) {
    std::fprintf(stderr, "make-example-pdf: the case study should fill 2 to 4 pages, not %d\n", *pages);
    return 1;
  }
  std::printf("wrote %s (%d pages)\n", argv[1], *pages);
  return 0;
}
