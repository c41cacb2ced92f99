#pragma once

#include "lib/util/cancel.hpp"

namespace pipeline::llm {

// Sleeps for `seconds` unless the token stops first; returns the stop reason
// (StopReason::none when the whole sleep passed). Wakes within 50 ms of a stop.
util::StopReason sleep_unless_stopped(double seconds, const util::CancelToken& cancel);

}  // namespace pipeline::llm
