#include "config/load/route_action_parser.h"

#include <set>

#include "config/load/field_rules.h"

namespace albemu::config {

namespace {

constexpr int64_t kMaxInt32 = 2147483647;

constexpr std::string_view kSelfManagedOnly =
    "is only supported by INTERNAL_SELF_MANAGED load balancers, not INTERNAL_MANAGED";

void report(const YamlCursor& field, const std::string& problem) {
  if (!problem.empty()) field.error(problem);
}

std::vector<model::HeaderToAdd> parse_headers_to_add(const YamlCursor& list) {
  std::vector<model::HeaderToAdd> headers;
  std::set<std::string> seen;
  for (const YamlCursor& item : list.items()) {
    FieldReader reader(item);
    model::HeaderToAdd header;
    YamlCursor name = reader.take("headerName");
    header.header_name = reader.required_string("headerName");
    if (!header.header_name.empty()) {
      std::string problem = check_custom_header_name(header.header_name);
      report(name, problem);
      if (problem.empty() && !seen.insert(ascii_lower(header.header_name)).second) {
        name.error("header '" + header.header_name + "' appears more than once in this list");
      }
    }
    YamlCursor value = reader.take("headerValue");
    header.header_value = value.as_string().value_or("");
    report(value, check_header_value(header.header_value));
    header.replace = reader.optional_bool("replace");
    headers.push_back(std::move(header));
  }
  return headers;
}

std::vector<std::string> parse_headers_to_remove(const YamlCursor& list) {
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const YamlCursor& item : list.items()) {
    std::optional<std::string> name = item.as_string();
    if (!name) {
      if (!item.present()) item.error("expected a header name");
      continue;
    }
    std::string problem = check_custom_header_name(*name);
    report(item, problem);
    if (problem.empty() && !seen.insert(ascii_lower(*name)).second) {
      item.error("header '" + *name + "' appears more than once in this list");
    }
    names.push_back(*name);
  }
  return names;
}

model::UrlRewrite parse_url_rewrite(const YamlCursor& cursor, const RewriteContext& context) {
  FieldReader reader(cursor);
  model::UrlRewrite rewrite;
  rewrite.host_rewrite = optional_bounded_string(reader, "hostRewrite", 1, 255);
  rewrite.path_prefix_rewrite = optional_bounded_string(reader, "pathPrefixRewrite", 1, 1024);
  YamlCursor template_field = reader.take("pathTemplateRewrite");
  rewrite.path_template_rewrite = template_field.as_string();
  if (rewrite.path_template_rewrite) {
    check_length(template_field, *rewrite.path_template_rewrite, 1, 1024);
    if (!context.template_rewrite_allowed) {
      template_field.error(
          "pathTemplateRewrite requires every matchRule of the route rule to be a "
          "pathTemplateMatch");
    } else {
      report(template_field, check_path_template_rewrite(*rewrite.path_template_rewrite,
                                                         context.captured_variables));
    }
  }
  if (rewrite.path_prefix_rewrite && rewrite.path_template_rewrite) {
    cursor.error("only one of pathPrefixRewrite and pathTemplateRewrite may be set");
  }
  return rewrite;
}

model::RetryPolicy parse_retry_policy(const YamlCursor& cursor) {
  FieldReader reader(cursor);
  model::RetryPolicy policy;
  for (const YamlCursor& item : reader.items("retryConditions")) {
    std::optional<std::string> condition = item.as_string();
    if (!condition) continue;
    static constexpr std::string_view kConditions[] = {
        "5xx",       "gateway-error",     "connect-failure", "retriable-4xx",      "refused-stream",
        "cancelled", "deadline-exceeded", "internal",        "resource-exhausted", "unavailable"};
    bool known = false;
    for (std::string_view candidate : kConditions) known = known || *condition == candidate;
    if (!known) {
      item.error("unknown retry condition '" + *condition +
                 "' (allowed: 5xx, gateway-error, connect-failure, retriable-4xx, "
                 "refused-stream, cancelled, deadline-exceeded, internal, "
                 "resource-exhausted, unavailable)");
      continue;
    }
    policy.retry_conditions.push_back(*condition);
  }
  YamlCursor num_retries = reader.take("numRetries");
  if (std::optional<int64_t> value = num_retries.as_int64(INT64_MIN, kMaxInt32)) {
    if (*value <= 0) {
      num_retries.error("numRetries must be greater than 0");
    } else {
      policy.num_retries = static_cast<uint32_t>(*value);
    }
  }
  policy.per_try_timeout = reader.optional_duration("perTryTimeout");
  return policy;
}

model::CorsPolicy parse_cors_policy(const YamlCursor& cursor) {
  FieldReader reader(cursor);
  model::CorsPolicy policy;
  policy.allow_origins = reader.string_list("allowOrigins");
  reader.reject("allowOriginRegexes",
                std::string("allowOriginRegexes ") + std::string(kSelfManagedOnly));
  policy.allow_methods = reader.string_list("allowMethods");
  policy.allow_headers = reader.string_list("allowHeaders");
  policy.expose_headers = reader.string_list("exposeHeaders");
  if (std::optional<int64_t> max_age = reader.optional_int64("maxAge", 0, kMaxInt32)) {
    policy.max_age = static_cast<int32_t>(*max_age);
  }
  policy.allow_credentials = reader.flag("allowCredentials");
  policy.disabled = reader.flag("disabled");
  return policy;
}

model::FaultInjectionPolicy parse_fault_injection(const YamlCursor& cursor) {
  FieldReader reader(cursor);
  model::FaultInjectionPolicy policy;
  YamlCursor delay_field = reader.take("delay");
  if (delay_field.present()) {
    FieldReader delay_reader(delay_field);
    model::FaultDelay delay;
    YamlCursor fixed = delay_reader.take("fixedDelay");
    if (!fixed.present() && delay_reader.valid()) fixed.error("is required");
    delay.fixed_delay = fixed.as_duration().value_or(model::Duration{});
    delay.percentage = delay_reader.optional_double("percentage", 0, 100).value_or(0);
    policy.delay = delay;
  }
  YamlCursor abort_field = reader.take("abort");
  if (abort_field.present()) {
    FieldReader abort_reader(abort_field);
    model::FaultAbort abort;
    YamlCursor status = abort_reader.take("httpStatus");
    if (!status.present() && abort_reader.valid()) status.error("is required");
    abort.http_status = static_cast<uint32_t>(status.as_int64(200, 599).value_or(0));
    abort.percentage = abort_reader.optional_double("percentage", 0, 100).value_or(0);
    policy.abort = abort;
  }
  return policy;
}

bool exactly_one(const YamlCursor& at, std::initializer_list<std::string_view> keys,
                 std::string_view what) {
  int count = 0;
  std::string names;
  for (std::string_view key : keys) {
    if (at.field(key).exists()) ++count;
    if (!names.empty()) names += ", ";
    names += key;
  }
  if (count == 1) return true;
  at.error(std::string(what) + " must set exactly one of " + names + " (" + std::to_string(count) +
           " set)");
  return false;
}

model::HttpHeaderMatch parse_header_match(const YamlCursor& cursor) {
  FieldReader reader(cursor);
  model::HttpHeaderMatch match;
  match.header_name = reader.required_string("headerName");
  match.exact_match = reader.optional_string("exactMatch");
  match.prefix_match = reader.optional_string("prefixMatch");
  match.suffix_match = reader.optional_string("suffixMatch");
  YamlCursor regex = reader.take("regexMatch");
  match.regex_match = regex.as_string();
  if (match.regex_match) report(regex, check_regex(*match.regex_match));
  match.present_match = reader.optional_bool("presentMatch");
  YamlCursor range = reader.take("rangeMatch");
  if (range.present()) {
    FieldReader range_reader(range);
    model::Int64RangeMatch value;
    value.range_start = range_reader.optional_int64("rangeStart", INT64_MIN, INT64_MAX).value_or(0);
    value.range_end = range_reader.optional_int64("rangeEnd", INT64_MIN, INT64_MAX).value_or(0);
    match.range_match = value;
  }
  match.invert_match = reader.flag("invertMatch");
  if (reader.valid()) {
    exactly_one(
        cursor,
        {"exactMatch", "prefixMatch", "suffixMatch", "regexMatch", "presentMatch", "rangeMatch"},
        "a header match");
  }
  return match;
}

model::HttpQueryParameterMatch parse_query_match(const YamlCursor& cursor) {
  FieldReader reader(cursor);
  model::HttpQueryParameterMatch match;
  match.name = reader.required_string("name");
  match.exact_match = reader.optional_string("exactMatch");
  YamlCursor regex = reader.take("regexMatch");
  match.regex_match = regex.as_string();
  if (match.regex_match) report(regex, check_regex(*match.regex_match));
  match.present_match = reader.optional_bool("presentMatch");
  if (reader.valid()) {
    exactly_one(cursor, {"exactMatch", "regexMatch", "presentMatch"}, "a query parameter match");
  }
  return match;
}

}  // namespace

model::HttpRouteRuleMatch parse_match_rule(
    const YamlCursor& cursor, std::optional<std::vector<std::string>>* template_variables) {
  FieldReader reader(cursor);
  model::HttpRouteRuleMatch match;
  YamlCursor prefix = reader.take("prefixMatch");
  match.prefix_match = prefix.as_string();
  if (match.prefix_match) {
    check_length(prefix, *match.prefix_match, 1, 1024);
    if (!match.prefix_match->empty() && match.prefix_match->front() != '/') {
      prefix.error("prefixMatch must start with '/'");
    }
  }
  match.full_path_match = optional_bounded_string(reader, "fullPathMatch", 1, 1024);
  YamlCursor regex = reader.take("regexMatch");
  match.regex_match = regex.as_string();
  if (match.regex_match) report(regex, check_regex(*match.regex_match));
  YamlCursor path_template = reader.take("pathTemplateMatch");
  match.path_template_match = path_template.as_string();
  if (match.path_template_match) {
    check_length(path_template, *match.path_template_match, 1, 1024);
    std::vector<std::string> variables;
    std::string problem = check_path_template(*match.path_template_match, &variables);
    report(path_template, problem);
    if (template_variables != nullptr) *template_variables = std::move(variables);
  }
  YamlCursor ignore_case = reader.take("ignoreCase");
  match.ignore_case = ignore_case.as_bool().value_or(false);
  if (match.ignore_case && match.regex_match) {
    ignore_case.error("ignoreCase cannot be used with regexMatch");
  }
  for (const YamlCursor& item : reader.items("headerMatches")) {
    match.header_matches.push_back(parse_header_match(item));
  }
  for (const YamlCursor& item : reader.items("queryParameterMatches")) {
    match.query_parameter_matches.push_back(parse_query_match(item));
  }
  reader.reject("metadataFilters", std::string("metadataFilters ") + std::string(kSelfManagedOnly));
  if (reader.valid()) {
    exactly_one(cursor, {"prefixMatch", "fullPathMatch", "regexMatch", "pathTemplateMatch"},
                "a matchRule");
  }
  return match;
}

model::HttpHeaderAction parse_header_action(const YamlCursor& cursor) {
  FieldReader reader(cursor);
  model::HttpHeaderAction action;
  action.request_headers_to_add = parse_headers_to_add(reader.take("requestHeadersToAdd"));
  action.request_headers_to_remove = parse_headers_to_remove(reader.take("requestHeadersToRemove"));
  action.response_headers_to_add = parse_headers_to_add(reader.take("responseHeadersToAdd"));
  action.response_headers_to_remove =
      parse_headers_to_remove(reader.take("responseHeadersToRemove"));
  return action;
}

model::HttpRedirectAction parse_redirect_action(const YamlCursor& cursor) {
  FieldReader reader(cursor);
  model::HttpRedirectAction redirect;
  redirect.host_redirect = optional_bounded_string(reader, "hostRedirect", 1, 255);
  redirect.path_redirect = optional_bounded_string(reader, "pathRedirect", 1, 1024);
  redirect.prefix_redirect = optional_bounded_string(reader, "prefixRedirect", 1, 1024);
  if (redirect.path_redirect && redirect.prefix_redirect) {
    cursor.error("only one of pathRedirect and prefixRedirect may be set");
  }
  redirect.https_redirect = reader.flag("httpsRedirect");
  redirect.strip_query = reader.flag("stripQuery");
  std::optional<std::string> code = reader.optional_enum(
      "redirectResponseCode", {"MOVED_PERMANENTLY_DEFAULT", "FOUND", "SEE_OTHER",
                               "TEMPORARY_REDIRECT", "PERMANENT_REDIRECT"});
  if (code == "FOUND") {
    redirect.redirect_response_code = model::RedirectResponseCode::kFound;
  } else if (code == "SEE_OTHER") {
    redirect.redirect_response_code = model::RedirectResponseCode::kSeeOther;
  } else if (code == "TEMPORARY_REDIRECT") {
    redirect.redirect_response_code = model::RedirectResponseCode::kTemporaryRedirect;
  } else if (code == "PERMANENT_REDIRECT") {
    redirect.redirect_response_code = model::RedirectResponseCode::kPermanentRedirect;
  }
  return redirect;
}

model::HttpRouteAction parse_route_action(const YamlCursor& cursor, const model::Resource& owner,
                                          const RewriteContext& rewrite) {
  FieldReader reader(cursor);
  model::HttpRouteAction action;
  for (const YamlCursor& item : reader.items("weightedBackendServices")) {
    FieldReader item_reader(item);
    model::WeightedBackendService weighted;
    weighted.backend_service =
        complete_reference(item_reader.required_reference("backendService"), owner);
    YamlCursor weight = item_reader.take("weight");
    if (!weight.present() && item_reader.valid()) weight.error("is required");
    weighted.weight = static_cast<uint32_t>(weight.as_int64(0, 1000).value_or(0));
    YamlCursor header_action = item_reader.take("headerAction");
    if (header_action.present()) weighted.header_action = parse_header_action(header_action);
    action.weighted_backend_services.push_back(std::move(weighted));
  }
  YamlCursor url_rewrite = reader.take("urlRewrite");
  if (url_rewrite.present()) action.url_rewrite = parse_url_rewrite(url_rewrite, rewrite);
  action.timeout = reader.optional_duration("timeout");
  YamlCursor retry = reader.take("retryPolicy");
  if (retry.present()) action.retry_policy = parse_retry_policy(retry);
  YamlCursor mirror = reader.take("requestMirrorPolicy");
  if (mirror.present()) {
    FieldReader mirror_reader(mirror);
    model::RequestMirrorPolicy policy;
    policy.backend_service =
        complete_reference(mirror_reader.required_reference("backendService"), owner);
    policy.mirror_percent = mirror_reader.optional_double("mirrorPercent", 0, 100);
    action.request_mirror_policy = std::move(policy);
  }
  YamlCursor cors = reader.take("corsPolicy");
  if (cors.present()) action.cors_policy = parse_cors_policy(cors);
  YamlCursor fault = reader.take("faultInjectionPolicy");
  if (fault.present()) action.fault_injection_policy = parse_fault_injection(fault);
  reader.reject("maxStreamDuration",
                std::string("maxStreamDuration ") + std::string(kSelfManagedOnly));
  reader.reject("cachePolicy",
                "cachePolicy is only supported by global external Application Load Balancers");
  return action;
}

void check_action_choice(const YamlCursor& at, const ActionChoice& choice,
                         const ActionFieldNames& names, bool required) {
  const int count =
      int{choice.service} + int{choice.redirect} + int{choice.weighted_backend_services};
  const std::string list = std::string(names.service) + ", " + std::string(names.redirect) +
                           " and " + std::string(names.route_action) + ".weightedBackendServices";
  if (count > 1) {
    at.error("only one of " + list + " may be set");
  } else if (choice.redirect && (choice.service || choice.route_action)) {
    at.error(std::string(names.redirect) + " cannot be combined with " +
             std::string(names.service) + " or " + std::string(names.route_action));
  } else if (count == 0 && required) {
    at.error("one of " + list + " is required");
  }
}

}  // namespace albemu::config
