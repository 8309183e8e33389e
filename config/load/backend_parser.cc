// cloudRunServices, networkEndpointGroups and backendServices.

#include <algorithm>

#include "config/load/field_rules.h"
#include "config/load/resource_parsers.h"
#include "config/model/log_fields.h"

namespace albemu::config {

namespace {

void check_name_field(const YamlCursor& field, const std::optional<std::string>& value) {
  if (!value) return;
  std::string problem = check_resource_name(*value);
  if (!problem.empty()) field.error(problem);
}

// A stand-in endpoint: `http://host:port` (or https) naming a local container or process.
void check_endpoint_url(const YamlCursor& field, const std::string& url) {
  const bool http = url.rfind("http://", 0) == 0;
  const bool https = url.rfind("https://", 0) == 0;
  if (!http && !https) {
    field.error("'" + url + "' must be an http:// or https:// URL");
    return;
  }
  std::string_view rest = std::string_view(url).substr(http ? 7 : 8);
  if (rest.empty() || rest.front() == '/' || rest.front() == ':') {
    field.error("'" + url + "' has no host");
  }
}

std::vector<std::string> read_endpoint_urls(const YamlCursor& field) {
  std::vector<std::string> urls;
  if (!field.present()) return urls;
  if (field.node().is_scalar()) {
    urls.push_back(field.node().scalar());
    check_endpoint_url(field, urls.back());
    return urls;
  }
  for (const YamlCursor& item : field.items()) {
    std::optional<std::string> url = item.as_string();
    if (!url) continue;
    check_endpoint_url(item, *url);
    urls.push_back(*url);
  }
  return urls;
}

// `caCertificateFile`: a PEM file of CA certificates, read now so that a missing or unreadable
// file is a load error naming it. Its certificates are parsed when the data plane builds the
// service's TLS context; here it must at least hold one.
void read_ca_certificate_file(const YamlCursor& field, model::CloudRunService& service) {
  std::optional<std::string> name = field.as_string();
  if (!name) return;
  if (name->empty()) return field.error("must not be empty");
  std::optional<std::string> pem =
      read_config_relative_file(field, *name, &service.ca_certificate_file);
  if (!pem) return;
  if (pem->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return field.error("'" + service.ca_certificate_file +
                       "' holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
  }
  service.ca_certificate = std::move(*pem);
}

bool is_https_url(const std::string& url) { return url.rfind("https://", 0) == 0; }

// albemu speaks HTTP/2 to a useHttp2 service in cleartext (h2c, prior knowledge), as Cloud Run
// reaches such a container; HTTP/2 over TLS to an https:// URL is not built.
void refuse_http2_over_tls(const YamlCursor& field, const model::CloudRunService& service) {
  if (!service.use_http2) return;
  bool https = std::any_of(service.urls.begin(), service.urls.end(), is_https_url);
  for (const auto& [tag, urls] : service.tags)
    https = https || std::any_of(urls.begin(), urls.end(), is_https_url);
  if (https) {
    field.error(
        "useHttp2 with an https:// URL is not supported: albemu speaks HTTP/2 to a useHttp2 "
        "service in cleartext (h2c); use an http:// URL, or drop useHttp2 for HTTP/1.1 over TLS");
  }
}

}  // namespace

model::CloudRunService parse_cloud_run_service(const YamlCursor& resource,
                                               const ResourceDefaults& defaults) {
  FieldReader reader(resource);
  model::CloudRunService service;
  read_resource_header(resource, reader, defaults, service);
  service.ingress =
      reader.optional_enum("ingress", {"all", "internal", "internal-and-cloud-load-balancing"})
          .value_or("all");
  service.use_http2 = reader.flag("useHttp2");
  YamlCursor url = reader.take("url");
  YamlCursor urls = reader.take("urls");
  if (url.present() && urls.present()) resource.error("only one of url and urls may be set");
  if (std::optional<std::string> single = url.as_string()) {
    check_endpoint_url(url, *single);
    service.urls.push_back(*single);
  }
  if (urls.present() && urls.node().is_scalar()) {
    urls.error("expected a list of URLs");
  } else {
    for (std::string& endpoint : read_endpoint_urls(urls))
      service.urls.push_back(std::move(endpoint));
  }
  read_ca_certificate_file(reader.take("caCertificateFile"), service);
  YamlCursor tags = reader.take("tags");
  if (tags.present()) {
    if (!tags.node().is_map()) {
      tags.error("expected a mapping of tag -> url or list of urls");
    } else {
      for (const YamlNode::Pair& pair : tags.node().pairs()) {
        std::string tag = pair.key->is_scalar() ? pair.key->scalar() : std::string();
        YamlCursor tag_field = tags.field(tag);
        if (!is_valid_resource_name(tag)) {
          tag_field.error("tag '" + tag +
                          "' must be 1-63 characters matching [a-z]([-a-z0-9]*[a-z0-9])?");
        }
        service.tags[tag] = read_endpoint_urls(tag_field);
      }
    }
  }
  refuse_http2_over_tls(reader.cursor().field("useHttp2"), service);
  return service;
}

model::NetworkEndpointGroup parse_network_endpoint_group(const YamlCursor& resource,
                                                         const ResourceDefaults& defaults) {
  FieldReader reader(resource);
  model::NetworkEndpointGroup group;
  read_resource_header(resource, reader, defaults, group);

  // The type (SERVERLESS only) and the cloudRun target's completeness are checked by
  // validate_config; an omitted type means the only one albemu has.
  group.network_endpoint_type =
      reader.optional_string("networkEndpointType").value_or("SERVERLESS");
  constexpr std::string_view kCloudRunOnly =
      "regional internal Application Load Balancers accept only Cloud Run serverless NEGs";
  reader.reject("appEngine", kCloudRunOnly);
  reader.reject("cloudFunction", kCloudRunOnly);
  reader.reject("serverlessDeployment", kCloudRunOnly);
  reader.ignore({"network", "subnetwork", "defaultPort", "annotations"});

  YamlCursor cloud_run = reader.take("cloudRun");
  if (!cloud_run.present()) return group;
  FieldReader run_reader(cloud_run);
  model::CloudRunTarget target;
  YamlCursor service = run_reader.take("service");
  target.service = service.as_string();
  check_name_field(service, target.service);
  YamlCursor tag = run_reader.take("tag");
  target.tag = tag.as_string();
  check_name_field(tag, target.tag);
  YamlCursor url_mask = run_reader.take("urlMask");
  target.url_mask = url_mask.as_string();
  if (target.url_mask && target.url_mask->empty()) url_mask.error("must not be empty");
  group.cloud_run = std::move(target);
  return group;
}

model::BackendService parse_backend_service(const YamlCursor& resource,
                                            const ResourceDefaults& defaults) {
  FieldReader reader(resource);
  model::BackendService service;
  read_resource_header(resource, reader, defaults, service);

  YamlCursor scheme = reader.take("loadBalancingScheme");
  service.load_balancing_scheme = scheme.as_string().value_or("INTERNAL_MANAGED");
  if (service.load_balancing_scheme != "INTERNAL_MANAGED") {
    scheme.error("loadBalancingScheme '" + service.load_balancing_scheme +
                 "' is not supported; albemu emulates INTERNAL_MANAGED only");
  }
  service.protocol =
      reader.optional_enum("protocol", {"HTTP", "HTTPS", "HTTP2", "H2C"}).value_or("HTTP");

  for (const YamlCursor& item : reader.items("backends")) {
    FieldReader backend_reader(item);
    model::Backend backend;
    backend.group = complete_reference(backend_reader.required_reference("group"), service);
    backend.balancing_mode = backend_reader.string("balancingMode");
    const YamlCursor scaler = item.field("capacityScaler");
    backend.capacity_scaler = backend_reader.optional_double("capacityScaler", 0, 1);
    // compute v1: 0 (drained) or 0.1-1.0, and never 0 for a service's only backend. A
    // serverless NEG is a service's only backend, so the value cannot change routing.
    if (backend.capacity_scaler && *backend.capacity_scaler > 0 && *backend.capacity_scaler < 0.1) {
      scaler.error("must be 0 or between 0.1 and 1.0");
    } else if (backend.capacity_scaler && *backend.capacity_scaler == 0) {
      scaler.error("cannot be 0 (drained) for the only backend of a backend service");
    }
    backend.description = backend_reader.string("description");
    // Serverless NEGs have no capacity; GCP accepts these and they have no effect.
    backend_reader.ignore({"maxUtilization", "maxRate", "maxRatePerInstance", "maxRatePerEndpoint",
                           "maxConnections", "maxConnectionsPerInstance",
                           "maxConnectionsPerEndpoint", "failover", "preference"});
    service.backends.push_back(std::move(backend));
  }
  if (auto ref = reader.optional_reference("securityPolicy")) {
    service.security_policy = complete_reference(*ref, service);
  }
  YamlCursor log_config = reader.take("logConfig");
  if (log_config.present()) {
    FieldReader log_reader(log_config);
    model::BackendLogConfig config;
    config.enable = log_reader.flag("enable");
    config.sample_rate = log_reader.optional_double("sampleRate", 0, 1);
    config.optional_mode = log_reader
                               .optional_enum("optionalMode", {"INCLUDE_ALL_OPTIONAL",
                                                               "EXCLUDE_ALL_OPTIONAL", "CUSTOM"})
                               .value_or("EXCLUDE_ALL_OPTIONAL");
    YamlCursor fields = log_reader.take("optionalFields");
    if (fields.present() && config.optional_mode != "CUSTOM") {
      fields.error("optionalFields can only be set when optionalMode is CUSTOM");
    } else if (fields.present()) {
      for (const YamlCursor& item : fields.items()) {
        std::optional<std::string> name = item.as_string();
        if (!name) continue;
        if (!model::find_optional_log_field(*name)) {
          item.error("'" + *name +
                     "' is not an optional field of the internal Application Load Balancer's "
                     "log (tls.protocol, tls.cipher, tls.earlyDataRequest or mtls.*)");
          continue;
        }
        config.optional_fields.push_back(*name);
      }
    }
    service.log_config = config;
  }

  // What GCP refuses for a backend service with a serverless NEG, and albemu has no other
  // kind of backend.
  reader.reject("timeoutSec",
                "Timeout sec is not supported for a backend service with Serverless network "
                "endpoint groups");
  constexpr std::string_view kNoHealthChecks =
      "health checks are not supported for a backend service with Serverless network endpoint "
      "groups";
  reader.reject("healthChecks", kNoHealthChecks);
  YamlCursor affinity = reader.take("sessionAffinity");
  // NONE is the default that exports write; any other affinity is refused.
  if (affinity.present() && affinity.as_string().value_or("") != "NONE") {
    affinity.error(
        "sessionAffinity is not supported for a backend service with Serverless "
        "network endpoint groups");
  }
  reader.reject("localityLbPolicy",
                "localityLbPolicy is not supported for a backend service with Serverless "
                "network endpoint groups");
  reader.reject("localityLbPolicies",
                "localityLbPolicies is not supported for a backend service with Serverless "
                "network endpoint groups");
  reader.reject("consistentHash",
                "consistentHash is not supported for a backend service with Serverless "
                "network endpoint groups");
  reader.reject("outlierDetection",
                "outlierDetection is not supported on regional internal Application Load "
                "Balancer backend services");
  reader.reject("customRequestHeaders",
                "customRequestHeaders on a backend service are only supported by global load "
                "balancers; use the URL map's headerAction");
  reader.reject("customResponseHeaders",
                "customResponseHeaders on a backend service are only supported by global load "
                "balancers; use the URL map's headerAction");
  reader.reject("cdnPolicy", "Cloud CDN is not supported by internal Application Load Balancers");
  // Exports write `iap: {enabled: false}`; only an enabled IAP changes behaviour.
  YamlCursor iap = reader.take("iap");
  if (iap.present()) {
    YamlCursor enabled = iap.field("enabled");
    if (!iap.node().is_map() || !enabled.present() || enabled.as_bool().value_or(true)) {
      iap.error("IAP is not supported by albemu");
    }
  }
  // Exports write `enableCDN: false`; only an enabled CDN would change behaviour.
  YamlCursor cdn = reader.take("enableCDN");
  if (cdn.as_bool().value_or(false)) {
    cdn.error("Cloud CDN is not supported by internal Application Load Balancers");
  }
  reader.ignore({"connectionDraining", "portName", "affinityCookieTtlSec", "compressionMode",
                 "network", "ipAddressSelectionPolicy", "port"});
  return service;
}

}  // namespace albemu::config
