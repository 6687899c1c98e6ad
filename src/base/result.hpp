// Errors as values: a Result<T> holds either a T or an Error that says what was
// being done and, where a syscall failed, its errno. Used everywhere instead of
// exceptions or bare -1, so that a failure deep in zone setup reaches the user
// as one line with its context ("bind-mount console on /dev/console: EPERM").
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace vcon {

struct Error {
  std::string what;  // what was being done, and why it failed when known
  int errno_value = 0;
  int exit_code = 1;  // what the CLI exits with when this error ends a command

  // "what: strerror(errno)" or just "what".
  std::string message() const;
};

// Error from the current errno, with context.
Error errno_error(std::string what);
inline Error make_error(std::string what) { return Error{std::move(what), 0}; }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}
  Result(Error error) : state_(std::move(error)) {}

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  const T& value() const& { return std::get<0>(state_); }
  const Error& error() const { return std::get<1>(state_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool failed_ = false;
};

// Propagate a failed Result from the current function (SerenityOS' TRY).
#define VCON_TRY(expr)                                   \
  do {                                                   \
    auto vcon_try_result_ = (expr);                      \
    if (!vcon_try_result_) return vcon_try_result_.error(); \
  } while (0)

}  // namespace vcon
