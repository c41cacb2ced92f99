#include "service/folder_job_board.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "checkpoints/run_state.hpp"
#include "lib/util/error.hpp"
#include "lib/util/file_io.hpp"
#include "lib/util/json_text.hpp"
#include "lib/util/log.hpp"

namespace pipeline::service {
namespace fs = std::filesystem;
using queue::Job;
using queue::JobState;
using util::ErrorKind;

namespace {

constexpr const char* k_jobs_dir = ".jobs";
constexpr const char* k_serve_lock = ".serve.lock";
// A job file is a few hundred bytes; anything far larger was not written by us.
constexpr std::uint64_t k_max_job_file_bytes = 64 * 1024;

util::Error board_error(ErrorKind kind, std::string message) { return util::fail(kind, std::move(message)); }

}  // namespace

util::Expected<std::unique_ptr<FolderJobBoard>> FolderJobBoard::open(const fs::path& root) {
  const fs::path dir = root / k_jobs_dir;
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) return board_error(ErrorKind::failed, fmt::format("cannot make {}: {}", dir.string(), error.message()));
  const fs::path lock_path = dir / k_serve_lock;
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    return board_error(ErrorKind::failed, fmt::format("cannot open {}: {}", lock_path.string(), std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return board_error(ErrorKind::busy,
                       fmt::format("another `pipeline serve` runs the jobs of the folder store {}", root.string()));
  }
  std::unique_ptr<FolderJobBoard> board(new FolderJobBoard(dir, fd));
  if (auto loaded = board->load(); !loaded) return loaded.error();
  return board;
}

FolderJobBoard::FolderJobBoard(fs::path dir, int lock_fd) : m_dir(std::move(dir)), m_lock_fd(lock_fd) {}

FolderJobBoard::~FolderJobBoard() {
  close();
  ::close(m_lock_fd);
}

util::Expected<void> FolderJobBoard::load() {
  std::vector<Job> jobs;
  std::error_code error;
  for (const auto& item : fs::directory_iterator(m_dir, error)) {
    const fs::path path = item.path();
    if (path.extension() != ".json" || !item.is_regular_file()) continue;
    auto text = util::read_file(path, {.max_bytes = k_max_job_file_bytes, .follow_symlinks = false});
    auto json = text ? util::parse_json(*text) : util::Expected<nlohmann::json>(text.error());
    std::map<std::string, std::string> fields;
    if (json && json->is_object()) {
      for (const auto& [name, value] : json->items()) {
        if (value.is_string()) fields[name] = value.get<std::string>();
      }
    }
    auto job = Job::from_fields(fields);
    if (!job || job->job_id + ".json" != path.filename().string() || !checkpoints::is_valid_run_id(job->job_id)) {
      // A damaged job file is left where it is for a person to look at; it runs nothing.
      util::log_verbose(fmt::format("ignoring {}: not a job file", path.string()));
      continue;
    }
    jobs.push_back(std::move(*job));
  }
  if (error) return board_error(ErrorKind::failed, fmt::format("cannot list {}: {}", m_dir.string(), error.message()));
  std::sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) {
    return std::tie(a.created_at, a.job_id) < std::tie(b.created_at, b.job_id);
  });
  for (auto& job : jobs) {
    // The process that ran it is gone: it resumes from the run's checkpoint.
    if (job.state == JobState::running) {
      job.state = JobState::queued;
      if (auto saved = persist(job); !saved) return saved.error();
    }
    const std::string id = job.job_id;
    m_jobs[id] = Entry{std::move(job), m_next_order++, {}};
  }
  return {};
}

util::Expected<void> FolderJobBoard::persist(const Job& job) {
  nlohmann::json json = nlohmann::json::object();
  for (const auto& [name, value] : job.to_fields()) json[name] = value;
  return util::write_file_atomic(m_dir / (job.job_id + ".json"), util::dump_json(json, 2) + "\n", util::Sync::later);
}

util::Expected<void> FolderJobBoard::enqueue(Job job) {
  if (!checkpoints::is_valid_run_id(job.job_id)) return checkpoints::invalid_run_id_error(job.job_id);
  std::lock_guard lock(m_mutex);
  if (const auto found = m_jobs.find(job.job_id); found != m_jobs.end() && !queue::is_final(found->second.job.state)) {
    return board_error(ErrorKind::bad_input, fmt::format("run {} is {} in the queue already", job.run_id,
                                                         queue::to_string(found->second.job.state)));
  }
  const std::string now = util::now_iso8601();
  job.state = JobState::queued;
  if (job.created_at.empty()) job.created_at = now;
  job.updated_at = now;
  if (auto saved = persist(job); !saved) return saved.error();
  const std::string id = job.job_id;
  m_jobs[id] = Entry{std::move(job), m_next_order++, {}};
  m_wake.notify_one();
  return {};
}

util::Expected<std::optional<Job>> FolderJobBoard::find(const std::string& job_id) {
  std::lock_guard lock(m_mutex);
  const auto found = m_jobs.find(job_id);
  if (found == m_jobs.end()) return std::optional<Job>();
  return std::optional<Job>(found->second.job);
}

util::Expected<Job> FolderJobBoard::cancel(const std::string& job_id) {
  std::function<void(const std::string&)> observer;
  Job cancelled;
  {
    std::lock_guard lock(m_mutex);
    const auto found = m_jobs.find(job_id);
    if (found == m_jobs.end()) return board_error(ErrorKind::bad_input, fmt::format("there is no job {}", job_id));
    Job& job = found->second.job;
    if (queue::is_final(job.state)) {
      return board_error(ErrorKind::bad_input,
                         fmt::format("job {} is {}; there is nothing to cancel", job_id, queue::to_string(job.state)));
    }
    const bool running = job.state == JobState::running;
    job.state = JobState::cancelled;
    job.finished_at = job.updated_at = util::now_iso8601();
    if (auto saved = persist(job); !saved) return saved.error();
    cancelled = job;
    if (running) observer = m_on_cancel;
  }
  if (observer) observer(job_id);
  return cancelled;
}

util::Expected<Job> FolderJobBoard::retry(const std::string& job_id, int redo_from) {
  std::lock_guard lock(m_mutex);
  const auto found = m_jobs.find(job_id);
  if (found == m_jobs.end()) return board_error(ErrorKind::bad_input, fmt::format("there is no job {}", job_id));
  Job& job = found->second.job;
  const bool redoing_done = job.state == JobState::done && redo_from > 0;
  if (job.state != JobState::failed && job.state != JobState::dead && job.state != JobState::cancelled && !redoing_done) {
    return board_error(ErrorKind::bad_input, fmt::format("job {} is {}; only a failed, dead or cancelled job is retried",
                                                         job_id, queue::to_string(job.state)));
  }
  job.state = JobState::queued;
  job.redo_from = redo_from;
  job.deaths = 0;
  job.error.clear();
  job.finished_at.clear();
  job.updated_at = util::now_iso8601();
  if (auto saved = persist(job); !saved) return saved.error();
  found->second.order = m_next_order++;
  found->second.due = {};
  m_wake.notify_one();
  return job;
}

util::Expected<std::vector<Job>> FolderJobBoard::list() {
  std::lock_guard lock(m_mutex);
  std::vector<const Entry*> entries;
  for (const auto& [id, entry] : m_jobs) entries.push_back(&entry);
  std::sort(entries.begin(), entries.end(), [](const Entry* a, const Entry* b) { return a->order < b->order; });
  std::vector<Job> jobs;
  for (const auto* entry : entries) jobs.push_back(entry->job);
  return jobs;
}

util::Expected<queue::QueueCounts> FolderJobBoard::counts() {
  std::lock_guard lock(m_mutex);
  queue::QueueCounts counts;
  for (const auto priority : queue::all_priorities()) counts.queued[priority] = 0;
  const auto now = util::Clock::now();
  for (const auto& [id, entry] : m_jobs) {
    switch (entry.job.state) {
      case JobState::queued:
        if (entry.due > now) {
          ++counts.delayed;
        } else {
          ++counts.queued[entry.job.priority];
        }
        break;
      case JobState::running:
        ++counts.in_flight;
        break;
      case JobState::dead:
        ++counts.dead;
        break;
      default:
        break;
    }
  }
  counts.live_workers = m_live_workers;
  return counts;
}

std::optional<Job> FolderJobBoard::take(std::chrono::milliseconds wait) {
  std::unique_lock lock(m_mutex);
  const auto give_up = util::Clock::now() + wait;
  while (!m_closed) {
    const auto now = util::Clock::now();
    Entry* next = nullptr;
    std::optional<util::Clock::time_point> next_due;
    for (auto& [id, entry] : m_jobs) {
      if (entry.job.state != JobState::queued) continue;
      if (entry.due > now) {
        if (!next_due || entry.due < *next_due) next_due = entry.due;
        continue;
      }
      if (!next || entry.job.priority < next->job.priority ||
          (entry.job.priority == next->job.priority && entry.order < next->order)) {
        next = &entry;
      }
    }
    if (next) {
      Job& job = next->job;
      job.state = JobState::running;
      ++job.attempts;
      job.started_at = job.updated_at = util::now_iso8601();
      if (auto saved = persist(job); !saved) util::log_verbose(saved.error().message);
      return job;
    }
    if (now >= give_up) return std::nullopt;
    auto until = give_up;
    if (next_due && *next_due < until) until = *next_due;
    m_wake.wait_until(lock, until);
  }
  return std::nullopt;
}

void FolderJobBoard::finish(const std::string& job_id, JobState state, const std::string& error) {
  std::lock_guard lock(m_mutex);
  const auto found = m_jobs.find(job_id);
  if (found == m_jobs.end()) return;
  Job& job = found->second.job;
  // A job cancelled while it ran stays cancelled, whatever the chain did after.
  if (job.state == JobState::cancelled) return;
  job.state = state;
  job.error = error;
  job.finished_at = job.updated_at = util::now_iso8601();
  if (auto saved = persist(job); !saved) util::log_verbose(saved.error().message);
}

void FolderJobBoard::give_back(const std::string& job_id, std::chrono::milliseconds delay, const std::string& error) {
  std::lock_guard lock(m_mutex);
  const auto found = m_jobs.find(job_id);
  if (found == m_jobs.end()) return;
  Job& job = found->second.job;
  if (job.state == JobState::cancelled) return;
  job.state = JobState::queued;
  job.error = error;
  job.updated_at = util::now_iso8601();
  found->second.due = util::Clock::now() + delay;
  if (auto saved = persist(job); !saved) util::log_verbose(saved.error().message);
  m_wake.notify_one();
}

void FolderJobBoard::clear_redo(const std::string& job_id) {
  std::lock_guard lock(m_mutex);
  const auto found = m_jobs.find(job_id);
  if (found == m_jobs.end() || found->second.job.redo_from == 0) return;
  found->second.job.redo_from = 0;
  if (auto saved = persist(found->second.job); !saved) util::log_verbose(saved.error().message);
}

void FolderJobBoard::on_cancel(std::function<void(const std::string& job_id)> observer) {
  std::lock_guard lock(m_mutex);
  m_on_cancel = std::move(observer);
}

void FolderJobBoard::set_live_workers(long long count) {
  std::lock_guard lock(m_mutex);
  m_live_workers = count;
}

void FolderJobBoard::close() {
  std::lock_guard lock(m_mutex);
  m_closed = true;
  m_wake.notify_all();
}

}  // namespace pipeline::service
