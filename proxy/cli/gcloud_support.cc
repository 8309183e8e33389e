// `albemu gcloud`'s plumbing: the HTTP client of the compute API, compute URLs, gcloud's
// output and error conventions, and the JSON <-> YAML conversion of import/export.

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <regex>

#include "proxy/cli/gcloud.h"
#include "proxy/cli/http_client.h"

namespace albemu::cli::gcloud {

namespace http = boost::beast::http;

namespace {

constexpr std::chrono::seconds kCallTimeout{60};

bool looks_typed(const std::string& text) {
  static const std::regex kNumber(R"([-+]?(\d+|\d*\.\d+)([eE][-+]?\d+)?)");
  return text == "true" || text == "false" || text == "null" || text == "~" || text.empty() ||
         std::regex_match(text, kNumber);
}

void emit(YAML::Emitter& out, const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::object: {
      std::vector<std::string> keys;
      for (const auto& entry : value.as_object()) keys.emplace_back(entry.key());
      std::sort(keys.begin(), keys.end());
      out << YAML::BeginMap;
      for (const auto& key : keys) {
        out << YAML::Key << key << YAML::Value;
        emit(out, value.as_object().at(key));
      }
      out << YAML::EndMap;
      break;
    }
    case boost::json::kind::array:
      out << YAML::BeginSeq;
      for (const auto& item : value.as_array()) emit(out, item);
      out << YAML::EndSeq;
      break;
    case boost::json::kind::string: {
      // A string that would read back as a number or boolean keeps its quotes.
      const std::string text(value.as_string());
      if (looks_typed(text)) out << YAML::SingleQuoted;
      // Multi-line text (a PEM) as a `|` block, as gcloud prints it, where that reads back
      // the same: one final newline, no carriage returns, tabs or leading blanks.
      if (text.find('\n') != text.size() - 1 && text.ends_with('\n') && !text.ends_with("\n\n") &&
          text.find_first_of("\r\t") == std::string::npos && !text.starts_with(' '))
        out << YAML::Literal;
      out << text;
      break;
    }
    case boost::json::kind::bool_:
      out << (value.as_bool() ? "true" : "false");
      break;
    case boost::json::kind::null:
      out << YAML::Null;
      break;
    default:
      out << boost::json::serialize(value);
  }
}

boost::json::value to_json(const YAML::Node& node) {
  if (node.IsMap()) {
    boost::json::object object;
    for (const auto& entry : node) object[entry.first.as<std::string>()] = to_json(entry.second);
    return object;
  }
  if (node.IsSequence()) {
    boost::json::array array;
    for (const auto& item : node) array.push_back(to_json(item));
    return array;
  }
  if (!node.IsScalar()) return nullptr;
  const std::string& scalar = node.Scalar();
  if (node.Tag() == "!") return boost::json::string(scalar);  // quoted in the file
  if (scalar == "true" || scalar == "false") return scalar == "true";
  static const std::regex kInteger(R"([-+]?\d{1,18})");
  if (std::regex_match(scalar, kInteger)) return std::stoll(scalar);
  static const std::regex kDecimal(R"([-+]?(\d+\.\d*|\d*\.\d+)([eE][-+]?\d+)?)");
  if (std::regex_match(scalar, kDecimal)) return std::stod(scalar);
  return boost::json::string(scalar);
}

}  // namespace

ApiReply ApiClient::call(std::string_view method, const std::string& target,
                         const boost::json::value& body) const {
  ApiReply reply;
  const auto endpoint = parse_http_url(endpoint_);
  if (!endpoint) {
    reply.transport_error = "the API endpoint '" + endpoint_ + "' is not an http:// URL";
    return reply;
  }
  // A path in the endpoint URL goes before every target.
  std::string prefix = endpoint->path;
  while (prefix.ends_with('/')) prefix.pop_back();
  http::request<http::string_body> request(http::string_to_verb(method), prefix + target, 11);
  request.set(http::field::user_agent, "albemu-gcloud");
  request.set(http::field::accept, "application/json");
  if (!token_.empty()) request.set(http::field::authorization, "Bearer " + token_);
  if (!body.is_null()) {
    request.set(http::field::content_type, "application/json");
    request.body() = boost::json::serialize(body);
  }
  const auto result = http_call(std::move(request), *endpoint, kCallTimeout);
  if (result.error) {
    reply.transport_error = "cannot reach albemu's compute API at " + endpoint_ + ": " +
                            result.error.message() +
                            " (is `albemu serve` running? set --api-endpoint or ALBEMU_API)";
    return reply;
  }
  const auto& response = result.response;
  reply.status = response.result_int();
  boost::system::error_code ec;
  reply.body = boost::json::parse(response.body(), ec);
  if (ec) reply.body = boost::json::object{{"rawBody", response.body()}};
  return reply;
}

std::string partial_path(const std::string& project, const std::string& region,
                         const std::string& collection, const std::string& name) {
  std::string path = "projects/" + project +
                     (region.empty() ? "/global/" : "/regions/" + region + "/") + collection;
  if (!name.empty()) path += "/" + name;
  return path;
}

std::string resource_url(const std::string& project, const std::string& region,
                         const std::string& collection, const std::string& name) {
  return std::string(kComputeRoot) + partial_path(project, region, collection, name);
}

std::string api_path(const std::string& project, const std::string& region,
                     const std::string& collection, const std::string& name) {
  return "/compute/v1/" + partial_path(project, region, collection, name);
}

std::string reference(const std::string& project, const std::string& region,
                      const std::string& collection, const std::string& value) {
  if (value.starts_with("https://") || value.starts_with("http://")) return value;
  if (value.starts_with("projects/")) return std::string(kComputeRoot) + value;
  if (value.find('/') != std::string::npos)
    return std::string(kComputeRoot) + "projects/" + project + "/" + value;
  return resource_url(project, region, collection, value);
}

std::string short_name(std::string_view url) {
  const std::size_t slash = url.rfind('/');
  return std::string(slash == std::string_view::npos ? url : url.substr(slash + 1));
}

std::string collection_and_name(std::string_view url) {
  const std::size_t last = url.rfind('/');
  if (last == std::string_view::npos || last == 0) return std::string(url);
  const std::size_t before = url.rfind('/', last - 1);
  return std::string(before == std::string_view::npos ? url : url.substr(before + 1));
}

int fail(const Invocation& invocation, const std::string& message, int exit_code) {
  std::cerr << "ERROR: (gcloud." << invocation.command << ") " << message << "\n";
  return exit_code;
}

int fail_api(const Invocation& invocation, const ApiReply& reply) {
  if (reply.status == 0) return fail(invocation, reply.transport_error);
  std::string message = "HTTP " + std::to_string(reply.status);
  if (const auto* error =
          reply.body.is_object() ? reply.body.as_object().if_contains("error") : nullptr;
      error != nullptr && error->is_object()) {
    message = text(*error, "message");
  }
  return fail(invocation, "Could not fetch resource:\n - " + message);
}

std::optional<int> run_operation(const Invocation& invocation, const ApiReply& reply) {
  if (!reply.ok()) return fail_api(invocation, reply);
  boost::json::value operation = reply.body;
  // albemu answers DONE; a pending operation is waited for as gcloud would poll it.
  for (int attempt = 0; attempt < 100 && text(operation, "status") != "DONE"; ++attempt) {
    std::string self = text(operation, "selfLink");
    const std::size_t at = self.find("/projects/");
    if (at == std::string::npos) return fail(invocation, "the operation has no selfLink");
    const ApiReply waited = invocation.api->call("POST", "/compute/v1" + self.substr(at) + "/wait");
    if (!waited.ok()) return fail_api(invocation, waited);
    operation = waited.body;
  }
  if (text(operation, "status") != "DONE") return fail(invocation, "the operation did not finish");
  if (const auto* error = operation.as_object().if_contains("error")) {
    std::string message = "Could not fetch resource:";
    if (const auto* errors =
            error->is_object() ? error->as_object().if_contains("errors") : nullptr;
        errors != nullptr && errors->is_array()) {
      for (const auto& item : errors->as_array()) message += "\n - " + text(item, "message");
    }
    return fail(invocation, message);
  }
  return std::nullopt;
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    while (line.ends_with(' ')) line.pop_back();
    std::cout << line << "\n";
  }
}

void print_resource(const Invocation& invocation, const boost::json::value& resource) {
  if (invocation.format == "json") {
    std::cout << boost::json::serialize(resource) << "\n";
  } else {
    std::cout << to_yaml(resource);
  }
}

bool print_list_without_table(const Invocation& invocation, const boost::json::array& items) {
  if (!invocation.format.empty()) {
    print_resource(invocation, items);
    return true;
  }
  if (items.empty()) {
    std::cerr << "Listed 0 items.\n";
    return true;
  }
  return false;
}

std::string text(const boost::json::value& object, std::string_view field) {
  if (!object.is_object()) return "";
  const auto* value = object.as_object().if_contains(field);
  if (value == nullptr) return "";
  if (value->is_string()) return std::string(value->as_string());
  if (value->is_int64() || value->is_uint64()) return boost::json::serialize(*value);
  return "";
}

std::string to_yaml(const boost::json::value& value) {
  YAML::Emitter out;
  out.SetIndent(2);
  out.SetSeqFormat(YAML::Block);
  emit(out, value);
  std::string text = out.c_str();
  if (!text.empty() && !text.ends_with('\n')) text += "\n";
  return text;
}

std::optional<boost::json::value> from_yaml(const std::string& text, std::string& error) {
  try {
    return to_json(YAML::Load(text));
  } catch (const YAML::Exception& failure) {
    error = failure.what();
    return std::nullopt;
  }
}

}  // namespace albemu::cli::gcloud
