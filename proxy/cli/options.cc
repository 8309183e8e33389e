#include "proxy/cli/options.h"

#include <iostream>

namespace albemu::cli {

namespace po = boost::program_options;

std::optional<int> parse_options(std::string_view command, std::string_view usage,
                                 const po::options_description& options,
                                 const std::vector<std::string>& args, po::variables_map& vm,
                                 const po::positional_options_description* positional) {
  try {
    po::command_line_parser parser(args);
    parser.options(options);
    if (positional != nullptr) parser.positional(*positional);
    po::store(parser.run(), vm);
    po::notify(vm);
  } catch (const po::error& error) {
    std::cerr << "albemu " << command << ": " << error.what() << "\n" << options;
    return 2;
  }
  if (vm.count("help") != 0) {
    std::cout << "usage: " << usage << "\n" << options;
    return 0;
  }
  return std::nullopt;
}

}  // namespace albemu::cli
