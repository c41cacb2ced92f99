#include "lib/util/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <sstream>

namespace pipeline::util {
namespace {

Error io_error(std::string_view what, const std::filesystem::path& path) {
  return fail(ErrorKind::failed, std::string(what) + " " + path.string() + ": " + std::strerror(errno));
}

bool write_all(int fd, std::string_view content) {
  while (!content.empty()) {
    ssize_t written = ::write(fd, content.data(), content.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    content.remove_prefix(static_cast<size_t>(written));
  }
  return true;
}

// Closes a descriptor when it goes out of scope.
struct FileCloser {
  int fd;
  ~FileCloser() { ::close(fd); }
};

// "a FIFO", "a directory"...: what a file that is not regular is, for a message.
std::string file_type_text(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "a special file";
}

// Unique among live processes (the pid) and among a process's writes; a
// forked child shares its parent's generator state, hence the pid.
std::string random_suffix() {
  static thread_local std::mt19937_64 generator{std::random_device{}()};
  std::ostringstream out;
  out << ::getpid() << '-' << std::hex << generator();
  return out.str();
}

}  // namespace

Expected<std::string> read_file(const std::filesystem::path& path, const ReadLimits& limits) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer.
  const int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | (limits.follow_symlinks ? 0 : O_NOFOLLOW);
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) {
    if (errno == ELOOP && !limits.follow_symlinks) {
      return fail(ErrorKind::bad_input, path.string() + " is a symbolic link; it is not followed");
    }
    return fail(ErrorKind::bad_input, "cannot read " + path.string() + ": " + std::strerror(errno));
  }
  const FileCloser closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0) return fail(ErrorKind::bad_input, "cannot read " + path.string() + ": " + std::strerror(errno));
  if (!S_ISREG(info.st_mode)) {
    return fail(ErrorKind::bad_input, path.string() + " is " + file_type_text(info.st_mode) + ", not a regular file");
  }
  const auto too_large = [&] {
    return fail(ErrorKind::bad_input,
                path.string() + " is too large: at most " + std::to_string(limits.max_bytes) + " bytes are read here");
  };
  if (static_cast<std::uint64_t>(info.st_size) > limits.max_bytes) return too_large();
  std::string text;
  text.reserve(static_cast<std::size_t>(info.st_size));
  char buffer[1 << 16];
  while (true) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got < 0) return fail(ErrorKind::bad_input, "error while reading " + path.string() + ": " + std::strerror(errno));
    if (got == 0) break;
    if (text.size() + static_cast<std::size_t>(got) > limits.max_bytes) return too_large();
    text.append(buffer, static_cast<std::size_t>(got));
  }
  return text;
}

Expected<void> write_file_atomic(const std::filesystem::path& path, std::string_view content, Sync sync) {
  const auto directory = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  auto temporary = directory / ("." + path.filename().string() + ".tmp-" + random_suffix());
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  // A killed writer may have left a temporary of the same name behind.
  for (int attempt = 0; fd < 0 && errno == EEXIST && attempt < 8; ++attempt) {
    temporary = directory / ("." + path.filename().string() + ".tmp-" + random_suffix());
    fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  }
  if (fd < 0) return io_error("cannot create", temporary);
  if (!write_all(fd, content) || (sync == Sync::now && ::fsync(fd) != 0)) {
    auto error = io_error("cannot write", temporary);
    ::close(fd);
    ::unlink(temporary.c_str());
    return error;
  }
  ::close(fd);
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    auto error = io_error("cannot replace", path);
    ::unlink(temporary.c_str());
    return error;
  }
  if (sync == Sync::later) return {};
  int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return {};
}

Expected<void> sync_filesystem(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open", path);
  const bool ok = ::syncfs(fd) == 0;
  auto error = ok ? Error{} : io_error("cannot flush the file system of", path);
  ::close(fd);
  if (!ok) return error;
  return {};
}

Expected<void> append_line(const std::filesystem::path& path, std::string_view line, Sync sync) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
  if (fd < 0 && errno == ELOOP) {
    return fail(ErrorKind::bad_input, path.string() + " is a symbolic link; it is not followed");
  }
  if (fd < 0) return io_error("cannot open", path);
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return fail(ErrorKind::bad_input, path.string() + " is not a regular file");
  }
  std::string record(line);
  record.push_back('\n');
  bool ok = write_all(fd, record) && (sync == Sync::later || ::fdatasync(fd) == 0);
  auto error = ok ? Error{} : io_error("cannot append to", path);
  ::close(fd);
  if (!ok) return error;
  return {};
}

}  // namespace pipeline::util
