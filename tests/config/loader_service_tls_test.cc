// cloudRunServices[].caCertificateFile (albemu's extension for https:// service URLs): a PEM
// path relative to the config file, read at load; a missing, unreadable or non-PEM file is an
// error naming the file and the field; useHttp2 with an https:// URL is refused.

#include <gtest/gtest.h>

#include "config/load/loader.h"
#include "tests/config/loader_fixture.h"

namespace albemu::config {
namespace {

using testing::has_error;
using testing::TempDir;

constexpr char kCaPem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

TEST(LoaderServiceTls, CaCertificateFileResolvesAgainstTheConfigDirectory) {
  TempDir dir;
  dir.write("certs/ca.pem", kCaPem);
  std::string config = dir.write("config/../lb.yaml", R"yaml(
cloudRunServices:
- name: api
  url: https://api-abc123-uc.a.run.app
  caCertificateFile: certs/ca.pem
)yaml");
  LoadResult result = load_config_files({config});
  ASSERT_TRUE(result.ok()) << format_errors(result.errors);
  const model::CloudRunService& service = result.config.cloud_run_services.at(0);
  EXPECT_EQ(service.ca_certificate, kCaPem);
  EXPECT_NE(service.ca_certificate_file.find("certs/ca.pem"), std::string::npos);
  EXPECT_EQ(service.ca_certificate_file.rfind(dir.path().string(), 0), 0u);
}

TEST(LoaderServiceTls, WithoutCaCertificateFileOnlyTheSystemStore) {
  LoadResult result = load_config_text(
      "cloudRunServices:\n- name: api\n  url: https://api-abc123-uc.a.run.app\n", "lb.yaml");
  ASSERT_TRUE(result.ok()) << format_errors(result.errors);
  EXPECT_EQ(result.config.cloud_run_services.at(0).ca_certificate_file, "");
}

TEST(LoaderServiceTls, MissingCaCertificateFileNamesTheFileAndField) {
  TempDir dir;
  std::string config = dir.write("lb.yaml", R"yaml(
cloudRunServices:
- name: api
  url: https://localhost:8443
  caCertificateFile: missing-ca.pem
)yaml");
  LoadResult result = load_config_files({config});
  EXPECT_TRUE(
      has_error(result.errors, config, "cloudRunServices[api].caCertificateFile", "cannot read"));
  EXPECT_TRUE(has_error(result.errors, config, "cloudRunServices[api].caCertificateFile",
                        "missing-ca.pem"));
}

TEST(LoaderServiceTls, NonPemCaCertificateFileNamesTheFileAndField) {
  TempDir dir;
  dir.write("ca.txt", "not a certificate");
  std::string config = dir.write("lb.yaml", R"yaml(
cloudRunServices:
- name: api
  url: https://localhost:8443
  caCertificateFile: ca.txt
)yaml");
  LoadResult result = load_config_files({config});
  EXPECT_TRUE(has_error(result.errors, config, "cloudRunServices[api].caCertificateFile",
                        "holds no PEM certificate"));
  EXPECT_TRUE(
      has_error(result.errors, config, "cloudRunServices[api].caCertificateFile", "ca.txt"));
}

TEST(LoaderServiceTls, EmptyCaCertificateFileNameIsAnError) {
  LoadResult result = load_config_text(
      "cloudRunServices:\n- name: api\n  url: https://localhost:8443\n  caCertificateFile: \"\"\n",
      "lb.yaml");
  EXPECT_TRUE(has_error(result.errors, "lb.yaml", "cloudRunServices[api].caCertificateFile",
                        "must not be empty"));
}

TEST(LoaderServiceTls, UseHttp2WithAnHttpsUrlIsRefused) {
  LoadResult result = load_config_text(R"yaml(
cloudRunServices:
- name: api
  useHttp2: true
  tags:
    canary: https://canary---api-abc123-uc.a.run.app
)yaml",
                                       "lb.yaml");
  EXPECT_TRUE(has_error(result.errors, "lb.yaml", "cloudRunServices[api].useHttp2",
                        "https:// URL is not supported"));
}

TEST(LoaderServiceTls, UseHttp2WithAnHttpUrlStillLoads) {
  LoadResult result = load_config_text(
      "cloudRunServices:\n- name: api\n  useHttp2: true\n  url: http://127.0.0.1:8080\n",
      "lb.yaml");
  EXPECT_TRUE(result.ok()) << format_errors(result.errors);
}

}  // namespace
}  // namespace albemu::config
