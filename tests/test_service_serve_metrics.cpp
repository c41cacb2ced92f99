#include <doctest/doctest.h>

#include <cctype>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "service/serve_metrics.hpp"

using pipeline::queue::Priority;
using pipeline::queue::QueueCounts;
using pipeline::service::ServeMetrics;

namespace {

// A line that breaks the exposition format or this project's rules.
struct MetricsFormatError {
  std::string message;
};

void metrics_expect(bool condition, const std::string& line, const std::string& rule) {
  if (!condition) throw MetricsFormatError{rule + ": " + line};
}

// The samples of an exposition (Prometheus text format 0.0.4), by series:
// `name{label="value",...}` with the labels as written, to the value.
// Throws MetricsFormatError at the first line that breaks the format or
// this project's rules: names start with pipeline_, every family has HELP
// and TYPE before its samples and its samples together, no series twice.
std::map<std::string, double> metrics_samples(const std::string& text) {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;
  std::set<std::string> helps;
  std::set<std::string> finished_families;
  std::string current_family;
  metrics_expect(!text.empty() && text.back() == '\n', text, "the text ends with a newline");

  const auto is_name_start = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; };
  const auto is_name_char = [&](char c) { return is_name_start(c) || std::isdigit(static_cast<unsigned char>(c)); };
  const auto valid_name = [&](const std::string& name) {
    if (name.empty() || !is_name_start(name[0])) return false;
    for (const char c : name) {
      if (!is_name_char(c)) return false;
    }
    return true;
  };
  // The family a sample belongs to: summaries have _sum and _count samples.
  const auto family_of = [&](const std::string& name) {
    for (const std::string suffix : {"_sum", "_count", "_bucket"}) {
      if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        const std::string base = name.substr(0, name.size() - suffix.size());
        const auto type = types.find(base);
        if (type != types.end() && (type->second == "summary" || type->second == "histogram")) return base;
      }
    }
    return name;
  };

  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream words(line);
      std::string hash, keyword, name;
      words >> hash >> keyword >> name;
      metrics_expect(hash == "#", line, "a comment starts with '# '");
      if (keyword != "HELP" && keyword != "TYPE") continue;  // a plain comment
      metrics_expect(valid_name(name), line, "a metric name");
      metrics_expect(name.rfind("pipeline_", 0) == 0, line, "names start with pipeline_");
      metrics_expect(finished_families.count(name) == 0 && current_family != name, line,
                     "HELP and TYPE come before the family's samples");
      if (keyword == "HELP") {
        metrics_expect(helps.insert(name).second, line, "one HELP per family");
        std::string help;
        std::getline(words, help);
        metrics_expect(help.size() > 1, line, "a HELP text");
      } else {
        std::string type, rest;
        words >> type;
        metrics_expect(!(words >> rest), line, "nothing after the type");
        metrics_expect(std::set<std::string>{"counter", "gauge", "summary", "histogram", "untyped"}.count(type) == 1,
                       line, "a known type");
        metrics_expect(types.emplace(name, type).second, line, "one TYPE per family");
      }
      continue;
    }
    // name, optional {labels}, one space, the value; nothing after it.
    std::size_t at = 0;
    while (at < line.size() && is_name_char(line[at])) ++at;
    const std::string name = line.substr(0, at);
    metrics_expect(valid_name(name), line, "a sample starts with a metric name");
    metrics_expect(name.rfind("pipeline_", 0) == 0, line, "names start with pipeline_");
    std::string series = name;
    if (at < line.size() && line[at] == '{') {
      ++at;
      std::set<std::string> label_names;
      series += '{';
      bool first = true;
      while (at < line.size() && line[at] != '}') {
        if (!first) {
          metrics_expect(line[at] == ',', line, "labels are separated by commas");
          ++at;
          series += ',';
        }
        first = false;
        const std::size_t label_start = at;
        while (at < line.size() && is_name_char(line[at]) && line[at] != ':') ++at;
        const std::string label = line.substr(label_start, at - label_start);
        metrics_expect(valid_name(label) && label.rfind("__", 0) != 0, line, "a label name");
        metrics_expect(label_names.insert(label).second, line, "each label once");
        metrics_expect(line.compare(at, 2, "=\"") == 0, line, "label=\"value\"");
        at += 2;
        std::string value;
        while (at < line.size() && line[at] != '"') {
          if (line[at] == '\\') {
            ++at;
            metrics_expect(at < line.size() && (line[at] == '\\' || line[at] == '"' || line[at] == 'n'), line,
                           "escapes are \\\\, \\\" and \\n");
          }
          value += line[at++];
        }
        metrics_expect(at < line.size(), line, "a label value ends with a quote");
        ++at;
        series += label + "=\"" + value + "\"";
      }
      metrics_expect(at < line.size(), line, "labels end with '}'");
      ++at;
      series += '}';
    }
    metrics_expect(at < line.size() && line[at] == ' ', line, "one space before the value");
    const std::string value_text = line.substr(at + 1);
    metrics_expect(!value_text.empty() && value_text.find(' ') == std::string::npos, line, "one value, no timestamp");
    char* end = nullptr;
    const double value = std::strtod(value_text.c_str(), &end);
    metrics_expect(end == value_text.c_str() + value_text.size(), line, "the value is a number");

    const std::string family = family_of(name);
    metrics_expect(helps.count(family) == 1 && types.count(family) == 1, line, "HELP and TYPE before the samples");
    metrics_expect(finished_families.count(family) == 0, line, "a family's samples are together");
    if (family != current_family) {
      if (!current_family.empty()) finished_families.insert(current_family);
      current_family = family;
    }
    metrics_expect(samples.emplace(series, value).second, line, "each series once");
  }
  return samples;
}

// The samples; fails the test when the text is not a valid exposition.
std::map<std::string, double> metrics_parse(const std::string& text) {
  try {
    return metrics_samples(text);
  } catch (const MetricsFormatError& error) {
    FAIL(error.message);
  }
  return {};
}

// Why the text is not a valid exposition; empty when it is.
std::string metrics_format_error(const std::string& text) {
  try {
    (void)metrics_samples(text);
  } catch (const MetricsFormatError& error) {
    return error.message;
  }
  return "";
}

QueueCounts metrics_counts() {
  QueueCounts counts;
  counts.queued = {{Priority::high, 1}, {Priority::normal, 4}, {Priority::low, 0}};
  counts.in_flight = 2;
  counts.delayed = 3;
  counts.dead = 5;
  counts.live_workers = 6;
  return counts;
}

nlohmann::json metrics_stage_done(const std::string& name, double seconds, long long prompt, long long completion,
                                  double cost) {
  return {{"event", "stage_done"},
          {"run_id", "run-1"},
          {"stage", 1},
          {"name", name},
          {"duration_s", seconds},
          {"usage", {{"prompt_tokens", prompt}, {"completion_tokens", completion}, {"cost_usd", cost}}}};
}

}  // namespace

TEST_CASE("an idle server's metrics parse as Prometheus text and tell the queue and the runs") {
  const ServeMetrics metrics;
  const auto samples =
      metrics_parse(metrics.render(metrics_counts(), {{"completed", 7}, {"queued", 2}, {"failed", 1}}));
  CHECK(samples.at("pipeline_queue_depth{priority=\"high\"}") == 1);
  CHECK(samples.at("pipeline_queue_depth{priority=\"normal\"}") == 4);
  CHECK(samples.at("pipeline_queue_depth{priority=\"low\"}") == 0);
  CHECK(samples.at("pipeline_jobs_running") == 2);
  CHECK(samples.at("pipeline_jobs_delayed") == 3);
  CHECK(samples.at("pipeline_jobs_dead") == 5);
  CHECK(samples.at("pipeline_workers") == 6);
  CHECK(samples.at("pipeline_runs{status=\"completed\"}") == 7);
  CHECK(samples.at("pipeline_runs{status=\"queued\"}") == 2);
  CHECK(samples.at("pipeline_runs{status=\"failed\"}") == 1);
  CHECK(samples.at("pipeline_event_streams_open") == 0);
  for (const auto& sample : samples) {
    CAPTURE(sample.first);
    CHECK(sample.first.find("pipeline_stage_") != 0);
    CHECK(sample.first.find("pipeline_http_responses_total") != 0);
  }
}

TEST_CASE("metrics count the answers by code, the stages run and the open streams") {
  ServeMetrics metrics;
  for (const int status : {200, 200, 202, 404, 200, 500}) metrics.count_response(status);
  metrics.record_stage(metrics_stage_done("signals", 2.5, 100, 20, 0.001));
  metrics.record_stage(metrics_stage_done("signals", 1.25, 300, 40, 0.002));
  metrics.record_stage(metrics_stage_done("lessons", 4, 1000, 500, 0.05));
  // Estimated tokens count as tokens; a stage without usage or duration still counts once.
  metrics.record_stage({{"event", "stage_done"},
                        {"name", "mechanisms"},
                        {"usage", {{"estimated_prompt_tokens", 9}, {"estimated_completion_tokens", 3}}}});
  metrics.record_stage({{"event", "stage_done"}, {"name", "opportunities"}});
  // Without a stage name there is nothing to count it under.
  metrics.record_stage({{"event", "stage_done"}, {"duration_s", 99}});
  metrics.stream_opened();
  metrics.stream_opened();
  metrics.stream_opened();
  metrics.stream_closed();
  CHECK(metrics.open_streams() == 2);

  const auto samples = metrics_parse(metrics.render(metrics_counts(), {}));
  CHECK(samples.at("pipeline_http_responses_total{code=\"200\"}") == 3);
  CHECK(samples.at("pipeline_http_responses_total{code=\"202\"}") == 1);
  CHECK(samples.at("pipeline_http_responses_total{code=\"404\"}") == 1);
  CHECK(samples.at("pipeline_http_responses_total{code=\"500\"}") == 1);
  CHECK(samples.count("pipeline_http_responses_total{code=\"401\"}") == 0);

  CHECK(samples.at("pipeline_stage_duration_seconds_count{stage=\"signals\"}") == 2);
  CHECK(samples.at("pipeline_stage_duration_seconds_sum{stage=\"signals\"}") == doctest::Approx(3.75));
  CHECK(samples.at("pipeline_stage_duration_seconds_count{stage=\"lessons\"}") == 1);
  CHECK(samples.at("pipeline_stage_duration_seconds_sum{stage=\"lessons\"}") == doctest::Approx(4));
  CHECK(samples.at("pipeline_tokens_total{stage=\"signals\",kind=\"prompt\"}") == 400);
  CHECK(samples.at("pipeline_tokens_total{stage=\"signals\",kind=\"completion\"}") == 60);
  CHECK(samples.at("pipeline_tokens_total{stage=\"lessons\",kind=\"completion\"}") == 500);
  CHECK(samples.at("pipeline_cost_usd_total{stage=\"signals\"}") == doctest::Approx(0.003));
  CHECK(samples.at("pipeline_cost_usd_total{stage=\"lessons\"}") == doctest::Approx(0.05));
  CHECK(samples.at("pipeline_tokens_total{stage=\"mechanisms\",kind=\"prompt\"}") == 9);
  CHECK(samples.at("pipeline_tokens_total{stage=\"mechanisms\",kind=\"completion\"}") == 3);
  CHECK(samples.at("pipeline_stage_duration_seconds_count{stage=\"mechanisms\"}") == 1);
  CHECK(samples.at("pipeline_stage_duration_seconds_count{stage=\"opportunities\"}") == 1);
  CHECK(samples.at("pipeline_stage_duration_seconds_sum{stage=\"opportunities\"}") == 0);
  for (const auto& sample : samples) CHECK(sample.first.find("stage=\"\"") == std::string::npos);
  CHECK(samples.at("pipeline_event_streams_open") == 2);
  CHECK(samples.count("pipeline_runs") == 0);
}

TEST_CASE("the metrics parser refuses what Prometheus would") {
  // The checks above mean something only if the parser fails bad text.
  const std::string head = "# HELP pipeline_x Things.\n# TYPE pipeline_x gauge\n";
  CHECK(metrics_format_error(head + "pipeline_x{a=\"1\"} 2\npipeline_x{a=\"2\"} 3\n").empty());
  const std::vector<std::string> bad_texts{
      "pipeline_x 1\n",
      "# TYPE pipeline_x gauge\npipeline_x 1\n",
      head + "pipeline_x{a=\"1\" 2\n",
      head + "pipeline_x one\n",
      head + "pipeline_x 1 1700000000\n",
      head + "pipeline_x 1\npipeline_x 2\n",
      head + "pipeline_x{a=\"\\q\"} 1\n",
      head + "pipeline_x 1",
      "# HELP other_x Things.\n# TYPE other_x gauge\nother_x 1\n",
      head + "pipeline_x 1\n# HELP pipeline_y Y.\n# TYPE pipeline_y gauge\npipeline_y 1\npipeline_x{b=\"1\"} 1\n",
  };
  for (const auto& bad : bad_texts) {
    CAPTURE(bad);
    CHECK_FALSE(metrics_format_error(bad).empty());
  }
}
