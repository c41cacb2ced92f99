#include "lib/queue/job_admission.hpp"

#include <fmt/format.h>

#include "lib/util/error.hpp"
#include "lib/util/identifier.hpp"

namespace pipeline::queue {
namespace {

util::Error admission_error(const std::string& message) { return {util::ErrorKind::bad_input, message, "bad_job"}; }

std::string admission_field(const std::map<std::string, std::string>& fields, const std::string& name) {
  const auto found = fields.find(name);
  return found == fields.end() ? std::string() : found->second;
}

// Length of the UTF-8 sequence starting at `at` (1 to 4), or 0 when the
// bytes there are not one (overlong forms and surrogates included).
std::size_t entry_utf8_length(std::string_view text, std::size_t at) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char first = byte(at);
  if (first < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xbf;
  if (first >= 0xc2 && first <= 0xdf) {
    length = 2;
  } else if (first >= 0xe0 && first <= 0xef) {
    length = 3;
    if (first == 0xe0) low = 0xa0;
    if (first == 0xed) high = 0x9f;
  } else if (first >= 0xf0 && first <= 0xf4) {
    length = 4;
    if (first == 0xf0) low = 0x90;
    if (first == 0xf4) high = 0x8f;
  } else {
    return 0;
  }
  if (at + length > text.size()) return 0;
  if (byte(at + 1) < low || byte(at + 1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(at + i) < 0x80 || byte(at + i) > 0xbf) return 0;
  }
  return length;
}

// True when `text` is UTF-8 without control characters: fit for one line.
bool is_one_line_text(std::string_view text) {
  for (std::size_t at = 0; at < text.size();) {
    const auto c = static_cast<unsigned char>(text[at]);
    const std::size_t length = entry_utf8_length(text, at);
    if (length == 0 || c < 0x20 || c == 0x7f) return false;
    at += length;
  }
  return true;
}

// The escaped form of `text` up to `max_bytes`, "..." after it when cut;
// `quoted` escapes quotes and backslashes too.
std::string escaped_text(std::string_view text, std::size_t max_bytes, bool quoted) {
  std::string shown;
  std::size_t at = 0;
  while (at < text.size() && at < max_bytes) {
    const auto c = static_cast<unsigned char>(text[at]);
    const std::size_t length = entry_utf8_length(text, at);
    if (length > 1) {
      shown.append(text.substr(at, length));
      at += length;
      continue;
    }
    if (length == 0 || c < 0x20 || c == 0x7f || (quoted && (c == '"' || c == '\\'))) {
      shown += fmt::format("\\x{:02x}", c);
    } else {
      shown.push_back(static_cast<char>(c));
    }
    ++at;
  }
  if (at < text.size()) shown += "...";
  return shown;
}

}  // namespace

std::string one_line_text(std::string_view text) { return escaped_text(text, text.size(), false); }

std::string entry_text(std::string_view text, std::size_t max_bytes) { return escaped_text(text, max_bytes, true); }

std::string refused_entry_id(Priority stream, std::string_view entry_id) {
  return fmt::format("entry-{}-{}", to_string(stream), entry_text(entry_id, 64));
}

util::Expected<std::string> entry_job_id(const std::map<std::string, std::string>& fields) {
  const std::string run_id = admission_field(fields, "run_id");
  if (run_id.empty()) return admission_error("the entry names no run_id");
  if (!util::is_valid_identifier(run_id)) {
    return admission_error(fmt::format("run id \"{}\" is not valid: use lowercase letters, digits, '.', '_' and '-', "
                                       "starting with a letter or digit, at most {} bytes",
                                       entry_text(run_id), util::k_max_identifier_length));
  }
  if (const std::string job_id = admission_field(fields, "job_id"); !job_id.empty() && job_id != run_id) {
    return admission_error(fmt::format("job_id \"{}\" differs from run_id \"{}\": a job's id is its run's id",
                                       entry_text(job_id), run_id));
  }
  return run_id;
}

util::Expected<Job> job_from_entry(const std::map<std::string, std::string>& fields, Priority stream) {
  for (const auto& [name, value] : fields) {
    if (name.size() + value.size() > k_max_entry_field_bytes) {
      return admission_error(fmt::format("field {} holds {} bytes; an entry's fields hold at most {}",
                                         entry_text(name, 40), name.size() + value.size(), k_max_entry_field_bytes));
    }
    if (!is_one_line_text(name) || !is_one_line_text(value)) {
      return admission_error(fmt::format("field {} holds control characters or bytes that are not UTF-8: \"{}\"",
                                         entry_text(name, 40), entry_text(value)));
    }
  }
  Job job;
  const std::string kind = admission_field(fields, "kind");
  if (!kind.empty()) {
    const auto parsed = parse_job_kind(kind);
    if (!parsed) return admission_error(fmt::format("unknown job kind \"{}\" (use run or source)", entry_text(kind)));
    job.kind = *parsed;
  }
  auto id = entry_job_id(fields);
  if (!id) return id.error();
  job.run_id = *id;
  job.job_id = *id;
  job.priority = stream;
  if (const auto priority = admission_field(fields, "priority"); !priority.empty()) {
    if (!parse_priority(priority)) {
      return admission_error(
          fmt::format("unknown priority \"{}\" (use high, normal or low)", entry_text(priority)));
    }
  }
  job.source = admission_field(fields, "source");
  job.brand = admission_field(fields, "brand");
  if (job.kind == JobKind::source && (job.source.empty() || job.brand.empty())) {
    return admission_error(fmt::format("source job {} needs both source and brand", job.job_id));
  }
  job.notify = admission_field(fields, "notify");
  return job;
}

}  // namespace pipeline::queue
