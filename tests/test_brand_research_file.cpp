#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "lib/brand/research_file.hpp"
#include "tests/support/process.hpp"

namespace fs = std::filesystem;
using pipeline::brand::is_valid_utf8;
using pipeline::brand::k_max_research_bytes;
using pipeline::brand::read_research_file;
using pipeline::testing::TempDir;
using pipeline::util::ErrorKind;

namespace {

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

TEST_CASE("read_research_file reads a file beside the profile or below it") {
  TempDir dir;
  write_text(fs::path(dir.path()) / "notes.md", "# Notes\n\nGrowing in the north.\n");
  write_text(fs::path(dir.path()) / "research" / "deep.md", "Below the profile.\n");
  auto beside = read_research_file(dir.path(), "notes.md");
  REQUIRE(beside);
  CHECK(*beside == "# Notes\n\nGrowing in the north.\n");
  auto below = read_research_file(dir.path(), "research/deep.md");
  REQUIRE(below);
  CHECK(*below == "Below the profile.\n");
  auto dotted = read_research_file(dir.path(), "./research/deep.md");
  CHECK(dotted);
}

TEST_CASE("read_research_file refuses absolute paths and .. escapes") {
  TempDir dir;
  write_text(fs::path(dir.path()) / "inner" / "notes.md", "text\n");
  write_text(fs::path(dir.path()) / "outside.md", "text\n");
  const fs::path profile_dir = fs::path(dir.path()) / "inner";

  auto absolute = read_research_file(profile_dir, (fs::path(dir.path()) / "outside.md").string());
  REQUIRE_FALSE(absolute);
  CHECK(absolute.error().kind == ErrorKind::bad_input);
  CHECK(absolute.error().message.find("absolute") != std::string::npos);

  auto escape = read_research_file(profile_dir, "../outside.md");
  REQUIRE_FALSE(escape);
  CHECK(escape.error().message.find("..") != std::string::npos);

  // A ".." that would come back inside is refused too: the rule is lexical.
  auto round_trip = read_research_file(profile_dir, "../inner/notes.md");
  CHECK_FALSE(round_trip);
}

TEST_CASE("read_research_file refuses a symlink that leads outside the profile's folder") {
  TempDir dir;
  write_text(fs::path(dir.path()) / "secret.md", "not for prompts\n");
  write_text(fs::path(dir.path()) / "inner" / "real.md", "fine\n");
  const fs::path profile_dir = fs::path(dir.path()) / "inner";
  fs::create_symlink(fs::path(dir.path()) / "secret.md", profile_dir / "link.md");
  fs::create_symlink("real.md", profile_dir / "local-link.md");

  auto escaped = read_research_file(profile_dir, "link.md");
  REQUIRE_FALSE(escaped);
  CHECK(escaped.error().message.find("outside the profile's folder") != std::string::npos);
  auto local = read_research_file(profile_dir, "local-link.md");
  REQUIRE(local);
  CHECK(*local == "fine\n");
}

TEST_CASE("read_research_file refuses missing, empty, oversized, binary files and directories") {
  TempDir dir;
  write_text(fs::path(dir.path()) / "blank.md", " \n\t\n");
  write_text(fs::path(dir.path()) / "latin1.md", "caf\xe9\n");
  write_text(fs::path(dir.path()) / "huge.md", std::string(k_max_research_bytes + 1, 'a'));
  fs::create_directory(fs::path(dir.path()) / "folder.md");

  auto missing = read_research_file(dir.path(), "absent.md");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == ErrorKind::bad_input);
  CHECK(missing.error().message.find("does not exist") != std::string::npos);
  CHECK(missing.error().message.find("absent.md") != std::string::npos);

  auto blank = read_research_file(dir.path(), "blank.md");
  REQUIRE_FALSE(blank);
  CHECK(blank.error().message.find("empty") != std::string::npos);

  auto latin1 = read_research_file(dir.path(), "latin1.md");
  REQUIRE_FALSE(latin1);
  CHECK(latin1.error().message.find("UTF-8") != std::string::npos);

  auto huge = read_research_file(dir.path(), "huge.md");
  REQUIRE_FALSE(huge);
  CHECK(huge.error().message.find("at most") != std::string::npos);

  auto folder = read_research_file(dir.path(), "folder.md");
  REQUIRE_FALSE(folder);
  CHECK(folder.error().message.find("not a regular file") != std::string::npos);

  CHECK_FALSE(read_research_file(dir.path(), ""));
}

TEST_CASE("is_valid_utf8 accepts UTF-8 and refuses malformed sequences") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain ASCII"));
  CHECK(is_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8c\xb6"));  // é, €, a pepper emoji
  CHECK_FALSE(is_valid_utf8("caf\xe9"));                   // Latin-1
  CHECK_FALSE(is_valid_utf8("\xc3"));                      // cut short
  CHECK_FALSE(is_valid_utf8("\xc0\xaf"));                  // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));              // a surrogate
  CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));          // past U+10FFFF
  CHECK_FALSE(is_valid_utf8("\x80"));                      // a lone continuation byte
}
