#include "config/load/yaml_cursor.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <set>
#include <utility>

#include "config/load/loader.h"

namespace albemu::config {

namespace {

std::string ascii_lower_copy(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Levenshtein distance, for "did you mean" hints on unknown fields.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      size_t substitution = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitution});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string join(std::initializer_list<std::string_view> values) {
  std::string out;
  for (std::string_view value : values) {
    if (!out.empty()) out += ", ";
    out += value;
  }
  return out;
}

}  // namespace

namespace {
const YamlNode kAbsentNode(YamlNode::Type::kNull);
}  // namespace

void PathStep::append_to(std::string& out) const {
  if (parent != nullptr) parent->append_to(out);
  switch (kind) {
    case Kind::kName:
      out += text;
      break;
    case Kind::kField:
      if (!out.empty()) out += '.';
      out += text;
      break;
    case Kind::kIndex:
      out += '[';
      out += std::to_string(index);
      out += ']';
      break;
  }
}

const PathStep* LoadContext::step(const PathStep* parent, PathStep::Kind kind,
                                  std::string_view text, std::size_t index) const {
  std::pmr::polymorphic_allocator<char> allocator(&arena_);
  char* copy = nullptr;
  if (!text.empty()) {
    copy = allocator.allocate(text.size());
    std::memcpy(copy, text.data(), text.size());
  }
  return allocator.new_object<PathStep>(
      PathStep{parent, std::string_view(copy, text.size()), index, kind});
}

const YamlNode* LoadContext::keep(YamlRef node) const {
  return kept_.emplace_back(std::move(node)).get();
}

YamlCursor::YamlCursor(const YamlNode* node, std::string_view path, const LoadContext* context)
    : node_(node), path_(context->step(nullptr, PathStep::Kind::kName, path)), context_(context) {}

const YamlNode& YamlCursor::node() const { return node_ != nullptr ? *node_ : kAbsentNode; }

std::string YamlCursor::path() const {
  std::string out;
  path_->append_to(out);
  return out;
}

bool YamlCursor::present() const { return node_ != nullptr && !node_->is_null(); }

YamlCursor YamlCursor::field(std::string_view key) const {
  return YamlCursor(node_ != nullptr ? node_->find(key) : nullptr,
                    context_->step(path_, PathStep::Kind::kField, key), context_);
}

YamlCursor YamlCursor::renamed(std::string_view path) const {
  return YamlCursor(node_, context_->step(nullptr, PathStep::Kind::kName, path), context_);
}

YamlCursor YamlCursor::with_scalar_field(std::string_view key, std::string value) const {
  // The copy shares the other nodes with the document, which the context owns.
  const YamlNode* copy = context_->keep(
      config::with_scalar_field(YamlRef(context_->document, &node()), key, std::move(value)));
  return YamlCursor(copy, path_, context_);
}

void YamlCursor::error(std::string message) const {
  context_->errors->push_back(ConfigError{context_->file, path(), std::move(message)});
}

std::optional<std::string> YamlCursor::as_string() const {
  if (!present()) return std::nullopt;
  if (!node_->is_scalar()) {
    error("expected a string");
    return std::nullopt;
  }
  return node_->scalar();
}

std::optional<bool> YamlCursor::as_bool() const {
  if (!present()) return std::nullopt;
  if (node_->is_scalar()) {
    std::string value = ascii_lower_copy(node_->scalar());
    if (value == "true") return true;
    if (value == "false") return false;
  }
  error("expected true or false");
  return std::nullopt;
}

std::optional<int64_t> YamlCursor::as_int64(int64_t min, int64_t max) const {
  if (!present()) return std::nullopt;
  if (!node_->is_scalar()) {
    error("expected an integer");
    return std::nullopt;
  }
  const std::string& text = node_->scalar();
  int64_t value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  if (begin != end && *begin == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec == std::errc::result_out_of_range) {
    error("value " + text + " is out of range [" + std::to_string(min) + ", " +
          std::to_string(max) + "]");
    return std::nullopt;
  }
  if (ec != std::errc() || ptr != end || begin == end) {
    error("expected an integer, got '" + text + "'");
    return std::nullopt;
  }
  if (value < min || value > max) {
    error("value " + text + " is out of range [" + std::to_string(min) + ", " +
          std::to_string(max) + "]");
    return std::nullopt;
  }
  return value;
}

std::optional<double> YamlCursor::as_double(double min, double max) const {
  if (!present()) return std::nullopt;
  if (!node_->is_scalar()) {
    error("expected a number");
    return std::nullopt;
  }
  const std::string& text = node_->scalar();
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(value)) {
    error("expected a number, got '" + text + "'");
    return std::nullopt;
  }
  if (value < min || value > max) {
    auto format = [](double number) {
      std::string out = std::to_string(number);
      while (out.size() > 1 && out.back() == '0') out.pop_back();
      if (!out.empty() && out.back() == '.') out.pop_back();
      return out;
    };
    error("value " + text + " is out of range [" + format(min) + ", " + format(max) + "]");
    return std::nullopt;
  }
  return value;
}

std::optional<model::Duration> YamlCursor::as_duration() const {
  if (!present()) return std::nullopt;
  FieldReader reader(*this);
  if (!reader.valid()) return std::nullopt;
  model::Duration duration;
  // 315576000000 s is protobuf's Duration limit (10,000 years).
  duration.seconds = reader.optional_int64("seconds", 0, 315576000000).value_or(0);
  duration.nanos = static_cast<int32_t>(reader.optional_int64("nanos", 0, 999999999).value_or(0));
  return duration;
}

std::optional<model::ResourceRef> YamlCursor::as_reference() const {
  std::optional<std::string> text = as_string();
  if (!text) return std::nullopt;
  model::ResourceRef ref = parse_reference(*text);
  if (ref.empty()) {
    error("'" + *text +
          "' is not a resource reference (a name, regions/R/COLLECTION/NAME, "
          "projects/P/regions/R/COLLECTION/NAME or a compute/v1 URL)");
    return std::nullopt;
  }
  return ref;
}

std::vector<std::string> YamlCursor::as_string_list() const {
  std::vector<std::string> out;
  for (const YamlCursor& item : items()) {
    if (std::optional<std::string> value = item.as_string()) {
      out.push_back(*value);
    } else if (!item.present()) {
      item.error("expected a string, got null");
    }
  }
  return out;
}

std::vector<YamlCursor> YamlCursor::items() const {
  std::vector<YamlCursor> out;
  if (!present()) return out;
  if (!node_->is_sequence()) {
    error("expected a list");
    return out;
  }
  const auto items = node_->items();
  out.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    out.push_back(
        YamlCursor(items[i], context_->step(path_, PathStep::Kind::kIndex, {}, i), context_));
  }
  return out;
}

// ---------------------------------------------------------------- FieldReader

FieldReader::FieldReader(YamlCursor object) : object_(object) {
  if (!object_.present()) return;
  if (!object_.node().is_map()) {
    object_.error("expected a mapping of fields");
    return;
  }
  valid_ = true;
  // A resource has a few dozen fields: comparing each key with those before it costs less
  // than building a set of them. A set bounds the work on a mapping far bigger than that.
  const auto pairs = object_.node().pairs();
  constexpr std::size_t kCompareEachBelow = 64;
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    if (!pairs[i].key->is_scalar()) continue;
    const std::string& key = pairs[i].key->scalar();
    bool repeated = false;
    if (pairs.size() < kCompareEachBelow) {
      for (std::size_t j = 0; j < i && !repeated; ++j)
        repeated = pairs[j].key->is_scalar() && pairs[j].key->scalar() == key;
    } else {
      repeated = !seen.insert(key).second;
    }
    if (repeated) object_.field(key).error("field '" + key + "' appears more than once");
  }
}

FieldReader::~FieldReader() { finish(); }

YamlCursor FieldReader::take(std::string_view key) {
  known_.push_back(key);
  return object_.field(key);
}

bool FieldReader::has(std::string_view key) const { return object_.field(key).present(); }

std::optional<std::string> FieldReader::optional_string(std::string_view key) {
  return take(key).as_string();
}

std::string FieldReader::string(std::string_view key) {
  return optional_string(key).value_or(std::string());
}

std::string FieldReader::required_string(std::string_view key) {
  YamlCursor field = take(key);
  std::optional<std::string> value = field.as_string();
  if (valid_ && field.node().is_scalar() && value && value->empty()) {
    field.error("must not be empty");
  } else if (valid_ && !field.present()) {
    field.error("is required");
  }
  return value.value_or(std::string());
}

std::optional<std::string> FieldReader::optional_enum(
    std::string_view key, std::initializer_list<std::string_view> allowed) {
  YamlCursor field = take(key);
  std::optional<std::string> value = field.as_string();
  if (!value) return std::nullopt;
  for (std::string_view candidate : allowed) {
    if (*value == candidate) return value;
  }
  field.error("'" + *value + "' is not one of " + join(allowed));
  return std::nullopt;
}

std::optional<bool> FieldReader::optional_bool(std::string_view key) { return take(key).as_bool(); }

std::optional<int64_t> FieldReader::optional_int64(std::string_view key, int64_t min, int64_t max) {
  return take(key).as_int64(min, max);
}

std::optional<double> FieldReader::optional_double(std::string_view key, double min, double max) {
  return take(key).as_double(min, max);
}

std::optional<model::Duration> FieldReader::optional_duration(std::string_view key) {
  return take(key).as_duration();
}

std::optional<model::ResourceRef> FieldReader::optional_reference(std::string_view key) {
  return take(key).as_reference();
}

model::ResourceRef FieldReader::required_reference(std::string_view key) {
  YamlCursor field = take(key);
  if (valid_ && !field.present()) {
    field.error("is required");
    return {};
  }
  return field.as_reference().value_or(model::ResourceRef{});
}

std::vector<std::string> FieldReader::string_list(std::string_view key) {
  return take(key).as_string_list();
}

std::vector<YamlCursor> FieldReader::items(std::string_view key) { return take(key).items(); }

void FieldReader::ignore(std::initializer_list<std::string_view> keys) {
  known_.insert(known_.end(), keys.begin(), keys.end());
}

void FieldReader::ignore(const std::vector<std::string_view>& keys) {
  known_.insert(known_.end(), keys.begin(), keys.end());
}

void FieldReader::reject(std::string_view key, std::string_view message) {
  YamlCursor field = take(key);
  if (field.exists()) field.error(std::string(message));
}

void FieldReader::finish() {
  if (finished_) return;
  finished_ = true;
  if (!valid_) return;
  for (const YamlNode::Pair& pair : object_.node().pairs()) {
    const std::string_view key =
        pair.key->is_scalar() ? std::string_view(pair.key->scalar()) : std::string_view("?");
    if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
    std::string message = "unknown field '" + std::string(key) + "'";
    // Suggest the closest known field when the key looks like a typo of it (short keys
    // are too close to everything for a hint to help).
    std::string best;
    size_t best_distance = 3;
    const std::string lower_key = ascii_lower_copy(key);
    for (std::string_view candidate : known_) {
      if (key.size() < 4) break;
      size_t distance = edit_distance(lower_key, ascii_lower_copy(candidate));
      // The nearest key, the first in alphabetical order among equals.
      if (distance < best_distance || (distance == best_distance && candidate < best)) {
        best_distance = distance;
        best = std::string(candidate);
      }
    }
    if (!best.empty()) message += " (did you mean '" + best + "'?)";
    object_.field(key).error(std::move(message));
  }
}

std::string item_path(std::string_view prefix, const YamlNode& item, size_t index) {
  std::string out(prefix);
  if (const YamlNode* name = item.find("name");
      name != nullptr && name->is_scalar() && !name->scalar().empty()) {
    return out + "[" + name->scalar() + "]";
  }
  return out + "[" + std::to_string(index) + "]";
}

}  // namespace albemu::config
