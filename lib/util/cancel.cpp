#include "lib/util/cancel.hpp"

#include <csignal>

namespace pipeline::util {
namespace {

volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void record_stop_signal(int signal) {
  if (g_stop_signal == 0) g_stop_signal = signal;
}

}  // namespace

void install_stop_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = record_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int received_stop_signal() { return g_stop_signal; }

void reset_stop_signal() { g_stop_signal = 0; }

CancelToken::CancelToken() : m_cancelled(std::make_shared<std::atomic<bool>>(false)) {}

CancelToken::CancelToken(std::optional<Clock::time_point> deadline)
    : m_cancelled(std::make_shared<std::atomic<bool>>(false)), m_deadline(deadline) {}

CancelToken CancelToken::ignoring_signals(std::optional<Clock::time_point> deadline) {
  CancelToken token(deadline);
  token.m_ignores_signals = true;
  return token;
}

StopReason CancelToken::stop_reason() const {
  if (g_stop_signal != 0 && !m_ignores_signals) return StopReason::signal;
  if (m_cancelled->load()) return StopReason::cancelled;
  if (m_deadline && Clock::now() >= *m_deadline) return StopReason::deadline;
  return StopReason::none;
}

std::optional<double> CancelToken::seconds_left() const {
  if (!m_deadline) return std::nullopt;
  return std::chrono::duration<double>(*m_deadline - Clock::now()).count();
}

void CancelToken::cancel() const { m_cancelled->store(true); }

}  // namespace pipeline::util
