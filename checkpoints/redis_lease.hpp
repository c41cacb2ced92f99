#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "checkpoints/redis_keys.hpp"
#include "checkpoints/run_store.hpp"
#include "lib/redis/redis_connection.hpp"
#include "lib/redis/redis_fence.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::checkpoints {

inline constexpr std::chrono::milliseconds k_default_lease_ttl{30000};

// A run's lease as Redis holds it.
struct LeaseRecord {
  std::string owner;
  std::int64_t epoch = 0;
  long long pid = 0;
  std::string host;
  std::string since;
  std::chrono::milliseconds ttl_left{0};

  // "pid 4242 on host worker-3 (lease epoch 7, 21.5 s left unless renewed)"
  std::string describe() const;
};

// What a write under a lease must prove, shared by the lock that holds the
// lease and the store that fences the writes. Thread-safe.
class LeaseHandle {
 public:
  LeaseHandle(std::string run_id, redis::Fence fence, std::chrono::milliseconds ttl,
              std::chrono::steady_clock::time_point taken_at);

  const std::string& run_id() const { return m_run_id; }
  const redis::Fence& fence() const { return m_fence; }
  std::chrono::milliseconds ttl() const { return m_ttl; }
  // Neither lost nor released, and renewed within the TTL: the server cannot
  // have let it expire yet. A process stopped past its TTL finds it false.
  bool valid() const;
  bool lost() const { return m_lost; }
  bool released() const { return m_released; }

  void renewed(std::chrono::steady_clock::time_point sent_at);
  void mark_lost() { m_lost = true; }
  void mark_released() { m_released = true; }

 private:
  std::string m_run_id;
  redis::Fence m_fence;
  std::chrono::milliseconds m_ttl;
  std::atomic<std::int64_t> m_renewed_at_ns;
  std::atomic<bool> m_lost{false};
  std::atomic<bool> m_released{false};
};

// The lock of a run in a Redis store: its lease, the key
// <prefix>run:<id>:lease = {owner, epoch, pid, host, since, ttl_ms} with a
// TTL, renewed every TTL/3 by a heartbeat thread on a connection of its own.
// Each taking of a lease increments the run's epoch (the fencing number), and
// every write to the run checks owner and epoch in the script that makes it,
// so a process that lost its lease (stopped or cut off past its TTL while
// another took the run over) has its writes refused (busy, code
// redis::k_lease_lost_code). The destructor releases the lease if it is
// still ours.
class RedisRunLock final : public RunLock {
 public:
  RedisRunLock(std::shared_ptr<LeaseHandle> handle, redis::ConnectOptions heartbeat_connection);
  ~RedisRunLock() override;

  // True while the lease is ours: see LeaseHandle::valid().
  bool held() const override;
  std::int64_t epoch() const { return m_handle->fence().epoch; }
  const std::string& owner() const { return m_handle->fence().owner; }
  const std::string& run_id() const { return m_handle->run_id(); }
  std::chrono::milliseconds ttl() const { return m_handle->ttl(); }
  const std::shared_ptr<LeaseHandle>& handle() const { return m_handle; }

  // `callback` runs once, on the heartbeat thread, when the lease is found
  // lost (taken over, or not renewed within its TTL): e.g. to cancel the
  // work on the run. Runs at once when it is lost already.
  void on_lost(std::function<void()> callback);
  // Gives the lease up now, so another process may take the run at once;
  // deletes it only if it is still ours. Later writes under it are refused.
  util::Expected<void> release();

 private:
  void heartbeat();
  void stop_heartbeat();

  std::shared_ptr<LeaseHandle> m_handle;
  redis::Connection m_connection;  // the heartbeat's; release() uses it after the thread ends
  std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_stopping = false;
  std::function<void()> m_on_lost;
  bool m_lost_reported = false;
  std::thread m_thread;
};

// Whether taking a lease makes a run (which must have no checkpoint yet) or
// locks one that exists.
enum class LeaseMode { create, lock };

// Takes a run's lease in one script: busy (code "locked", naming the holder)
// while someone holds it; for LeaseMode::create, bad_input "exists already"
// when the run has a checkpoint; for LeaseMode::lock, bad_input "not found"
// when it has none. `heartbeat` is how the lock's own connection connects.
util::Expected<std::unique_ptr<RedisRunLock>> acquire_run_lease(redis::Connection& connection,
                                                               const redis::ConnectOptions& heartbeat,
                                                               const RedisKeys& keys, const std::string& run_id,
                                                               std::chrono::milliseconds ttl, LeaseMode mode);

// The run's lease, nullopt when no one holds it.
util::Expected<std::optional<LeaseRecord>> read_run_lease(redis::Connection& connection, const RedisKeys& keys,
                                                          const std::string& run_id);

}  // namespace pipeline::checkpoints
