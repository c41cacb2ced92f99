#pragma once

#include <string>

extern "C" {
#include <mupdf/fitz.h>
}

namespace pipeline::pdf {

// One MuPDF context for one thread. MuPDF's error and warning messages go to
// util::log_verbose (shown only with --verbose), never straight to stderr.
// MuPDF contexts must not be shared between threads; create one per thread or
// per task.
class MupdfContext {
 public:
  MupdfContext();
  ~MupdfContext();
  MupdfContext(const MupdfContext&) = delete;
  MupdfContext& operator=(const MupdfContext&) = delete;

  // False when MuPDF could not allocate a context (out of memory).
  explicit operator bool() const { return m_ctx != nullptr; }
  fz_context* get() const { return m_ctx; }

  // The message of the last MuPDF error caught on this context.
  std::string last_error() const;

 private:
  fz_context* m_ctx = nullptr;
};

}  // namespace pipeline::pdf
