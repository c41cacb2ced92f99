#pragma once

// How a webhook's body is signed, so that its receiver can tell that it came
// from someone who holds the shared secret (PIPELINE_WEBHOOK_SECRET) and that
// not a byte of it changed on the way.

#include <string>
#include <string_view>

namespace pipeline::notify {

// The header that carries the signature.
inline constexpr const char* k_signature_header = "X-Pipeline-Signature";

// Lowercase hex HMAC-SHA256 of `message` under `key` (RFC 2104).
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

// The header's value for `body`: "sha256=" and the HMAC-SHA256 of the exact
// bytes of the body under `secret`, in lowercase hex.
std::string webhook_signature(std::string_view secret, std::string_view body);

// Whether `header_value` is the signature of `body` under `secret`; compares
// in constant time, so a receiver written with it leaks nothing by timing.
bool verify_webhook_signature(std::string_view secret, std::string_view body, std::string_view header_value);

}  // namespace pipeline::notify
