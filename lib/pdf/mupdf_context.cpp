#include "lib/pdf/mupdf_context.hpp"

#include <string>

#include "lib/util/log.hpp"

namespace pipeline::pdf {
namespace {

// MuPDF calls these from C code: they must not throw.
void forward_error(void*, const char* message) noexcept {
  try {
    util::log_verbose(std::string("MuPDF error: ") + message);
  } catch (...) {
  }
}

void forward_warning(void*, const char* message) noexcept {
  try {
    util::log_verbose(std::string("MuPDF warning: ") + message);
  } catch (...) {
  }
}

}  // namespace

MupdfContext::MupdfContext() {
  m_ctx = fz_new_context(nullptr, nullptr, FZ_STORE_DEFAULT);
  if (!m_ctx) return;
  fz_set_error_callback(m_ctx, forward_error, nullptr);
  fz_set_warning_callback(m_ctx, forward_warning, nullptr);
}

MupdfContext::~MupdfContext() {
  if (m_ctx) fz_drop_context(m_ctx);
}

std::string MupdfContext::last_error() const {
  if (!m_ctx) return "MuPDF could not create a context";
  const char* message = fz_caught_message(m_ctx);
  return message ? message : "";
}

}  // namespace pipeline::pdf
