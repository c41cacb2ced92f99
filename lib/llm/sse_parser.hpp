#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pipeline::llm {

// One server-sent event: its `event:` name (often empty) and its data, with
// the lines of a multi-line `data:` field joined by "\n".
struct SseEvent {
  std::string event;
  std::string data;
  bool is_done() const { return data == "[DONE]"; }
};

// An incremental parser of a text/event-stream body. Bytes go in as they
// arrive, in pieces of any size; complete events come out. Comment lines
// (": OPENROUTER PROCESSING") produce no event, so callers can tell
// keep-alives from content. An `error:` field (older llama.cpp servers) is
// read like `data:` and names its event "error".
class SseParser {
 public:
  // The events completed by `bytes`, in order.
  std::vector<SseEvent> feed(std::string_view bytes);
  // The event still open when the stream ended without its blank line, if any.
  std::vector<SseEvent> finish();

 private:
  void take_line(std::string_view line, std::vector<SseEvent>& out);
  void dispatch(std::vector<SseEvent>& out);

  std::string m_pending;  // bytes of an unfinished line
  std::string m_event;
  std::string m_data;
  bool m_has_data = false;
  bool m_after_cr = false;
};

}  // namespace pipeline::llm
