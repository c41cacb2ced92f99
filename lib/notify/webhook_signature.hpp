#pragma once

// How a webhook's body is signed, so that its receiver can tell that it came
// from someone who holds the shared secret (PIPELINE_WEBHOOK_SECRET) and that
// not a byte of it changed on the way. Every delivery carries two signatures
// made with the same secret (docs/webhooks.md):
//
// - X-Pipeline-Signature: "sha256=" and the lowercase hex HMAC-SHA256 of the
//   body, keyed with the secret's bytes exactly as they are set;
// - webhook-signature, as Standard Webhooks 1.0 defines it
//   (https://www.standardwebhooks.com), so that its libraries verify it:
//   "v1," and the base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>".
//   Its key is the secret in the spec's form when the secret starts with
//   "whsec_": the rest, base64-decoded. Any other secret is the key as its
//   raw bytes, which those libraries take with their raw-key option (in
//   JavaScript `new Webhook(secret, {format: "raw"})`).

#include <cstdint>
#include <string>
#include <string_view>

#include "lib/util/expected.hpp"

namespace pipeline::notify {

// The header that carries the signature.
inline constexpr const char* k_signature_header = "X-Pipeline-Signature";

// The headers of Standard Webhooks: the delivery's id (the same on every
// attempt), the attempt's time in integer Unix seconds, and the signatures.
inline constexpr const char* k_standard_id_header = "webhook-id";
inline constexpr const char* k_standard_timestamp_header = "webhook-timestamp";
inline constexpr const char* k_standard_signature_header = "webhook-signature";

// The prefix that marks a secret in the spec's form.
inline constexpr std::string_view k_standard_secret_prefix = "whsec_";

// How far a webhook-timestamp may be from the receiver's clock, either way,
// as the spec's libraries allow.
inline constexpr std::int64_t k_standard_tolerance_s = 5 * 60;

// Lowercase hex HMAC-SHA256 of `message` under `key` (RFC 2104).
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

// The header's value for `body`: "sha256=" and the HMAC-SHA256 of the exact
// bytes of the body under `secret`, in lowercase hex.
std::string webhook_signature(std::string_view secret, std::string_view body);

// Whether `header_value` is the signature of `body` under `secret`; compares
// in constant time, so a receiver written with it leaks nothing by timing.
bool verify_webhook_signature(std::string_view secret, std::string_view body, std::string_view header_value);

// The Standard Webhooks HMAC key of `secret`: for "whsec_<base64>" the
// decoded bytes, for any other secret its own bytes. A bad_input error, which
// never quotes the secret, when a "whsec_" secret's rest is empty or not
// padded standard base64.
util::Expected<std::string> standard_webhook_key(std::string_view secret);

// The webhook-signature value of one delivery attempt: "v1," and the base64
// HMAC-SHA256, under `key` (from standard_webhook_key), of
// "<id>.<timestamp>.<body>". The id must hold no '.'.
std::string standard_webhook_signature(std::string_view key, std::string_view id, std::int64_t timestamp,
                                       std::string_view body);

// The current time in integer Unix seconds, as webhook-timestamp gives it.
std::int64_t unix_seconds_now();

// Checks a received delivery as the spec's libraries do: the three header
// values are present, the timestamp is an integer within
// k_standard_tolerance_s of `now_s`, and one of the space-separated
// signatures is the "v1," signature of the id, timestamp and exact body under
// `secret` (compared in constant time; other versions such as "v1a," are
// skipped). The error (bad_input) says which check failed.
util::Expected<void> verify_standard_webhook(std::string_view secret, std::string_view id, std::string_view timestamp,
                                             std::string_view body, std::string_view signatures,
                                             std::int64_t now_s);
util::Expected<void> verify_standard_webhook(std::string_view secret, std::string_view id, std::string_view timestamp,
                                             std::string_view body, std::string_view signatures);

}  // namespace pipeline::notify
