#include "lib/redis/redis_fence.hpp"

#include <fmt/format.h>

namespace pipeline::redis {

const std::string& lua_fence_check() {
  static const std::string lua = R"lua(
if ARGV[1] ~= '' then
  local lease = redis.call('HMGET', KEYS[1], 'owner', 'epoch')
  if lease[1] ~= ARGV[1] or lease[2] ~= ARGV[2] then
    local now = lease[2] and ('epoch ' .. lease[2] .. ' holds it now') or 'no one holds it now'
    return redis.error_reply('LEASELOST the lease of epoch ' .. ARGV[2] .. ' is lost: ' .. now)
  end
end
)lua";
  return lua;
}

std::vector<std::string> fence_keys(const std::optional<Fence>& fence, const std::string& unfenced_key) {
  return {fence ? fence->lease_key : unfenced_key};
}

std::vector<std::string> fence_args(const std::optional<Fence>& fence) {
  if (!fence) return {"", ""};
  return {fence->owner, std::to_string(fence->epoch)};
}

util::Error script_error(const Reply& reply, const std::string& what, const std::string& where) {
  if (reply.error_code() == "LEASELOST") {
    const std::string detail = reply.text.substr(reply.text.find(' ') + 1);
    return util::fail(util::ErrorKind::busy,
                      fmt::format("{} was refused: {}; another process has taken the work over, so this one stops",
                                  what, detail),
                      k_lease_lost_code);
  }
  return reply_error(reply, what, where);
}

}  // namespace pipeline::redis
