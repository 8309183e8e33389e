#include "proxy/core/log_policy.h"

namespace albemu::core {

LogPolicy compile_log_policy(const model::BackendService& service) {
  LogPolicy policy;
  if (!service.log_config) return policy;
  const model::BackendLogConfig& config = *service.log_config;
  policy.enabled = config.enable;
  policy.sample_rate = config.sample_rate.value_or(1.0);
  if (config.optional_mode == "INCLUDE_ALL_OPTIONAL") {
    policy.optional_fields = model::kAllOptionalLogFields;
  } else if (config.optional_mode == "CUSTOM") {
    for (const std::string& name : config.optional_fields) {
      if (auto field = model::find_optional_log_field(name)) {
        policy.optional_fields |= model::log_field_bit(*field);
      }
    }
  }
  return policy;
}

bool should_log_request(const LogFacts& facts, double draw) {
  if (facts.policy != nullptr && facts.policy->enabled) {
    // sampleRate 1.0 logs everything and 0.0 nothing, whatever the draw.
    return draw < facts.policy->sample_rate;
  }
  const bool failed = facts.status == 0 || facts.status >= 400;
  return failed && !facts.backend_associated;
}

model::OptionalLogFields logged_optional_fields(const LogPolicy* policy) {
  if (policy == nullptr || !policy->enabled) return 0;
  return policy->optional_fields;
}

}  // namespace albemu::core
