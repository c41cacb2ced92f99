#include "tests/support/stage_samples.hpp"

#include <doctest/doctest.h>

#include <stdexcept>

namespace pipeline::testing {
namespace {

const char* k_stage1 = R"json({
  "innovation": {
    "name": "Pre-ordered bread from station lockers",
    "actor": "Nordvik Bakery, Oslo",
    "sector": "Bakery retail",
    "summary": "Nordvik put heated lockers in 40 Oslo train stations. Customers order by 22:00 in an app and collect fresh bread from 6:30; 52,000 people subscribed within 14 months and unsold bread fell from 18% to 4%."
  },
  "mechanisms": [
    {
      "id": "M1",
      "name": "Collect without queuing",
      "example": {
        "who": "Nordvik Bakery",
        "what": "Placed heated pick-up lockers on commuters' routes, opened with the app",
        "measurable_effect": "Collection takes 20 seconds instead of a 7-minute queue at the counter"
      },
      "mechanism": "Move the hand-over of a routine purchase to a point the buyer already passes, with no staff involved",
      "type": "remove_friction",
      "constraint_removed": {
        "kind": "time",
        "description": "Commuters skipped fresh bread because the morning queue did not fit their train",
        "quantified": "from 7 minutes to 20 seconds"
      },
      "why_it_works": "A habit survives only when it costs nothing at the moment of highest time pressure; the locker removes the only cost left.",
      "structural_sentence": "When a purchase is routine and time-pressed, removing the queue by handing over at a point already passed creates a daily habit."
    },
    {
      "id": "M2",
      "name": "Bake to known demand",
      "example": {
        "who": "Nordvik Bakery",
        "what": "Closed orders at 22:00 and baked overnight only what was ordered plus a 5% buffer",
        "measurable_effect": "Unsold bread fell from 18% to 4% of production"
      },
      "mechanism": "Take the order before producing a perishable good, so production follows demand instead of a forecast",
      "type": "shift_in_time",
      "constraint_removed": {
        "kind": "cost",
        "description": "Forecast errors on a product that is worthless after one day",
        "quantified": "waste from 18% to 4% of production"
      },
      "why_it_works": "For a product with a one-day life, every point of forecast error is pure loss; knowing demand eight hours ahead removes most of it.",
      "structural_sentence": "When a product perishes within a day, removing forecast error by taking orders before production creates margin without raising the price."
    },
    {
      "id": "M3",
      "name": "Weekly bread subscription",
      "example": {
        "who": "Nordvik Bakery",
        "what": "Sold a weekly plan at NOK 89 that repeats the order automatically",
        "measurable_effect": "52,000 subscribers within 14 months"
      },
      "mechanism": "Turn repeated single purchases into a standing order that renews unless changed",
      "type": "change_business_model",
      "constraint_removed": {
        "kind": "effort",
        "description": "Deciding and ordering again every evening",
        "quantified": null
      },
      "why_it_works": "Defaults win: people keep a standing order they would not have placed each day, and the bakery gets predictable volume.",
      "structural_sentence": "When a purchase repeats weekly, removing the daily decision by a renewing order creates loyalty and predictable volume."
    }
  ],
  "evidence": {
    "strength": "moderate",
    "rationale": "The case gives subscriber numbers, waste figures and queue times from the company, but no independent audit and no profit figures.",
    "gaps": ["Profitability of the lockers", "Churn of subscribers after the first year"]
  }
})json";

const char* k_stage2 = R"json({
  "anatomies": [
    {
      "mechanism_id": "M1",
      "primary_type": "channel",
      "secondary_types": ["service", "network"],
      "classification_rationale": "The change is where and how bread reaches the buyer: lockers in stations run with the rail operator.",
      "reinforcement": "The station network makes the channel hard to replicate, and the app service makes the channel usable without staff.",
      "defensibility": "medium",
      "defensibility_rationale": "A rival would need both locker hardware and station contracts; the contracts are the scarce part."
    },
    {
      "mechanism_id": "M2",
      "primary_type": "process",
      "secondary_types": [],
      "classification_rationale": "Baking to order changes the bakery's operations, not the product.",
      "reinforcement": "Alone it is exposed: any bakery with pre-orders can copy the process.",
      "defensibility": "low",
      "defensibility_rationale": "Overnight baking to order needs no asset a competitor lacks."
    },
    {
      "mechanism_id": "M3",
      "primary_type": "profit_model",
      "secondary_types": ["customer_engagement"],
      "classification_rationale": "Revenue moves from single sales to a weekly subscription.",
      "reinforcement": "The subscription funds the predictable volume that makes baking to order work.",
      "defensibility": "medium",
      "defensibility_rationale": "Subscribers face a small switching cost, and the data on their habits improves planning."
    }
  ],
  "combination": {
    "types": ["channel", "service", "network", "process", "profit_model", "customer_engagement"],
    "defensibility": "high",
    "rationale": "Six types across all three categories lock together: a rival must copy the lockers, the contracts, the process and the plan at once."
  },
  "signals": [
    {
      "name": "Commuters return to offices on fixed days",
      "description": "Hybrid workers travel two or three fixed days a week and want those mornings to be quick.",
      "evidence": "Nordvik reports 70% of collections on Tuesdays to Thursdays.",
      "mechanism_ids": ["M1", "M3"],
      "momentum": "growing"
    },
    {
      "name": "Food waste rules tighten in the Nordics",
      "description": "Retailers face reporting duties and public targets for food waste.",
      "evidence": "Norway's food waste agreement targets a 50% cut by 2030.",
      "mechanism_ids": ["M2"],
      "momentum": "mainstream"
    }
  ]
})json";

const char* k_stage3 = R"json({
  "jobs_to_be_done": {
    "functional": "I need to get a fresh daily staple on my way to work so that I do not miss my train or settle for packaged food",
    "emotional": "To feel that a rushed morning still includes something good",
    "social": "To be seen as someone who eats well even on busy days"
  },
  "triggering_circumstance": "A weekday morning commute with a fixed train time and no slack for a queue",
  "constraints_removed": [
    {"mechanism_id": "M1", "kind": "time", "before": "7 minutes queuing", "after": "20 seconds at a locker", "figures_source": "document"},
    {"mechanism_id": "M2", "kind": "cost", "before": "18% of production unsold", "after": "4% unsold", "figures_source": "document"},
    {"mechanism_id": "M3", "kind": "effort", "before": "5 orders a week", "after": "1 standing order", "figures_source": "estimate"}
  ],
  "analogous_industries": [
    {"industry": "Pharmacy", "shared_problem_structure": "Repeat prescriptions collected at a counter with queues", "how_it_would_transfer": "Pre-ordered refills released to station lockers"},
    {"industry": "Dry cleaning", "shared_problem_structure": "Drop-off and pick-up bound to opening hours", "how_it_would_transfer": "Lockers on commuter routes with app-confirmed pick-up"},
    {"industry": "Flower retail", "shared_problem_structure": "A perishable product with high daily waste", "how_it_would_transfer": "Weekly bouquets made to order the night before"}
  ],
  "transferable_insight": "Taking the order before making a perishable product, and handing it over where the buyer already passes, turns waste into margin and a chore into a habit.",
  "consumer_goods_fit": {
    "rating": "high",
    "rationale": "Chilled and fresh packaged goods share the short shelf life and the routine purchase.",
    "where_it_applies": ["Chilled ready meals", "Fresh juices", "Baked snacks"]
  }
})json";

const char* k_stage4 = R"json({
  "brand_name": "Acme Foods GmbH",
  "portfolio_fit": {
    "fits": [
      {"product_line": "Acme Morning Rolls", "connection": "A daily fresh product bought on the way to work, like Nordvik's bread"},
      {"product_line": "Acme Protein Bars", "connection": "A routine purchase that suits a standing weekly order"}
    ],
    "gaps": [
      {"gap": "No direct-to-consumer channel", "why_it_matters": "Pre-orders and subscriptions need a direct relationship with the buyer"}
    ]
  },
  "competitors": [
    {"name": "Lieken", "relevant_move": "Packaged bread in every German supermarket", "threat": "high"},
    {"name": "Station bakeries (Ditsch)", "relevant_move": "Own the fresh morning purchase in German stations", "threat": "medium"}
  ],
  "pattern_mapping": [
    {"mechanism_id": "M1", "pattern": "convenience", "application": "Morning Rolls collected from lockers at 120 Deutsche Bahn stations"},
    {"mechanism_id": "M2", "pattern": "better_for_you", "application": "Preservative-free rolls baked to order, possible because nothing waits on a shelf"},
    {"mechanism_id": "M3", "pattern": "occasion_expansion", "application": "A weekly office breakfast subscription for teams"}
  ],
  "retail_viability": {
    "scores": {
      "consumer_appeal": {"score": 4, "rationale": "Commuters already buy Morning Rolls at stations"},
      "shelf_differentiation": {"score": 3, "rationale": "Freshness is visible only after purchase"},
      "price_acceptance": {"score": 4, "rationale": "EUR 3.99 for four rolls is close to station bakery prices"},
      "margin_potential": {"score": 3, "rationale": "Locker costs eat into the waste savings"},
      "supply_feasibility": {"score": 2, "rationale": "Acme's plants bake for next-day retail, not overnight to order"}
    },
    "verdict": "Attractive for convenience and occasion cards; supply is the bottleneck."
  },
  "brand_permission": {
    "has_permission_to": ["Sell fresh morning baked goods", "Claim simple ingredients"],
    "lacks": ["A direct digital relationship with consumers", "Overnight production capacity"]
  },
  "strongest_directions": [
    {"direction": "Morning Rolls lockers in Deutsche Bahn stations", "mechanism_id": "M1", "pattern": "convenience", "why_this_brand": "Acme already supplies station kiosks and has the best-known roll brand"},
    {"direction": "Preservative-free rolls baked to order", "mechanism_id": "M2", "pattern": "better_for_you", "why_this_brand": "Fits Acme's 2025 priority of cleaner labels"},
    {"direction": "Office breakfast subscription", "mechanism_id": "M3", "pattern": "occasion_expansion", "why_this_brand": "Acme's B2B catering unit already serves 800 offices"}
  ],
  "risks": [
    {"risk": "Retail partners see lockers as a competing channel", "severity": "high", "mitigation": "Place lockers with retail partners and share revenue"},
    {"risk": "Overnight baking raises labour costs", "severity": "medium", "mitigation": "Pilot in one plant with an existing night shift"}
  ]
})json";

const char* k_stage5 = R"json({
  "better_for_you": {
    "title": "Acme Clean Rolls baked to order",
    "pattern": "better_for_you",
    "mechanism_id": "M2",
    "description": {
      "what": "Four wholegrain rolls without preservatives, baked overnight to pre-orders, in a paper bag.",
      "who": "Health-minded commuters aged 25 to 45 who avoid additives, at EUR 3.99 for four.",
      "how_why_now": "Baking to order removes the need for preservatives; clean-label demand is rising now."
    },
    "price_point": "EUR 3.99 for 4 x 70 g",
    "next_steps": [
      "Bake a preservative-free recipe trial at the Cologne plant within 8 weeks",
      "Run a concept test with 300 Morning Rolls buyers in 6 weeks",
      "Cost overnight production for 10,000 bags a day by the end of the quarter"
    ],
    "shelf": "A kraft-paper bag with a baked-at timestamp, in the chilled bakery bay.",
    "buyer_questions": [
      "How will you guarantee freshness without preservatives?",
      "Does it cannibalise Morning Rolls?"
    ],
    "retail": {"price": 3.99, "currency": "EUR", "units_per_store_per_week": 35, "gross_margin_pct": 38, "months_to_launch": 9}
  },
  "premiumisation": {
    "title": "Acme Heritage Sourdough Box",
    "pattern": "premiumisation",
    "mechanism_id": "M3",
    "description": {
      "what": "A weekly box of two 48-hour sourdough loaves from regional rye, on subscription.",
      "who": "Food-loving households who pay for craft bread, at EUR 11.90 a week.",
      "how_why_now": "The standing order makes slow fermentation plannable; craft bread spending grows while staples trade down."
    },
    "price_point": "EUR 11.90 for 2 x 750 g",
    "next_steps": [
      "Develop two sourdough recipes with a master baker in 10 weeks",
      "Test a subscription landing page with 2,000 visitors in 4 weeks",
      "Sign two regional rye farmers by month 3"
    ],
    "shelf": "A linen-textured box with the farmer's name, at eye level in the premium bread bay.",
    "buyer_questions": [
      "What margin does the store keep on a subscription product?",
      "How do you support it in store?"
    ],
    "retail": {"price": 11.9, "currency": "EUR", "units_per_store_per_week": 8, "gross_margin_pct": 46, "months_to_launch": 12}
  },
  "convenience": {
    "title": "Morning Rolls from the station locker",
    "pattern": "convenience",
    "mechanism_id": "M1",
    "description": {
      "what": "Morning Rolls ordered by 22:00 in the Acme app and collected from station lockers from 6:00.",
      "who": "Commuters with fixed train times, at EUR 3.49 for four.",
      "how_why_now": "The locker removes the queue; hybrid workers travel on fixed days and plan those mornings."
    },
    "price_point": "EUR 3.49 for 4 x 60 g",
    "next_steps": [
      "Agree a 10-locker pilot with Deutsche Bahn in Cologne within 3 months",
      "Build the ordering app with an agency in 12 weeks",
      "Measure pick-up times and repeat rate for 8 weeks of the pilot"
    ],
    "shelf": "A red locker wall by the platform stairs, each door showing the Acme roll.",
    "buyer_questions": [
      "Why should a retailer stock it if lockers bypass the store?",
      "What share of sales will go through lockers?"
    ],
    "retail": {"price": 3.49, "currency": "EUR", "units_per_store_per_week": 120, "gross_margin_pct": 32, "months_to_launch": 6}
  },
  "format_migration": {
    "title": "Roll kits baked at home",
    "pattern": "format_migration",
    "mechanism_id": "M2",
    "description": {
      "what": "Chilled dough for six rolls that bakes in 12 minutes, in a resealable tray.",
      "who": "Families who want warm rolls at weekend breakfast, at EUR 2.79.",
      "how_why_now": "Moving the last bake to the home keeps the fresh result without the waste; air fryers are now in 40% of German homes."
    },
    "price_point": "EUR 2.79 for 6 x 50 g",
    "next_steps": [
      "Test dough stability for 21 days in the lab within 6 weeks",
      "Trial air-fryer instructions with 50 households in 4 weeks",
      "Secure a chilled listing at one retailer for a 3-month trial"
    ],
    "shelf": "A clear tray showing the dough rolls, next to chilled croissant dough.",
    "buyer_questions": [
      "How many weeks of shelf life does the dough have?",
      "Which existing chilled dough product would it replace?"
    ],
    "retail": {"price": 2.79, "currency": "EUR", "units_per_store_per_week": 45, "gross_margin_pct": 41, "months_to_launch": 10}
  },
  "occasion_expansion": {
    "title": "Acme office breakfast, every Monday",
    "pattern": "occasion_expansion",
    "mechanism_id": "M3",
    "description": {
      "what": "A weekly crate of rolls, spreads and fruit for 10 people, delivered to offices on subscription.",
      "who": "Office managers of teams of 10 to 50, at EUR 39 a crate.",
      "how_why_now": "A standing order makes delivery routes plannable; firms use breakfast to bring staff back on office days."
    },
    "price_point": "EUR 39 per crate for 10 people",
    "next_steps": [
      "Offer the crate to 50 offices of the catering unit's clients in 2 months",
      "Price three crate sizes with a conjoint study of 200 office managers",
      "Plan delivery routes for 300 crates a week with the logistics team"
    ],
    "shelf": "Not on a retail shelf: a branded crate delivered to the office kitchen.",
    "buyer_questions": [
      "What does a crate cost the office per person compared with a bakery?",
      "Can the order change week by week?"
    ],
    "retail": {"price": 39, "currency": "EUR", "units_per_store_per_week": 6, "gross_margin_pct": 35, "months_to_launch": 4}
  }
})json";

}  // namespace

const std::string& sample_document_text() {
  static const std::string text =
      "Case study: Nordvik Bakery's station lockers\n\n"
      "In 2023 Nordvik Bakery placed heated lockers in 40 Oslo train stations. Customers order in the app by 22:00 "
      "and collect fresh bread from 6:30. Collection takes 20 seconds instead of a 7-minute queue. Because orders "
      "are known before baking, unsold bread fell from 18% to 4%. A weekly plan at NOK 89 won 52,000 subscribers "
      "within 14 months.\n";
  return text;
}

const std::string& sample_brand_text() {
  static const std::string text =
      "# Acme Foods GmbH (acme-foods)\n"
      "- Country: Germany\n- Industry: Packaged baked goods\n"
      "- Positioning: Everyday baked goods with simple ingredients\n"
      "- Portfolio: Acme Morning Rolls; Acme Protein Bars\n"
      "- Strategic priorities: Cleaner labels by 2025\n";
  return text;
}

const nlohmann::json& sample_output(int number) {
  static const std::map<int, nlohmann::json> outputs = {
      {1, nlohmann::json::parse(k_stage1)}, {2, nlohmann::json::parse(k_stage2)}, {3, nlohmann::json::parse(k_stage3)},
      {4, nlohmann::json::parse(k_stage4)}, {5, nlohmann::json::parse(k_stage5)}};
  auto found = outputs.find(number);
  if (found == outputs.end()) throw std::out_of_range("no sample output for stage " + std::to_string(number));
  return found->second;
}

stages::StageContext sample_context(int number) {
  stages::StageContext context;
  context.document_text = sample_document_text();
  context.document_title = "Nordvik Bakery's station lockers";
  context.brand_text = sample_brand_text();
  for (int earlier = 1; earlier < number; ++earlier) context.outputs[earlier] = sample_output(earlier);
  return context;
}

std::string rendered_file(const std::vector<stages::RenderedFile>& files, const std::string& path) {
  for (const auto& file : files) {
    if (file.path == path) return file.content;
  }
  FAIL("no rendered file " << path);
  return {};
}

}  // namespace pipeline::testing
