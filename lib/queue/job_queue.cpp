#include "lib/queue/job_queue.hpp"

#include <fmt/format.h>

#include "lib/queue/job_admission.hpp"
#include "lib/redis/redis_script.hpp"
#include "lib/util/time.hpp"

namespace pipeline::queue {
namespace {

using redis::Reply;
using util::ErrorKind;
using util::Expected;

// Resets an entry's idle time only while this consumer holds it, so a worker
// that was stopped past its lease cannot take a job back from its new owner.
const redis::Script& touch_entry_script() {
  static const redis::Script script(R"lua(
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #pending == 0 or pending[1][2] ~= ARGV[3] then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[2], 'JUSTID')
return 1
)lua");
  return script;
}

// Moves the delayed jobs that are due back to their streams, each once.
const redis::Script& promote_retries_script() {
  static const redis::Script script(R"lua(
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 50)
local moved = 0
for _, id in ipairs(due) do
  if redis.call('ZREM', KEYS[1], id) == 1 then
    local job = ARGV[2] .. 'job:' .. id
    if redis.call('HGET', job, 'state') == 'queued' then
      local priority = redis.call('HGET', job, 'priority') or 'normal'
      local run_id = redis.call('HGET', job, 'run_id') or id
      local kind = redis.call('HGET', job, 'kind') or 'run'
      local entry = redis.call('XADD', ARGV[2] .. 'jobs:' .. priority, '*', 'job_id', id, 'run_id', run_id, 'kind', kind)
      redis.call('HSET', job, 'entry', entry)
      moved = moved + 1
    end
  end
end
return moved
)lua");
  return script;
}

// Adds an entry for a job and makes it the job's own in one step, so that no
// worker can see the entry before the job's hash names it.
const redis::Script& add_entry_script() {
  static const redis::Script script(R"lua(
local entry = redis.call('XADD', KEYS[1], '*', 'job_id', ARGV[1], 'run_id', ARGV[2], 'kind', ARGV[3])
redis.call('HSET', KEYS[2], 'entry', entry)
return entry
)lua");
  return script;
}

// Admits a stream entry (docs/queue.md): "current" when the job's hash names
// the entry (or, written before hashes named theirs, the job is not over);
// "duplicate" when another entry holds the id; "exists" for a source job
// whose run exists already; else the hash ARGV[5..] is written and indexed:
// "admitted". KEYS: job, index, run checkpoint, run lease. ARGV: entry id,
// job id, time (ms), "1" to refuse a run that exists, then field, value...
const redis::Script& admit_entry_script() {
  static const redis::Script script(R"lua(
local state = redis.call('HGET', KEYS[1], 'state')
if state then
  local entry = redis.call('HGET', KEYS[1], 'entry')
  if entry == ARGV[1] then return {'current', state} end
  if not entry and state ~= 'done' and state ~= 'failed' and state ~= 'dead' and state ~= 'cancelled' then
    redis.call('HSET', KEYS[1], 'entry', ARGV[1])
    return {'current', state}
  end
  return {'duplicate', state}
end
if ARGV[4] == '1' and (redis.call('EXISTS', KEYS[3]) == 1 or redis.call('EXISTS', KEYS[4]) == 1) then
  return {'exists', ''}
end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('ZADD', KEYS[2], 'NX', ARGV[3], ARGV[2])
return {'admitted', ''}
)lua");
  return script;
}

// Cluster mode (docs/queue.md, "Redis Cluster"): a job's hash lives in its
// run's slot ({run:<id>}) and the streams, index and delayed set in the
// queue's ({queue}), so no script may touch both. Entries are then added in
// two steps: the hash is set to entry "new" first (enqueue, release,
// retry_later), the entry is added to its stream, and the hash is switched
// from "new" to the entry's id. A worker that reads the entry before the
// switch, or after its writer died between the steps, adopts it: admission
// takes an entry for a job whose hash says "new" as the job's own, once (the
// first entry read wins, a second is refused as a duplicate). So no step
// order loses a job, and none lets two entries run it.

// KEYS: job. ARGV: entry id. Switches the job's entry from "new" to the id.
const redis::Script& name_entry_script() {
  static const redis::Script script(R"lua(
if redis.call('HGET', KEYS[1], 'entry') == 'new' then redis.call('HSET', KEYS[1], 'entry', ARGV[1]) return 1 end
return 0
)lua");
  return script;
}

// KEYS: delayed, stream. ARGV: job id, run id, kind. Adds the entry of a
// delayed job that is due, once: only the caller whose ZREM removed the id
// adds it. Returns the entry id, or false.
const redis::Script& promote_one_script() {
  static const redis::Script script(R"lua(
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return false end
return redis.call('XADD', KEYS[2], '*', 'job_id', ARGV[1], 'run_id', ARGV[2], 'kind', ARGV[3])
)lua");
  return script;
}

// admit_entry_script without the index (in the queue's slot: the caller adds
// the job to it after every admission, NX, so that a worker that died in
// between is made good by the next delivery of the entry), and with
// adoption of an entry for a hash that says "new". KEYS: job, run
// checkpoint, run lease. ARGV as admit_entry_script's.
const redis::Script& admit_entry_cluster_script() {
  static const redis::Script script(R"lua(
local state = redis.call('HGET', KEYS[1], 'state')
if state then
  local entry = redis.call('HGET', KEYS[1], 'entry')
  if entry == ARGV[1] then return {'current', state} end
  if (not entry or entry == 'new') and state ~= 'done' and state ~= 'failed' and state ~= 'dead' and state ~= 'cancelled' then
    redis.call('HSET', KEYS[1], 'entry', ARGV[1])
    return {'current', state}
  end
  if entry == 'new' then return {'current', state} end
  return {'duplicate', state}
end
if ARGV[4] == '1' and (redis.call('EXISTS', KEYS[2]) == 1 or redis.call('EXISTS', KEYS[3]) == 1) then
  return {'exists', ''}
end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
return {'admitted', ''}
)lua");
  return script;
}

// Why an entry that names a job or run of another is refused.
std::string taken_id_error(const Job& job, const std::string& verdict, const std::string& state) {
  if (job.kind == JobKind::source) {
    return fmt::format("run {} exists: a source job needs a run id of its own{}", job.run_id,
                       verdict == "duplicate" ? fmt::format(" (job {} is {})", job.job_id, state) : std::string());
  }
  return fmt::format("job {} is {} already: another entry for it is refused (one run, one job; `pipeline jobs retry "
                     "{}` runs a finished job again)",
                     job.job_id, state, job.job_id);
}

std::vector<std::string> queue_reply_strings(const Reply& reply) {
  std::vector<std::string> strings;
  for (const auto& element : reply.elements) strings.push_back(element.text);
  return strings;
}

redis::Command queue_hset_command(const std::string& key, const std::map<std::string, std::string>& fields) {
  redis::Command command{"HSET", key};
  for (const auto& [name, value] : fields) {
    command.push_back(name);
    command.push_back(value);
  }
  return command;
}

// The time in a stream entry id ("1700000000000-0").
std::optional<long long> entry_time_ms(const std::string& entry_id) {
  try {
    return std::stoll(entry_id.substr(0, entry_id.find('-')));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

long long unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

JobQueue::JobQueue(std::unique_ptr<redis::Connection> connection, const std::string& prefix, std::string consumer)
    : m_connection(std::move(connection)), m_keys(prefix, m_connection->cluster()), m_consumer(std::move(consumer)) {}

Expected<Reply> JobQueue::run(const redis::Command& command, const std::string& what) {
  return redis::expect_success(m_connection->command(command), what, m_connection->where());
}

Expected<void> JobQueue::ensure_groups() {
  for (const Priority priority : all_priorities()) {
    auto reply = m_connection->command({"XGROUP", "CREATE", m_keys.stream(priority), k_consumer_group, "0", "MKSTREAM"});
    if (!reply) return reply.error();
    if (reply->is_error() && reply->error_code() != "BUSYGROUP") {
      return redis::reply_error(*reply, "creating the job streams", m_connection->where());
    }
  }
  return {};
}

Expected<void> JobQueue::add_entry(const Job& job) {
  if (m_keys.cluster()) {
    // The job's hash says entry "new" already (see name_entry_script).
    auto added = run({"XADD", m_keys.stream(job.priority), "*", "job_id", job.job_id, "run_id", job.run_id, "kind",
                      std::string(to_string(job.kind))},
                     "queueing job " + job.job_id);
    if (!added) return added.error();
    auto named = name_entry_script().run(*m_connection, {m_keys.job(job.job_id)}, {added->text});
    if (!named) return named.error();
    if (named->is_error()) return redis::reply_error(*named, "queueing job " + job.job_id, m_connection->where());
    return {};
  }
  auto added = add_entry_script().run(*m_connection, {m_keys.stream(job.priority), m_keys.job(job.job_id)},
                                      {job.job_id, job.run_id, std::string(to_string(job.kind))});
  if (!added) return added.error();
  if (added->is_error()) return redis::reply_error(*added, "queueing job " + job.job_id, m_connection->where());
  return {};
}

Expected<void> JobQueue::enqueue(Job job) {
  job.state = JobState::queued;
  const std::string now = util::now_iso8601();
  if (job.created_at.empty()) job.created_at = now;
  job.updated_at = now;
  // Until add_entry() names its entry, no other entry is the job's.
  job.entry = "new";
  std::map<std::string, std::string> fields;
  for (auto& [name, value] : job.to_fields()) fields[name] = value;
  auto replies = m_connection->pipeline({{"DEL", m_keys.job(job.job_id)},
                                         queue_hset_command(m_keys.job(job.job_id), fields),
                                         {"ZADD", m_keys.index(), "NX", std::to_string(unix_ms()), job.job_id},
                                         {"ZREM", m_keys.delayed(), job.job_id},
                                         {"LREM", m_keys.dead(), "0", job.job_id}});
  if (!replies) return replies.error();
  for (const auto& reply : *replies) {
    if (reply.is_error()) return redis::reply_error(reply, "queueing job " + job.job_id, m_connection->where());
  }
  return add_entry(job);
}

Expected<void> JobQueue::promote_due_retries() {
  if (m_keys.cluster()) return promote_due_retries_apart();
  auto moved = promote_retries_script().run(*m_connection, {m_keys.delayed()}, {std::to_string(unix_ms()), m_keys.prefix()});
  if (!moved) return moved.error();
  if (moved->is_error()) return redis::reply_error(*moved, "moving due retries", m_connection->where());
  return {};
}

Expected<void> JobQueue::promote_due_retries_apart() {
  const std::string what = "moving due retries";
  auto due = run({"ZRANGEBYSCORE", m_keys.delayed(), "-inf", std::to_string(unix_ms()), "LIMIT", "0", "50"}, what);
  if (!due) return due.error();
  for (const auto& element : due->elements) {
    const std::string& id = element.text;
    auto fields = run({"HMGET", m_keys.job(id), "state", "priority", "run_id", "kind", "entry"}, what);
    if (!fields) return fields.error();
    const auto text = [&](std::size_t i, const std::string& fallback) {
      return fields->elements.size() > i && fields->elements[i].is_string() ? fields->elements[i].text : fallback;
    };
    if (text(0, "") != "queued") {
      // Cancelled, removed or taken meanwhile: nothing to move.
      if (auto removed = run({"ZREM", m_keys.delayed(), id}, what); !removed) return removed.error();
      continue;
    }
    // retry_later() set the hash to entry "new"; a hash written before it
    // did is set so now, before the entry exists.
    if (text(4, "") != "new") {
      if (auto marked = run({"HSET", m_keys.job(id), "entry", "new"}, what); !marked) return marked.error();
    }
    const auto priority = parse_priority(text(1, "normal")).value_or(Priority::normal);
    auto entry = promote_one_script().run(*m_connection, {m_keys.delayed(), m_keys.stream(priority)},
                                          {id, text(2, id), text(3, "run")});
    if (!entry) return entry.error();
    if (entry->is_error()) return redis::reply_error(*entry, what, m_connection->where());
    if (!entry->is_string()) continue;
    auto named = name_entry_script().run(*m_connection, {m_keys.job(id)}, {entry->text});
    if (!named) return named.error();
    if (named->is_error()) return redis::reply_error(*named, what, m_connection->where());
  }
  return {};
}

Expected<void> JobQueue::refuse(const Delivery& delivery, Job record, const std::string& error) {
  const std::string now = util::now_iso8601();
  record.priority = delivery.stream;
  record.state = JobState::failed;
  record.error = error;
  record.worker = m_consumer;
  record.entry = delivery.entry_id;
  if (record.created_at.empty()) record.created_at = now;
  record.updated_at = now;
  record.finished_at = now;
  std::map<std::string, std::string> fields;
  for (auto& [name, value] : record.to_fields()) fields[name] = value;
  auto replies = m_connection->pipeline({queue_hset_command(m_keys.job(record.job_id), fields),
                                         {"ZADD", m_keys.index(), "NX", std::to_string(unix_ms()), record.job_id}});
  if (!replies) return replies.error();
  for (const auto& reply : *replies) {
    if (reply.is_error()) return redis::reply_error(reply, "recording a refused entry", m_connection->where());
  }
  if (auto dropped = drop(delivery); !dropped) return dropped.error();
  if (m_on_refused) m_on_refused(record);
  return {};
}

Expected<std::optional<Delivery>> JobQueue::deliver(Priority priority, const Reply& entry, bool reclaimed) {
  Delivery delivery;
  delivery.stream = priority;
  delivery.reclaimed = reclaimed;
  if (entry.elements.empty()) return std::optional<Delivery>();
  delivery.entry_id = entry.elements[0].text;
  std::map<std::string, std::string> entry_fields;
  if (entry.elements.size() > 1) entry_fields = fields_from_flat(queue_reply_strings(entry.elements[1]));
  auto refused = [&](Job record, const std::string& error) -> Expected<std::optional<Delivery>> {
    if (auto recorded = refuse(delivery, std::move(record), error); !recorded) return recorded.error();
    return std::optional<Delivery>();
  };
  const auto job_id = entry_job_id(entry_fields);
  if (!job_id) {
    // No id of its own: recorded under one made from the entry's.
    Job record;
    record.job_id = refused_entry_id(priority, delivery.entry_id);
    record.run_id = record.job_id;
    return refused(std::move(record), fmt::format("entry {} refused: {}", entry_text(delivery.entry_id), job_id.error().message));
  }
  auto checked = job_from_entry(entry_fields, priority);
  Job fresh;
  if (checked) {
    fresh = std::move(*checked);
  } else {
    fresh.job_id = *job_id;
    fresh.run_id = *job_id;
    fresh.kind = parse_job_kind(entry_fields["kind"]).value_or(JobKind::run);
    fresh.state = JobState::failed;
    fresh.error = fmt::format("entry {} refused: {}", entry_text(delivery.entry_id), checked.error().message);
    fresh.worker = m_consumer;
    fresh.finished_at = util::now_iso8601();
  }
  fresh.priority = priority;
  fresh.entry = delivery.entry_id;
  fresh.created_at = util::now_iso8601();
  fresh.updated_at = fresh.created_at;
  std::vector<std::string> arguments{delivery.entry_id, fresh.job_id, std::to_string(unix_ms()),
                                     checked && fresh.kind == JobKind::source ? "1" : "0"};
  for (auto& [name, value] : fresh.to_fields()) {
    arguments.push_back(name);
    arguments.push_back(value);
  }
  auto admitted =
      m_keys.cluster()
          ? admit_entry_cluster_script().run(
                *m_connection, {m_keys.job(fresh.job_id), m_keys.run_checkpoint(fresh.run_id), m_keys.run_lease(fresh.run_id)},
                arguments)
          : admit_entry_script().run(*m_connection,
                                     {m_keys.job(fresh.job_id), m_keys.index(), m_keys.run_checkpoint(fresh.run_id),
                                      m_keys.run_lease(fresh.run_id)},
                                     arguments);
  if (!admitted) return admitted.error();
  if (admitted->is_error() || admitted->elements.size() < 2) {
    return redis::reply_error(*admitted, "admitting job " + fresh.job_id, m_connection->where());
  }
  const std::string verdict = admitted->elements[0].text;
  if (m_keys.cluster() && (verdict == "admitted" || verdict == "current")) {
    // The second step of admission, repeated on every delivery: the entry
    // stays unacknowledged until the job is over, so a worker that dies
    // before this leaves an entry whose next delivery indexes the job.
    auto indexed = run({"ZADD", m_keys.index(), "NX", std::to_string(unix_ms()), fresh.job_id}, "admitting job " + fresh.job_id);
    if (!indexed) return indexed.error();
  }
  if (verdict == "duplicate" || verdict == "exists") {
    Job record;
    record.job_id = refused_entry_id(priority, delivery.entry_id);
    record.run_id = record.job_id;
    record.kind = fresh.kind;
    return refused(std::move(record), fmt::format("entry {} refused: {}", entry_text(delivery.entry_id),
                                                  taken_id_error(fresh, verdict, admitted->elements[1].text)));
  }
  if (verdict == "admitted") {
    if (!checked) {
      if (auto dropped = drop(delivery); !dropped) return dropped.error();
      if (m_on_refused) m_on_refused(fresh);
      return std::optional<Delivery>();
    }
    delivery.job = std::move(fresh);
  } else {
    auto stored = run({"HGETALL", m_keys.job(fresh.job_id)}, "reading job " + fresh.job_id);
    if (!stored) return stored.error();
    auto job = Job::from_fields(fields_from_flat(queue_reply_strings(*stored)));
    if (!job) {
      // A hash no worker can run (edited by hand): it says why.
      auto recorded = update(fresh.job_id, {{"state", "failed"}, {"error", job.error().message}});
      if (!recorded) return recorded.error();
      auto dropped = drop(delivery);
      if (!dropped) return dropped.error();
      if (m_on_refused) m_on_refused(fresh);
      return std::optional<Delivery>();
    }
    delivery.job = std::move(*job);
  }
  if (is_final(delivery.job.state)) {
    auto dropped = drop(delivery);
    if (!dropped) return dropped.error();
    return std::optional<Delivery>();
  }
  if (reclaimed) {
    auto deaths = run({"HINCRBY", m_keys.job(delivery.job.job_id), "deaths", "1"}, "counting a worker's death");
    if (!deaths) return deaths.error();
    delivery.job.deaths = static_cast<int>(deaths->integer);
    if (delivery.job.deaths >= k_max_deaths) {
      const std::string error =
          fmt::format("its worker died {} times without finishing a stage; not run again (pipeline jobs retry {})",
                      delivery.job.deaths, delivery.job.job_id);
      auto replies = m_connection->pipeline({{"LREM", m_keys.dead(), "0", delivery.job.job_id},
                                             {"LPUSH", m_keys.dead(), delivery.job.job_id}});
      if (!replies) return replies.error();
      auto finished = finish(delivery, JobState::dead, error);
      if (!finished) return finished.error();
      return std::optional<Delivery>();
    }
  }
  return std::optional<Delivery>(std::move(delivery));
}

Expected<std::optional<Delivery>> JobQueue::reclaim(Priority priority, std::chrono::milliseconds idle) {
  auto reply = run({"XAUTOCLAIM", m_keys.stream(priority), k_consumer_group, m_consumer, std::to_string(idle.count()),
                    "0-0", "COUNT", "1"},
                   "taking over a dead worker's job");
  if (!reply) return reply.error();
  if (reply->elements.size() < 2) return std::optional<Delivery>();
  for (const auto& entry : reply->elements[1].elements) {
    if (entry.elements.size() < 2 || entry.elements[1].is_nil()) {
      // Deleted meanwhile: nothing to run.
      Delivery gone;
      gone.stream = priority;
      gone.entry_id = entry.elements.empty() ? entry.text : entry.elements[0].text;
      auto dropped = drop(gone);
      if (!dropped) return dropped.error();
      continue;
    }
    auto delivery = deliver(priority, entry, true);
    if (!delivery || *delivery) return delivery;
  }
  return std::optional<Delivery>();
}

Expected<std::optional<Delivery>> JobQueue::read_new(std::chrono::milliseconds wait) {
  // After a wait that found nothing the streams were empty: the blocking
  // read alone sees what came since, which keeps an idle worker's commands few.
  for (const Priority priority : m_found_empty && wait.count() > 0 ? std::vector<Priority>{} : all_priorities()) {
    // Entries whose jobs are over are dropped one by one; stop after a few
    // so a long run of them cannot keep the worker from waiting.
    for (int tries = 0; tries < 16; ++tries) {
      auto reply = run({"XREADGROUP", "GROUP", k_consumer_group, m_consumer, "COUNT", "1", "STREAMS",
                        m_keys.stream(priority), ">"},
                       "reading the job stream");
      if (!reply) return reply.error();
      if (reply->is_nil() || reply->elements.empty() || reply->elements[0].elements.size() < 2 ||
          reply->elements[0].elements[1].elements.empty()) {
        break;
      }
      auto delivery = deliver(priority, reply->elements[0].elements[1].elements[0], false);
      if (!delivery || *delivery) return delivery;
    }
  }
  if (wait.count() <= 0) return std::optional<Delivery>();
  redis::Command command{"XREADGROUP", "GROUP", k_consumer_group, m_consumer, "COUNT", "1",
                         "BLOCK",      std::to_string(wait.count()), "STREAMS"};
  for (const Priority priority : all_priorities()) command.push_back(m_keys.stream(priority));
  for (std::size_t i = 0; i < all_priorities().size(); ++i) command.push_back(">");
  auto reply = run(command, "waiting for a job");
  if (!reply) return reply.error();
  m_found_empty = reply->is_nil();
  if (reply->is_nil()) return std::optional<Delivery>();
  // Entries of several streams may come at once: the most urgent is kept and
  // the others go back, so that another worker can take them now.
  std::optional<Delivery> kept;
  for (const Priority priority : all_priorities()) {
    for (const auto& stream : reply->elements) {
      if (stream.elements.size() < 2 || stream.elements[0].text != m_keys.stream(priority)) continue;
      for (const auto& entry : stream.elements[1].elements) {
        auto delivery = deliver(priority, entry, false);
        if (!delivery) return delivery.error();
        if (!*delivery) continue;
        if (!kept) {
          kept = std::move(**delivery);
        } else if (auto released = release(**delivery); !released) {
          return released.error();
        }
      }
    }
  }
  return kept;
}

Expected<std::optional<Delivery>> JobQueue::take(std::chrono::milliseconds wait,
                                                 std::optional<std::chrono::milliseconds> reclaim_idle) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto taken = [&]() -> Expected<std::optional<Delivery>> {
      if (reclaim_idle) {
        if (auto promoted = promote_due_retries(); !promoted) return promoted.error();
        for (const Priority priority : all_priorities()) {
          auto delivery = reclaim(priority, *reclaim_idle);
          if (!delivery || *delivery) return delivery;
        }
      }
      return read_new(wait);
    }();
    // A server that lost its data (no persistence) lost the groups too.
    if (!taken && attempt == 0 && taken.error().message.find("NOGROUP") != std::string::npos) {
      if (auto made = ensure_groups(); !made) return made.error();
      continue;
    }
    return taken;
  }
  return std::optional<Delivery>();
}

Expected<bool> JobQueue::touch(const Delivery& delivery) {
  auto reply = touch_entry_script().run(*m_connection, {m_keys.stream(delivery.stream)},
                                        {k_consumer_group, delivery.entry_id, m_consumer});
  if (!reply) return reply.error();
  if (reply->is_error()) return redis::reply_error(*reply, "renewing job " + delivery.job.job_id, m_connection->where());
  return reply->integer == 1;
}

Expected<void> JobQueue::drop(const Delivery& delivery) {
  const std::string stream = m_keys.stream(delivery.stream);
  auto replies = m_connection->pipeline(
      {{"XACK", stream, k_consumer_group, delivery.entry_id}, {"XDEL", stream, delivery.entry_id}});
  if (!replies) return replies.error();
  for (const auto& reply : *replies) {
    if (reply.is_error()) return redis::reply_error(reply, "acknowledging a job", m_connection->where());
  }
  return {};
}

Expected<void> JobQueue::finish(const Delivery& delivery, JobState state, const std::string& error) {
  const std::string now = util::now_iso8601();
  auto updated = update(delivery.job.job_id,
                        {{"state", std::string(to_string(state))}, {"error", one_line_text(error)}, {"finished_at", now}});
  if (!updated) return updated.error();
  return drop(delivery);
}

Expected<void> JobQueue::retry_later(const Delivery& delivery, std::chrono::milliseconds delay, const std::string& error) {
  std::map<std::string, std::string> fields{{"state", "queued"}, {"error", one_line_text(error)}};
  if (m_keys.cluster()) fields["entry"] = "new";
  auto updated = update(delivery.job.job_id, fields);
  if (!updated) return updated.error();
  auto delayed = run({"ZADD", m_keys.delayed(), std::to_string(unix_ms() + delay.count()), delivery.job.job_id},
                     "delaying job " + delivery.job.job_id);
  if (!delayed) return delayed.error();
  return drop(delivery);
}

Expected<void> JobQueue::release(const Delivery& delivery) {
  std::map<std::string, std::string> fields{{"state", "queued"}};
  if (m_keys.cluster()) fields["entry"] = "new";
  auto updated = update(delivery.job.job_id, fields);
  if (!updated) return updated.error();
  if (auto added = add_entry(delivery.job); !added) return added.error();
  return drop(delivery);
}

Expected<std::optional<Job>> JobQueue::find(const std::string& job_id) {
  auto reply = run({"HGETALL", m_keys.job(job_id)}, "reading job " + job_id);
  if (!reply) return reply.error();
  if (reply->elements.empty()) return std::optional<Job>();
  auto job = Job::from_fields(fields_from_flat(queue_reply_strings(*reply)));
  if (!job) return job.error();
  return std::optional<Job>(std::move(*job));
}

Expected<void> JobQueue::stamp_hash(const std::string& key, std::map<std::string, std::string> fields,
                                    const std::string& what) {
  fields["updated_at"] = util::now_iso8601();
  auto reply = run(queue_hset_command(key, fields), what);
  if (!reply) return reply.error();
  return {};
}

Expected<void> JobQueue::update(const std::string& job_id, const std::map<std::string, std::string>& fields) {
  return stamp_hash(m_keys.job(job_id), fields, "updating job " + job_id);
}

Expected<std::vector<Job>> JobQueue::list() {
  auto ids = run({"ZRANGE", m_keys.index(), "0", "-1"}, "listing jobs");
  if (!ids) return ids.error();
  std::vector<redis::Command> reads;
  for (const auto& id : ids->elements) reads.push_back({"HGETALL", m_keys.job(id.text)});
  std::vector<Job> jobs;
  if (reads.empty()) return jobs;
  auto replies = m_connection->pipeline(reads);
  if (!replies) return replies.error();
  for (std::size_t i = 0; i < replies->size(); ++i) {
    const auto& reply = (*replies)[i];
    if (reply.is_error() || reply.elements.empty()) continue;
    auto job = Job::from_fields(fields_from_flat(queue_reply_strings(reply)));
    if (!job) {
      // A hash edited into nonsense is listed still, as what it is.
      Job unreadable;
      unreadable.job_id = one_line_text(ids->elements[i].text);
      unreadable.run_id = unreadable.job_id;
      unreadable.state = JobState::failed;
      unreadable.error = "its hash cannot be read: " + one_line_text(job.error().message);
      jobs.push_back(std::move(unreadable));
      continue;
    }
    jobs.push_back(std::move(*job));
  }
  return jobs;
}

Expected<Job> JobQueue::cancel(const std::string& job_id) {
  auto job = find(job_id);
  if (!job) return job.error();
  if (!*job) return util::fail(ErrorKind::bad_input, fmt::format("there is no job {}", job_id));
  if ((*job)->state == JobState::done) {
    return util::fail(ErrorKind::bad_input, fmt::format("job {} is done; there is nothing to cancel", job_id));
  }
  auto updated = update(job_id, {{"state", "cancelled"}, {"finished_at", util::now_iso8601()}});
  if (!updated) return updated.error();
  auto removed = run({"ZREM", m_keys.delayed(), job_id}, "cancelling job " + job_id);
  if (!removed) return removed.error();
  (*job)->state = JobState::cancelled;
  return std::move(**job);
}

Expected<Job> JobQueue::retry(const std::string& job_id, int redo_from) {
  auto job = find(job_id);
  if (!job) return job.error();
  if (!*job) return util::fail(ErrorKind::bad_input, fmt::format("there is no job {}", job_id));
  const JobState state = (*job)->state;
  const bool redoing_done = state == JobState::done && redo_from > 0;
  if (state != JobState::failed && state != JobState::dead && state != JobState::cancelled && !redoing_done) {
    return util::fail(ErrorKind::bad_input, fmt::format("job {} is {}; only a failed, dead or cancelled job is retried",
                                                        job_id, to_string(state)));
  }
  Job again = std::move(**job);
  again.redo_from = redo_from;
  again.deaths = 0;
  again.error.clear();
  again.finished_at.clear();
  again.worker.clear();
  auto queued = enqueue(again);
  if (!queued) return queued.error();
  again.state = JobState::queued;
  return again;
}

Expected<QueueCounts> JobQueue::counts() {
  QueueCounts counts;
  for (const Priority priority : all_priorities()) {
    const std::string stream = m_keys.stream(priority);
    auto replies = m_connection->pipeline({{"XLEN", stream}, {"XPENDING", stream, k_consumer_group}, {"XINFO", "GROUPS", stream}});
    if (!replies) return replies.error();
    const auto& length = (*replies)[0];
    const auto& pending = (*replies)[1];
    const long long in_flight = !pending.is_error() && !pending.elements.empty() ? pending.elements[0].integer : 0;
    counts.in_flight += in_flight;
    counts.queued[priority] = std::max(0LL, length.integer - in_flight);
    std::string last_delivered = "0-0";
    for (const auto& group : (*replies)[2].elements) {
      const auto fields = fields_from_flat(queue_reply_strings(group));
      if (fields.count("name") && fields.at("name") == k_consumer_group && fields.count("last-delivered-id")) {
        last_delivered = fields.at("last-delivered-id");
      }
    }
    if (counts.queued[priority] == 0) continue;
    auto oldest = run({"XRANGE", stream, "(" + last_delivered, "+", "COUNT", "1"}, "reading the job stream");
    if (!oldest) return oldest.error();
    if (oldest->elements.empty() || oldest->elements[0].elements.empty()) continue;
    if (const auto at = entry_time_ms(oldest->elements[0].elements[0].text)) {
      const double age = static_cast<double>(unix_ms() - *at) / 1000.0;
      counts.oldest_queued_age_s = std::max(counts.oldest_queued_age_s.value_or(0.0), age);
    }
  }
  auto replies = m_connection->pipeline({{"ZCARD", m_keys.delayed()}, {"LLEN", m_keys.dead()}});
  if (!replies) return replies.error();
  counts.delayed = (*replies)[0].integer;
  counts.dead = (*replies)[1].integer;
  auto workers = m_connection->scan_keys(m_keys.workers_pattern());
  if (!workers) return workers.error();
  counts.live_workers = static_cast<long long>(workers->size());
  return counts;
}

Expected<void> JobQueue::register_worker(const std::string& description, std::chrono::milliseconds ttl) {
  auto reply = run({"SET", m_keys.worker(m_consumer), description, "PX", std::to_string(ttl.count())}, "registering the worker");
  if (!reply) return reply.error();
  return {};
}

Expected<void> JobQueue::unregister_worker() {
  auto reply = run({"DEL", m_keys.worker(m_consumer)}, "unregistering the worker");
  if (!reply) return reply.error();
  return {};
}

Expected<void> JobQueue::update_status(const std::string& run_id, const std::map<std::string, std::string>& fields) {
  return stamp_hash(m_keys.status(run_id), fields, "updating the status of run " + run_id);
}

}  // namespace pipeline::queue
