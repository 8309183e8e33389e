// `albemu gcloud ...`: parses gcloud command lines (the words, NAME, `--flag=value` and
// `--flag value`), resolves the command in the table that gcloud_compute.cc,
// gcloud_url_maps.cc and gcloud_location.cc fill, and runs it against the compute API of a running
// `albemu serve`.

#include "proxy/cli/gcloud.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "proxy/cli/commands.h"

namespace albemu::cli {

namespace {

using gcloud::CommandSpec;
using gcloud::FlagSpec;
using gcloud::Invocation;

constexpr std::string_view kDefaultEndpoint = "http://127.0.0.1:8085";
constexpr std::string_view kDefaultProject = "albemu-local";

/// Flags every command takes.
const std::vector<FlagSpec>& global_flags() {
  static const std::vector<FlagSpec> kFlags = {
      {"project"},   {"api-endpoint"}, {"access-token-file"}, {"format"},
      {"verbosity"}, {"quiet", true},  {"help", true},        {"no-user-output-enabled", true},
  };
  return kFlags;
}

std::string env_or(const char* name, std::string_view fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : std::string(fallback);
}

std::string dotted(const std::string& words) {
  std::string out = words;
  std::replace(out.begin(), out.end(), ' ', '.');
  return out;
}

const FlagSpec* find_flag(const CommandSpec* command, const std::string& name) {
  for (const auto& flag : global_flags())
    if (flag.name == name) return &flag;
  if (command != nullptr)
    for (const auto& flag : command->flags)
      if (flag.name == name) return &flag;
  return nullptr;
}

/// One command's synopsis; `listed`: as a line of the command list rather than its --help.
void print_command_help(const CommandSpec& command, std::ostream& out, bool listed = false) {
  out << (listed ? "  " : "usage: albemu gcloud ") << command.words
      << (command.takes_name ? " NAME" : "");
  for (const auto& flag : command.flags) {
    const std::string shown = "--" + flag.name + (flag.switch_flag ? "" : "=VALUE");
    out << " " << (flag.required ? shown : "[" + shown + "]");
  }
  out << (listed ? "\n      " : "\n  ") << command.summary << "\n";
}

void print_help(const std::vector<CommandSpec>& commands, std::ostream& out) {
  out << "usage: albemu gcloud COMMAND... [NAME] [--flag=value | --flag value]...\n"
         "\n"
         "Runs the gcloud command lines of Google's regional internal Application Load Balancer\n"
         "guide against a running `albemu serve` (its compute v1 API, serve --api).\n"
         "\n"
         "global flags:\n"
         "  --project P          default $CLOUDSDK_CORE_PROJECT, else albemu-local\n"
         "  --region R           (per command) default $CLOUDSDK_COMPUTE_REGION\n"
         "  --api-endpoint URL   albemu's API, default $ALBEMU_API, else http://127.0.0.1:8085\n"
         "  --access-token-file F  send the token in F (default $ALBEMU_API_TOKEN)\n"
         "  --quiet, -q          answer prompts with their defaults\n"
         "  --format json|yaml   for describe and export\n"
         "\n"
         "commands:\n";
  for (const auto& command : commands) print_command_help(command, out, true);
}

/// The groups (every proper prefix of a command's words).
std::set<std::string> groups_of(const std::vector<CommandSpec>& commands) {
  std::set<std::string> groups;
  for (const auto& command : commands) {
    std::string prefix;
    std::istringstream words(command.words);
    std::string word;
    std::vector<std::string> split;
    while (words >> word) split.push_back(word);
    for (std::size_t i = 0; i + 1 < split.size(); ++i) {
      prefix += (prefix.empty() ? "" : " ") + split[i];
      groups.insert(prefix);
    }
  }
  return groups;
}

}  // namespace

namespace gcloud {

std::string Invocation::flag(const std::string& name, const std::string& fallback) const {
  const auto found = flags.find(name);
  return found == flags.end() || found->second.empty() ? fallback : found->second.back();
}

std::vector<std::string> Invocation::flag_list(const std::string& name) const {
  std::vector<std::string> out;
  const auto found = flags.find(name);
  if (found == flags.end()) return out;
  for (const auto& value : found->second) {
    std::istringstream parts(value);
    std::string part;
    while (std::getline(parts, part, ','))
      if (!part.empty()) out.push_back(part);
  }
  return out;
}

std::optional<std::string> Invocation::region() const {
  std::string region = flag("region", env_or("CLOUDSDK_COMPUTE_REGION", ""));
  if (region.empty()) {
    fail(*this, "Underspecified resource [" + (positionals.empty() ? "" : positionals.front()) +
                    "]. Specify the [--region] flag (or set CLOUDSDK_COMPUTE_REGION).");
    return std::nullopt;
  }
  return region;
}

}  // namespace gcloud

namespace {

int run_gcloud_unguarded(const std::vector<std::string>& args) {
  std::vector<CommandSpec> commands;
  gcloud::add_compute_commands(commands);
  gcloud::add_url_map_and_run_commands(commands);
  gcloud::add_location_commands(commands);
  const std::set<std::string> groups = groups_of(commands);

  // First pass: the command words (leading non-flag words naming groups or a command).
  std::vector<std::string> words;
  const CommandSpec* command = nullptr;
  std::string group;
  Invocation invocation;
  std::vector<std::pair<std::string, std::optional<std::string>>> raw_flags;
  std::vector<std::string> unrecognized;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-q") {
      raw_flags.emplace_back("quiet", std::nullopt);
      continue;
    }
    if (arg == "-h") {
      raw_flags.emplace_back("help", std::nullopt);
      continue;
    }
    if (arg.starts_with("--")) {
      const std::size_t equals = arg.find('=');
      const std::string name =
          arg.substr(2, equals == std::string::npos ? std::string::npos : equals - 2);
      if (equals != std::string::npos) {
        raw_flags.emplace_back(name, arg.substr(equals + 1));
        continue;
      }
      const FlagSpec* spec = find_flag(command, name);
      const bool takes_value = spec == nullptr
                                   ? i + 1 < args.size() && !args[i + 1].starts_with("--")
                                   : !spec->switch_flag;
      if (takes_value && i + 1 < args.size()) {
        raw_flags.emplace_back(name, args[++i]);
      } else {
        raw_flags.emplace_back(name, std::nullopt);
      }
      continue;
    }
    if (command != nullptr) {
      invocation.positionals.push_back(arg);
      continue;
    }
    std::string candidate = group;
    if (!candidate.empty()) candidate += ' ';
    candidate += arg;
    const auto leaf = std::find_if(commands.begin(), commands.end(),
                                   [&](const CommandSpec& c) { return c.words == candidate; });
    if (leaf != commands.end()) {
      command = &*leaf;
      continue;
    }
    if (groups.count(candidate) != 0) {
      group = candidate;
      continue;
    }
    invocation.command = group.empty() ? "" : dotted(group);
    std::cerr << "ERROR: (gcloud" << (group.empty() ? "" : ".") << invocation.command
              << ") Invalid choice: '" << arg << "'.\n"
              << "Run `albemu gcloud --help` for the commands albemu implements.\n";
    return 2;
  }

  const bool help = std::any_of(raw_flags.begin(), raw_flags.end(),
                                [](const auto& flag) { return flag.first == "help"; });
  if (command == nullptr) {
    if (help || group.empty()) {
      print_help(commands, help ? std::cout : std::cerr);
      return help ? 0 : 2;
    }
    std::cerr << "ERROR: (gcloud." << dotted(group) << ") Command name argument expected.\n";
    return 2;
  }
  invocation.command = dotted(command->words);
  if (help) {
    print_command_help(*command, std::cout);
    return 0;
  }

  for (const auto& [name, value] : raw_flags) {
    const FlagSpec* spec = find_flag(command, name);
    if (spec == nullptr) {
      unrecognized.push_back("--" + name + (value ? "=" + *value : ""));
      continue;
    }
    if (!spec->switch_flag && !value)
      return gcloud::fail(invocation, "argument --" + name + ": expected one argument", 2);
    if (spec->switch_flag && value)
      return gcloud::fail(invocation,
                          "argument --" + name + ": ignored explicit argument '" + *value + "'", 2);
    invocation.flags[name].push_back(value.value_or(""));
  }
  if (!unrecognized.empty()) {
    std::string list;
    for (const auto& item : unrecognized) list += (list.empty() ? "" : " ") + item;
    std::cerr << "ERROR: (gcloud." << invocation.command << ") unrecognized arguments: " << list
              << "\n\nTo search the help text of gcloud commands, run:\n"
                 "  albemu gcloud --help\n";
    return 2;
  }
  const std::size_t wanted = command->takes_name ? 1 : 0;
  if (invocation.positionals.size() < wanted)
    return gcloud::fail(invocation, "argument NAME: Must be specified.", 2);
  if (invocation.positionals.size() > wanted) {
    return gcloud::fail(invocation, "unrecognized arguments: " + invocation.positionals[wanted], 2);
  }
  for (const auto& flag : command->flags) {
    if (flag.required && !invocation.has(flag.name))
      return gcloud::fail(invocation, "argument --" + flag.name + ": Must be specified.", 2);
  }

  invocation.project = invocation.flag("project", env_or("CLOUDSDK_CORE_PROJECT", kDefaultProject));
  invocation.quiet = invocation.has("quiet");
  invocation.format = invocation.flag("format");
  if (!invocation.format.empty() && invocation.format != "json" && invocation.format != "yaml")
    return gcloud::fail(invocation, "albemu supports --format=json and --format=yaml only", 2);
  std::string token = env_or("ALBEMU_API_TOKEN", "");
  if (invocation.has("access-token-file")) {
    std::ifstream file(invocation.flag("access-token-file"));
    if (!file)
      return gcloud::fail(invocation, "cannot read " + invocation.flag("access-token-file"));
    std::getline(file, token);
  }
  std::string endpoint = invocation.flag("api-endpoint", env_or("ALBEMU_API", kDefaultEndpoint));
  if (endpoint.find("://") == std::string::npos) endpoint = "http://" + endpoint;
  const gcloud::ApiClient api(endpoint, token);
  invocation.api = &api;
  return command->run(invocation);
}

}  // namespace

int run_gcloud(const std::vector<std::string>& args) {
  // A reply or file of an unexpected shape (a number out of range, a JSON field of another
  // type) ends the command with gcloud's error line instead of std::terminate.
  try {
    return run_gcloud_unguarded(args);
  } catch (const std::exception& error) {
    std::cerr << "ERROR: (gcloud) " << error.what() << "\n";
    return 1;
  }
}

}  // namespace albemu::cli
