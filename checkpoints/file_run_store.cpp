#include "checkpoints/file_run_store.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "checkpoints/run_verification.hpp"
#include "lib/util/file_io.hpp"
#include "lib/util/host_name.hpp"
#include "lib/util/json_text.hpp"
#include "lib/util/random_hex.hpp"
#include "lib/util/sha256.hpp"
#include "lib/util/time.hpp"

namespace pipeline::checkpoints {
namespace {

namespace fs = std::filesystem;
using util::ErrorKind;
using util::fail;

// The text of an open file from its start; empty on any error.
std::string read_fd(int fd) {
  std::string text;
  char buffer[512];
  off_t offset = 0;
  while (true) {
    const ssize_t got = ::pread(fd, buffer, sizeof buffer, offset);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    text.append(buffer, static_cast<size_t>(got));
    offset += got;
    if (text.size() > 4096) break;
  }
  return text;
}

// Who a lock file's record names.
struct Holder {
  pid_t pid = 0;
  std::string host;
};

// The holder a lock file's record names, or nullopt while it is not written
// yet (or is empty because its holder let go).
std::optional<Holder> parse_holder(const std::string& record) {
  const auto parsed = util::parse_json_or_discarded(record);
  if (!parsed.is_object()) return std::nullopt;
  const auto pid = parsed.find("pid");
  const auto host = parsed.find("host");
  if (pid == parsed.end() || !pid->is_number_integer() || host == parsed.end() || !host->is_string()) {
    return std::nullopt;
  }
  // kill(2) reads 0 and negative pids as process groups; no holder has one.
  const auto number = pid->get<long long>();
  if (number <= 0 || number > std::numeric_limits<pid_t>::max()) return std::nullopt;
  return Holder{static_cast<pid_t>(number), host->get<std::string>()};
}

// "pid N on host H" from a lock file's record, or nullopt while it is not written yet.
std::optional<std::string> describe_holder(const std::string& record) {
  const auto holder = parse_holder(record);
  if (!holder) return std::nullopt;
  return fmt::format("pid {} on host {}", holder->pid, holder->host);
}

// Holds the flock on a run's .lock file; closing the descriptor releases it,
// and so does the kernel when the process dies.
class FileRunLock : public RunLock {
 public:
  explicit FileRunLock(int fd) : m_fd(fd) {}
  ~FileRunLock() override {
    // The record names a live holder only; an empty file means "free".
    if (::ftruncate(m_fd, 0) != 0) {
      // Nothing to do: the lock is released by close() all the same.
    }
    ::close(m_fd);
  }
  FileRunLock(const FileRunLock&) = delete;
  FileRunLock& operator=(const FileRunLock&) = delete;

 private:
  int m_fd;
};

// Refuses a path inside a run whose folders (or the file itself) include a
// symbolic link, so that nothing is read or written outside the run folder
// through a link planted in it. A writer racing the check is not guarded
// against: the store trusts the processes that hold a run's lock.
util::Expected<void> refuse_links_inside_run(const fs::path& dir, const std::string& relative) {
  fs::path at = dir;
  for (const auto& part : fs::path(relative)) {
    at /= part;
    std::error_code ec;
    const auto status = fs::symlink_status(at, ec);
    if (ec || !fs::exists(status)) return {};
    if (fs::is_symlink(status)) {
      return fail(ErrorKind::bad_input,
                  fmt::format("{} is a symbolic link inside run folder {}; the run is refused rather than read or "
                              "written through it",
                              at.string(), dir.string()));
    }
  }
  return {};
}

// The regular files of a run are read without following links, and capped.
util::Expected<std::string> read_run_file(const fs::path& dir, const std::string& relative) {
  if (auto inside = refuse_links_inside_run(dir, relative); !inside) return inside.error();
  return util::read_file(dir / relative, {.follow_symlinks = false});
}

bool is_leftover_temporary(const fs::path& path) {
  const std::string name = path.filename().string();
  return name.size() > 1 && name.front() == '.' && name.find(".tmp-") != std::string::npos;
}

// Removes the temporary files of writes that a kill interrupted; only safe
// while holding the run's lock, when no other writer can be mid-write.
void remove_leftover_temporaries(const fs::path& dir) {
  std::error_code ec;
  std::vector<fs::path> leftovers;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && is_leftover_temporary(it->path())) leftovers.push_back(it->path());
  }
  for (const auto& path : leftovers) fs::remove(path, ec);
}

}  // namespace

FileRunStore::FileRunStore(fs::path root) : m_root(std::move(root)) {}

util::Expected<fs::path> FileRunStore::existing_run_dir(const std::string& run_id) const {
  if (!is_valid_run_id(run_id)) return invalid_run_id_error(run_id);
  fs::path dir = run_dir(run_id);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return fail(ErrorKind::bad_input, fmt::format("run {} not found in {}", run_id, m_root.string()));
  }
  return dir;
}

util::Expected<std::unique_ptr<RunLock>> FileRunStore::create(const std::string& run_id) {
  if (!is_valid_run_id(run_id)) return invalid_run_id_error(run_id);
  std::error_code ec;
  fs::create_directories(m_root, ec);
  if (ec) return fail(ErrorKind::failed, fmt::format("cannot create the runs folder {}: {}", m_root.string(), ec.message()));
  const fs::path dir = run_dir(run_id);
  if (::mkdir(dir.c_str(), 0755) == 0) return lock(run_id);
  if (errno != EEXIST) {
    return fail(ErrorKind::failed, fmt::format("cannot create {}: {}", dir.string(), std::strerror(errno)));
  }
  if (!fs::is_directory(dir, ec)) {
    return fail(ErrorKind::bad_input,
                fmt::format("cannot create run {}: {} exists and is not a folder", run_id, dir.string()));
  }
  const auto exists_already = [&] {
    return fail(ErrorKind::bad_input, fmt::format("run {} exists already", run_id));
  };
  if (exists(run_id)) return exists_already();

  // A folder without a checkpoint: either its creator is still at work (and
  // holds the lock) or it was killed before its first save.
  auto held = lock(run_id);
  if (!held) return held.error();
  // The creator may have saved and let go between the two checks above.
  if (exists(run_id)) return exists_already();
  std::vector<fs::path> leftovers;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename() != k_lock_file) leftovers.push_back(it->path());
  }
  if (ec) return fail(ErrorKind::failed, fmt::format("cannot read {}: {}", dir.string(), ec.message()));
  for (const auto& leftover : leftovers) {
    fs::remove_all(leftover, ec);
    if (ec) {
      return fail(ErrorKind::failed, fmt::format("cannot clear {} left by an interrupted creation of run {}: {}",
                                                 leftover.string(), run_id, ec.message()));
    }
  }
  return held;
}

bool FileRunStore::exists(const std::string& run_id) const {
  std::error_code ec;
  return is_valid_run_id(run_id) && fs::is_regular_file(run_dir(run_id) / k_checkpoint_file, ec);
}

std::vector<std::string> FileRunStore::list() const {
  std::vector<std::string> ids;
  std::error_code ec;
  for (fs::directory_iterator it(m_root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code file_ec;
    if (is_valid_run_id(name) && it->is_directory(file_ec) && fs::is_regular_file(it->path() / k_checkpoint_file, file_ec)) {
      ids.push_back(name);
    }
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

util::Expected<RunState> FileRunStore::load(const std::string& run_id, int redo_from) const {
  auto state = read_checkpoint(run_id);
  if (!state) return state.error();
  auto dir = existing_run_dir(run_id);
  if (!dir) return dir.error();
  auto verified = verify_run_contents(*state, redo_from, dir->string(),
                                      [&](const std::string& relative) -> util::Expected<std::optional<std::string>> {
                                        const fs::path file = *dir / relative;
                                        if (auto inside = refuse_links_inside_run(*dir, relative); !inside) {
                                          return inside.error();
                                        }
                                        std::error_code ec;
                                        if (!fs::is_regular_file(file, ec)) return std::optional<std::string>();
                                        auto digest = util::sha256_file(file);
                                        if (!digest) return digest.error();
                                        return std::optional<std::string>(std::move(*digest));
                                      });
  if (!verified) return verified.error();
  return state;
}

util::Expected<RunState> FileRunStore::read_checkpoint(const std::string& run_id) const {
  auto dir = existing_run_dir(run_id);
  if (!dir) return dir.error();
  const fs::path path = *dir / k_checkpoint_file;
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(path, ec))) {
    return fail(ErrorKind::bad_input,
                fmt::format("run {} not found in {} (its folder has no {})", run_id, m_root.string(), k_checkpoint_file));
  }
  auto text = read_run_file(*dir, k_checkpoint_file);
  if (!text) return text.error();

  auto json = util::parse_json(*text);
  if (!json) {
    return fail(ErrorKind::bad_input, fmt::format("checkpoint {} of run {} is corrupt: {}; the file was left untouched",
                                                  path.string(), run_id, json.error().message));
  }

  auto state = from_json(*json);
  if (!state) {
    return fail(ErrorKind::bad_input,
                fmt::format("{} (in {}; the file was left untouched)", state.error().message, path.string()));
  }
  if (state->run_id != run_id) {
    return fail(ErrorKind::bad_input,
                fmt::format("checkpoint {} names run \"{}\", not \"{}\"; was the folder renamed? (the file was left "
                            "untouched)",
                            path.string(), state->run_id, run_id));
  }
  return state;
}

util::Expected<void> FileRunStore::save(const RunState& state) {
  if (!is_valid_run_id(state.run_id)) return invalid_run_id_error(state.run_id);
  std::error_code ec;
  const fs::path dir = run_dir(state.run_id);
  if (!fs::is_directory(dir, ec)) {
    return fail(ErrorKind::failed,
                fmt::format("cannot save run {}: it does not exist in {}", state.run_id, m_root.string()));
  }
  const nlohmann::json json = to_json(state);
  // Never write a checkpoint that load would refuse.
  if (auto check = from_json(json); !check) {
    return fail(ErrorKind::failed, fmt::format("refusing to save run {}: {}", state.run_id, check.error().message));
  }
  std::string text = util::dump_json(json, 2);
  text.push_back('\n');
  return util::write_file_atomic(dir / k_checkpoint_file, text, util::Sync::later);
}

util::Expected<void> FileRunStore::flush(const std::string& run_id) {
  auto dir = existing_run_dir(run_id);
  if (!dir) return dir.error();
  return util::sync_filesystem(*dir);
}

util::Expected<ArtifactRef> FileRunStore::write_artifact(const std::string& run_id, const std::string& path,
                                                         std::string_view content) {
  auto dir = existing_run_dir(run_id);
  if (!dir) return dir.error();
  if (!is_safe_artifact_path(path)) {
    return fail(ErrorKind::bad_input, fmt::format("artifact path \"{}\" is not a relative path inside the run", path));
  }
  const fs::path file = *dir / path;
  if (auto inside = refuse_links_inside_run(*dir, path); !inside) return inside.error();
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec) return fail(ErrorKind::failed, fmt::format("cannot create {}: {}", file.parent_path().string(), ec.message()));
  auto written = util::write_file_atomic(file, content, util::Sync::later);
  if (!written) return written.error();
  return ArtifactRef{path, util::sha256_hex(content)};
}

util::Expected<std::string> FileRunStore::read_artifact(const std::string& run_id, const std::string& path) const {
  auto dir = existing_run_dir(run_id);
  if (!dir) return dir.error();
  if (!is_safe_artifact_path(path)) {
    return fail(ErrorKind::bad_input, fmt::format("artifact path \"{}\" is not a relative path inside the run", path));
  }
  return read_run_file(*dir, path);
}

util::Expected<void> FileRunStore::append_event(const std::string& run_id, std::string_view line) {
  auto dir = existing_run_dir(run_id);
  if (!dir) return dir.error();
  if (line.find('\n') != std::string_view::npos) {
    return fail(ErrorKind::failed, "an event must be a single line");
  }
  return util::append_line(*dir / k_events_file, line, util::Sync::later);
}

util::Expected<std::vector<std::string>> FileRunStore::read_events(const std::string& run_id, std::size_t first) const {
  if (!is_valid_run_id(run_id)) return invalid_run_id_error(run_id);
  const fs::path path = m_root / run_id / k_events_file;
  std::error_code error;
  if (!fs::exists(fs::symlink_status(path, error))) return std::vector<std::string>{};
  auto text = util::read_file(path, {.follow_symlinks = false});
  if (!text) return text.error();
  std::vector<std::string> lines;
  std::size_t index = 0;
  std::size_t start = 0;
  for (std::size_t end = text->find('\n'); end != std::string::npos; end = text->find('\n', start)) {
    if (index++ >= first) lines.emplace_back(text->substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

util::Expected<std::unique_ptr<RunLock>> FileRunStore::lock(const std::string& run_id) {
  auto dir = existing_run_dir(run_id);
  if (!dir) return dir.error();
  const fs::path path = *dir / k_lock_file;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return fail(ErrorKind::failed, fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)));

  int result = 0;
  do {
    result = ::flock(fd, LOCK_EX | LOCK_NB);
  } while (result != 0 && errno == EINTR);
  if (result != 0) {
    const int error = errno;
    if (error != EWOULDBLOCK) {
      ::close(fd);
      return fail(ErrorKind::failed, fmt::format("cannot lock {}: {}", path.string(), std::strerror(error)));
    }
    // The holder writes its record just after taking the lock; give it a moment.
    std::optional<std::string> holder;
    for (int attempt = 0; attempt < 20 && !holder; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      holder = describe_holder(read_fd(fd));
    }
    ::close(fd);
    return fail(ErrorKind::busy, fmt::format("run {} is busy: locked by {}", run_id,
                                             holder.value_or("another process that has not recorded itself yet")),
                "locked");
  }

  auto lock = std::make_unique<FileRunLock>(fd);
  const nlohmann::json record{{"pid", static_cast<long long>(::getpid())}, {"host", util::host_name()},
                              {"since", util::now_iso8601()}};
  const std::string text = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    return fail(ErrorKind::failed, fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
  }
  remove_leftover_temporaries(*dir);
  return std::unique_ptr<RunLock>(std::move(lock));
}

std::optional<std::string> FileRunStore::lock_holder(const std::string& run_id) const {
  if (!is_valid_run_id(run_id)) return std::nullopt;
  const fs::path path = run_dir(run_id) / k_lock_file;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return std::nullopt;
  const std::string record = read_fd(fd);
  ::close(fd);
  const auto holder = parse_holder(record);
  if (!holder) return std::nullopt;
  const std::string description = fmt::format("pid {} on host {}", holder->pid, holder->host);
  // A process on another machine cannot be checked; assume it is at work.
  if (holder->host != util::host_name()) return description;
  if (::kill(holder->pid, 0) == 0 || errno == EPERM) return description;
  return std::nullopt;
}

util::Expected<std::uint64_t> FileRunStore::footprint(const std::string& run_id) const {
  auto dir = existing_run_dir(run_id);
  if (!dir) return dir.error();
  std::uint64_t bytes = 0;
  std::error_code ec;
  struct stat folder {};
  if (::lstat(dir->c_str(), &folder) == 0) bytes += static_cast<std::uint64_t>(folder.st_blocks) * 512;
  // Disk blocks, not file sizes: what the file system gets back. Links are
  // not followed; a run holds none that it owns. The lock file is left out:
  // its few bytes change with who holds it, and a measure taken without the
  // lock (a dry run) should be the one taken under it.
  for (fs::recursive_directory_iterator it(*dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path() == *dir / k_lock_file) continue;
    struct stat info {};
    if (::lstat(it->path().c_str(), &info) == 0) bytes += static_cast<std::uint64_t>(info.st_blocks) * 512;
  }
  if (ec) return fail(ErrorKind::failed, fmt::format("cannot measure {}: {}", dir->string(), ec.message()));
  return bytes;
}

util::Expected<void> FileRunStore::remove(const std::string& run_id) {
  auto dir = existing_run_dir(run_id);
  if (!dir) return dir.error();
  // Renamed first, in one step, so that no reader ever finds the run half
  // deleted; a name that starts with '.' is no run id, so list() skips it.
  const fs::path doomed = m_root / (".removed-" + run_id + "-" + util::random_hex(4));
  std::error_code ec;
  fs::rename(*dir, doomed, ec);
  if (ec) return fail(ErrorKind::failed, fmt::format("cannot remove run {}: {}", run_id, ec.message()));
  fs::remove_all(doomed, ec);
  if (ec) {
    return fail(ErrorKind::failed,
                fmt::format("run {} is removed, but deleting its files in {} failed: {}", run_id, doomed.string(),
                            ec.message()));
  }
  return {};
}

std::string FileRunStore::location(const std::string& run_id) const { return run_dir(run_id).string(); }

std::unique_ptr<RunStore> make_file_run_store(const fs::path& root) { return std::make_unique<FileRunStore>(root); }

util::Expected<void> FileRunStore::save_batch(const BatchManifest& manifest) {
  if (!is_valid_run_id(manifest.batch_id)) {
    return util::fail(util::ErrorKind::usage, fmt::format("batch id \"{}\" is not valid", manifest.batch_id));
  }
  std::error_code error;
  fs::create_directories(batch_path(manifest.batch_id).parent_path(), error);
  if (error) {
    return util::fail(util::ErrorKind::bad_input,
                      fmt::format("cannot make {}: {}", batch_path(manifest.batch_id).parent_path().string(), error.message()));
  }
  return util::write_file_atomic(batch_path(manifest.batch_id), util::dump_json(to_json(manifest), 2) + "\n");
}

util::Expected<BatchManifest> FileRunStore::load_batch(const std::string& batch_id) const {
  if (!batch_exists(batch_id)) {
    return util::fail(util::ErrorKind::bad_input, fmt::format("there is no batch {} in {}", batch_id, m_root.string()));
  }
  auto text = util::read_file(batch_path(batch_id));
  if (!text) return text.error();
  auto json = util::parse_json(*text);
  if (!json) {
    return util::fail(util::ErrorKind::bad_input,
                      fmt::format("{}: {}", batch_path(batch_id).string(), json.error().message));
  }
  auto manifest = batch_from_json(*json);
  if (!manifest) {
    return util::fail(util::ErrorKind::bad_input,
                      fmt::format("{}: {}", batch_path(batch_id).string(), manifest.error().message));
  }
  return manifest;
}

bool FileRunStore::batch_exists(const std::string& batch_id) const {
  std::error_code ignored;
  return is_valid_run_id(batch_id) && fs::is_regular_file(batch_path(batch_id), ignored);
}

util::Expected<void> FileRunStore::save_brand(const std::string& brand_id, std::string_view json) {
  if (!is_valid_run_id(brand_id)) {
    return util::fail(util::ErrorKind::bad_input, fmt::format("brand id \"{}\" is not valid", brand_id));
  }
  std::error_code error;
  fs::create_directories(brand_path(brand_id).parent_path(), error);
  if (error) {
    return util::fail(util::ErrorKind::bad_input,
                      fmt::format("cannot make {}: {}", brand_path(brand_id).parent_path().string(), error.message()));
  }
  return util::write_file_atomic(brand_path(brand_id), json);
}

util::Expected<std::optional<std::string>> FileRunStore::find_brand(const std::string& brand_id) const {
  std::error_code ignored;
  if (!is_valid_run_id(brand_id) || !fs::is_regular_file(brand_path(brand_id), ignored)) {
    return std::optional<std::string>();
  }
  auto text = util::read_file(brand_path(brand_id));
  if (!text) return text.error();
  return std::optional<std::string>(std::move(*text));
}

std::vector<std::string> FileRunStore::list_brands() const {
  std::vector<std::string> ids;
  std::error_code ec;
  for (fs::directory_iterator it(m_root / ".brands", ec), end; !ec && it != end; it.increment(ec)) {
    const auto& path = it->path();
    std::error_code file_ec;
    if (path.extension() == ".json" && is_valid_run_id(path.stem().string()) && it->is_regular_file(file_ec)) {
      ids.push_back(path.stem().string());
    }
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace pipeline::checkpoints
