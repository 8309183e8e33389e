#!/usr/bin/env bash
# Generates a development CA and a server certificate for the example hosts into OUT_DIR
# (default certs/out/, git-ignored). Idempotent: files that already exist are kept.
#
#   certs/generate.sh [OUT_DIR]  # then: curl --cacert certs/out/ca.crt https://test.example.com:...
#
# Output:
#   out/ca.crt, out/ca.key          the dev CA (trust it in clients, never in a browser profile you use)
#   out/server.crt, out/server.key  signed by the CA; SANs: test.example.com, example.com,
#                                   *.example.com, localhost, 127.0.0.1, ::1
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-${here}/out}"
mkdir -p "${out}"
cd "${out}"

days=825  # the longest validity clients accept for server certificates

if [[ ! -f ca.key || ! -f ca.crt ]]; then
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
    -keyout ca.key -out ca.crt \
    -subj "/O=albemu development/CN=albemu dev CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  rm -f server.crt  # a new CA invalidates the old server certificate
  echo "generated ${out}/ca.crt"
fi

if [[ ! -f server.key || ! -f server.crt ]]; then
  cat > server.ext <<'EXT'
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:test.example.com, DNS:example.com, DNS:*.example.com, DNS:localhost, IP:127.0.0.1, IP:::1
EXT
  [[ -f server.key ]] || openssl genrsa -out server.key 2048 2>/dev/null
  openssl req -new -key server.key -out server.csr -subj "/O=albemu development/CN=test.example.com"
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out server.crt -days "${days}" -sha256 -extfile server.ext 2>/dev/null
  rm -f server.csr server.ext
  chmod 600 server.key ca.key
  echo "generated ${out}/server.crt"
fi

echo "certificates in ${out}: ca.crt server.crt server.key"
