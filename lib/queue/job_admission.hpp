#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "lib/queue/job.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::queue {

// The most bytes a field of a stream entry may hold (a URL, a brand id).
inline constexpr std::size_t k_max_entry_field_bytes = 4096;

// The id of the job a stream entry names: its run_id, valid by the rule of
// `pipeline run --run-id`, and its job_id when given equal to it. bad_input
// (code bad_job) otherwise, in one line with the entry's text escaped.
util::Expected<std::string> entry_job_id(const std::map<std::string, std::string>& fields);

// The job a stream entry of the `stream` priority asks for, checked as
// anything written with XADD must be: a known kind, a valid run id (the rule
// of `pipeline run --run-id`), a job_id absent or equal to the run id, a known
// priority, fields of at most k_max_entry_field_bytes, and for kind source a
// source and a brand (entry_job_id() first). bad_input (code bad_job) naming the first problem in
// one line, the entry's own text escaped and shortened.
util::Expected<Job> job_from_entry(const std::map<std::string, std::string>& fields, Priority stream);

// The id under which an entry that names no job of its own is recorded:
// "entry-<priority>-<entry id>", valid as a run id, unique across streams.
std::string refused_entry_id(Priority stream, std::string_view entry_id);

// `text` fit for one line of a log or a job's error: control characters
// and bytes that are not UTF-8 written as \xNN.
std::string one_line_text(std::string_view text);

// `text` fit for one line of a message: control characters, quotes,
// backslashes and bytes that are not UTF-8 written as \xNN, cut after
// `max_bytes` with "...".
std::string entry_text(std::string_view text, std::size_t max_bytes = 80);

}  // namespace pipeline::queue
