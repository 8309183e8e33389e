// `albemu validate`: loads, validates and compiles a config and runs every URL map's `tests`,
// like `gcloud compute url-maps validate`.
//
// Output (--format json) is GCP's UrlMapsValidateResponse:
//   one URL map:
//   {"result":{"loadSucceeded":..,"loadErrors":[..],"testPassed":..,"testFailures":[..]}} several
//   (or 0): {"<url map name>":{"result":{...}}, ...}
// Config errors that belong to no URL map (a backend service, a forwarding rule, YAML syntax)
// are not part of GCP's shape: they are printed to stderr, one "FILE: FIELD_PATH: MESSAGE" per
// line, in both formats. Exit status: 0 when everything loads and every test passes, 1 when
// not, 2 on bad arguments.

#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <iostream>
#include <string>

#include "proxy/cli/commands.h"
#include "proxy/cli/options.h"
#include "proxy/core/snapshot.h"

namespace albemu::cli {

namespace po = boost::program_options;

namespace {

boost::json::object test_failure_json(const core::UrlMapTestFailure& failure) {
  // proto3 JSON leaves out unset fields; so does this.
  boost::json::object out;
  out["host"] = failure.host;
  out["path"] = failure.path;
  if (!failure.headers.empty()) {
    boost::json::array headers;
    for (const auto& header : failure.headers) {
      headers.push_back(boost::json::object{{"name", header.name}, {"value", header.value}});
    }
    out["headers"] = std::move(headers);
  }
  const auto set_if = [&out](const char* key, const std::string& value) {
    if (!value.empty()) out[key] = value;
  };
  set_if("expectedService", failure.expected_service);
  set_if("actualService", failure.actual_service);
  set_if("expectedOutputUrl", failure.expected_output_url);
  set_if("actualOutputUrl", failure.actual_output_url);
  if (failure.expected_redirect_response_code != 0) {
    out["expectedRedirectResponseCode"] = failure.expected_redirect_response_code;
  }
  if (failure.actual_redirect_response_code != 0) {
    out["actualRedirectResponseCode"] = failure.actual_redirect_response_code;
  }
  return out;
}

boost::json::object validation_json(const core::UrlMapValidation& validation) {
  boost::json::array load_errors;
  for (const auto& error : validation.load_errors) load_errors.emplace_back(error.to_string());
  boost::json::array failures;
  for (const auto& failure : validation.test_failures)
    failures.push_back(test_failure_json(failure));
  boost::json::object result;
  result["loadSucceeded"] = validation.load_succeeded;
  result["loadErrors"] = std::move(load_errors);
  result["testPassed"] = validation.test_passed;
  result["testFailures"] = std::move(failures);
  return boost::json::object{{"result", std::move(result)}};
}

void print_validation_text(const core::UrlMapValidation& validation) {
  std::cout << "urlMaps[" << validation.url_map << "]";
  if (!validation.file.empty()) std::cout << " (" << validation.file << ")";
  if (!validation.load_succeeded) {
    std::cout << ": load FAILED\n";
    for (const auto& error : validation.load_errors) std::cout << "  " << error.to_string() << "\n";
    return;
  }
  if (validation.test_passed) {
    std::cout << ": loaded, tests passed\n";
    return;
  }
  std::cout << ": loaded, " << validation.test_failures.size() << " test(s) FAILED\n";
  for (const auto& failure : validation.test_failures) {
    std::cout << "  test host=" << failure.host << " path=" << failure.path;
    for (const auto& header : failure.headers)
      std::cout << " [" << header.name << ": " << header.value << "]";
    std::cout << "\n";
    if (!failure.message.empty()) std::cout << "    " << failure.message << "\n";
    if (!failure.expected_service.empty() || !failure.actual_service.empty()) {
      std::cout << "    service: expected " << failure.expected_service << ", got "
                << (failure.actual_service.empty() ? "(none)" : failure.actual_service) << "\n";
    }
    if (!failure.expected_output_url.empty() || !failure.actual_output_url.empty()) {
      std::cout << "    output URL: expected " << failure.expected_output_url << ", got "
                << (failure.actual_output_url.empty() ? "(none)" : failure.actual_output_url)
                << "\n";
    }
    if (failure.expected_redirect_response_code != 0 ||
        failure.actual_redirect_response_code != 0) {
      std::cout << "    redirect code: expected " << failure.expected_redirect_response_code
                << ", got " << failure.actual_redirect_response_code << "\n";
    }
  }
}

/// True if `error` is reported under one of the URL maps (load error or failed test).
bool belongs_to_url_map(const config::ConfigError& error, const core::SnapshotResult& result) {
  for (const auto& validation : result.validations) {
    if (error.field_path.starts_with("urlMaps[" + validation.url_map + "]")) return true;
  }
  return false;
}

}  // namespace

int run_validate(const std::vector<std::string>& args) {
  po::options_description options("albemu validate options");
  options.add_options()("help,h", "show this help")(
      "config,c", po::value<std::vector<std::string>>()->composing(),
      "config file or directory (repeatable; without any: the embedded demo config)")(
      "format", po::value<std::string>()->default_value("text"),
      "text, or json (GCP's UrlMapsValidateResponse: {\"result\":...} for one URL map, "
      "an object keyed by URL map name for several)");
  po::positional_options_description positional;
  positional.add("config", -1);
  po::variables_map vm;
  if (const auto exit_code =
          parse_options("validate", "albemu validate -c PATH... [--format text|json]", options,
                        args, vm, &positional))
    return *exit_code;
  const std::string format = vm["format"].as<std::string>();
  if (format != "text" && format != "json") {
    std::cerr << "albemu validate: --format must be text or json\n";
    return 2;
  }
  const auto paths = vm.count("config") != 0 ? vm["config"].as<std::vector<std::string>>()
                                             : std::vector<std::string>{};

  const core::SnapshotResult result = core::load_snapshot(paths, 1);

  bool ok = result.errors.empty();
  for (const auto& validation : result.validations) {
    ok = ok && validation.load_succeeded && validation.test_passed;
  }

  if (format == "json") {
    boost::json::value out;
    if (result.validations.size() == 1) {
      out = validation_json(result.validations.front());
    } else {
      boost::json::object by_name;
      for (const auto& validation : result.validations) {
        by_name[validation.url_map] = validation_json(validation);
      }
      out = std::move(by_name);
    }
    std::cout << boost::json::serialize(out) << "\n";
  } else {
    for (const auto& validation : result.validations) print_validation_text(validation);
  }

  std::size_t other_errors = 0;
  for (const auto& error : result.errors) {
    if (belongs_to_url_map(error, result)) continue;
    if (other_errors++ == 0 && format == "text") std::cerr << "config errors:\n";
    std::cerr << (format == "text" ? "  " : "") << error.to_string() << "\n";
  }
  if (format == "text") {
    if (ok) {
      std::cout << "OK: " << result.validations.size() << " URL map(s) loaded, all tests passed\n";
    } else {
      std::cout << "FAILED: " << result.errors.size() << " error(s)\n";
    }
  }
  return ok ? 0 : 1;
}

}  // namespace albemu::cli
