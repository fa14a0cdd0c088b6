#!/bin/sh
# Generates the TLS test fixtures (two CAs, a server certificate for
# localhost/127.0.0.1/::1 and one for another name) and prints them as a C
# header.  Run once by hand; the output is test/unit/tls_certs.h:
#   sh test/integration/certs.sh > test/unit/tls_certs.h
set -eu
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
  -out "$1" 2>/dev/null; }

ca() { # name subject
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -sha256 -days 36500 -subj "$2" \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign -out "$1.crt"
}

leaf() { # name subject san signing-ca
  key "$1.key"
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
  printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
    "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$4.crt" -CAkey "$4.key" \
    -CAcreateserial -sha256 -days 36500 -extfile "$1.ext" -out "$1.crt" \
    2>/dev/null
}

ca ca "/CN=EXP SDK Test CA"
ca other "/CN=EXP SDK Other CA"
leaf server "/CN=localhost" "DNS:localhost,IP:127.0.0.1,IP:::1" ca
leaf wrong "/CN=wrong.example" "DNS:wrong.example" ca

cstr() { # name file
  printf 'static const char %s[] =\n' "$1"
  sed 's/.*/    "&\\n"/' "$2"
  printf '    ;\n\n'
}

printf '/* tls_certs.h: test-only TLS fixtures, made by test/integration/certs.sh.\n'
printf ' * Keys here protect nothing: they exist for the tests. */\n'
printf '#ifndef EXP_TLS_CERTS_H\n#define EXP_TLS_CERTS_H\n\n'
cstr TEST_CA_PEM ca.crt
cstr TEST_OTHER_CA_PEM other.crt
cstr TEST_SERVER_CERT_PEM server.crt
cstr TEST_SERVER_KEY_PEM server.key
cstr TEST_WRONG_CERT_PEM wrong.crt
cstr TEST_WRONG_KEY_PEM wrong.key
printf '#endif\n'
