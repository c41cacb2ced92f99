#include "tests/fake_server/pattern_example.hpp"

#include <array>
#include <regex>

namespace pipeline::testing {
namespace {

constexpr std::array k_example_words = {"refill", "pantry", "season", "local", "bundle", "fresh", "market", "daily",
                                "craft", "circle", "origin", "shelf", "family", "plant", "trial", "direct"};

// Walks a pattern once, writing one matching string.
class PatternWriter {
 public:
  PatternWriter(const std::string& pattern, std::uint64_t seed) : m_pattern(pattern), m_seed(seed) {}

  std::optional<std::string> write() {
    std::string out;
    if (!sequence(out, true) || m_pos != m_pattern.size()) return std::nullopt;
    return out;
  }

 private:
  std::string word() { return k_example_words[next() % k_example_words.size()]; }
  std::uint64_t next() {
    // splitmix64: neighbouring seeds give unrelated words.
    std::uint64_t z = (m_seed += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  bool at_end() const { return m_pos >= m_pattern.size(); }

  // Alternatives up to ')' or the end; only the first is written.
  bool sequence(std::string& out, bool emit) {
    bool first = true;
    while (!at_end() && m_pattern[m_pos] != ')') {
      if (m_pattern[m_pos] == '|') {
        ++m_pos;
        first = false;
        continue;
      }
      if (!atom(out, emit && first)) return false;
    }
    return true;
  }

  // One atom with its quantifier.
  bool atom(std::string& out, bool emit) {
    const char c = m_pattern[m_pos];
    if (c == '^' || c == '$') {
      ++m_pos;
      return true;
    }
    std::string single;  // what one repetition writes
    bool wordlike = false;  // '.', \S or \w: repeated, it writes a word
    bool is_group = false;
    if (c == '(') {
      ++m_pos;
      if (m_pattern.compare(m_pos, 2, "?:") == 0) m_pos += 2;
      is_group = true;
      const size_t inner = m_pos;
      std::string ignored;
      if (!sequence(ignored, false) || at_end()) return false;
      m_group = m_pattern.substr(inner, m_pos - inner);
      ++m_pos;
    } else if (c == '[') {
      const size_t close = m_pattern.find(']', m_pos + 1);
      if (close == std::string::npos || m_pattern[m_pos + 1] == '^') return false;
      single = std::string(1, m_pattern[m_pos + 1]);
      m_pos = close + 1;
    } else if (c == '\\') {
      if (m_pos + 1 >= m_pattern.size()) return false;
      const char e = m_pattern[m_pos + 1];
      m_pos += 2;
      if (e == 'S' || e == 'w') wordlike = true, single = "a";
      else if (e == 's') single = " ";
      else if (e == 'd') single = "7";
      else if (std::string("bBDW").find(e) != std::string::npos) return false;
      else single = std::string(1, e);
    } else if (c == '.') {
      ++m_pos;
      wordlike = true;
      single = "a";
    } else if (std::string("*+?{").find(c) != std::string::npos) {
      return false;
    } else {
      ++m_pos;
      single = std::string(1, c);
    }
    const std::string group = is_group ? m_group : std::string();
    auto [low, high] = quantifier();
    if (low < 0) return false;
    if (!emit) return true;
    // Repeat a group a little beyond its minimum, for variety; atoms the minimum.
    int count = low;
    if (is_group && high > low) count = low + static_cast<int>(next() % static_cast<std::uint64_t>(std::min(high - low, 3) + 1));
    for (int i = 0; i < count; ++i) {
      if (is_group) {
        PatternWriter inner(group, next());
        auto text = inner.write();
        if (!text) return false;
        out += *text;
      } else if (wordlike && (high > 1 || high < 0)) {
        out += word();
      } else {
        out += single;
      }
    }
    return true;
  }

  // {low, high} repetitions; high -1 means unbounded; low -1 on a malformed quantifier.
  std::pair<int, int> quantifier() {
    if (at_end()) return {1, 1};
    const char c = m_pattern[m_pos];
    if (c == '?') return ++m_pos, std::pair{0, 1};
    if (c == '*') return ++m_pos, std::pair{0, -1};
    if (c == '+') return ++m_pos, std::pair{1, -1};
    if (c != '{') return {1, 1};
    const size_t close = m_pattern.find('}', m_pos);
    if (close == std::string::npos) return {-1, -1};
    const std::string body = m_pattern.substr(m_pos + 1, close - m_pos - 1);
    m_pos = close + 1;
    const size_t comma = body.find(',');
    try {
      if (comma == std::string::npos) return {std::stoi(body), std::stoi(body)};
      const int low = std::stoi(body.substr(0, comma));
      const int high = comma + 1 < body.size() ? std::stoi(body.substr(comma + 1)) : -1;
      return {low, high};
    } catch (const std::exception&) {
      return {-1, -1};
    }
  }

  const std::string m_pattern;
  std::uint64_t m_seed;
  size_t m_pos = 0;
  std::string m_group;
};

}  // namespace

std::optional<std::string> example_for_pattern(const std::string& pattern, std::uint64_t seed) {
  auto text = PatternWriter(pattern, seed).write();
  if (!text) return std::nullopt;
  try {
    if (!std::regex_search(*text, std::regex(pattern, std::regex::ECMAScript))) return std::nullopt;
  } catch (const std::regex_error&) {
    return std::nullopt;
  }
  return text;
}

}  // namespace pipeline::testing
