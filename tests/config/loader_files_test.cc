// load_config_files: exported single-resource files, directories, multi-document files,
// certificate files, syntax errors; and parse_reference's forms.

#include <gtest/gtest.h>

#include "config/load/loader.h"
#include "tests/config/loader_fixture.h"

namespace albemu::config {
namespace {

using testing::has_error;
using testing::TempDir;

// ---------------------------------------------------------------- references

TEST(ParseReference, ShortName) {
  model::ResourceRef ref = parse_reference("web-backend");
  EXPECT_EQ(ref.text, "web-backend");
  EXPECT_EQ(ref.name, "web-backend");
  EXPECT_EQ(ref.collection, "");
  EXPECT_EQ(ref.project, "");
  EXPECT_EQ(ref.region, "");
}

TEST(ParseReference, RegionalPartial) {
  model::ResourceRef ref = parse_reference("regions/europe-west1/backendServices/web");
  EXPECT_EQ(ref.name, "web");
  EXPECT_EQ(ref.collection, "backendServices");
  EXPECT_EQ(ref.region, "europe-west1");
  EXPECT_EQ(ref.project, "");
}

TEST(ParseReference, ProjectPartial) {
  model::ResourceRef ref = parse_reference("projects/p-1/regions/us-east1/urlMaps/lb-map");
  EXPECT_EQ(ref.project, "p-1");
  EXPECT_EQ(ref.region, "us-east1");
  EXPECT_EQ(ref.collection, "urlMaps");
  EXPECT_EQ(ref.name, "lb-map");
}

TEST(ParseReference, FullUrl) {
  const std::string url =
      "https://www.googleapis.com/compute/v1/projects/p/regions/r1/backendServices/b";
  model::ResourceRef ref = parse_reference(url);
  EXPECT_EQ(ref.text, url);
  EXPECT_EQ(ref.project, "p");
  EXPECT_EQ(ref.region, "r1");
  EXPECT_EQ(ref.collection, "backendServices");
  EXPECT_EQ(ref.name, "b");
  EXPECT_EQ(parse_reference("https://compute.googleapis.com/compute/beta/projects/p/regions/r1/"
                            "backendServices/b")
                .name,
            "b");
}

TEST(ParseReference, GlobalNetworks) {
  model::ResourceRef partial = parse_reference("global/networks/lb-network");
  EXPECT_EQ(partial.collection, "networks");
  EXPECT_EQ(partial.name, "lb-network");
  EXPECT_EQ(partial.region, "");
  model::ResourceRef project = parse_reference("projects/p/global/networks/lb-network");
  EXPECT_EQ(project.project, "p");
  EXPECT_EQ(project.collection, "networks");
  model::ResourceRef url =
      parse_reference("https://www.googleapis.com/compute/v1/projects/p/global/networks/n");
  EXPECT_EQ(url.project, "p");
  EXPECT_EQ(url.name, "n");
  EXPECT_EQ(url.region, "");
}

TEST(ParseReference, CollectionAndName) {
  model::ResourceRef ref = parse_reference("targetHttpsProxies/https-proxy");
  EXPECT_EQ(ref.collection, "targetHttpsProxies");
  EXPECT_EQ(ref.name, "https-proxy");
}

TEST(ParseReference, RejectsWhatIsNotAReference) {
  EXPECT_TRUE(parse_reference("").empty());
  EXPECT_TRUE(parse_reference("Web_Backend").empty());
  EXPECT_TRUE(parse_reference("projects/p/backendServices/b").empty());
  EXPECT_TRUE(parse_reference("https://example.com/compute/v1/projects/p/regions/r/x/b").empty());
  EXPECT_TRUE(parse_reference("regions/r/backendServices/").empty());
  EXPECT_TRUE(parse_reference("a/b/c").empty());
  EXPECT_TRUE(parse_reference("zones/z/networkEndpointGroups/n").empty());
}

TEST(Loader, AllReferenceFormsResolveInAConfig) {
  LoadResult result = testing::load_with(R"yaml(
urlMaps:
- name: lb-map
  defaultService: https://www.googleapis.com/compute/v1/projects/my-project/regions/europe-west1/backendServices/web-backend
  hostRules:
  - hosts: [a.example.com]
    pathMatcher: m
  pathMatchers:
  - name: m
    defaultService: projects/my-project/regions/europe-west1/backendServices/login-backend
    pathRules:
    - paths: [/a]
      service: regions/europe-west1/backendServices/web-backend
    - paths: [/b]
      service: login-backend
)yaml");
  ASSERT_TRUE(result.ok()) << format_errors(result.errors);
  const model::UrlMap& map = result.config.url_maps.at(0);
  EXPECT_EQ(map.default_service->collection, "backendServices");
  EXPECT_EQ(map.path_matchers[0].default_service->project, "my-project");
  EXPECT_EQ(map.path_matchers[0].path_rules[0].service->region, "europe-west1");
  EXPECT_EQ(map.path_matchers[0].path_rules[1].service->text, "login-backend");
  EXPECT_EQ(map.path_matchers[0].path_rules[1].service->project, "my-project")
      << "a short name is completed with the referring resource's project";
}

TEST(Loader, BadReferenceNamesTheField) {
  LoadResult result = testing::load_with(R"yaml(
urlMaps:
- name: lb-map
  defaultService: projects/p/backendServices/x
)yaml");
  EXPECT_TRUE(has_error(result, "urlMaps[lb-map].defaultService", "is not a resource reference"));
}

// ---------------------------------------------------------------- files and directories

constexpr char kExportedUrlMap[] = R"yaml(
creationTimestamp: '2024-05-01T10:00:00.000-07:00'
defaultService: https://www.googleapis.com/compute/v1/projects/my-project/regions/europe-west1/backendServices/web-backend
fingerprint: 3cdMS4bHZkM=
hostRules:
- hosts:
  - '*'
  pathMatcher: path-matcher-1
id: '4187334357475340937'
kind: compute#urlMap
name: lb-map
pathMatchers:
- defaultService: https://www.googleapis.com/compute/v1/projects/my-project/regions/europe-west1/backendServices/web-backend
  name: path-matcher-1
  pathRules:
  - paths:
    - /login/*
    service: https://www.googleapis.com/compute/v1/projects/my-project/regions/europe-west1/backendServices/login-backend
region: https://www.googleapis.com/compute/v1/projects/my-project/regions/europe-west1
selfLink: https://www.googleapis.com/compute/v1/projects/my-project/regions/europe-west1/urlMaps/lb-map
)yaml";

TEST(LoaderFiles, ExportedResourceRecognisedByKind) {
  TempDir dir;
  std::string base = dir.write("base.yaml", testing::kBaseConfig);
  std::string exported = dir.write("exports/lb-map.yaml", kExportedUrlMap);
  LoadResult result = load_config_files({base, exported});
  ASSERT_TRUE(result.ok()) << format_errors(result.errors);
  ASSERT_EQ(result.config.url_maps.size(), 1u);
  const model::UrlMap& map = result.config.url_maps[0];
  EXPECT_EQ(map.name, "lb-map");
  EXPECT_EQ(map.region, "europe-west1");
  EXPECT_EQ(map.project, "my-project");
  EXPECT_EQ(map.origin.file, exported);
  EXPECT_EQ(map.path_matchers.at(0).path_rules.at(0).service->name, "login-backend");
  EXPECT_EQ(result.config.networks.at(0).origin.file, base);
}

TEST(LoaderFiles, ExportedResourceRecognisedByFolder) {
  TempDir dir;
  std::string base = dir.write("base.yaml", testing::kBaseConfig);
  std::string exported = dir.write("urlMaps/lb-map.yaml", R"yaml(
name: lb-map
defaultService: web-backend
hostRules:
- hosts: [a.example.com, bad_host!]
  pathMatcher: m
pathMatchers:
- name: m
  defaultService: web-backend
)yaml");
  LoadResult result = load_config_files({base, exported});
  ASSERT_EQ(result.config.url_maps.size(), 1u);
  EXPECT_EQ(result.config.url_maps[0].origin.file, exported);
  EXPECT_TRUE(has_error(result.errors, exported, "urlMaps[lb-map].hostRules[0].hosts[1]",
                        "is not a valid host name"));
}

TEST(LoaderFiles, EveryExportKindIsRecognised) {
  struct Case {
    const char* kind;
    const char* body;
  };
  const Case cases[] = {
      {"compute#network", "autoCreateSubnetworks: false\n"},
      {"compute#subnetwork", "network: global/networks/n\nipCidrRange: 10.0.0.0/24\n"},
      {"compute#networkEndpointGroup", "networkEndpointType: SERVERLESS\ncloudRun: {service: s}\n"},
      {"compute#backendService", "loadBalancingScheme: INTERNAL_MANAGED\n"},
      {"compute#securityPolicy", "type: CLOUD_ARMOR\n"},
      {"compute#urlMap", "defaultService: b\n"},
      {"compute#sslCertificate",
       "certificate: \"-----BEGIN CERTIFICATE-----\"\nprivateKey: \"-----BEGIN KEY-----\"\n"},
      {"compute#sslPolicy", "profile: MODERN\n"},
      {"compute#targetHttpProxy", "urlMap: m\n"},
      {"compute#targetHttpsProxy", "urlMap: m\nsslCertificates: [c]\n"},
      {"compute#forwardingRule", "portRange: '80'\ntarget: p\n"},
  };
  std::string text;
  for (const Case& item : cases) {
    text += "---\nkind: ";
    text += item.kind;
    text += "\nname: x\n";
    text += item.body;
  }
  LoadResult result = load_config_text(text, "exports.yaml");
  const model::Config& config = result.config;
  EXPECT_EQ(config.networks.size(), 1u);
  EXPECT_EQ(config.subnetworks.size(), 1u);
  EXPECT_EQ(config.network_endpoint_groups.size(), 1u);
  EXPECT_EQ(config.backend_services.size(), 1u);
  EXPECT_EQ(config.security_policies.size(), 1u);
  EXPECT_EQ(config.url_maps.size(), 1u);
  EXPECT_EQ(config.ssl_certificates.size(), 1u);
  EXPECT_EQ(config.ssl_policies.size(), 1u);
  EXPECT_EQ(config.target_http_proxies.size(), 1u);
  EXPECT_EQ(config.target_https_proxies.size(), 1u);
  EXPECT_EQ(config.forwarding_rules.size(), 1u);
  for (const ConfigError& error : result.errors) {
    EXPECT_EQ(error.message.find("unknown field"), std::string::npos) << error.to_string();
  }
}

TEST(LoaderFiles, UnknownKindIsAnError) {
  LoadResult result = load_config_text("kind: compute#instance\nname: vm\n", "vm.yaml");
  EXPECT_TRUE(has_error(result.errors, "vm.yaml", "kind", "unknown resource kind"));
}

TEST(LoaderFiles, DirectoryLoadsEveryYamlFileSortedByPath) {
  TempDir dir;
  dir.write("a-base.yaml", testing::kBaseConfig);
  dir.write("urlMaps/lb-map.yml", "name: lb-map\ndefaultService: web-backend\n");
  dir.write("z/more.yaml", "cloudRunServices:\n- name: zeta\n");
  dir.write("m/extra.yaml", "cloudRunServices:\n- name: mu\n");
  dir.write("notes.txt", "this: is not: yaml: at all");
  LoadResult result = load_config_files({dir.path().string()});
  ASSERT_TRUE(result.ok()) << format_errors(result.errors);
  const auto& services = result.config.cloud_run_services;
  ASSERT_EQ(services.size(), 4u);
  EXPECT_EQ(services[0].name, "login");
  EXPECT_EQ(services[2].name, "mu");
  EXPECT_EQ(services[3].name, "zeta");
  EXPECT_EQ(services[3].project, "my-project") << "config-wide defaults from a-base.yaml";
  EXPECT_EQ(services[3].region, "europe-west1");
  ASSERT_EQ(result.config.url_maps.size(), 1u);
  EXPECT_EQ(result.config.url_maps[0].origin.file, (dir.path() / "urlMaps/lb-map.yml").string());
}

TEST(LoaderFiles, MissingPathIsAnError) {
  LoadResult result = load_config_files({"/nonexistent/albemu/config.yaml"});
  EXPECT_TRUE(
      has_error(result.errors, "/nonexistent/albemu/config.yaml", "", "no such file or directory"));
}

TEST(LoaderFiles, EmptyDirectoryIsAnError) {
  TempDir dir;
  LoadResult result = load_config_files({dir.path().string()});
  EXPECT_TRUE(has_error(result.errors, dir.path().string(), "", "no *.yaml or *.yml files"));
}

TEST(LoaderFiles, MultiDocumentFile) {
  LoadResult result = load_config_text(
      "cloudRunServices:\n- name: a\n---\nkind: compute#network\nname: n\n---\n"
      "cloudRunServices:\n- name: b\n",
      "multi.yaml");
  ASSERT_TRUE(result.ok()) << format_errors(result.errors);
  EXPECT_EQ(result.config.cloud_run_services.size(), 2u);
  EXPECT_EQ(result.config.networks.size(), 1u);
}

TEST(LoaderFiles, YamlSyntaxErrorNamesFileAndLine) {
  LoadResult result =
      load_config_text("cloudRunServices:\n- name: a\n  url: [unclosed\n", "broken.yaml");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.errors[0].file, "broken.yaml");
  EXPECT_NE(result.errors[0].message.find("YAML syntax error at line"), std::string::npos)
      << result.errors[0].message;
}

TEST(LoaderFiles, StreamTheYamlParserCannotGetPastIsASyntaxError) {
  // yaml-cpp 0.7, which albemu once parsed with, returned the same empty document forever on
  // these: loading must end, with a syntax error.
  for (const char* yaml : {", ...", "a: 1\n---\n, ...)\n"}) {
    LoadResult result = load_config_text(yaml, "stuck.yaml");
    ASSERT_FALSE(result.ok()) << yaml;
    EXPECT_TRUE(has_error(result.errors, "stuck.yaml", "", "YAML syntax error at line"))
        << format_errors(result.errors);
  }
}

TEST(LoaderFiles, SyntaxErrorLineNumber) {
  LoadResult result = load_config_text("a: 1\nb: 2\nc: [\n", "broken.yaml");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.errors[0].message.find("line "), std::string::npos);
  EXPECT_TRUE(has_error(result.errors, "broken.yaml", "", "YAML syntax error"));
}

TEST(LoaderFiles, TopLevelMustBeAMapping) {
  LoadResult result = load_config_text("- a\n- b\n", "list.yaml");
  EXPECT_TRUE(has_error(result.errors, "list.yaml", "", "expected a mapping at the top level"));
}

TEST(LoaderFiles, UnknownTopLevelKey) {
  LoadResult result = load_config_text("urlmaps: []\n", "typo.yaml");
  EXPECT_TRUE(has_error(result.errors, "typo.yaml", "urlmaps", "unknown top-level key"));
}

TEST(LoaderFiles, DuplicateTopLevelKey) {
  LoadResult result = load_config_text("networks: []\nnetworks: [{name: a}]\n", "dup.yaml");
  EXPECT_TRUE(has_error(result.errors, "dup.yaml", "networks", "appears more than once"));
}

// ---------------------------------------------------------------- certificate files

constexpr char kCertificatePem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
constexpr char kKeyPem[] = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";

TEST(LoaderFiles, CertificateFilesResolveAgainstTheConfigDirectory) {
  TempDir dir;
  dir.write("certs/lb.crt", kCertificatePem);
  dir.write("certs/lb.key", kKeyPem);
  std::string config = dir.write("config/../lb.yaml", R"yaml(
sslCertificates:
- name: lb-cert
  certificateFile: certs/lb.crt
  privateKeyFile: certs/lb.key
)yaml");
  LoadResult result = load_config_files({config});
  ASSERT_TRUE(result.ok()) << format_errors(result.errors);
  const model::SslCertificate& certificate = result.config.ssl_certificates.at(0);
  EXPECT_EQ(certificate.certificate, kCertificatePem);
  EXPECT_EQ(certificate.private_key, kKeyPem);
  EXPECT_NE(certificate.certificate_file.find("certs/lb.crt"), std::string::npos);
}

TEST(LoaderFiles, CertificateFileInTextResolvesAgainstTheNamedFile) {
  TempDir dir;
  dir.write("lb.crt", kCertificatePem);
  dir.write("lb.key", kKeyPem);
  LoadResult result = load_config_text(
      "sslCertificates:\n- name: c\n  certificateFile: lb.crt\n  privateKeyFile: lb.key\n",
      (dir.path() / "inline.yaml").string());
  ASSERT_TRUE(result.ok()) << format_errors(result.errors);
  EXPECT_EQ(result.config.ssl_certificates.at(0).private_key, kKeyPem);
}

TEST(LoaderFiles, MissingCertificateFileNamesTheField) {
  TempDir dir;
  dir.write("lb.crt", kCertificatePem);
  std::string config = dir.write("lb.yaml", R"yaml(
sslCertificates:
- name: lb-cert
  certificateFile: lb.crt
  privateKeyFile: missing.key
)yaml");
  LoadResult result = load_config_files({config});
  EXPECT_TRUE(
      has_error(result.errors, config, "sslCertificates[lb-cert].privateKeyFile", "cannot read"));
  EXPECT_TRUE(
      has_error(result.errors, config, "sslCertificates[lb-cert].privateKeyFile", "missing.key"));
}

TEST(LoaderFiles, EmptyAndNonPemCertificateFiles) {
  TempDir dir;
  dir.write("empty.crt", "");
  dir.write("text.key", "not a key");
  std::string config = dir.write("lb.yaml", R"yaml(
sslCertificates:
- name: lb-cert
  certificateFile: empty.crt
  privateKeyFile: text.key
)yaml");
  LoadResult result = load_config_files({config});
  EXPECT_TRUE(
      has_error(result.errors, config, "sslCertificates[lb-cert].certificateFile", "is empty"));
  EXPECT_TRUE(
      has_error(result.errors, config, "sslCertificates[lb-cert].privateKeyFile", "is not PEM"));
}

}  // namespace
}  // namespace albemu::config
