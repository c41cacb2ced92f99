#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "lib/notify/webhook_signature.hpp"

using pipeline::notify::hmac_sha256_hex;
using pipeline::notify::standard_webhook_key;
using pipeline::notify::standard_webhook_signature;
using pipeline::notify::unix_seconds_now;
using pipeline::notify::verify_standard_webhook;
using pipeline::notify::verify_webhook_signature;
using pipeline::notify::webhook_signature;

namespace {

std::string signature_bytes(std::size_t count, unsigned char byte) { return std::string(count, static_cast<char>(byte)); }

// One delivery of the vectors below; the timestamp is 2026-01-01T00:00:00Z.
constexpr const char* k_vector_id = "0f3a6c2e9b8d41f7a5c3e1d2b4f6a809";
constexpr std::int64_t k_vector_timestamp = 1767225600;
constexpr const char* k_vector_body = R"({"event":"stage_done","run_id":"run-a","stage":2})";
// 32 random bytes (head -c 32 /dev/urandom | base64) in the spec's form.
constexpr const char* k_vector_whsec = "whsec_gJBTFEy9oJ2fUInctSrdKylD8VrDa2IGEOOdqvghR0U=";
constexpr const char* k_vector_raw_secret = "pipeline-raw-secret";

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

TEST_CASE("standard_webhook_key decodes a whsec_ secret and takes any other secret's bytes as they are") {
  auto decoded = standard_webhook_key("whsec_c2VjcmV0LWtleQ==");
  REQUIRE(decoded);
  CHECK(*decoded == "secret-key");
  // Every padding length, and bytes that are not text.
  CHECK(*standard_webhook_key("whsec_YQ==") == "a");
  CHECK(*standard_webhook_key("whsec_YWI=") == "ab");
  CHECK(*standard_webhook_key("whsec_YWJj") == "abc");
  CHECK(*standard_webhook_key("whsec_/+8A") == std::string("\xff\xef\x00", 3));
  auto whole = standard_webhook_key(k_vector_whsec);
  REQUIRE(whole);
  CHECK(whole->size() == 32);
  // Without the exact prefix the secret is raw bytes, even when it is base64.
  CHECK(*standard_webhook_key("c2VjcmV0LWtleQ==") == "c2VjcmV0LWtleQ==");
  CHECK(*standard_webhook_key("whsec-test-5e1f0a") == "whsec-test-5e1f0a");
  CHECK(*standard_webhook_key("WHSEC_c2VjcmV0LWtleQ==") == "WHSEC_c2VjcmV0LWtleQ==");
  // A whsec_ secret that does not decode is an error that does not quote it.
  for (const char* bad : {"whsec_", "whsec_c2VjcmV0LWtleQ", "whsec_c2VjcmV0LWtleQ=", "whsec_c2Vj cmV0", "whsec_-_8A",
                          "whsec_YQ==YQ==", "whsec_Y===", "whsec_===="}) {
    INFO(bad);
    auto key = standard_webhook_key(bad);
    REQUIRE_FALSE(key);
    CHECK(key.error().kind == pipeline::util::ErrorKind::bad_input);
    const std::string rest = std::string(bad).substr(6);
    if (!rest.empty()) CHECK(key.error().message.find(rest) == std::string::npos);
  }
}

TEST_CASE("standard_webhook_signature is v1, and the base64 HMAC-SHA256 of id.timestamp.body") {
  // Computed outside this code, with the same id, timestamp and body:
  //   printf '%s.%s.%s' "$id" "$ts" "$body" |
  //     openssl dgst -sha256 -binary -mac HMAC
  //       -macopt hexkey:"$(printf %s "${whsec#whsec_}" | base64 -d | xxd -p -c 64)" | base64
  //   (one command, split here over two lines)
  // and the same with `-hmac pipeline-raw-secret`; python3's hmac and base64 modules agree.
  CHECK(standard_webhook_signature(*standard_webhook_key(k_vector_whsec), k_vector_id, k_vector_timestamp,
                                   k_vector_body) == "v1,8Q99CCW9qlQ6WPwr+5yn3A9IW8ZnkomVNeL2aPmLEfE=");
  CHECK(standard_webhook_signature(*standard_webhook_key(k_vector_raw_secret), k_vector_id, k_vector_timestamp,
                                   k_vector_body) == "v1,ypPWN6/O5K5a35hrf9bjRXv8gGaoBG32wGe3LZxuFA8=");
  // The test vector of the standardwebhooks libraries (their JavaScript
  // package's sign() and python3 give it too).
  CHECK(standard_webhook_signature(*standard_webhook_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
                                   "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})") ==
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  // The id, the timestamp and each byte of the body are signed.
  const std::string key = *standard_webhook_key(k_vector_whsec);
  const std::string signature = standard_webhook_signature(key, k_vector_id, k_vector_timestamp, k_vector_body);
  CHECK(standard_webhook_signature(key, "0f3a6c2e9b8d41f7a5c3e1d2b4f6a808", k_vector_timestamp, k_vector_body) !=
        signature);
  CHECK(standard_webhook_signature(key, k_vector_id, k_vector_timestamp + 1, k_vector_body) != signature);
  CHECK(standard_webhook_signature(key, k_vector_id, k_vector_timestamp, std::string(k_vector_body) + "\n") !=
        signature);
}

TEST_CASE("verify_standard_webhook accepts the delivery signed with the secret, as the spec's libraries do") {
  const std::string timestamp = std::to_string(k_vector_timestamp);
  const std::string good = "v1,8Q99CCW9qlQ6WPwr+5yn3A9IW8ZnkomVNeL2aPmLEfE=";
  auto verify = [&](std::string_view secret, std::string_view id, std::string_view stamp, std::string_view body,
                    std::string_view signatures, std::int64_t now) {
    return verify_standard_webhook(secret, id, stamp, body, signatures, now);
  };
  CHECK(verify(k_vector_whsec, k_vector_id, timestamp, k_vector_body, good, k_vector_timestamp));
  // Any one of several space-separated signatures; other versions are skipped.
  CHECK(verify(k_vector_whsec, k_vector_id, timestamp, k_vector_body,
               "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= v1a,c2lnbmF0dXJl " + good, k_vector_timestamp));
  CHECK(verify(k_vector_whsec, k_vector_id, timestamp, k_vector_body, good + " v1,c2lnbmF0dXJl", k_vector_timestamp));
  // The raw-bytes secret.
  CHECK(verify(k_vector_raw_secret, k_vector_id, timestamp, k_vector_body,
               "v1,ypPWN6/O5K5a35hrf9bjRXv8gGaoBG32wGe3LZxuFA8=", k_vector_timestamp));

  auto refused = [&](std::string_view secret, std::string_view id, std::string_view stamp, std::string_view body,
                     std::string_view signatures, std::int64_t now, const std::string& why) {
    auto result = verify(secret, id, stamp, body, signatures, now);
    INFO(why);
    REQUIRE_FALSE(result);
    CHECK(result.error().message.find(why) != std::string::npos);
  };
  refused(k_vector_whsec, k_vector_id, timestamp, std::string(k_vector_body) + " ", good, k_vector_timestamp,
          "no signature");
  refused(k_vector_raw_secret, k_vector_id, timestamp, k_vector_body, good, k_vector_timestamp, "no signature");
  refused(k_vector_whsec, "0f3a6c2e9b8d41f7a5c3e1d2b4f6a808", timestamp, k_vector_body, good, k_vector_timestamp,
          "no signature");
  refused(k_vector_whsec, k_vector_id, timestamp, k_vector_body, good.substr(0, good.size() - 1), k_vector_timestamp,
          "no signature");
  refused(k_vector_whsec, k_vector_id, timestamp, k_vector_body, "v1a," + good.substr(3), k_vector_timestamp,
          "no signature");
  // The timestamp is signed: a replay with another one fails the signature.
  refused(k_vector_whsec, k_vector_id, std::to_string(k_vector_timestamp + 1), k_vector_body, good,
          k_vector_timestamp, "no signature");
  refused(k_vector_whsec, "", timestamp, k_vector_body, good, k_vector_timestamp, "needs the headers");
  refused(k_vector_whsec, k_vector_id, "", k_vector_body, good, k_vector_timestamp, "needs the headers");
  refused(k_vector_whsec, k_vector_id, timestamp, k_vector_body, "", k_vector_timestamp, "needs the headers");
  refused(k_vector_whsec, k_vector_id, timestamp + "s", k_vector_body, good, k_vector_timestamp, "not an integer");
  refused(k_vector_whsec, k_vector_id, "2026-01-01T00:00:00Z", k_vector_body, good, k_vector_timestamp,
          "not an integer");
  refused("whsec_c2VjcmV0LWtleQ", k_vector_id, timestamp, k_vector_body, good, k_vector_timestamp, "not base64");
}

TEST_CASE("verify_standard_webhook allows 5 minutes between the timestamp and the receiver's clock, either way") {
  const std::string timestamp = std::to_string(k_vector_timestamp);
  const std::string good = "v1,8Q99CCW9qlQ6WPwr+5yn3A9IW8ZnkomVNeL2aPmLEfE=";
  auto at = [&](std::int64_t now) {
    return verify_standard_webhook(k_vector_whsec, k_vector_id, timestamp, k_vector_body, good, now);
  };
  CHECK(at(k_vector_timestamp + 300));
  CHECK(at(k_vector_timestamp - 300));
  auto late = at(k_vector_timestamp + 301);
  REQUIRE_FALSE(late);
  CHECK(late.error().message.find("old") != std::string::npos);
  auto early = at(k_vector_timestamp - 301);
  REQUIRE_FALSE(early);
  CHECK(early.error().message.find("ahead") != std::string::npos);
  // Without a clock given, the system's is used: a delivery signed now passes.
  const std::int64_t now = unix_seconds_now();
  const std::string key = *standard_webhook_key(k_vector_whsec);
  CHECK(verify_standard_webhook(k_vector_whsec, k_vector_id, std::to_string(now), k_vector_body,
                                standard_webhook_signature(key, k_vector_id, now, k_vector_body)));
  CHECK_FALSE(verify_standard_webhook(k_vector_whsec, k_vector_id, timestamp, k_vector_body, good));
}
