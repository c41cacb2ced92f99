#include <doctest/doctest.h>

#include <map>
#include <random>
#include <string>

#include "lib/queue/job_admission.hpp"
#include "lib/util/identifier.hpp"

using namespace pipeline::queue;
using Fields = std::map<std::string, std::string>;

namespace {

// The message of the refusal of `fields` (failing the test when admitted).
std::string admission_refusal(const Fields& fields) {
  const auto job = job_from_entry(fields, Priority::normal);
  REQUIRE_FALSE(job.has_value());
  CHECK(job.error().code == "bad_job");
  return job.error().message;
}

// True when `text` has no byte below 0x20 and no DEL: one line of a log.
bool admission_one_line(const std::string& text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("a well-formed entry becomes its job, its priority the stream's") {
  const auto job = job_from_entry({{"kind", "source"}, {"source", "https://example.com/a.pdf"}, {"brand", "acme"},
                                   {"run_id", "web-1"}, {"job_id", "web-1"}, {"priority", "low"}},
                                  Priority::high);
  REQUIRE_MESSAGE(job.has_value(), job.error().message);
  CHECK(job->job_id == "web-1");
  CHECK(job->run_id == "web-1");
  CHECK(job->kind == JobKind::source);
  CHECK(job->priority == Priority::high);
  CHECK(job->brand == "acme");
  const auto plain = job_from_entry({{"run_id", "r1"}}, Priority::normal);
  REQUIRE(plain.has_value());
  CHECK(plain->kind == JobKind::run);
  CHECK(plain->job_id == "r1");
}

TEST_CASE("entries with an unknown kind, a bad priority, a traversal or missing id, or two ids are refused") {
  CHECK(admission_refusal({{"kind", "exec"}, {"run_id", "r1"}}).find("unknown job kind \"exec\"") != std::string::npos);
  CHECK(admission_refusal({{"priority", "urgent"}, {"run_id", "r1"}}).find("unknown priority \"urgent\"") !=
        std::string::npos);
  CHECK(admission_refusal({{"run_id", "../../etc"}}).find("is not valid") != std::string::npos);
  CHECK(admission_refusal({{"run_id", "a/b"}}).find("is not valid") != std::string::npos);
  CHECK(admission_refusal({{"kind", "run"}}).find("no run_id") != std::string::npos);
  CHECK(admission_refusal({{"run_id", "r1"}, {"job_id", "r2"}}).find("differs from run_id") != std::string::npos);
  CHECK(admission_refusal({{"kind", "source"}, {"run_id", "r1"}, {"brand", "acme"}}).find("needs both source and brand") !=
        std::string::npos);
  CHECK_FALSE(entry_job_id({{"run_id", "r1"}, {"job_id", "other"}}).has_value());
  CHECK(entry_job_id({{"run_id", "r1"}, {"job_id", "r1"}}).value() == "r1");
}

TEST_CASE("huge fields, invalid UTF-8 and control characters are refused in one escaped line") {
  const std::string huge(k_max_entry_field_bytes + 1, 'x');
  CHECK(admission_refusal({{"run_id", "r1"}, {"brand", huge}}).find("at most 4096") != std::string::npos);
  const auto bad_utf8 = admission_refusal({{"run_id", "r1"}, {"brand", "acme\xff\xfe"}});
  CHECK(bad_utf8.find("\\xff\\xfe") != std::string::npos);
  const auto control = admission_refusal({{"run_id", "r1"}, {"source", "https://x/\r\n\x1b[31m\x07"}});
  CHECK(control.find("\\x0d\\x0a\\x1b") != std::string::npos);
  CHECK(admission_one_line(control));
  const auto id = admission_refusal({{"run_id", std::string("r\0\n", 3)}});
  CHECK(admission_one_line(id));
  // A valid UTF-8 brand name is text, not an error.
  CHECK(job_from_entry({{"run_id", "r1"}, {"brand", "caf\xc3\xa9"}}, Priority::normal).has_value());
}

TEST_CASE("entry_text escapes what would break a line and shortens what is long") {
  CHECK(entry_text("plain") == "plain");
  CHECK(entry_text("a\"b\\c") == "a\\x22b\\x5cc");
  CHECK(entry_text("\xc3\xa9") == "\xc3\xa9");
  CHECK(entry_text("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // a surrogate is not UTF-8
  CHECK(entry_text("\xc0\xaf") == "\\xc0\\xaf");            // nor an overlong form
  CHECK(entry_text(std::string(100, 'a'), 10) == std::string(10, 'a') + "...");
  // one_line_text keeps quotes and length, for logs and job errors.
  CHECK(one_line_text("run \"r1\" failed:\nHTTP 500\x1b") == "run \"r1\" failed:\\x0aHTTP 500\\x1b");
  CHECK(one_line_text(std::string(5000, 'a')).size() == 5000);
}

TEST_CASE("refused_entry_id is a valid id, one per stream and entry") {
  CHECK(refused_entry_id(Priority::normal, "1700000000000-0") == "entry-normal-1700000000000-0");
  CHECK(refused_entry_id(Priority::high, "1700000000000-0") != refused_entry_id(Priority::low, "1700000000000-0"));
  CHECK(pipeline::util::is_valid_identifier(refused_entry_id(Priority::low, "1700000000000-15")));
}

TEST_CASE("fuzz: random entries are admitted valid or refused in one line, never anything else") {
  std::mt19937 random(20261207);
  const std::vector<std::string> names{"kind", "run_id", "job_id", "priority", "source", "brand", "notify", "x"};
  const std::vector<std::string> seeds{"run", "source", "r1", "../r1", "high", "https://a/b.pdf", "/dev/zero",
                                       "", "\xff", "\x1b[2J", "a\nb", std::string(5000, 'z'), "acme"};
  int admitted = 0;
  for (int round = 0; round < 2000; ++round) {
    Fields fields;
    const int count = static_cast<int>(random() % 6);
    for (int i = 0; i < count; ++i) {
      std::string value = seeds[random() % seeds.size()];
      if (random() % 3 == 0) {
        for (int j = static_cast<int>(random() % 8); j > 0; --j) value.push_back(static_cast<char>(random() % 256));
      }
      fields[names[random() % names.size()]] = value;
    }
    const auto job = job_from_entry(fields, Priority::normal);
    if (job) {
      ++admitted;
      CHECK(pipeline::util::is_valid_identifier(job->run_id));
      CHECK(job->job_id == job->run_id);
    } else {
      CHECK(admission_one_line(job.error().message));
      CHECK(job.error().message.size() < 1000);
    }
  }
  CHECK(admitted > 0);
}
