#include "checkpoints/redis_lease.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include "lib/redis/redis_script.hpp"
#include "lib/util/host_name.hpp"
#include "lib/util/random_hex.hpp"
#include "lib/util/time.hpp"

namespace pipeline::checkpoints {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using util::ErrorKind;

// KEYS: lease, epoch counter, checkpoint. ARGV: owner, ttl ms, pid, host, since, mode.
const redis::Script& acquire_script() {
  static const redis::Script script(R"lua(
local has_checkpoint = redis.call('EXISTS', KEYS[3]) == 1
if ARGV[6] == 'create' and has_checkpoint then return {'exists'} end
-- Every lease we write has a TTL; one without was left by another writer and
-- would lock the run forever, so it counts as expired.
if redis.call('PTTL', KEYS[1]) == -1 then redis.call('DEL', KEYS[1]) end
if redis.call('EXISTS', KEYS[1]) == 1 then
  local h = redis.call('HMGET', KEYS[1], 'owner', 'epoch', 'pid', 'host', 'since')
  return {'busy', h[1] or '', h[2] or '0', h[3] or '0', h[4] or '', h[5] or '', redis.call('PTTL', KEYS[1])}
end
if ARGV[6] == 'lock' and not has_checkpoint then return {'missing'} end
local epoch = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'epoch', epoch, 'pid', ARGV[3], 'host', ARGV[4], 'since', ARGV[5],
           'ttl_ms', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {'ok', epoch}
)lua");
  return script;
}

// KEYS: lease. ARGV: owner, epoch, and the ttl in ms to renew it, or ''
// to delete it. 1 when done, 0 when the lease is not ours.
const redis::Script& renew_or_release_script() {
  static const redis::Script script(R"lua(
local h = redis.call('HMGET', KEYS[1], 'owner', 'epoch')
if h[1] ~= ARGV[1] or h[2] ~= ARGV[2] then return 0 end
if ARGV[3] == '' then redis.call('DEL', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
)lua");
  return script;
}

long long lease_number(const std::string& text) {
  try {
    return std::stoll(text);
  } catch (const std::exception&) {
    return 0;
  }
}

std::int64_t steady_ns(steady_clock::time_point at) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count();
}

// How the heartbeat connects: no single renewal may wait longer than a
// third of the TTL, or a slow server would let the lease lapse unnoticed.
redis::ConnectOptions heartbeat_options(redis::ConnectOptions options, milliseconds ttl) {
  const milliseconds third = std::max(milliseconds(100), ttl / 3);
  options.io_timeout = std::min(options.io_timeout, third);
  options.connect_timeout = std::min(options.connect_timeout, third);
  return options;
}

}  // namespace

std::string LeaseRecord::describe() const {
  return fmt::format("pid {} on host {} (lease epoch {}, {:.1f} s left unless renewed)", pid, host, epoch,
                     static_cast<double>(ttl_left.count()) / 1000.0);
}

LeaseHandle::LeaseHandle(std::string run_id, redis::Fence fence, milliseconds ttl, steady_clock::time_point taken_at)
    : m_run_id(std::move(run_id)), m_fence(std::move(fence)), m_ttl(ttl), m_renewed_at_ns(steady_ns(taken_at)) {}

bool LeaseHandle::valid() const {
  if (m_lost || m_released) return false;
  const auto age = std::chrono::nanoseconds(steady_ns(steady_clock::now()) - m_renewed_at_ns.load());
  return age < m_ttl;
}

void LeaseHandle::renewed(steady_clock::time_point sent_at) { m_renewed_at_ns = steady_ns(sent_at); }

RedisRunLock::RedisRunLock(std::shared_ptr<LeaseHandle> handle, redis::ConnectOptions heartbeat_connection)
    : m_handle(std::move(handle)), m_connection(heartbeat_options(std::move(heartbeat_connection), m_handle->ttl())) {
  m_thread = std::thread([this] { heartbeat(); });
}

RedisRunLock::~RedisRunLock() {
  // A lease we cannot delete now expires with its TTL all the same.
  (void)release();
}

bool RedisRunLock::held() const { return m_handle->valid(); }

void RedisRunLock::on_lost(std::function<void()> callback) {
  bool now = false;
  {
    std::lock_guard lock(m_mutex);
    if (m_lost_reported) now = true;
    else m_on_lost = callback;
  }
  if (now && callback) callback();
}

void RedisRunLock::heartbeat() {
  const milliseconds interval = std::max(milliseconds(30), m_handle->ttl() / 3);
  milliseconds wait = interval;
  std::unique_lock lock(m_mutex);
  while (!m_stopping) {
    if (m_wake.wait_for(lock, wait, [this] { return m_stopping; })) break;
    lock.unlock();
    const auto sent = steady_clock::now();
    const auto& fence = m_handle->fence();
    auto reply = renew_or_release_script().run(m_connection, {fence.lease_key},
                                    {fence.owner, std::to_string(fence.epoch), std::to_string(m_handle->ttl().count())});
    bool lost = false;
    if (reply && reply->is_integer()) {
      if (reply->integer == 1) {
        m_handle->renewed(sent);
        wait = interval;
      } else {
        lost = true;
      }
    } else {
      // The server is out of reach for now: try again soon, until the TTL
      // has passed without a renewal and the lease must be taken as gone.
      lost = !m_handle->valid();
      wait = std::max(milliseconds(20), interval / 4);
    }
    lock.lock();
    if (lost) {
      m_handle->mark_lost();
      m_lost_reported = true;
      auto callback = std::move(m_on_lost);
      m_on_lost = nullptr;
      lock.unlock();
      if (callback) callback();
      return;
    }
  }
}

void RedisRunLock::stop_heartbeat() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_wake.notify_all();
  if (m_thread.joinable()) m_thread.join();
}

util::Expected<void> RedisRunLock::release() {
  if (m_handle->released()) return {};
  m_handle->mark_released();
  stop_heartbeat();
  const auto& fence = m_handle->fence();
  auto reply =
      renew_or_release_script().run(m_connection, {fence.lease_key}, {fence.owner, std::to_string(fence.epoch), ""});
  if (!reply) return reply.error();
  if (reply->is_error()) {
    return redis::reply_error(*reply, "releasing the lease of run " + m_handle->run_id(), m_connection.where());
  }
  return {};
}

util::Expected<std::unique_ptr<RedisRunLock>> acquire_run_lease(redis::Connection& connection,
                                                               const redis::ConnectOptions& heartbeat,
                                                               const RedisKeys& keys, const std::string& run_id,
                                                               milliseconds ttl, LeaseMode mode) {
  const std::string owner = fmt::format("{}:{}:{}", util::host_name(), ::getpid(), util::random_hex(8));
  const auto sent = steady_clock::now();
  auto reply = acquire_script().run(
      connection, {keys.lease(run_id), keys.epoch(run_id), keys.checkpoint(run_id)},
      {owner, std::to_string(ttl.count()), std::to_string(::getpid()), util::host_name(), util::now_iso8601(),
       mode == LeaseMode::create ? "create" : "lock"});
  if (!reply) return reply.error();
  if (reply->is_error()) return redis::reply_error(*reply, "taking the lease of run " + run_id, connection.where());
  if (!reply->is_array() || reply->elements.empty()) {
    return util::fail(ErrorKind::failed, "taking the lease of run " + run_id + ": unexpected reply from Redis");
  }
  const auto& parts = reply->elements;
  const std::string outcome = parts[0].text;
  if (outcome == "exists") return util::fail(ErrorKind::bad_input, fmt::format("run {} exists already", run_id));
  if (outcome == "missing") {
    return util::fail(ErrorKind::bad_input, fmt::format("run {} not found in {}", run_id, connection.where()));
  }
  if (outcome == "busy" && parts.size() >= 7) {
    LeaseRecord holder{parts[1].text, lease_number(parts[2].text), lease_number(parts[3].text), parts[4].text,
                       parts[5].text, milliseconds(std::max<long long>(0, parts[6].integer))};
    return util::fail(ErrorKind::busy, fmt::format("run {} is busy: leased by {}", run_id, holder.describe()), "locked");
  }
  if (outcome != "ok" || parts.size() < 2 || !parts[1].is_integer()) {
    return util::fail(ErrorKind::failed, "taking the lease of run " + run_id + ": unexpected reply from Redis");
  }
  auto handle = std::make_shared<LeaseHandle>(run_id, redis::Fence{keys.lease(run_id), owner, parts[1].integer}, ttl,
                                              sent);
  return std::make_unique<RedisRunLock>(std::move(handle), heartbeat);
}

util::Expected<std::optional<LeaseRecord>> read_run_lease(redis::Connection& connection, const RedisKeys& keys,
                                                          const std::string& run_id) {
  auto replies = connection.pipeline({{"HMGET", keys.lease(run_id), "owner", "epoch", "pid", "host", "since"},
                                      {"PTTL", keys.lease(run_id)}});
  if (!replies) return replies.error();
  const auto& fields = (*replies)[0];
  if (fields.is_error()) return redis::reply_error(fields, "reading the lease of run " + run_id, connection.where());
  if (!fields.is_array() || fields.elements.size() != 5 || !fields.elements[0].is_string()) {
    return std::optional<LeaseRecord>();
  }
  // A lease without a TTL is taken as expired (see acquire_script).
  if ((*replies)[1].is_integer() && (*replies)[1].integer == -1) return std::optional<LeaseRecord>();
  const auto& e = fields.elements;
  return std::optional<LeaseRecord>(LeaseRecord{e[0].text, lease_number(e[1].text), lease_number(e[2].text), e[3].text,
                                                e[4].text, milliseconds(std::max<long long>(0, (*replies)[1].integer))});
}

}  // namespace pipeline::checkpoints
