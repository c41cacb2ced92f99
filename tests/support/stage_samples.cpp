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
      {
        "product_line": "Acme Morning Rolls",
        "connection": "A daily fresh product bought on the way to work, like Nordvik's bread"
      },
      {
        "product_line": "Acme Protein Bars",
        "connection": "A routine purchase that suits a standing weekly order"
      }
    ],
    "gaps": [
      {
        "gap": "No direct-to-consumer channel",
        "why_it_matters": "Pre-orders need a relationship with the buyer that Acme has only through retailers"
      }
    ]
  },
  "competitors": [
    {
      "name": "Lieken",
      "relevant_move": "Packaged bread in every German supermarket",
      "threat": "high"
    },
    {
      "name": "Station bakeries (Ditsch)",
      "relevant_move": "Own the fresh morning purchase in German stations",
      "threat": "medium"
    }
  ],
  "pattern_fit": {
    "better_for_you": {
      "fit_score": 4,
      "mechanism_id": "M2",
      "application": "Acme Morning Rolls without preservatives, baked to retailer pre-orders",
      "why_this_score": "Cleaner labels are Acme's 2025 priority; shelf life is the limit"
    },
    "premiumisation": {
      "fit_score": 2,
      "mechanism_id": "M2",
      "application": "A 48-hour sourdough roll under the Morning Rolls name",
      "why_this_score": "Acme is an everyday brand; a craft price needs proof it does not have yet"
    },
    "convenience": {
      "fit_score": 5,
      "mechanism_id": "M1",
      "application": "Acme Morning Rolls collected from lockers at 120 Deutsche Bahn stations",
      "why_this_score": "Acme already supplies station kiosks"
    },
    "format_migration": {
      "fit_score": 3,
      "mechanism_id": "M2",
      "application": "Acme Protein Bars as a breakfast bar pack sized for one commute",
      "why_this_score": "The bar line runs in ambient packs already"
    },
    "occasion_expansion": {
      "fit_score": 4,
      "mechanism_id": "M3",
      "application": "Acme Morning Rolls as a weekly office breakfast crate through the catering unit",
      "why_this_score": "The catering unit serves 800 offices"
    }
  },
  "retail_thresholds": {
    "velocity_units_per_store_per_week": 12,
    "gross_margin_pct": 30,
    "shelf_visibility": "Two facings at eye level in the bakery bay",
    "basis": "Estimates from German packaged bread norms; the profile gives no rates of sale"
  },
  "strongest_directions": [
    {
      "direction": "Morning Rolls lockers in Deutsche Bahn stations",
      "mechanism_id": "M1",
      "pattern": "convenience",
      "fit_flag": null,
      "why_this_brand": "Acme already supplies station kiosks and has the best-known roll brand",
      "scorecard": {
        "velocity": {
          "expected_units_per_store_per_week": 40,
          "rationale": "Station kiosks sell 30 to 50 bags a day"
        },
        "margin": {
          "expected_gross_margin_pct": 32,
          "rationale": "Locker rent takes 6 points"
        },
        "shelf_visibility": {
          "meets_threshold": true,
          "rationale": "A red locker wall by the platform stairs"
        }
      }
    },
    {
      "direction": "Preservative-free rolls baked to order",
      "mechanism_id": "M2",
      "pattern": "better_for_you",
      "fit_flag": null,
      "why_this_brand": "Fits Acme's 2025 priority of cleaner labels",
      "scorecard": {
        "velocity": {
          "expected_units_per_store_per_week": 15,
          "rationale": "Close to the current Morning Rolls rate"
        },
        "margin": {
          "expected_gross_margin_pct": 36,
          "rationale": "Less waste offsets the shorter shelf life"
        },
        "shelf_visibility": {
          "meets_threshold": false,
          "rationale": "Freshness shows only after purchase"
        }
      }
    },
    {
      "direction": "Office breakfast crates",
      "mechanism_id": "M3",
      "pattern": "occasion_expansion",
      "fit_flag": null,
      "why_this_brand": "Acme's B2B catering unit already serves 800 offices",
      "scorecard": {
        "velocity": {
          "expected_units_per_store_per_week": 6,
          "rationale": "Counted per office, not per store"
        },
        "margin": {
          "expected_gross_margin_pct": 35,
          "rationale": "Delivery routes are shared with catering"
        },
        "shelf_visibility": {
          "meets_threshold": false,
          "rationale": "Not sold on a shelf"
        }
      }
    }
  ],
  "claims": {
    "can_make": [
      {
        "claim": "Simple ingredients",
        "proof": "Morning Rolls list five ingredients"
      }
    ],
    "cannot_make": [
      {
        "claim": "Healthier than bakery bread",
        "why_not": "No nutrition study supports it"
      }
    ]
  },
  "go_no_go": {
    "manufacturing": {
      "go_if": "The Cologne plant can bake overnight to orders at 10,000 bags a day",
      "no_go_if": "Night baking needs a new line"
    },
    "regulation": {
      "go_if": "Preservative-free rolls keep 3 days without a mould problem",
      "no_go_if": "Shelf-life tests fail at 2 days"
    },
    "investment": {
      "go_if": "The locker pilot pays back within 24 months",
      "no_go_if": "Lockers cost more than EUR 2 million"
    }
  },
  "brand_permission": {
    "has_permission_to": [
      "Sell fresh morning baked goods",
      "Claim simple ingredients"
    ],
    "lacks": [
      "A direct digital relationship with consumers",
      "Overnight production capacity"
    ]
  },
  "risks": [
    {
      "risk": "Retail partners see lockers as a competing channel",
      "severity": "high",
      "mitigation": "Place lockers with retail partners and share revenue"
    },
    {
      "risk": "Overnight baking raises labour costs",
      "severity": "medium",
      "mitigation": "Pilot in one plant with an existing night shift"
    }
  ],
  "launch_limits": {
    "largest_investment": 2000000,
    "longest_months_to_launch": 18,
    "basis": "A default for a mid-sized German baker: one new line a year, on shelf within 18 months"
  },
  "brand_facts": {
    "currency": "EUR",
    "price_position": "mainstream",
    "channels": [
      "store_retail",
      "online_retail",
      "foodservice"
    ],
    "cold_chain": false,
    "current_prices": [],
    "inferred": [
      "cold chain taken as no: the profile names no chilled or frozen goods",
      "channels taken as store_retail, online_retail and foodservice: the profile names no channel of the brand's own to consumers",
      "price position taken as mainstream: the positioning names no low price",
      "currency taken as EUR from the country \"Germany\"",
      "no current prices: a card's price cannot be set beside the brand's own"
    ]
  }
})json";

const char* k_stage5 = R"json({
  "better_for_you": {
    "title": "Acme Clean Rolls baked to order",
    "pattern": "better_for_you",
    "mechanism_id": "M2",
    "brand_anchor": {
      "product_line": "Acme Morning Rolls",
      "customer_segment": "Commuters who buy breakfast on the way to work",
      "capability": "The Cologne plant's overnight shift",
      "competitor": "Lieken Urkorn rolls"
    },
    "description": {
      "what": "Four wholegrain rolls without preservatives, baked overnight to retailer pre-orders, in a paper bag.",
      "who": "Health-minded commuters aged 25 to 45 who avoid additives, at EUR 3.99 for four.",
      "how_why_now": "Baking to order removes the need for preservatives; clean-label demand is rising now."
    },
    "price_point": "EUR 3.99 for 4 x 70 g paper bag",
    "feasibility": {
      "storage": "ambient",
      "channel": "store_retail",
      "price_tier": "mainstream",
      "price_tier_reason": "Priced like Morning Rolls; the clean label is the reason to switch",
      "consumer_education": "none"
    },
    "next_steps": {
      "production_trial": {
        "action": "Bake a preservative-free recipe trial at the Cologne plant",
        "scale": "3 night shifts, 2,000 bags",
        "timing": "within 8 weeks"
      },
      "retailer_test": {
        "action": "Test the price at EUR 3.79 and 3.99 in REWE stores",
        "scale": "40 stores",
        "timing": "over 8 weeks"
      },
      "claim_proof": {
        "action": "Run a 3-day mould test of the recipe in an accredited lab",
        "scale": "6 batches",
        "timing": "in 4 weeks"
      }
    },
    "shelf": "A kraft-paper bag with a baked-at timestamp, in the bakery bay.",
    "buyer_questions": {
      "versus_competitor": {
        "competitor": "Lieken Urkorn",
        "question": "Why would a shopper pay 40 cents more than for Lieken Urkorn?"
      },
      "trade_terms": "How will you guarantee three days of freshness without preservatives?"
    },
    "retail": {
      "price": 3.99,
      "currency": "EUR",
      "units_per_store_per_week": 35,
      "gross_margin_pct": 38,
      "months_to_launch": 9,
      "basis": "Estimate based on Morning Rolls' current EUR 3.49 price and station kiosk sales",
      "pack": "4 x 70 g paper bag",
      "below_threshold_reason": null
    },
    "format": "4 x 70 g paper bag",
    "comparable": {
      "product": "Acme Morning Rolls",
      "pack": "4 x 70 g paper bag",
      "price": 3.49,
      "source": "estimate",
      "price_ratio": 1.14,
      "compared_per": "per 100 g",
      "flags": []
    },
    "launch": {
      "investment": {
        "low": 150000,
        "high": 250000,
        "currency": "EUR"
      },
      "new_equipment": {
        "needed": false,
        "what": null
      },
      "shelf_set": "The packaged bread bay, beside Acme Morning Rolls",
      "cannibalises": {
        "product_line": "Acme Morning Rolls",
        "how_limited": "Sold to additive-avoiding shoppers who skip Morning Rolls today, at 50 cents more"
      },
      "copy_defence": "The leader bakes for stock a week ahead; baking to pre-orders needs Acme's overnight shift and order data",
      "beyond_limits": []
    }
  },
  "premiumisation": {
    "title": "Acme 48-hour sourdough rolls",
    "pattern": "premiumisation",
    "mechanism_id": "M2",
    "brand_anchor": {
      "product_line": "Acme Morning Rolls",
      "customer_segment": "Families who shop weekly",
      "capability": "Acme's regional rye suppliers",
      "competitor": "Harry Sonntagsbrötchen"
    },
    "description": {
      "what": "Four 48-hour sourdough rolls from regional rye in a printed paper bag.",
      "who": "Food-loving families who pay for craft bread at the weekend, at EUR 4.99 for four.",
      "how_why_now": "Planned orders make slow fermentation possible at scale; craft bread spending grows while staples trade down."
    },
    "price_point": "EUR 4.99 for 4 x 80 g printed paper bag",
    "feasibility": {
      "storage": "ambient",
      "channel": "store_retail",
      "price_tier": "premium",
      "price_tier_reason": "Regional rye and a 48-hour ferment the pack can prove",
      "consumer_education": "none"
    },
    "next_steps": {
      "production_trial": {
        "action": "Develop two sourdough recipes with a master baker at the Cologne plant",
        "scale": "2 recipes, 500 bags each",
        "timing": "in 10 weeks"
      },
      "retailer_test": {
        "action": "List the rolls in Edeka's premium bread bay",
        "scale": "25 stores",
        "timing": "for 12 weeks"
      },
      "claim_proof": {
        "action": "Certify the regional rye origin with the suppliers",
        "scale": "2 farms",
        "timing": "by month 3"
      }
    },
    "shelf": "A linen-textured bag with the farmer's name, at eye level in the premium bread bay.",
    "buyer_questions": {
      "versus_competitor": {
        "competitor": "Harry",
        "question": "What makes these worth a euro more than Harry's Sonntagsbrötchen?"
      },
      "trade_terms": "What margin does the store keep at EUR 4.99?"
    },
    "retail": {
      "price": 4.99,
      "currency": "EUR",
      "units_per_store_per_week": 8,
      "gross_margin_pct": 46,
      "months_to_launch": 12,
      "basis": "Estimate based on craft roll prices in German supermarkets",
      "pack": "4 x 80 g printed paper bag",
      "below_threshold_reason": "A craft roll sells slower than a staple; its 46 % margin earns the space in stores with a craft bread section"
    },
    "format": "4 x 80 g printed paper bag",
    "comparable": {
      "product": "Acme Morning Rolls",
      "pack": "4 x 70 g paper bag",
      "price": 3.49,
      "source": "estimate",
      "price_ratio": 1.25,
      "compared_per": "per 100 g",
      "flags": []
    },
    "launch": {
      "investment": {
        "low": 300000,
        "high": 450000,
        "currency": "EUR"
      },
      "new_equipment": {
        "needed": true,
        "what": "Proofing cabinets for a 48-hour ferment"
      },
      "shelf_set": "The in-store bakery's craft bread shelf",
      "cannibalises": {
        "product_line": "Acme Morning Rolls",
        "how_limited": "A weekend treat for families, not the weekday commuter roll"
      },
      "copy_defence": "Regional rye contracts with Acme's suppliers are booked for two harvests",
      "beyond_limits": []
    }
  },
  "convenience": {
    "title": "Morning Rolls from the station locker",
    "pattern": "convenience",
    "mechanism_id": "M1",
    "brand_anchor": {
      "product_line": "Acme Morning Rolls",
      "customer_segment": "Commuters who buy breakfast on the way to work",
      "capability": "Acme's supply contracts with station kiosks",
      "competitor": "Station bakeries (Ditsch)"
    },
    "description": {
      "what": "Morning Rolls ordered by 22:00 in the Acme app and collected from station lockers from 6:00.",
      "who": "Commuters with fixed train times, at EUR 3.49 for four.",
      "how_why_now": "The locker removes the queue; hybrid workers travel on fixed days and plan those mornings."
    },
    "price_point": "EUR 3.49 for 4 x 60 g locker bag",
    "feasibility": {
      "storage": "ambient",
      "channel": "foodservice",
      "price_tier": "mainstream",
      "price_tier_reason": "The usual Morning Rolls price; the saving is time",
      "consumer_education": "none"
    },
    "next_steps": {
      "production_trial": {
        "action": "Pack locker-sized bags on the Morning Rolls line",
        "scale": "1,000 bags a day",
        "timing": "for 2 weeks"
      },
      "retailer_test": {
        "action": "Agree a locker pilot with Deutsche Bahn and the station kiosk operator",
        "scale": "10 lockers in Cologne",
        "timing": "within 3 months"
      },
      "claim_proof": {
        "action": "Measure pick-up times against the kiosk queue",
        "scale": "400 commuters",
        "timing": "over 8 weeks"
      }
    },
    "shelf": "A red locker wall by the platform stairs, each door showing the Acme roll.",
    "buyer_questions": {
      "versus_competitor": {
        "competitor": "Ditsch",
        "question": "Why would commuters order ahead rather than buy at Ditsch on the platform?"
      },
      "trade_terms": "What share of kiosk sales will move into the lockers?"
    },
    "retail": {
      "price": 3.49,
      "currency": "EUR",
      "units_per_store_per_week": 120,
      "gross_margin_pct": 32,
      "months_to_launch": 6,
      "basis": "Estimate based on station kiosk sales of 30 to 50 bags a day",
      "pack": "4 x 60 g locker bag",
      "below_threshold_reason": null
    },
    "format": "4 x 60 g locker bag",
    "comparable": {
      "product": "Acme Morning Rolls",
      "pack": "4 x 70 g paper bag",
      "price": 3.49,
      "source": "estimate",
      "price_ratio": 1.17,
      "compared_per": "per 100 g",
      "flags": []
    },
    "launch": {
      "investment": {
        "low": 1200000,
        "high": 1800000,
        "currency": "EUR"
      },
      "new_equipment": {
        "needed": true,
        "what": "Heated lockers in 40 stations"
      },
      "shelf_set": "Station lockers, outside the store shelf",
      "cannibalises": {
        "product_line": "Acme Morning Rolls",
        "how_limited": "Bought at the station, where Acme sells nothing today"
      },
      "copy_defence": "The station operator grants one locker concession per station for five years",
      "beyond_limits": []
    }
  },
  "format_migration": {
    "title": "Acme Protein Bars breakfast pack",
    "pattern": "format_migration",
    "mechanism_id": "M2",
    "brand_anchor": {
      "product_line": "Acme Protein Bars",
      "customer_segment": "Commuters who buy breakfast on the way to work",
      "capability": "The bar line's flow-wrap machines",
      "competitor": "Corny Protein"
    },
    "description": {
      "what": "Two protein bars and a dried-fruit bite in one flow-wrapped breakfast pack.",
      "who": "Commuters who skip breakfast at home, at EUR 1.99 a pack.",
      "how_why_now": "A fixed pack for one commute sells the morning, not the bar; station snacking is back to 2019 levels."
    },
    "price_point": "EUR 1.99 for 2 x 40 g bar pack",
    "feasibility": {
      "storage": "ambient",
      "channel": "store_retail",
      "price_tier": "mainstream",
      "price_tier_reason": "Priced between a bar and a bakery breakfast",
      "consumer_education": "none"
    },
    "next_steps": {
      "production_trial": {
        "action": "Run the three-piece pack on the bar line's flow-wrap machine",
        "scale": "5,000 packs",
        "timing": "in 6 weeks"
      },
      "retailer_test": {
        "action": "Place the pack at the tills of Rossmann stores near stations",
        "scale": "60 stores",
        "timing": "for 10 weeks"
      },
      "claim_proof": {
        "action": "Verify the 20 g protein claim in a lab",
        "scale": "3 batches",
        "timing": "in 3 weeks"
      }
    },
    "shelf": "A bright orange pack in the till rack, next to single bars.",
    "buyer_questions": {
      "versus_competitor": {
        "competitor": "Corny",
        "question": "How does this pack beat a single Corny Protein bar at the till?"
      },
      "trade_terms": "Which till-rack slot would it take, and for how long?"
    },
    "retail": {
      "price": 1.99,
      "currency": "EUR",
      "units_per_store_per_week": 45,
      "gross_margin_pct": 41,
      "months_to_launch": 8,
      "basis": "Estimate based on Acme Protein Bars' current till-rack sales",
      "pack": "2 x 40 g bar pack",
      "below_threshold_reason": null
    },
    "format": "2 x 40 g bar pack",
    "comparable": {
      "product": "Acme Protein Bars",
      "pack": "40 g bar",
      "price": 1.19,
      "source": "estimate",
      "price_ratio": 0.84,
      "compared_per": "per 100 g",
      "flags": []
    },
    "launch": {
      "investment": {
        "low": 80000,
        "high": 120000,
        "currency": "EUR"
      },
      "new_equipment": {
        "needed": false,
        "what": null
      },
      "shelf_set": "The till rack, beside single Acme Protein Bars",
      "cannibalises": {
        "product_line": "Acme Protein Bars",
        "how_limited": "A two-bar breakfast pack, bought instead of a pastry, not instead of one bar"
      },
      "copy_defence": "The leader has no bar in the bakery bay and no listing at the till rack",
      "beyond_limits": []
    }
  },
  "occasion_expansion": {
    "title": "Acme office breakfast, every Monday",
    "pattern": "occasion_expansion",
    "mechanism_id": "M3",
    "brand_anchor": {
      "product_line": "Acme Morning Rolls",
      "customer_segment": "Office teams served by the catering unit",
      "capability": "Acme's B2B catering unit and its delivery routes",
      "competitor": "Local bakery deliveries"
    },
    "description": {
      "what": "A weekly crate of rolls, spreads and fruit for 10 people, delivered to offices by the catering unit.",
      "who": "Office managers of teams of 10 to 50, at EUR 39 a crate.",
      "how_why_now": "A standing order makes delivery routes plannable; firms use breakfast to bring staff back on office days."
    },
    "price_point": "EUR 39.00 for office crate for 10 people",
    "feasibility": {
      "storage": "ambient",
      "channel": "foodservice",
      "price_tier": "mainstream",
      "price_tier_reason": "Priced per person below a bakery delivery",
      "consumer_education": "none"
    },
    "next_steps": {
      "production_trial": {
        "action": "Pack a trial run of crates at the catering kitchen",
        "scale": "300 crates",
        "timing": "in 4 weeks"
      },
      "retailer_test": {
        "action": "Offer the crate to the catering unit's clients",
        "scale": "50 offices",
        "timing": "over 2 months"
      },
      "claim_proof": {
        "action": "Test the crate's contents with office staff",
        "scale": "200 employees",
        "timing": "in 6 weeks"
      }
    },
    "shelf": "Not on a retail shelf: a branded crate delivered to the office kitchen.",
    "buyer_questions": {
      "versus_competitor": {
        "competitor": "local bakery deliveries",
        "question": "What does a crate cost per person compared with the local bakery's delivery?"
      },
      "trade_terms": "Can the order change week by week?"
    },
    "retail": {
      "price": 39,
      "currency": "EUR",
      "units_per_store_per_week": 6,
      "gross_margin_pct": 35,
      "months_to_launch": 4,
      "basis": "Estimate based on the catering unit's breakfast prices",
      "pack": "office crate for 10 people",
      "below_threshold_reason": "An office crate is sold through the catering unit, not a store shelf; 6 crates feed 60 people a week"
    },
    "format": "office crate for 10 people",
    "comparable": {
      "product": "Catering unit breakfast buffet",
      "pack": "office crate for 10 people",
      "price": 45.0,
      "source": "estimate",
      "price_ratio": 0.87,
      "compared_per": "per pack",
      "flags": []
    },
    "launch": {
      "investment": {
        "low": 40000,
        "high": 60000,
        "currency": "EUR"
      },
      "new_equipment": {
        "needed": false,
        "what": null
      },
      "shelf_set": "The catering unit's office menu",
      "cannibalises": {
        "product_line": "Acme Morning Rolls",
        "how_limited": "Office teams eat it at work, instead of a bakery stop"
      },
      "copy_defence": "The catering unit already serves 800 offices the leader does not reach",
      "beyond_limits": []
    }
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
      "- Target customers: Commuters who buy breakfast on the way to work; Families who shop weekly; Office teams "
      "served by the catering unit\n"
      "- Strategic priorities: Cleaner labels by 2025\n";
  return text;
}

const nlohmann::json& sample_brand_profile() {
  static const nlohmann::json profile = {
      {"id", "acme-foods"},
      {"company_name", "Acme Foods GmbH"},
      {"country", "Germany"},
      {"industry", "Packaged baked goods"},
      {"positioning", "Everyday baked goods with simple ingredients"},
      {"portfolio", {"Acme Morning Rolls", "Acme Protein Bars"}},
      {"target_customers", {"Commuters who buy breakfast on the way to work", "Families who shop weekly",
                            "Office teams served by the catering unit"}},
      {"recent_innovations", {"Morning Rolls in a paper bag (2024)"}},
      {"strategic_priorities", {"Cleaner labels by 2025"}},
      {"brand_values", {"Simple", "Dependable"}}};
  return profile;
}

const nlohmann::json& sample_output(int number) {
  static const std::map<int, nlohmann::json> outputs = {
      {1, nlohmann::json::parse(k_stage1)}, {2, nlohmann::json::parse(k_stage2)}, {3, nlohmann::json::parse(k_stage3)},
      {4, nlohmann::json::parse(k_stage4)}, {5, nlohmann::json::parse(k_stage5)}};
  auto found = outputs.find(number);
  if (found == outputs.end()) throw std::out_of_range("no sample output for stage " + std::to_string(number));
  return found->second;
}

nlohmann::json sample_card_answer(const std::string& pattern) {
  nlohmann::json answer = sample_output(5).at(pattern);
  for (const char* derived : {"pattern", "mechanism_id", "format", "brand_anchor", "price_point"}) answer.erase(derived);
  answer["feasibility"].erase("price_tier");
  answer["retail"].erase("currency");
  answer["retail"].erase("pack");
  const auto comparable = answer["comparable"];
  answer["comparable"] = {{"product", comparable["product"]}, {"pack", comparable["pack"]}, {"price", comparable["price"]}};
  answer["launch"]["investment"].erase("currency");
  answer["launch"].erase("beyond_limits");
  return answer;
}

nlohmann::json sample_plan() {
  nlohmann::json plan = nlohmann::json::object();
  for (const auto& [pattern, card] : sample_output(5).items()) {
    plan[pattern] = {{"title", card["title"]}, {"mechanism_id", card["mechanism_id"]},
                     {"concept", "The " + pattern + " concept: " + card["description"]["what"].get<std::string>()},
                     {"shopper", card["description"]["who"]}, {"occasion", "The " + pattern + " moment"},
                     {"format", card["format"]}, {"price_tier", card["feasibility"]["price_tier"]},
                     {"brand_anchor", card["brand_anchor"]}};
  }
  return plan;
}

stages::StageContext sample_context(int number) {
  stages::StageContext context;
  context.document_text = sample_document_text();
  context.document_title = "Nordvik Bakery's station lockers";
  context.brand_text = sample_brand_text();
  context.brand_profile = sample_brand_profile();
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
