#include <doctest/doctest.h>

#include <string>

#include "lib/notify/webhook_signature.hpp"

using pipeline::notify::hmac_sha256_hex;
using pipeline::notify::verify_webhook_signature;
using pipeline::notify::webhook_signature;

namespace {

std::string signature_bytes(std::size_t count, unsigned char byte) { return std::string(count, static_cast<char>(byte)); }

}  // namespace

TEST_CASE("hmac_sha256_hex gives the HMAC-SHA-256 results of RFC 4231") {
  // Test case 1.
  CHECK(hmac_sha256_hex(signature_bytes(20, 0x0b), "Hi There") ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // Test case 2: a key shorter than the output.
  CHECK(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 3: key and data of bytes that are not text.
  CHECK(hmac_sha256_hex(signature_bytes(20, 0xaa), signature_bytes(50, 0xdd)) ==
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  // Test case 4: the key 0x01 .. 0x19.
  std::string counting;
  for (int byte = 1; byte <= 25; ++byte) counting.push_back(static_cast<char>(byte));
  CHECK(hmac_sha256_hex(counting, signature_bytes(50, 0xcd)) ==
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
  // Test case 5: only the first 128 bits are given.
  CHECK(hmac_sha256_hex(signature_bytes(20, 0x0c), "Test With Truncation").substr(0, 32) ==
        "a3b6167473100ee06e0c796c2955552b");
  // Test cases 6 and 7: a key longer than the block size is hashed first.
  CHECK(hmac_sha256_hex(signature_bytes(131, 0xaa), "Test Using Larger Than Block-Size Key - Hash Key First") ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  CHECK(hmac_sha256_hex(signature_bytes(131, 0xaa),
                        "This is a test using a larger than block-size key and a larger than block-size data. The key "
                        "needs to be hashed before being used by the HMAC algorithm.") ==
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST_CASE("webhook_signature is sha256= and the lowercase hex HMAC of the exact body") {
  const std::string body = R"({"event":"stage_done","stage":1})";
  const std::string signature = webhook_signature("Jefe", body);
  CHECK(signature == "sha256=" + hmac_sha256_hex("Jefe", body));
  CHECK(signature.size() == 7 + 64);
  CHECK(signature.find_first_not_of("0123456789abcdef", 7) == std::string::npos);
  // One byte more, even white space, is another signature.
  CHECK(webhook_signature("Jefe", body + "\n") != signature);
  CHECK(webhook_signature("jefe", body) != signature);
}

TEST_CASE("verify_webhook_signature accepts only the exact signature of the exact body") {
  const std::string body = R"({"event":"run_finished","status":"completed"})";
  const std::string signature = webhook_signature("s3cret", body);
  CHECK(verify_webhook_signature("s3cret", body, signature));
  CHECK_FALSE(verify_webhook_signature("s3cret", body + " ", signature));
  CHECK_FALSE(verify_webhook_signature("other", body, signature));
  CHECK_FALSE(verify_webhook_signature("s3cret", body, signature.substr(0, signature.size() - 1)));
  CHECK_FALSE(verify_webhook_signature("s3cret", body, signature + "0"));
  CHECK_FALSE(verify_webhook_signature("s3cret", body, ""));
  std::string upper = signature;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK_FALSE(verify_webhook_signature("s3cret", body, upper));
}
