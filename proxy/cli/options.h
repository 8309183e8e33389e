#pragma once
// Command-line parsing shared by the `albemu` subcommands.

#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace albemu::cli {

/// Parses `args` into `vm` against `options` (and `positional`, if given). Returns the exit
/// code when the command must stop here: 2 after printing the error and the options to stderr,
/// 0 after printing `usage` and the options for --help (`options` must declare "help").
/// nullopt: go on.
std::optional<int> parse_options(
    std::string_view command, std::string_view usage,
    const boost::program_options::options_description& options,
    const std::vector<std::string>& args, boost::program_options::variables_map& vm,
    const boost::program_options::positional_options_description* positional = nullptr);

}  // namespace albemu::cli
