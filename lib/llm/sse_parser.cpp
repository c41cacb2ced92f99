#include "lib/llm/sse_parser.hpp"

namespace pipeline::llm {

std::vector<SseEvent> SseParser::feed(std::string_view bytes) {
  std::vector<SseEvent> out;
  for (char c : bytes) {
    // A line ends at CR, LF or CRLF; the LF of a CRLF pair is skipped.
    if (m_after_cr) {
      m_after_cr = false;
      if (c == '\n') continue;
    }
    if (c == '\r' || c == '\n') {
      m_after_cr = c == '\r';
      take_line(m_pending, out);
      m_pending.clear();
    } else {
      m_pending.push_back(c);
    }
  }
  return out;
}

std::vector<SseEvent> SseParser::finish() {
  std::vector<SseEvent> out;
  if (!m_pending.empty()) {
    take_line(m_pending, out);
    m_pending.clear();
  }
  dispatch(out);
  return out;
}

void SseParser::take_line(std::string_view line, std::vector<SseEvent>& out) {
  if (line.empty()) {
    dispatch(out);
    return;
  }
  if (line.front() == ':') return;  // a comment
  const auto colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "data" || field == "error") {
    // Older llama.cpp servers send a failure as an `error:` field instead of
    // `data:`; it comes out as an event named "error".
    if (field == "error") m_event = "error";
    if (m_has_data) m_data.push_back('\n');
    m_data.append(value);
    m_has_data = true;
  } else if (field == "event") {
    m_event = value;
  }
  // Other fields (id, retry) do not matter for chat completions.
}

void SseParser::dispatch(std::vector<SseEvent>& out) {
  if (m_has_data) out.push_back(SseEvent{m_event, m_data});
  m_event.clear();
  m_data.clear();
  m_has_data = false;
}

}  // namespace pipeline::llm
