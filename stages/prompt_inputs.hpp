#pragma once

#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "stages/stage.hpp"

namespace pipeline::stages {

// `content` between <tag attributes> and </tag> lines. Any "</tag" inside the
// content (in any case) becomes "<\/tag", so the data cannot close its own
// block early and pass itself off as instructions; in JSON, "<\/" reads as "</".
std::string data_block(std::string_view tag, std::string_view attributes, std::string_view content);

// JSON as the prompts carry it: an object one member a line (an array one
// item a line), each without indentation or spaces. The same data
// as indented JSON in about a quarter fewer characters, and a token or so
// fewer a line, read by every later request that sends it.
std::string json_lines(const nlohmann::json& value);

// The placeholder values every stage offers its prompt:
//   {{document}}        the document text in a <document title="..."> block;
//   {{document_title}}  the title alone (quotes and brackets removed);
//   {{brand}}           the brand profile in a <brand_profile> block (brand stages only);
//   {{vague_words}}     the words every answer is checked for (stages/vague_words.hpp);
//   {{<stage name>}}    each earlier output the stage reads, as pretty JSON in a
//                       <stage_output stage="N" name="..."> block.
// An earlier output missing from the context is an empty JSON object here;
// build_request refuses such a context before the prompt is filled.
std::map<std::string, std::string> standard_variables(const Stage& stage, const StageContext& context);

}  // namespace pipeline::stages
