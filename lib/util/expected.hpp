#pragma once

#include <cassert>
#include <optional>
#include <utility>
#include <variant>

#include "lib/util/error.hpp"

namespace pipeline::util {

// A value or an Error, in the manner of C++23's std::expected, for expected
// failures that the caller must look at.
template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : m_state(std::in_place_index<0>, std::move(value)) {}
  Expected(Error error) : m_state(std::in_place_index<1>, std::move(error)) {}

  bool has_value() const { return m_state.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { return std::get<0>(m_state); }
  const T& value() const& { return std::get<0>(m_state); }
  T&& value() && { return std::get<0>(std::move(m_state)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(m_state); }

  // The value, or throws FatalError with the error; for the CLI layer.
  T value_or_throw() && {
    if (!has_value()) throw FatalError(error());
    return std::get<0>(std::move(m_state));
  }

 private:
  std::variant<T, Error> m_state;
};

template <>
class [[nodiscard]] Expected<void> {
 public:
  Expected() = default;
  Expected(Error error) : m_error(std::move(error)) {}

  bool has_value() const { return !m_error.has_value(); }
  explicit operator bool() const { return has_value(); }
  const Error& error() const { return *m_error; }
  void value_or_throw() const {
    if (m_error) throw FatalError(*m_error);
  }

 private:
  std::optional<Error> m_error;
};

// Shorthand for returning an error: `return fail(ErrorKind::bad_input, "...")`.
inline Error fail(ErrorKind kind, std::string message, std::string code = {}) {
  return Error{kind, std::move(message), std::move(code)};
}

}  // namespace pipeline::util
