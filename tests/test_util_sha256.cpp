#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "lib/util/file_io.hpp"
#include "lib/util/sha256.hpp"
#include "tests/support/process.hpp"

using pipeline::testing::run_process;
using pipeline::testing::TempDir;
using pipeline::util::ErrorKind;
using pipeline::util::sha256_file;
using pipeline::util::sha256_hex;

TEST_CASE("sha256_hex gives the published test vectors") {
  // FIPS 180-2 examples.
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex(std::string(1'000'000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256_hex covers every byte, including NUL") {
  const std::string with_nul("a\0b", 3);
  CHECK(sha256_hex(with_nul) != sha256_hex("a"));
  CHECK(sha256_hex(with_nul) != sha256_hex("ab"));
  CHECK(sha256_hex(with_nul).size() == 64);
}

TEST_CASE("sha256_file of a multi-block file equals sha256_hex of its bytes and sha256sum") {
  TempDir dir;
  const auto path = dir / "big.bin";
  // Not a multiple of the 64 KiB read block, so the last block is partial.
  std::string bytes;
  for (std::size_t i = 0; i < 3 * 65'536 + 1'234; ++i) bytes.push_back(static_cast<char>((i * 131 + i / 977) & 0xff));
  REQUIRE(pipeline::util::write_file_atomic(path, bytes));

  auto from_file = sha256_file(path);
  REQUIRE(from_file);
  CHECK(*from_file == sha256_hex(bytes));

  // An independent implementation agrees.
  auto tool = run_process({"sha256sum", path});
  REQUIRE(tool.exit_code == 0);
  CHECK(tool.out.substr(0, 64) == *from_file);
}

TEST_CASE("sha256_file of an empty file is the hash of nothing") {
  TempDir dir;
  std::ofstream(dir / "empty").close();
  auto digest = sha256_file(dir / "empty");
  REQUIRE(digest);
  CHECK(*digest == sha256_hex(""));
}

TEST_CASE("sha256_file refuses a missing file and a directory as bad input") {
  TempDir dir;
  auto missing = sha256_file(dir / "absent.pdf");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == ErrorKind::bad_input);
  CHECK(missing.error().message.find("absent.pdf") != std::string::npos);

  auto directory = sha256_file(dir.path());
  REQUIRE_FALSE(directory);
  CHECK(directory.error().kind == ErrorKind::bad_input);
}
