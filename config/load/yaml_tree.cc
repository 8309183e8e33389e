#include "config/load/yaml_tree.h"

#include <yaml.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <optional>
#include <unordered_map>

namespace albemu::config {

const YamlNode* YamlNode::find(std::string_view key) const {
  for (const Pair& pair : pairs_) {
    if (pair.key->is_scalar() && pair.key->scalar() == key) return pair.value;
  }
  return nullptr;
}

/// Every node of one text; the documents' roots keep it alive.
struct YamlArena {
  std::deque<YamlNode> nodes;
};

namespace {

std::string_view yaml_text_of(const yaml_char_t* text, std::size_t length) {
  return {reinterpret_cast<const char*>(text), length};
}

std::string_view yaml_text_of(const yaml_char_t* text) {
  return text == nullptr ? std::string_view()
                         : std::string_view(reinterpret_cast<const char*>(text));
}

/// Null in YAML's core schema: a plain scalar spelled as one, or an explicit !!null.
bool is_yaml_null(const yaml_event_t& event) {
  const std::string_view tag = yaml_text_of(event.data.scalar.tag);
  if (tag == YAML_NULL_TAG) return true;
  if (!tag.empty() || event.data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
  const std::string_view value = yaml_text_of(event.data.scalar.value, event.data.scalar.length);
  return value.empty() || value == "~" || value == "null" || value == "Null" || value == "NULL";
}

YamlSyntaxError yaml_syntax_error(const yaml_mark_t& mark, std::string message) {
  return YamlSyntaxError{mark.line + 1, mark.column + 1, std::move(message)};
}

YamlSyntaxError describe_yaml_problem(const yaml_parser_t& parser, std::string_view text) {
  std::string message = parser.problem != nullptr ? parser.problem : "malformed YAML";
  if (parser.error != YAML_READER_ERROR) {
    if (parser.context != nullptr) message += std::string(" ") + parser.context;
    return yaml_syntax_error(parser.problem_mark, std::move(message));
  }
  // A reader error (bytes that are not UTF-8, or a control character) has only an offset.
  if (parser.problem_value != -1) {
    char value[16];
    std::snprintf(value, sizeof value, " (#x%02X)", static_cast<unsigned>(parser.problem_value));
    message += value;
  }
  message += "; the file must be UTF-8 text";
  const std::string_view before = text.substr(0, std::min(text.size(), parser.problem_offset));
  const std::size_t line_start = before.rfind('\n');
  return YamlSyntaxError{
      1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n')),
      1 + (line_start == std::string_view::npos ? before.size() : before.size() - line_start - 1),
      std::move(message)};
}

}  // namespace

/// Turns libyaml's events into nodes: each node is added to the collection being read, or
/// becomes the document's root.
class YamlBuilder {
 public:
  explicit YamlBuilder(YamlArena& arena) : arena_(arena) {}

  void start_document() {
    anchors_.clear();
    root_ = nullptr;
  }
  const YamlNode* end_document() {
    if (root_ == nullptr) root_ = &arena_.nodes.emplace_back(YamlNode::Type::kNull);
    return root_;
  }

  YamlNode& make(YamlNode::Type type, std::string scalar, const yaml_char_t* anchor) {
    YamlNode& node = arena_.nodes.emplace_back(type, std::move(scalar));
    if (anchor != nullptr) anchors_[std::string(yaml_text_of(anchor))] = &node;
    return node;
  }
  const YamlNode* anchored(std::string_view anchor) const {
    const auto found = anchors_.find(std::string(anchor));
    return found == anchors_.end() ? nullptr : found->second;
  }

  void add(const YamlNode& node) {
    if (open_.empty()) {
      root_ = &node;
      return;
    }
    Frame& frame = open_.back();
    if (frame.node->is_sequence()) {
      frame.node->items_.push_back(&node);
    } else if (frame.key == nullptr) {
      frame.key = &node;
    } else {
      frame.node->pairs_.push_back({frame.key, &node});
      frame.key = nullptr;
    }
  }
  void open(YamlNode& collection) {
    add(collection);
    open_.push_back({&collection, nullptr});
  }
  void close() { open_.pop_back(); }

 private:
  struct Frame {
    YamlNode* node;
    const YamlNode* key;  // a mapping's key waiting for its value
  };

  YamlArena& arena_;
  std::vector<Frame> open_;
  std::unordered_map<std::string, const YamlNode*> anchors_;
  const YamlNode* root_ = nullptr;
};

std::variant<std::vector<YamlRef>, YamlSyntaxError> parse_yaml(std::string_view text) {
  auto arena = std::make_shared<YamlArena>();
  YamlBuilder builder(*arena);
  std::vector<YamlRef> documents;
  yaml_parser_t parser;
  if (yaml_parser_initialize(&parser) == 0) return YamlSyntaxError{1, 1, "out of memory"};
  // libyaml takes no null pointer, even for no text.
  const char* input = text.empty() ? "" : text.data();
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(input), text.size());
  std::optional<YamlSyntaxError> error;
  for (bool done = false; !done;) {
    yaml_event_t event;
    if (yaml_parser_parse(&parser, &event) == 0) {
      error = describe_yaml_problem(parser, text);
      break;
    }
    switch (event.type) {
      case YAML_DOCUMENT_START_EVENT:
        builder.start_document();
        break;
      case YAML_DOCUMENT_END_EVENT:
        documents.emplace_back(arena, builder.end_document());
        break;
      case YAML_SCALAR_EVENT:
        if (is_yaml_null(event)) {
          builder.add(builder.make(YamlNode::Type::kNull, {}, event.data.scalar.anchor));
        } else {
          builder.add(builder.make(
              YamlNode::Type::kScalar,
              std::string(yaml_text_of(event.data.scalar.value, event.data.scalar.length)),
              event.data.scalar.anchor));
        }
        break;
      case YAML_SEQUENCE_START_EVENT:
        builder.open(builder.make(YamlNode::Type::kSequence, {}, event.data.sequence_start.anchor));
        break;
      case YAML_MAPPING_START_EVENT:
        builder.open(builder.make(YamlNode::Type::kMap, {}, event.data.mapping_start.anchor));
        break;
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT:
        builder.close();
        break;
      case YAML_ALIAS_EVENT:
        if (const YamlNode* node = builder.anchored(yaml_text_of(event.data.alias.anchor))) {
          builder.add(*node);
        } else {
          error = yaml_syntax_error(
              event.start_mark,
              "unknown anchor '" + std::string(yaml_text_of(event.data.alias.anchor)) + "'");
          done = true;
        }
        break;
      case YAML_STREAM_END_EVENT:
        done = true;
        break;
      default:
        break;
    }
    yaml_event_delete(&event);
  }
  yaml_parser_delete(&parser);
  if (error) return *std::move(error);
  return documents;
}

YamlRef with_scalar_field(const YamlRef& map, std::string_view key, std::string value) {
  struct Copy {
    YamlRef original;  // keeps the shared nodes alive
    YamlNode map{YamlNode::Type::kMap};
    YamlNode key{YamlNode::Type::kScalar};
    YamlNode value{YamlNode::Type::kScalar};
  };
  auto copy = std::make_shared<Copy>();
  copy->original = map;
  copy->map.pairs_ = map->pairs_;
  copy->key.scalar_ = std::string(key);
  copy->value.scalar_ = std::move(value);
  bool replaced = false;
  for (YamlNode::Pair& pair : copy->map.pairs_) {
    if (pair.key->is_scalar() && pair.key->scalar() == key) {
      pair.value = &copy->value;
      replaced = true;
      break;
    }
  }
  if (!replaced) copy->map.pairs_.push_back({&copy->key, &copy->value});
  return YamlRef(copy, &copy->map);
}

}  // namespace albemu::config
