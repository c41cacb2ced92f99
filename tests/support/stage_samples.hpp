#pragma once

#include <map>

#include <nlohmann/json.hpp>

#include "stages/stage.hpp"

namespace pipeline::testing {

// A short case study (a bakery's pre-order lockers) as extracted document text.
const std::string& sample_document_text();

// A brand profile in the prompt form that brand::to_prompt_text gives.
const std::string& sample_brand_text();

// The brand profile JSON that sample_brand_text renders: a baker with no
// cold chain and no channel of its own to consumers.
const nlohmann::json& sample_brand_profile();

// A realistic, schema-conforming output of stage `number` (1 to 5) for the
// sample document and brand, written by hand.
const nlohmann::json& sample_output(int number);

// The sample card of `pattern` as its writer answers it (card_answer_schema
// for the sample brand): the sample card without what the program derives.
nlohmann::json sample_card_answer(const std::string& pattern);

// The sample plan: per pattern the sample card's title, mechanism, anchor,
// tier and format, a concept, a shopper and an occasion.
nlohmann::json sample_plan();

// A context with the sample document and brand and every sample output
// before stage `number`.
stages::StageContext sample_context(int number);

// The content of the rendered file at `path`; fails the test when there is none.
std::string rendered_file(const std::vector<stages::RenderedFile>& files, const std::string& path);

}  // namespace pipeline::testing
