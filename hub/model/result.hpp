#pragma once
// Errors are values at every component boundary (no exceptions cross an API).
// An Error names what was wrong precisely enough for a partner to fix it: the field
// (an XPath-like or JSON-pointer-like path), the rule broken, and for text input the
// line and column.

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace deit {

struct Error {
  std::string rule;     // short machine-readable rule id, e.g. "schema", "not-found", "sequence"
  std::string message;  // one sentence for a person
  std::string field;    // where, if it applies: "incident/location/postcode"
  int line = 0;         // 1-based, 0 when not text input
  int column = 0;

  static Error make(std::string rule, std::string message, std::string field = {}) {
    Error e;
    e.rule = std::move(rule);
    e.message = std::move(message);
    e.field = std::move(field);
    return e;
  }
  // "field: message (line L, column C)" — the form used in logs and CLI output.
  std::string describe() const;
};

// Result<T>: either a T or an Error. Deliberately small; std::expected is C++23.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Status: success or an Error, for calls that return nothing.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}
  static Status success() { return {}; }
  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

}  // namespace deit
