#include "proxy/net/header_transform.h"

#include <array>

#include "config/load/field_rules.h"
#include "proxy/core/ascii.h"
#include "proxy/core/url_map.h"

namespace albemu::net {
namespace http = boost::beast::http;

namespace {

constexpr std::string_view kVia = "1.1 google";
constexpr std::string_view kXForwardedFor = "X-Forwarded-For";
// Beast stores field offsets in 16 bits and throws std::length_error for longer values; every
// value albemu builds stays below this, with room for the 2-byte CRLF Beast adds.
constexpr std::size_t kMaxFieldValue = 60 * 1024;

/// Sets `name` to `value`, cut to kMaxFieldValue so Beast never throws on the request path.
template <class Fields, typename Name>
void set_capped(Fields& fields, Name name, std::string_view value) {
  fields.set(name, value.substr(0, kMaxFieldValue));
}

// RFC 7230 6.1 plus the legacy names proxies strip; `Trailers` is how GCP's table spells it.
template <class Field>
bool is_hop_by_hop(const Field& field) {
  switch (field.name()) {
    case http::field::connection:
    case http::field::keep_alive:
    case http::field::proxy_authenticate:
    case http::field::proxy_authorization:
    case http::field::proxy_connection:
    case http::field::te:
    case http::field::trailer:
    case http::field::transfer_encoding:
    case http::field::upgrade:
      return true;
    case http::field::unknown:
      return core::iequals_ascii(field.name_string(), "Trailers");
    default:
      return false;
  }
}

/// Calls `fn` for each comma-separated, trimmed, non-empty token of every `name` field.
template <class Fields, typename Fn>
void for_each_token(const Fields& fields, http::field name, Fn&& fn) {
  for_each_value(fields, name,
                 [&](std::string_view list) { core::for_each_list_element(list, fn); });
}

/// All values of `name` joined with `separator` (the combined value RFC 9110 defines).
template <class Fields, typename Name>
std::string joined_values(const Fields& fields, Name name, std::string_view separator) {
  std::string out;
  for_each_value(fields, name, [&](std::string_view value) {
    if (out.size() > kMaxFieldValue) return;  // set_capped cuts it anyway
    if (!out.empty()) out += separator;
    out += value;
  });
  return out;
}

/// Removes hop-by-hop fields and those nominated by Connection. On a WebSocket upgrade the
/// exchange needs `Connection: upgrade` and `Upgrade` end to end, so those two survive.
template <class Fields>
void remove_hop_by_hop(Fields& fields, bool keep_upgrade) {
  std::string upgrade;
  if (keep_upgrade) upgrade = joined_values(fields, http::field::upgrade, ", ");

  // Copy the nominated names first: erasing Connection invalidates views into it.
  std::string nominated;
  for_each_token(fields, http::field::connection, [&](std::string_view token) {
    nominated += token;
    nominated += ',';
  });
  const auto nominated_by_connection = [&nominated](std::string_view name) {
    std::string_view rest = nominated;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      if (core::iequals_ascii(rest.substr(0, comma), name)) return true;
      rest = rest.substr(comma + 1);
    }
    return false;
  };
  // One pass over the fields (each erase by name would search the whole set again).
  for (auto it = fields.begin(); it != fields.end();) {
    // Host is rewritten separately and must never be dropped by a hostile Connection value.
    const bool drop =
        is_hop_by_hop(*it) || (!nominated.empty() && it->name() != http::field::host &&
                               nominated_by_connection(it->name_string()));
    it = drop ? fields.erase(it) : std::next(it);
  }

  if (keep_upgrade) {
    fields.set(http::field::connection, "upgrade");
    set_capped(fields, http::field::upgrade, upgrade);
  }
}

template <class Fields>
void append_via(Fields& fields) {
  if (fields.find(http::field::via) == fields.end()) {
    fields.insert(http::field::via, kVia);  // the usual case: no proxy before this one
    return;
  }
  std::string via = joined_values(fields, http::field::via, ", ");
  if (!via.empty()) via += ", ";
  via += kVia;
  set_capped(fields, http::field::via, via);
}

template <class Fields>
void apply_additions(Fields& fields, const std::vector<core::HeaderAddition>& additions,
                     const VariableContext* variables) {
  for (const core::HeaderAddition& addition : additions) {
    std::string expanded;
    std::string_view value = addition.value;
    if (addition.has_variable) {
      expanded = expand_header_variables(addition.value, variables);
      value = expanded;
    }
    value = value.substr(0, kMaxFieldValue);
    if (addition.replace) {
      fields.set(addition.name, value);
    } else {
      fields.insert(addition.name, value);
    }
  }
}

/// The URL map's header actions, most specific level first (GCP's order); each level removes
/// before it adds, so a level can replace what an inner level added.
template <bool kRequest, class Fields>
void apply_header_actions(Fields& fields, const core::RouteDecision& decision,
                          const VariableContext* variables) {
  for (const core::CompiledHeaderAction* action : decision.header_actions) {
    if (action == nullptr) continue;
    const auto& removals =
        kRequest ? action->request_headers_to_remove : action->response_headers_to_remove;
    for (const std::string& name : removals) fields.erase(name);
    apply_additions(fields,
                    kRequest ? action->request_headers_to_add : action->response_headers_to_add,
                    variables);
  }
}

/// A {client_cert_*} variable: "" without mutual TLS on the listener.
std::string_view client_cert_value(std::string_view name, const ClientCertInfo* cert) {
  if (cert == nullptr) return {};
  if (name == "client_cert_present") return cert->present ? "true" : "false";
  if (name == "client_cert_chain_verified") return cert->chain_verified ? "true" : "false";
  if (name == "client_cert_error") return cert->error;
  if (name == "client_cert_sha256_fingerprint") return cert->sha256_fingerprint;
  if (name == "client_cert_serial_number") return cert->serial_number;
  if (name == "client_cert_spiffe_id") return cert->spiffe_id;
  if (name == "client_cert_uri_sans") return cert->uri_sans;
  if (name == "client_cert_dnsname_sans") return cert->dnsname_sans;
  if (name == "client_cert_valid_not_before") return cert->valid_not_before;
  if (name == "client_cert_valid_not_after") return cert->valid_not_after;
  if (name == "client_cert_issuer_dn") return cert->issuer_dn;
  if (name == "client_cert_subject_dn") return cert->subject_dn;
  if (name == "client_cert_leaf") return cert->leaf;
  if (name == "client_cert_chain") return cert->chain;
  return {};
}

std::string_view variable_value(std::string_view name, const VariableContext* variables,
                                std::string& scratch) {
  if (variables == nullptr) return {};
  if (name.starts_with("client_cert_")) return client_cert_value(name, variables->client_cert);
  if (name == "client_ip_address") return variables->client_ip_address;
  if (name == "tls_sni_hostname") return variables->tls_sni_hostname;
  if (name == "tls_version") return variables->tls_version;
  if (name == "tls_cipher_suite") return variables->tls_cipher_suite;
  if (name == "tls_ja3_fingerprint") return variables->tls_ja3_fingerprint;
  if (name == "tls_ja4_fingerprint") return variables->tls_ja4_fingerprint;
  if (name == "client_rtt_msec") {
    if (variables->client_rtt_msec < 0) return {};
    scratch = std::to_string(variables->client_rtt_msec);
    return scratch;
  }
  return {};  // anything unknown
}

template <class Fields>
bool websocket_upgrade_of(const Fields& fields) {
  bool connection_upgrade = false;
  for_each_token(fields, http::field::connection, [&](std::string_view token) {
    if (core::iequals_ascii(token, "upgrade")) connection_upgrade = true;
  });
  if (!connection_upgrade) return false;
  bool websocket = false;
  for_each_token(fields, http::field::upgrade, [&](std::string_view token) {
    if (core::iequals_ascii(token, "websocket")) websocket = true;
  });
  return websocket;
}

template <class Fields>
void upstream_request_of(Fields& fields, const core::RouteDecision& decision,
                         const UpstreamRequestContext& context) {
  remove_hop_by_hop(fields, context.upgrade_allowed && websocket_upgrade_of(fields));

  // GCP: X-Forwarded-For: [<supplied-value>,]<client-ip>,<load-balancer-ip>. Built in a
  // thread-local buffer that keeps its capacity: one allocation less per request.
  thread_local std::string forwarded_for;
  forwarded_for.clear();
  bool had_supplied = false;
  for_each_value(fields, kXForwardedFor, [&](std::string_view value) {
    had_supplied = true;
    if (forwarded_for.size() > kMaxFieldValue) return;
    if (!forwarded_for.empty()) forwarded_for += ',';
    forwarded_for += value;
  });
  if (!context.client_ip.empty()) {
    if (!forwarded_for.empty()) forwarded_for += ',';
    forwarded_for += context.client_ip;
  }
  if (!context.load_balancer_ip.empty()) {
    if (!forwarded_for.empty()) forwarded_for += ',';
    forwarded_for += context.load_balancer_ip;
  }
  if (had_supplied) {
    set_capped(fields, kXForwardedFor, forwarded_for);
  } else if (!forwarded_for.empty()) {
    fields.insert(kXForwardedFor, std::string_view(forwarded_for).substr(0, kMaxFieldValue));
  }
  fields.set("X-Forwarded-Proto", context.https ? "https" : "http");
  append_via(fields);
  if (!decision.upstream_host.empty()) fields.set(http::field::host, decision.upstream_host);

  apply_header_actions<true>(fields, decision, context.variables);
}

template <class Fields>
void response_of(Fields& fields, const core::RouteDecision* decision,
                 const VariableContext* variables, bool websocket_upgrade) {
  remove_hop_by_hop(fields, websocket_upgrade && websocket_upgrade_of(fields));
  append_via(fields);
  if (decision != nullptr) apply_header_actions<false>(fields, *decision, variables);
}

}  // namespace

bool is_websocket_upgrade(const http::fields& fields) { return websocket_upgrade_of(fields); }
bool is_websocket_upgrade(const HeadFields& fields) { return websocket_upgrade_of(fields); }

void transform_upstream_request(http::fields& fields, const core::RouteDecision& decision,
                                const UpstreamRequestContext& context) {
  upstream_request_of(fields, decision, context);
}
void transform_upstream_request(HeadFields& fields, const core::RouteDecision& decision,
                                const UpstreamRequestContext& context) {
  upstream_request_of(fields, decision, context);
}

void transform_response(http::fields& fields, const core::RouteDecision* decision,
                        const VariableContext* variables, bool websocket_upgrade) {
  response_of(fields, decision, variables, websocket_upgrade);
}
void transform_response(HeadFields& fields, const core::RouteDecision* decision,
                        const VariableContext* variables, bool websocket_upgrade) {
  response_of(fields, decision, variables, websocket_upgrade);
}

std::string expand_header_variables(std::string_view value, const VariableContext* variables) {
  std::string out;
  out.reserve(value.size());
  std::string scratch;
  config::expand_header_value(
      value, [&](std::string_view name) { return variable_value(name, variables, scratch); }, out);
  return out;
}

}  // namespace albemu::net
