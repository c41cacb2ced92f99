#include "checkpoints/redis_run_store.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "checkpoints/run_verification.hpp"
#include "lib/redis/chunked_value.hpp"
#include "lib/redis/redis_script.hpp"
#include "lib/util/json_text.hpp"
#include "lib/util/sha256.hpp"

namespace pipeline::checkpoints {
namespace {

using util::ErrorKind;
using util::fail;

// KEYS: lease, events. ARGV: owner, epoch, line.
const redis::Script& append_event_script() {
  static const redis::Script script(redis::lua_fence_check() + R"lua(
redis.call('RPUSH', KEYS[2], ARGV[3])
return 1
)lua");
  return script;
}

// KEYS: lease. ARGV: owner, epoch. Only the fence: 1 while the lease is ours.
const redis::Script& fence_only_script() {
  static const redis::Script script(redis::lua_fence_check() + "return 1\n");
  return script;
}

// KEYS: lease, files, events. ARGV: owner, epoch.
const redis::Script& clear_run_script() {
  static const redis::Script script(redis::lua_drop_chunks() + redis::lua_fence_check() + R"lua(
for _, record in ipairs(redis.call('HVALS', KEYS[2])) do drop_chunks(record) end
redis.call('DEL', KEYS[2], KEYS[3])
return 1
)lua");
  return script;
}

// Lua defining run_keys(), every key of the run whose keys a script is given
// as KEYS[2..7] (checkpoint, files, events, epoch, job, status), with the
// chunks its checkpoint and files point to.
const std::string& lua_run_keys() {
  static const std::string lua = fmt::format(R"lua(
local function add_chunks(record, keys)
  if type(record) ~= 'string' then return end
  local count, prefix = string.match(record, '^%*(%d+) %d+ %x+ (.+)$')
  if count and tonumber(count) <= {} then
    for i = 0, tonumber(count) - 1 do keys[#keys + 1] = prefix .. i end
  end
end
local function run_keys()
  local keys = {{}}
  for i = 2, 7 do keys[#keys + 1] = KEYS[i] end
  if redis.call('TYPE', KEYS[2]).ok == 'string' then add_chunks(redis.call('GET', KEYS[2]), keys) end
  if redis.call('TYPE', KEYS[3]).ok == 'hash' then
    for _, record in ipairs(redis.call('HVALS', KEYS[3])) do add_chunks(record, keys) end
  end
  return keys
end
)lua", redis::k_max_chunks);
  return lua;
}

// KEYS: lease and the run's keys. The bytes Redis spends on them, every
// field and element counted (SAMPLES 0; the default estimates from five).
const redis::Script& run_footprint_script() {
  static const redis::Script script(lua_run_keys() + R"lua(
local total = 0
for _, key in ipairs(run_keys()) do
  total = total + (redis.call('MEMORY', 'USAGE', key, 'SAMPLES', 0) or 0)
end
return total
)lua");
  return script;
}

// KEYS: lease, the run's keys, then (one server) runs, expiring runs, jobs
// index, delayed, dead. ARGV: owner, epoch, run id. 0 while the run's job is
// queued or running; else deletes every key of the run, its lease last, and
// returns 1. In a cluster the five sets live in other slots: the caller
// removes the run from them afterwards (RedisRunStore::remove).
const redis::Script& remove_run_script() {
  static const redis::Script script(lua_run_keys() + redis::lua_fence_check() + R"lua(
if redis.call('TYPE', KEYS[6]).ok == 'hash' then
  local state = redis.call('HGET', KEYS[6], 'state')
  if state == 'queued' or state == 'running' then return 0 end
end
for _, key in ipairs(run_keys()) do redis.call('DEL', key) end
if #KEYS >= 12 then
  redis.call('SREM', KEYS[8], ARGV[3])
  redis.call('ZREM', KEYS[9], ARGV[3])
  redis.call('ZREM', KEYS[10], ARGV[3])
  redis.call('ZREM', KEYS[11], ARGV[3])
  redis.call('LREM', KEYS[12], 0, ARGV[3])
end
redis.call('DEL', KEYS[1])
return 1
)lua");
  return script;
}

// KEYS: lease, the run's keys, then (one server) expiring runs. ARGV: owner,
// epoch, run id, ttl in ms. Every key of the run expires at the same
// instant, which it returns (ms); in a cluster the caller adds the run to
// the expiring runs afterwards.
const redis::Script& expire_run_script() {
  static const redis::Script script(lua_run_keys() + redis::lua_fence_check() + R"lua(
local now = redis.call('TIME')
local ends = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + tonumber(ARGV[4])
-- One instant for every key (PEXPIREAT): PEXPIRE would read the clock once per key.
for _, key in ipairs(run_keys()) do redis.call('PEXPIREAT', key, ends) end
if #KEYS >= 8 then redis.call('ZADD', KEYS[8], ends, ARGV[3]) end
return ends
)lua");
  return script;
}

// KEYS: lease, the run's keys, then (one server) expiring runs. ARGV: owner,
// epoch, run id. Takes the expiry of a run given one away, from every key at
// once; in a cluster every key is made persistent and the caller removes
// the run from the expiring runs.
const redis::Script& persist_run_script() {
  static const redis::Script script(lua_run_keys() + redis::lua_fence_check() + R"lua(
if #KEYS >= 8 and redis.call('PTTL', KEYS[2]) < 0 and redis.call('ZSCORE', KEYS[8], ARGV[3]) == false then return 0 end
for _, key in ipairs(run_keys()) do redis.call('PERSIST', key) end
if #KEYS >= 8 then redis.call('ZREM', KEYS[8], ARGV[3]) end
return 1
)lua");
  return script;
}

// Milliseconds since the epoch, the clock of the expiring runs' scores.
long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

util::Error unsafe_artifact_path(const std::string& path) {
  return fail(ErrorKind::bad_input, fmt::format("artifact path \"{}\" is not a relative path inside the run", path));
}

// The value of an answer that only a method without an error channel can give.
template <typename T>
T or_throw(util::Expected<T> value) {
  return std::move(value).value_or_throw();
}

}  // namespace

RedisRunStore::RedisRunStore(RedisStoreOptions options)
    : m_options(std::move(options)),
      m_keys(m_options.key_prefix, m_options.connect.url.cluster),
      m_connection(m_options.connect) {}

std::unique_ptr<RedisRunStore> make_redis_run_store(RedisStoreOptions options) {
  return std::make_unique<RedisRunStore>(std::move(options));
}

void RedisRunStore::set_lease_ttl(std::chrono::milliseconds ttl) {
  std::lock_guard lock(m_mutex);
  m_options.lease_ttl = ttl;
}

std::chrono::milliseconds RedisRunStore::lease_ttl() const {
  std::lock_guard lock(m_mutex);
  return m_options.lease_ttl;
}

std::string RedisRunStore::location(const std::string& run_id) const { return where() + "#" + run_id; }

util::Expected<redis::Reply> RedisRunStore::command(const redis::Command& command) const {
  std::lock_guard lock(m_mutex);
  return m_connection.command(command);
}

std::unique_ptr<redis::Connection> RedisRunStore::new_connection() const {
  return std::make_unique<redis::Connection>(m_options.connect);
}

util::Expected<redis::Fence> RedisRunStore::fence_for(const std::string& run_id, const std::string& what) const {
  const auto found = m_leases.find(run_id);
  const auto handle = found == m_leases.end() ? nullptr : found->second.lock();
  if (!handle || handle->released()) {
    return fail(ErrorKind::failed,
                fmt::format("{} was refused: this process holds no lease on run {} (lock it first)", what, run_id),
                "no_lease");
  }
  if (!handle->valid()) {
    return fail(ErrorKind::busy,
                fmt::format("{} was refused: the lease of run {} (epoch {}) was not renewed within its {} ms, so "
                            "another process may have taken the run over; this one stops",
                            what, run_id, handle->fence().epoch, handle->ttl().count()),
                redis::k_lease_lost_code);
  }
  return handle->fence();
}

std::vector<std::string> RedisRunStore::run_keys(const std::string& run_id, const std::string& lease_key) const {
  return {lease_key,
          m_keys.checkpoint(run_id),
          m_keys.files(run_id),
          m_keys.events(run_id),
          m_keys.epoch(run_id),
          m_keys.job(run_id),
          m_keys.job_status(run_id)};
}

util::Expected<std::uint64_t> RedisRunStore::footprint(const std::string& run_id) const {
  if (!is_valid_run_id(run_id)) return invalid_run_id_error(run_id);
  std::lock_guard lock(m_mutex);
  auto reply = run_footprint_script().run(m_connection, run_keys(run_id, m_keys.lease(run_id)), {});
  if (!reply) return reply.error();
  if (reply->is_error()) return redis::script_error(*reply, "measuring run " + run_id, where());
  return static_cast<std::uint64_t>(std::max(0LL, reply->integer));
}

util::Expected<void> RedisRunStore::remove(const std::string& run_id) {
  if (!is_valid_run_id(run_id)) return invalid_run_id_error(run_id);
  const std::string what = "removing run " + run_id;
  std::lock_guard lock(m_mutex);
  auto fence = fence_for(run_id, what);
  if (!fence) return fence.error();
  auto keys = run_keys(run_id, fence->lease_key);
  const std::vector<std::string> sets{m_keys.runs(), m_keys.expiring_runs(), m_keys.jobs_index(),
                                      m_keys.jobs_delayed(), m_keys.jobs_dead()};
  if (!m_keys.cluster()) keys.insert(keys.end(), sets.begin(), sets.end());
  auto args = redis::fence_args(*fence);
  args.push_back(run_id);
  auto reply = remove_run_script().run(m_connection, keys, args);
  if (!reply) return reply.error();
  if (reply->is_error()) return redis::script_error(*reply, what, where());
  if (reply->integer == 0) {
    return fail(ErrorKind::busy, fmt::format("run {} has a job that is queued or running; it was kept", run_id),
                "job_active");
  }
  if (m_keys.cluster()) {
    // The run's keys are gone; its id goes from the sets of other slots
    // now. A process that dies in between leaves ids that name nothing:
    // list() drops those of the runs set, and the queue skips job ids
    // whose hash is gone.
    auto replies = m_connection.pipeline({{"SREM", sets[0], run_id},
                                          {"ZREM", sets[1], run_id},
                                          {"ZREM", sets[2], run_id},
                                          {"ZREM", sets[3], run_id},
                                          {"LREM", sets[4], "0", run_id}});
    if (!replies) return replies.error();
    for (const auto& set_reply : *replies) {
      if (set_reply.is_error()) return redis::reply_error(set_reply, what, where());
    }
  }
  return {};
}

util::Expected<void> RedisRunStore::expire_run(const std::string& run_id, std::chrono::milliseconds ttl) {
  if (!is_valid_run_id(run_id)) return invalid_run_id_error(run_id);
  if (ttl.count() <= 0) return fail(ErrorKind::usage, "a run's time to live must be above 0");
  const std::string what = "setting the expiry of run " + run_id;
  std::lock_guard lock(m_mutex);
  auto fence = fence_for(run_id, what);
  if (!fence) return fence.error();
  auto keys = run_keys(run_id, fence->lease_key);
  if (!m_keys.cluster()) keys.push_back(m_keys.expiring_runs());
  auto args = redis::fence_args(*fence);
  args.push_back(run_id);
  args.push_back(std::to_string(ttl.count()));
  auto reply = expire_run_script().run(m_connection, keys, args);
  if (!reply) return reply.error();
  if (reply->is_error()) return redis::script_error(*reply, what, where());
  if (m_keys.cluster()) {
    // Listed as expiring only once every key expires: a process that dies
    // in between leaves a run that expires unlisted, which list() drops.
    auto listed = redis::expect_success(
        m_connection.command({"ZADD", m_keys.expiring_runs(), std::to_string(reply->integer), run_id}), what, where());
    if (!listed) return listed.error();
  }
  return {};
}

util::Expected<void> RedisRunStore::persist_run(const std::string& run_id, const redis::Fence& fence) {
  auto keys = run_keys(run_id, fence.lease_key);
  if (!m_keys.cluster()) keys.push_back(m_keys.expiring_runs());
  auto args = redis::fence_args(fence);
  args.push_back(run_id);
  const std::string what = "taking the expiry of run " + run_id + " away";
  auto reply = persist_run_script().run(m_connection, keys, args);
  if (!reply) return reply.error();
  if (reply->is_error()) return redis::script_error(*reply, what, where());
  if (m_keys.cluster()) {
    auto unlisted = redis::expect_success(m_connection.command({"ZREM", m_keys.expiring_runs(), run_id}), what, where());
    if (!unlisted) return unlisted.error();
  }
  return {};
}

util::Expected<std::optional<std::chrono::milliseconds>> RedisRunStore::expiry(const std::string& run_id) const {
  if (!is_valid_run_id(run_id)) return invalid_run_id_error(run_id);
  auto reply = redis::expect_success(command({"PTTL", m_keys.checkpoint(run_id)}), "reading the expiry of run " + run_id,
                                     where());
  if (!reply) return reply.error();
  if (reply->integer < 0) return std::optional<std::chrono::milliseconds>();
  return std::optional<std::chrono::milliseconds>(reply->integer);
}

util::Expected<std::unique_ptr<RunLock>> RedisRunStore::take_lease(const std::string& run_id, LeaseMode mode) {
  if (!is_valid_run_id(run_id)) return invalid_run_id_error(run_id);
  std::lock_guard lock(m_mutex);
  auto taken = acquire_run_lease(m_connection, m_options.connect, m_keys, run_id, m_options.lease_ttl, mode);
  if (!taken) return taken.error();
  for (auto it = m_leases.begin(); it != m_leases.end();) {
    it = it->second.expired() ? m_leases.erase(it) : std::next(it);
  }
  m_leases[run_id] = (*taken)->handle();
  // Work on a run that was given an expiry must not lose parts of it midway.
  if (auto persisted = persist_run(run_id, (*taken)->handle()->fence()); !persisted) return persisted.error();
  return std::unique_ptr<RunLock>(std::move(*taken));
}

util::Expected<std::unique_ptr<RunLock>> RedisRunStore::create(const std::string& run_id) {
  auto taken = take_lease(run_id, LeaseMode::create);
  if (!taken) return taken.error();
  const auto& fence = static_cast<RedisRunLock&>(**taken).handle()->fence();
  if (auto cleared = clear_leftovers(run_id, fence); !cleared) return cleared.error();
  return taken;
}

util::Expected<void> RedisRunStore::clear_leftovers(const std::string& run_id, const redis::Fence& fence) {
  std::lock_guard lock(m_mutex);
  auto reply = clear_run_script().run(m_connection, {fence.lease_key, m_keys.files(run_id), m_keys.events(run_id)},
                                      redis::fence_args(fence));
  if (!reply) return reply.error();
  if (reply->is_error()) {
    return redis::script_error(*reply, "clearing what an interrupted creation of run " + run_id + " left", where());
  }
  return {};
}

util::Expected<std::unique_ptr<RunLock>> RedisRunStore::lock(const std::string& run_id) {
  return take_lease(run_id, LeaseMode::lock);
}

bool RedisRunStore::exists(const std::string& run_id) const {
  if (!is_valid_run_id(run_id)) return false;
  auto reply = redis::expect_success(command({"EXISTS", m_keys.checkpoint(run_id)}), "looking for run " + run_id, where());
  return or_throw(std::move(reply)).integer == 1;
}

std::vector<std::string> RedisRunStore::list() const {
  forget_expired_runs();
  auto reply = or_throw(redis::expect_success(command({"SMEMBERS", m_keys.runs()}), "listing the runs", where()));
  std::vector<std::string> ids;
  for (const auto& element : reply.elements) {
    if (is_valid_run_id(element.text)) ids.push_back(element.text);
  }
  if (m_keys.cluster()) ids = drop_stale_ids(ids);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<std::string> RedisRunStore::drop_stale_ids(const std::vector<std::string>& ids) const {
  // In a cluster the runs set lives in another slot than a run's keys and
  // is kept in a second step (remove, expire_run): an id whose checkpoint
  // is gone names a run removed or expired by a process that died between
  // the steps. A run's id joins the set only after its checkpoint is saved.
  const std::string what = "listing the runs";
  std::vector<redis::Command> checks;
  for (const auto& id : ids) checks.push_back({"EXISTS", m_keys.checkpoint(id)});
  if (checks.empty()) return ids;
  std::vector<redis::Reply> found;
  {
    std::lock_guard lock(m_mutex);
    found = or_throw(m_connection.pipeline(checks));
  }
  std::vector<std::string> live;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (found[i].is_error()) or_throw(redis::expect_success(found[i], what, where()));
    if (found[i].integer == 1) {
      live.push_back(ids[i]);
    } else {
      or_throw(redis::expect_success(command({"SREM", m_keys.runs(), ids[i]}), what, where()));
    }
  }
  return live;
}

void RedisRunStore::forget_expired_runs() const {
  const std::string what = "forgetting runs that expired";
  auto due = or_throw(redis::expect_success(
      command({"ZRANGEBYSCORE", m_keys.expiring_runs(), "-inf", std::to_string(now_ms()), "LIMIT", "0", "1000"}),
      what, where()));
  for (const auto& element : due.elements) {
    const std::string& run_id = element.text;
    if (!is_valid_run_id(run_id)) continue;
    auto exists = or_throw(redis::expect_success(command({"EXISTS", m_keys.checkpoint(run_id)}), what, where()));
    if (exists.integer != 0) continue;
    or_throw(redis::expect_success(command({"SREM", m_keys.runs(), run_id}), what, where()));
    or_throw(redis::expect_success(command({"ZREM", m_keys.expiring_runs(), run_id}), what, where()));
    or_throw(redis::expect_success(command({"ZREM", m_keys.jobs_index(), run_id}), what, where()));
  }
}

util::Expected<RunState> RedisRunStore::read_checkpoint(const std::string& run_id) const {
  if (!is_valid_run_id(run_id)) return invalid_run_id_error(run_id);
  std::lock_guard lock(m_mutex);
  return parse_checkpoint(run_id);
}

util::Expected<RunState> RedisRunStore::parse_checkpoint(const std::string& run_id) const {
  auto text = redis::get_value(m_connection, {m_keys.checkpoint(run_id), "", m_keys.run_chunks(run_id)});
  if (!text) return text.error();
  if (!*text) return fail(ErrorKind::bad_input, fmt::format("run {} not found in {}", run_id, where()));
  const auto json = util::parse_json(**text);
  if (!json) {
    return fail(ErrorKind::bad_input, fmt::format("the checkpoint of run {} in {} is corrupt: {}; it was left untouched",
                                                  run_id, where(), json.error().message));
  }
  auto state = from_json(*json);
  if (!state) {
    return fail(ErrorKind::bad_input, fmt::format("{} (the checkpoint of run {} in {}; it was left untouched)",
                                                  state.error().message, run_id, where()));
  }
  if (state->run_id != run_id) {
    return fail(ErrorKind::bad_input, fmt::format("the checkpoint of run {} in {} names run \"{}\"; it was left untouched",
                                                  run_id, where(), state->run_id));
  }
  return state;
}

util::Expected<RunState> RedisRunStore::load(const std::string& run_id, int redo_from) const {
  if (!is_valid_run_id(run_id)) return invalid_run_id_error(run_id);
  std::lock_guard lock(m_mutex);
  auto state = parse_checkpoint(run_id);
  if (!state) return state.error();
  // Events appended to a key of another type would be lost without a word
  // (appending them is best effort), so such a run is refused here.
  auto events_type = redis::expect_success(m_connection.command({"TYPE", m_keys.events(run_id)}),
                                           "reading the events of run " + run_id, where());
  if (!events_type) return events_type.error();
  if (events_type->text != "list" && events_type->text != "none") {
    return fail(ErrorKind::bad_input,
                fmt::format("the events of run {} in {} are damaged: {} holds a {}, not a list; it was left untouched",
                            run_id, where(), m_keys.events(run_id), events_type->text),
                "redis_wrongtype");
  }
  const auto paths = paths_to_verify(*state, redo_from);
  auto contents = redis::get_fields(m_connection, m_keys.files(run_id), paths, m_keys.run_chunks(run_id));
  if (!contents) return contents.error();
  std::map<std::string, std::optional<std::string>> digests;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const auto& content = (*contents)[i];
    digests[paths[i]] = content ? std::optional<std::string>(util::sha256_hex(*content)) : std::nullopt;
  }
  auto verified = verify_run_contents(*state, redo_from, location(run_id),
                                      [&](const std::string& path) -> util::Expected<std::optional<std::string>> {
                                        const auto found = digests.find(path);
                                        return found == digests.end() ? std::nullopt : found->second;
                                      });
  if (!verified) return verified.error();
  return state;
}

util::Expected<void> RedisRunStore::save(const RunState& state) {
  if (!is_valid_run_id(state.run_id)) return invalid_run_id_error(state.run_id);
  const nlohmann::json json = to_json(state);
  // Never write a checkpoint that load would refuse.
  if (auto check = from_json(json); !check) {
    return fail(ErrorKind::failed, fmt::format("refusing to save run {}: {}", state.run_id, check.error().message));
  }
  std::string text = json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  text.push_back('\n');
  const std::string what = "saving run " + state.run_id;
  std::lock_guard lock(m_mutex);
  auto fence = fence_for(state.run_id, what);
  if (!fence) return fence.error();
  return redis::put_value(m_connection, {m_keys.checkpoint(state.run_id), "", m_keys.run_chunks(state.run_id)}, text,
                          {*fence, m_keys.runs(), state.run_id}, what);
}

util::Expected<void> RedisRunStore::flush(const std::string& run_id) {
  // Redis makes writes durable by its own settings (appendonly, save); what
  // is left to check is that the writes so far were made under our lease.
  const std::string what = "flushing run " + run_id;
  std::lock_guard lock(m_mutex);
  auto fence = fence_for(run_id, what);
  if (!fence) return fence.error();
  auto reply = fence_only_script().run(m_connection, {fence->lease_key}, redis::fence_args(*fence));
  if (!reply) return reply.error();
  if (reply->is_error()) return redis::script_error(*reply, what, where());
  return {};
}

util::Expected<ArtifactRef> RedisRunStore::write_artifact(const std::string& run_id, const std::string& path,
                                                          std::string_view content) {
  if (!is_valid_run_id(run_id)) return invalid_run_id_error(run_id);
  if (!is_safe_artifact_path(path)) return unsafe_artifact_path(path);
  const std::string what = fmt::format("writing {} of run {}", path, run_id);
  std::lock_guard lock(m_mutex);
  auto fence = fence_for(run_id, what);
  if (!fence) return fence.error();
  auto written = redis::put_value(m_connection, {m_keys.files(run_id), path, m_keys.run_chunks(run_id)}, content,
                                  {*fence, "", ""}, what);
  if (!written) return written.error();
  return ArtifactRef{path, util::sha256_hex(content)};
}

util::Expected<std::string> RedisRunStore::read_artifact(const std::string& run_id, const std::string& path) const {
  if (!is_valid_run_id(run_id)) return invalid_run_id_error(run_id);
  if (!is_safe_artifact_path(path)) return unsafe_artifact_path(path);
  std::lock_guard lock(m_mutex);
  auto value = redis::get_value(m_connection, {m_keys.files(run_id), path, m_keys.run_chunks(run_id)});
  if (!value) return value.error();
  if (!*value) return fail(ErrorKind::bad_input, fmt::format("run {} has no file {} in {}", run_id, path, where()));
  return std::move(**value);
}

util::Expected<void> RedisRunStore::append_event(const std::string& run_id, std::string_view line) {
  if (!is_valid_run_id(run_id)) return invalid_run_id_error(run_id);
  if (line.find('\n') != std::string_view::npos) return fail(ErrorKind::failed, "an event must be a single line");
  const std::string what = "recording an event of run " + run_id;
  std::lock_guard lock(m_mutex);
  auto fence = fence_for(run_id, what);
  if (!fence) return fence.error();
  auto args = redis::fence_args(*fence);
  args.emplace_back(line);
  auto reply = append_event_script().run(m_connection, {fence->lease_key, m_keys.events(run_id)}, args);
  if (!reply) return reply.error();
  if (reply->is_error()) return redis::script_error(*reply, what, where());
  return {};
}

util::Expected<std::vector<std::string>> RedisRunStore::read_events(const std::string& run_id, std::size_t first) const {
  if (!is_valid_run_id(run_id)) return invalid_run_id_error(run_id);
  auto reply = redis::expect_success(command({"LRANGE", m_keys.events(run_id), std::to_string(first), "-1"}),
                                     "reading the events of run " + run_id, where());
  if (!reply) return reply.error();
  std::vector<std::string> lines;
  for (auto& element : reply->elements) lines.push_back(std::move(element.text));
  return lines;
}

util::Expected<std::optional<LeaseRecord>> RedisRunStore::lease(const std::string& run_id) const {
  if (!is_valid_run_id(run_id)) return invalid_run_id_error(run_id);
  std::lock_guard lock(m_mutex);
  return read_run_lease(m_connection, m_keys, run_id);
}

std::optional<std::string> RedisRunStore::lock_holder(const std::string& run_id) const {
  if (!is_valid_run_id(run_id)) return std::nullopt;
  const auto holder = or_throw(lease(run_id));
  if (!holder) return std::nullopt;
  return holder->describe();
}

util::Expected<void> RedisRunStore::save_batch(const BatchManifest& manifest) {
  if (!is_valid_run_id(manifest.batch_id)) {
    return fail(ErrorKind::usage, fmt::format("batch id \"{}\" is not valid", manifest.batch_id));
  }
  std::lock_guard lock(m_mutex);
  return redis::put_value(m_connection, {m_keys.batch(manifest.batch_id), "", m_keys.batch_chunks(manifest.batch_id)},
                          util::dump_json(to_json(manifest), 2) + "\n", {}, "saving batch " + manifest.batch_id);
}

util::Expected<BatchManifest> RedisRunStore::load_batch(const std::string& batch_id) const {
  if (!is_valid_run_id(batch_id)) {
    return fail(ErrorKind::bad_input, fmt::format("there is no batch {} in {}", batch_id, where()));
  }
  std::lock_guard lock(m_mutex);
  auto text = redis::get_value(m_connection, {m_keys.batch(batch_id), "", m_keys.batch_chunks(batch_id)});
  if (!text) return text.error();
  if (!*text) return fail(ErrorKind::bad_input, fmt::format("there is no batch {} in {}", batch_id, where()));
  auto json = util::parse_json(**text);
  if (!json) return fail(ErrorKind::bad_input, fmt::format("batch {} in {}: {}", batch_id, where(), json.error().message));
  auto manifest = batch_from_json(*json);
  if (!manifest) {
    return fail(ErrorKind::bad_input, fmt::format("batch {} in {}: {}", batch_id, where(), manifest.error().message));
  }
  return manifest;
}

bool RedisRunStore::batch_exists(const std::string& batch_id) const {
  if (!is_valid_run_id(batch_id)) return false;
  auto reply = redis::expect_success(command({"EXISTS", m_keys.batch(batch_id)}), "looking for batch " + batch_id, where());
  return or_throw(std::move(reply)).integer == 1;
}

util::Expected<void> RedisRunStore::save_brand(const std::string& brand_id, std::string_view json) {
  if (!is_valid_run_id(brand_id)) return fail(ErrorKind::bad_input, fmt::format("brand id \"{}\" is not valid", brand_id));
  std::lock_guard lock(m_mutex);
  return redis::put_value(m_connection, {m_keys.brand(brand_id), "", m_keys.brand_chunks(brand_id)}, json,
                          {std::nullopt, m_keys.brands(), brand_id}, "saving brand " + brand_id);
}

util::Expected<std::optional<std::string>> RedisRunStore::find_brand(const std::string& brand_id) const {
  if (!is_valid_run_id(brand_id)) return std::optional<std::string>();
  std::lock_guard lock(m_mutex);
  return redis::get_value(m_connection, {m_keys.brand(brand_id), "", m_keys.brand_chunks(brand_id)});
}

std::vector<std::string> RedisRunStore::list_brands() const {
  auto reply = or_throw(redis::expect_success(command({"SMEMBERS", m_keys.brands()}), "listing the brands", where()));
  std::vector<std::string> ids;
  for (const auto& element : reply.elements) {
    if (is_valid_run_id(element.text)) ids.push_back(element.text);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace pipeline::checkpoints
