#include "lib/redis/chunked_value.hpp"

#include <charconv>

#include <fmt/format.h>

#include "lib/redis/redis_script.hpp"
#include "lib/util/random_hex.hpp"
#include "lib/util/sha256.hpp"

namespace pipeline::redis {
namespace {

using util::ErrorKind;

// A chunked record's parts.
struct ChunkPointer {
  std::size_t count = 0;
  std::size_t bytes = 0;
  std::string sha256;
  std::string prefix;
};

std::optional<std::size_t> parse_size(std::string_view text) {
  std::size_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<ChunkPointer> parse_pointer(std::string_view record) {
  if (record.empty() || record.front() != '*') return std::nullopt;
  record.remove_prefix(1);
  std::string_view parts[3];
  for (auto& part : parts) {
    const auto space = record.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    part = record.substr(0, space);
    record.remove_prefix(space + 1);
  }
  const auto count = parse_size(parts[0]);
  const auto bytes = parse_size(parts[1]);
  if (!count || !bytes || record.empty()) return std::nullopt;
  return ChunkPointer{*count, *bytes, std::string(parts[2]), std::string(record)};
}

std::string slot_name(const ValueSlot& slot) { return slot.field.empty() ? slot.key : slot.key + " " + slot.field; }

util::Error damaged(const ValueSlot& slot, const std::string& why, const std::string& where) {
  return util::fail(ErrorKind::bad_input, fmt::format("the value {} in Redis at {} is damaged: {}", slot_name(slot), where, why),
                    "redis_damaged");
}

const Script& commit_script() {
  // KEYS: lease (or the target), target, index set (or the target), new chunks...
  // ARGV: owner, epoch, field ('' for a string key), record, index member ('' for none)
  static const Script script(lua_drop_chunks() + lua_fence_check() + R"lua(
for i = 4, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then
    return redis.error_reply('CHUNKMISSING chunk ' .. KEYS[i] .. ' expired before it was used')
  end
end
for i = 4, #KEYS do redis.call('PERSIST', KEYS[i]) end
local old
if ARGV[3] == '' then
  old = redis.call('GET', KEYS[2])
  redis.call('SET', KEYS[2], ARGV[4])
else
  old = redis.call('HGET', KEYS[2], ARGV[3])
  redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
end
if old ~= ARGV[4] then drop_chunks(old) end
if ARGV[5] ~= '' then redis.call('SADD', KEYS[3], ARGV[5]) end
return 1
)lua");
  return script;
}

// The value a record stands for, or nullopt when its chunks are not all
// there (replaced meanwhile, or lost).
util::Expected<std::optional<std::string>> resolve_record(Connection& connection, const ValueSlot& slot,
                                                          const std::string& record) {
  if (!record.empty() && record.front() == '=') return std::optional<std::string>(record.substr(1));
  const auto pointer = parse_pointer(record);
  if (!pointer) return damaged(slot, "its record is neither a value nor a chunk list", connection.where());
  // A record is trusted for nothing it claims until its chunks add up: the
  // count must be the one its size needs, and the size within what a value holds.
  if (pointer->bytes > k_max_value_bytes || pointer->bytes <= k_chunk_bytes ||
      pointer->count != (pointer->bytes + k_chunk_bytes - 1) / k_chunk_bytes) {
    return damaged(slot,
                   fmt::format("its record claims {} chunks and {} bytes; a value holds at most {} chunks of {} bytes",
                               pointer->count, pointer->bytes, k_max_chunks, k_chunk_bytes),
                   connection.where());
  }
  std::vector<Command> gets;
  for (std::size_t i = 0; i < pointer->count; ++i) gets.push_back({"GET", pointer->prefix + std::to_string(i)});
  auto replies = connection.pipeline(gets);
  if (!replies) return replies.error();
  std::string value;
  value.reserve(pointer->bytes);
  for (const auto& reply : *replies) {
    if (reply.is_error()) return reply_error(reply, "reading " + slot_name(slot), connection.where());
    if (!reply.is_string()) return std::optional<std::string>();
    if (value.size() + reply.text.size() > pointer->bytes) {
      return damaged(slot, "its chunks add up to more than the recorded size", connection.where());
    }
    value += reply.text;
  }
  if (value.size() != pointer->bytes || util::sha256_hex(value) != pointer->sha256) {
    return damaged(slot, "its chunks do not add up to the recorded size and SHA-256", connection.where());
  }
  return std::optional<std::string>(std::move(value));
}

}  // namespace

const std::string& lua_drop_chunks() {
  // A damaged record claiming a billion chunks must not keep Redis busy.
  static const std::string lua = fmt::format(R"lua(
local function drop_chunks(record)
  if not record then return end
  local count, prefix = string.match(record, '^%*(%d+) %d+ %x+ (.+)$')
  if count and tonumber(count) <= {} then
    for i = 0, tonumber(count) - 1 do redis.call('DEL', prefix .. i) end
  end
end
)lua", k_max_chunks);
  return lua;
}

util::Expected<StagedValue> stage_value(Connection& connection, const ValueSlot& slot, std::string_view value) {
  StagedValue staged;
  if (value.size() > k_max_value_bytes) {
    return util::fail(ErrorKind::bad_input,
                      fmt::format("{} is {} bytes, more than the {} bytes a value in Redis may hold", slot_name(slot),
                                  value.size(), k_max_value_bytes));
  }
  if (value.size() <= k_chunk_bytes) {
    staged.record.reserve(value.size() + 1);
    staged.record = "=";
    staged.record += value;
    return staged;
  }
  const std::string prefix = slot.chunk_prefix + util::random_hex(8) + ":";
  const std::string ttl_ms = std::to_string(std::chrono::milliseconds(k_staged_chunk_ttl).count());
  // One chunk per request, so that no request is much above k_chunk_bytes.
  for (std::size_t offset = 0, index = 0; offset < value.size(); offset += k_chunk_bytes, ++index) {
    std::string key = prefix + std::to_string(index);
    auto reply = connection.command({"SET", key, std::string(value.substr(offset, k_chunk_bytes)), "PX", ttl_ms});
    if (!reply) return reply.error();
    if (reply->is_error()) return reply_error(*reply, "writing a chunk of " + slot_name(slot), connection.where());
    staged.chunk_keys.push_back(std::move(key));
  }
  staged.record = fmt::format("*{} {} {} {}", staged.chunk_keys.size(), value.size(), util::sha256_hex(value), prefix);
  return staged;
}

util::Expected<void> commit_value(Connection& connection, const ValueSlot& slot, const StagedValue& staged,
                                  const CommitOptions& options, const std::string& what) {
  // In a cluster the index set lives in another slot than the value: it is
  // added to once the value is there, so that a member always names a value
  // that was saved (a process that dies in between leaves the value unlisted
  // until its next save).
  const bool index_apart = connection.cluster() && !options.index_key.empty();
  const bool indexed_here = !options.index_key.empty() && !index_apart;
  std::vector<std::string> keys = fence_keys(options.fence, slot.key);
  keys.push_back(slot.key);
  keys.push_back(indexed_here ? options.index_key : slot.key);
  keys.insert(keys.end(), staged.chunk_keys.begin(), staged.chunk_keys.end());
  std::vector<std::string> args = fence_args(options.fence);
  args.push_back(slot.field);
  args.push_back(staged.record);
  args.push_back(indexed_here ? options.index_member : "");
  auto reply = commit_script().run(connection, keys, args);
  if (!reply) return reply.error();
  if (reply->is_error()) return script_error(*reply, what, connection.where());
  if (index_apart) {
    auto added = connection.command({"SADD", options.index_key, options.index_member});
    if (!added) return added.error();
    if (added->is_error()) return reply_error(*added, what, connection.where());
  }
  return {};
}

util::Expected<void> put_value(Connection& connection, const ValueSlot& slot, std::string_view value,
                               const CommitOptions& options, const std::string& what) {
  auto staged = stage_value(connection, slot, value);
  if (!staged) return staged.error();
  return commit_value(connection, slot, *staged, options, what);
}

util::Expected<std::optional<std::string>> get_value(Connection& connection, const ValueSlot& slot) {
  // A writer may replace the value between reading its record and its
  // chunks; a few rounds see a record whose chunks stay.
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto reply = slot.field.empty() ? connection.command({"GET", slot.key})
                                    : connection.command({"HGET", slot.key, slot.field});
    if (!reply) return reply.error();
    if (reply->is_error()) return reply_error(*reply, "reading " + slot_name(slot), connection.where());
    if (reply->is_nil()) return std::optional<std::string>();
    auto value = resolve_record(connection, slot, reply->text);
    if (!value || value->has_value()) return value;
  }
  return damaged(slot, "chunks it names are missing", connection.where());
}

util::Expected<std::vector<std::optional<std::string>>> get_fields(Connection& connection, const std::string& key,
                                                                   const std::vector<std::string>& fields,
                                                                   const std::string& chunk_prefix) {
  std::vector<std::optional<std::string>> values(fields.size());
  if (fields.empty()) return values;
  Command command{"HMGET", key};
  command.insert(command.end(), fields.begin(), fields.end());
  auto reply = connection.command(command);
  if (!reply) return reply.error();
  if (reply->is_error()) return reply_error(*reply, "reading " + key, connection.where());
  if (!reply->is_array() || reply->elements.size() != fields.size()) {
    return util::fail(ErrorKind::failed, fmt::format("Redis at {} answered HMGET {} with something else than "
                                                     "one value per field",
                                                     connection.where(), key));
  }
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const Reply& element = reply->elements[i];
    if (!element.is_string()) continue;
    const ValueSlot slot{key, fields[i], chunk_prefix};
    auto value = resolve_record(connection, slot, element.text);
    if (!value) return value.error();
    if (!value->has_value()) value = get_value(connection, slot);
    if (!value) return value.error();
    values[i] = std::move(*value);
  }
  return values;
}

}  // namespace pipeline::redis
