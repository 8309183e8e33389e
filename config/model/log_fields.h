#pragma once
// The optional fields of a regional internal Application Load Balancer's request log, by
// the names `logConfig.optionalFields` takes
// (https://cloud.google.com/load-balancing/docs/l7-internal/monitoring, "What is logged").
// The loader checks names against this list; the data plane keeps a field in a log line
// only if its backend service's logConfig includes it.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace albemu::model {

/// One bit per optional field, in kOptionalLogFieldNames order.
enum class OptionalLogField : uint32_t {
  kTlsProtocol,
  kTlsCipher,
  kTlsEarlyDataRequest,
  kMtlsClientCertPresent,
  kMtlsClientCertChainVerified,
  kMtlsClientCertError,
  kMtlsClientCertSha256Fingerprint,
  kMtlsClientCertSerialNumber,
  kMtlsClientCertValidStartTime,
  kMtlsClientCertValidEndTime,
  kMtlsClientCertSpiffeId,
  kMtlsClientCertUriSans,
  kMtlsClientCertDnsnameSans,
  kMtlsClientCertIssuerDn,
  kMtlsClientCertSubjectDn,
  kMtlsClientCertLeaf,
  kMtlsClientCertChain,
  kCount,
};

inline constexpr std::array<std::string_view, static_cast<std::size_t>(OptionalLogField::kCount)>
    kOptionalLogFieldNames = {
        "tls.protocol",
        "tls.cipher",
        "tls.earlyDataRequest",
        "mtls.clientCertPresent",
        "mtls.clientCertChainVerified",
        "mtls.clientCertError",
        "mtls.clientCertSha256Fingerprint",
        "mtls.clientCertSerialNumber",
        "mtls.clientCertValidStartTime",
        "mtls.clientCertValidEndTime",
        "mtls.clientCertSpiffeId",
        "mtls.clientCertUriSans",
        "mtls.clientCertDnsnameSans",
        "mtls.clientCertIssuerDn",
        "mtls.clientCertSubjectDn",
        "mtls.clientCertLeaf",
        "mtls.clientCertChain",
};

/// A set of optional fields.
using OptionalLogFields = uint32_t;
inline constexpr OptionalLogFields kAllOptionalLogFields =
    (1u << static_cast<uint32_t>(OptionalLogField::kCount)) - 1;

constexpr OptionalLogFields log_field_bit(OptionalLogField field) {
  return 1u << static_cast<uint32_t>(field);
}

/// The field called `name` in logConfig.optionalFields, if it is one.
constexpr std::optional<OptionalLogField> find_optional_log_field(std::string_view name) {
  for (std::size_t i = 0; i < kOptionalLogFieldNames.size(); ++i) {
    if (kOptionalLogFieldNames[i] == name) return static_cast<OptionalLogField>(i);
  }
  return std::nullopt;
}

}  // namespace albemu::model
