// A deterministic fuzz test of `pipeline extract`: mutants of the project's
// own PDFs (bytes flipped, truncated, spliced, zeroed, duplicated, deleted,
// numbers changed) must each end with exit 0, or exit 3 and exactly one
// `pipeline: error:` line; never a signal, never a hang. The seed and count
// are fixed, so CI sees the same 400 files every time; PIPELINE_FUZZ_SEED and
// PIPELINE_FUZZ_MUTANTS pick others for a longer search by hand.

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lib/pdf/html_pdf.hpp"
#include "tests/support/pdf_builder.hpp"
#include "tests/support/process.hpp"
#include "tests/support/run_fixture.hpp"

namespace testing = pipeline::testing;

namespace {

constexpr int k_fuzz_mutants = 400;
constexpr std::uint64_t k_fuzz_seed = 13;

// The environment's number for `name`, else `fallback`.
std::uint64_t fuzz_setting(const char* name, std::uint64_t fallback) {
  const char* value = std::getenv(name);
  return value && *value ? std::stoull(value) : fallback;
}
constexpr auto k_fuzz_timeout = std::chrono::seconds(30);

// SplitMix64: the same numbers on every platform and standard library.
class FuzzRandom {
 public:
  explicit FuzzRandom(std::uint64_t seed) : m_state(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (m_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // A number in [0, bound), bound > 0.
  std::size_t below(std::size_t bound) { return static_cast<std::size_t>(next() % bound); }

 private:
  std::uint64_t m_state;
};

struct FuzzSeed {
  std::string name;
  std::string bytes;
};

// The PDFs the mutants come from: the shipped example and what the project's
// own writers make (story-engine HTML, plain text with a title, an encrypted
// file, a scan, a drawing).
std::vector<FuzzSeed> fuzz_seeds(const testing::TempDir& dir) {
  std::vector<FuzzSeed> seeds;
  seeds.push_back({"example-case-study.pdf", testing::read_bytes(testing::example_pdf_path())});

  pipeline::pdf::HtmlPdfOptions html;
  html.title = "Fuzz seed";
  const auto story = pipeline::pdf::render_html_pdf(
      "<h1>Refill report</h1><p>Shoppers came back every <b>12 days</b>.</p><ul><li>one</li><li>two</li></ul>"
      "<table><tr><td>North</td><td>14%</td></tr><tr><td>South</td><td>9%</td></tr></table>"
      "<h2>Second part</h2><p>Caf\xc3\xa9 prices rose by 3 percent.</p>",
      html);
  REQUIRE(story.has_value());
  seeds.push_back({"story.pdf", *story});

  testing::PdfBuildOptions titled;
  titled.title = "Three pages";
  testing::write_text_pdf(dir / "text.pdf", {"First page.", "Second page with a hyphen-\nated word.", "Third."},
                          titled);
  seeds.push_back({"text.pdf", testing::read_bytes(dir / "text.pdf")});

  testing::PdfBuildOptions locked;
  locked.owner_password = "owner";
  testing::write_text_pdf(dir / "owner.pdf", {"Encrypted for an owner only."}, locked);
  seeds.push_back({"owner.pdf", testing::read_bytes(dir / "owner.pdf")});

  testing::write_image_only_pdf(dir / "scan.pdf", 2);
  seeds.push_back({"scan.pdf", testing::read_bytes(dir / "scan.pdf")});
  testing::write_drawing_only_pdf(dir / "drawing.pdf");
  seeds.push_back({"drawing.pdf", testing::read_bytes(dir / "drawing.pdf")});
  return seeds;
}

// Changes one decimal number in `bytes` (an offset, a /Length, an object
// number), where structure breaks in the ways that need repair.
void change_a_number(std::string& bytes, FuzzRandom& random, std::string& how) {
  for (int attempt = 0; attempt < 64; ++attempt) {
    const std::size_t at = random.below(bytes.size());
    if (bytes[at] < '0' || bytes[at] > '9') continue;
    static const char* k_numbers[] = {"0", "9", "99999999", "-1", "2147483648", "1e9"};
    const std::string number = k_numbers[random.below(6)];
    bytes.replace(at, 1, number);
    how = "digit at " + std::to_string(at) + " -> " + number;
    return;
  }
  how = "no digit found";
}

// One mutant of `seeds` and a description that names what was done.
std::pair<std::string, std::string> make_mutant(const std::vector<FuzzSeed>& seeds, FuzzRandom& random) {
  const FuzzSeed& seed = seeds[random.below(seeds.size())];
  std::string bytes = seed.bytes;
  std::string how;
  const std::size_t size = bytes.size();
  switch (random.below(8)) {
    case 0: {  // flip bits in a few bytes
      const std::size_t flips = 1 + random.below(16);
      for (std::size_t i = 0; i < flips; ++i) bytes[random.below(size)] ^= static_cast<char>(1 + random.below(255));
      how = std::to_string(flips) + " bytes flipped";
      break;
    }
    case 1: {  // truncated
      const std::size_t keep = random.below(size);
      bytes.resize(keep);
      how = "truncated to " + std::to_string(keep);
      break;
    }
    case 2: {  // spliced: the head of this one and the tail of another
      const FuzzSeed& other = seeds[random.below(seeds.size())];
      const std::size_t head = random.below(size);
      const std::size_t tail = random.below(other.bytes.size());
      bytes = bytes.substr(0, head) + other.bytes.substr(tail);
      how = "spliced at " + std::to_string(head) + " with " + other.name + " from " + std::to_string(tail);
      break;
    }
    case 3: {  // a range zeroed
      const std::size_t at = random.below(size);
      const std::size_t length = std::min(size - at, 1 + random.below(4096));
      bytes.replace(at, length, length, '\0');
      how = std::to_string(length) + " bytes zeroed at " + std::to_string(at);
      break;
    }
    case 4: {  // a range duplicated in place
      const std::size_t at = random.below(size);
      const std::size_t length = std::min(size - at, 1 + random.below(8192));
      bytes.insert(at, bytes.substr(at, length));
      how = std::to_string(length) + " bytes at " + std::to_string(at) + " duplicated";
      break;
    }
    case 5: {  // a range deleted
      const std::size_t at = random.below(size);
      const std::size_t length = std::min(size - at, 1 + random.below(2048));
      bytes.erase(at, length);
      how = std::to_string(length) + " bytes deleted at " + std::to_string(at);
      break;
    }
    case 6: {  // random bytes over a range
      const std::size_t at = random.below(size);
      const std::size_t length = std::min(size - at, 1 + random.below(512));
      for (std::size_t i = 0; i < length; ++i) bytes[at + i] = static_cast<char>(random.next());
      how = std::to_string(length) + " random bytes at " + std::to_string(at);
      break;
    }
    default:
      change_a_number(bytes, random, how);
      break;
  }
  return {bytes, seed.name + ": " + how};
}

// Checks one finished extraction against the contract.
void check_fuzz_outcome(const testing::ProcessResult& result, const std::string& what) {
  INFO(what);
  CAPTURE(result.err);
  REQUIRE(result.term_signal == 0);
  REQUIRE((result.exit_code == 0 || result.exit_code == 3));
  if (result.exit_code == 0) {
    CHECK(result.err.empty());
    return;
  }
  CHECK(result.out.empty());
  const auto lines = testing::split_lines(result.err);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind("pipeline: error: ", 0) == 0);
}

}  // namespace

TEST_CASE("pipeline extract gives exit 0 or exit 3 with one error line for 400 mutated PDFs, two at a time") {
  testing::TempDir dir;
  const auto seeds = fuzz_seeds(dir);
  FuzzRandom random(fuzz_setting("PIPELINE_FUZZ_SEED", k_fuzz_seed));
  const int mutants = static_cast<int>(fuzz_setting("PIPELINE_FUZZ_MUTANTS", k_fuzz_mutants) / 2 * 2);
  int accepted = 0;
  int refused = 0;
  for (int index = 0; index < mutants; index += 2) {
    std::vector<std::pair<std::unique_ptr<testing::Process>, std::string>> running;
    for (int slot = 0; slot < 2; ++slot) {
      auto [bytes, how] = make_mutant(seeds, random);
      const std::string path = dir / ("mutant-" + std::to_string(index + slot) + ".pdf");
      testing::write_bytes(path, bytes);
      auto process = std::make_unique<testing::Process>(std::vector<std::string>{testing::pipeline_binary(),
                                                                                 "extract", path});
      running.emplace_back(std::move(process), "mutant " + std::to_string(index + slot) + " of " + how);
    }
    for (auto& [process, what] : running) {
      const auto result = process->wait(k_fuzz_timeout);
      check_fuzz_outcome(result, what);
      (result.exit_code == 0 ? accepted : refused) += 1;
    }
  }
  MESSAGE("mutants read: " << accepted << ", refused with exit 3: " << refused);
  // Both outcomes occur, so the mutants are neither all harmless nor all fatal.
  CHECK(accepted > 0);
  CHECK(refused > 0);
  CHECK(accepted + refused == mutants);
}
