#pragma once

#include <cstdint>
#include <string_view>

namespace pipeline::redis {

// The number of hash slots of a Redis Cluster.
inline constexpr int k_cluster_slots = 16384;

// CRC16 as Redis Cluster computes it: the XMODEM variant (polynomial 0x1021,
// initial value 0, bits not reflected, no final xor).
std::uint16_t crc16_xmodem(std::string_view data);

// The part of a key that decides its slot: the text between the first '{'
// and the first '}' after it when that text is not empty, else the whole key.
std::string_view hash_tag(std::string_view key);

// The slot of a key: CRC16 of its hash tag, mod 16384.
int key_slot(std::string_view key);

}  // namespace pipeline::redis
