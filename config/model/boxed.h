#pragma once
// Boxed<T>: an optional value kept on the heap, in the size of one pointer. It has the part of
// std::optional<T>'s interface the model uses (set, test, reach, reset) and copies deeply; a
// moved-from Boxed is empty. For the large parts of a rule that are rarely set: a route
// action is 600 bytes, and a 1 MB URL map holds ten thousand path rules that almost never set
// one, so inline optionals would make up most of the map's memory.
#include <memory>
#include <optional>
#include <utility>

namespace albemu::model {

template <typename T>
class Boxed {
 public:
  Boxed() = default;
  Boxed(std::nullopt_t) {}  // NOLINT(google-explicit-constructor): as std::optional
  Boxed(T value)            // NOLINT(google-explicit-constructor): as std::optional
      : value_(std::make_unique<T>(std::move(value))) {}
  Boxed(const Boxed& other) : value_(other ? std::make_unique<T>(*other) : nullptr) {}
  Boxed(Boxed&&) noexcept = default;
  ~Boxed() = default;

  Boxed& operator=(const Boxed& other) {
    if (this != &other) value_ = other ? std::make_unique<T>(*other) : nullptr;
    return *this;
  }
  Boxed& operator=(Boxed&&) noexcept = default;
  Boxed& operator=(std::nullopt_t) {
    value_.reset();
    return *this;
  }

  template <typename... Args>
  T& emplace(Args&&... args) {
    value_ = std::make_unique<T>(std::forward<Args>(args)...);
    return *value_;
  }
  void reset() { value_.reset(); }

  bool has_value() const { return value_ != nullptr; }
  explicit operator bool() const { return has_value(); }

  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }
  T* operator->() { return value_.get(); }
  const T* operator->() const { return value_.get(); }
  /// Throws std::bad_optional_access when empty, as std::optional does.
  const T& value() const {
    if (!value_) throw std::bad_optional_access();
    return *value_;
  }

 private:
  std::unique_ptr<T> value_;
};

}  // namespace albemu::model
