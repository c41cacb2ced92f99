#pragma once

#include <stdlib.h>

#include <optional>
#include <string>

namespace pipeline::testing {

// Sets (or, with nullopt, unsets) an environment variable of this process
// for one scope and puts back what was there.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::optional<std::string>& value) : m_name(std::move(name)) {
    if (const char* previous = ::getenv(m_name.c_str())) m_previous = previous;
    set(value);
  }
  ~ScopedEnv() { set(m_previous); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  void set(const std::optional<std::string>& value) const {
    if (value) {
      ::setenv(m_name.c_str(), value->c_str(), 1);
    } else {
      ::unsetenv(m_name.c_str());
    }
  }

  std::string m_name;
  std::optional<std::string> m_previous;
};

}  // namespace pipeline::testing
