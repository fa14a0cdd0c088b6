/* TLS sessions: in-memory handshakes against an mbedtls server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "common.h"
#include "fail_alloc.h"
#include "testlib.h"
#include "tls.h"
#include "tls_certs.h"

/* ------------------------------------------------ a test server session */

typedef struct server {
  mbedtls_ssl_config conf;
  mbedtls_ssl_context ssl;
  mbedtls_x509_crt cert;
  mbedtls_pk_context key;
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  char in[65536]; /* ciphertext from the client */
  size_t in_off, in_len;
  char *out; /* ciphertext to the client */
  size_t out_len;
} server;

static int srv_send(void *ctx, const unsigned char *d, size_t n) {
  server *s = ctx;
  char *o = realloc(s->out, s->out_len + n);
  if (o == NULL)
    return MBEDTLS_ERR_SSL_ALLOC_FAILED;
  memcpy(o + s->out_len, d, n);
  s->out = o;
  s->out_len += n;
  return (int)n;
}

static int srv_recv(void *ctx, unsigned char *d, size_t n) {
  server *s = ctx;
  if (s->in_off == s->in_len)
    return MBEDTLS_ERR_SSL_WANT_READ;
  if (n > s->in_len - s->in_off)
    n = s->in_len - s->in_off;
  memcpy(d, s->in + s->in_off, n);
  s->in_off += n;
  return (int)n;
}

static void server_init(server *s, const char *cert, size_t cert_size,
                        const char *key, size_t key_size) {
  memset(s, 0, sizeof(*s));
  mbedtls_ssl_config_init(&s->conf);
  mbedtls_ssl_init(&s->ssl);
  mbedtls_x509_crt_init(&s->cert);
  mbedtls_pk_init(&s->key);
  mbedtls_entropy_init(&s->entropy);
  mbedtls_ctr_drbg_init(&s->drbg);
  CHECK_INT(mbedtls_ctr_drbg_seed(&s->drbg, mbedtls_entropy_func, &s->entropy,
                                  NULL, 0),
            0);
  CHECK_INT(
      mbedtls_x509_crt_parse(&s->cert, (const unsigned char *)cert, cert_size),
      0);
  CHECK_INT(mbedtls_pk_parse_key(&s->key, (const unsigned char *)key, key_size,
                                 NULL, 0),
            0);
  CHECK_INT(mbedtls_ssl_config_defaults(&s->conf, MBEDTLS_SSL_IS_SERVER,
                                        MBEDTLS_SSL_TRANSPORT_STREAM,
                                        MBEDTLS_SSL_PRESET_DEFAULT),
            0);
  mbedtls_ssl_conf_rng(&s->conf, mbedtls_ctr_drbg_random, &s->drbg);
  CHECK_INT(mbedtls_ssl_conf_own_cert(&s->conf, &s->cert, &s->key), 0);
  CHECK_INT(mbedtls_ssl_setup(&s->ssl, &s->conf), 0);
  mbedtls_ssl_set_bio(&s->ssl, s, srv_send, srv_recv, NULL);
}

static void server_free(server *s) {
  mbedtls_ssl_free(&s->ssl);
  mbedtls_ssl_config_free(&s->conf);
  mbedtls_x509_crt_free(&s->cert);
  mbedtls_pk_free(&s->key);
  mbedtls_ctr_drbg_free(&s->drbg);
  mbedtls_entropy_free(&s->entropy);
  free(s->out);
}

/* Client output to the server. */
static void to_server(exp_tls *c, server *s) {
  size_t n;
  char *d = exp_tls_take_output(c, &n);
  if (s->in_off == s->in_len)
    s->in_off = s->in_len = 0;
  CHECK(s->in_len + n <= sizeof(s->in));
  if (d != NULL && s->in_len + n <= sizeof(s->in)) {
    memcpy(s->in + s->in_len, d, n);
    s->in_len += n;
  }
  free(d);
}

/* Server output to the client, fed in two pieces to exercise buffering. */
static void to_client(server *s, exp_tls *c) {
  size_t half = s->out_len / 2;
  CHECK_INT(exp_tls_feed(c, s->out, half), 0);
  CHECK_INT(exp_tls_feed(c, s->out + half, s->out_len - half), 0);
  s->out_len = 0;
}

/* Runs both sides until the client's handshake ends; its result. */
static int handshake(exp_tls *c, server *s) {
  int r = 1;
  for (int round = 0; round < 20 && r == 1; round++) {
    r = exp_tls_handshake(c);
    to_server(c, s);
    mbedtls_ssl_handshake(&s->ssl);
    to_client(s, c);
  }
  return r;
}

static char ca_path[64], other_path[64];

static void write_file(char *path, const char *tmpl, const char *pem) {
  int fd;
  strcpy(path, tmpl);
  fd = mkstemp(path);
  CHECK(fd >= 0);
  CHECK(write(fd, pem, strlen(pem)) == (ssize_t)strlen(pem));
  close(fd);
}

/* Handshake of a client for host, trusting ca_file, against the server
 * certificate; returns the client's result, with its message in msg. */
/* The error code of the latest config or session made. */
static int err;

static int try_host(const char *ca_file, int verify, const char *host,
                    int wrong_cert, char *msg, size_t msg_size) {
  server s;
  char m[200];
  exp_tls_config *cfg = exp_tls_config_new(ca_file, verify, &err, m, sizeof(m));
  exp_tls *c;
  int r;
  CHECK(cfg != NULL);
  if (cfg == NULL)
    return -1000;
  if (wrong_cert)
    server_init(&s, TEST_WRONG_CERT_PEM, sizeof(TEST_WRONG_CERT_PEM),
                TEST_WRONG_KEY_PEM, sizeof(TEST_WRONG_KEY_PEM));
  else
    server_init(&s, TEST_SERVER_CERT_PEM, sizeof(TEST_SERVER_CERT_PEM),
                TEST_SERVER_KEY_PEM, sizeof(TEST_SERVER_KEY_PEM));
  c = exp_tls_new(cfg, host, &err, m, sizeof(m));
  /* The session keeps the config alive. */
  exp_tls_config_free(cfg);
  CHECK(c != NULL);
  r = handshake(c, &s);
  snprintf(msg, msg_size, "%s", exp_tls_message(c));
  exp_tls_free(c);
  server_free(&s);
  return r;
}

static void test_accepted(void) {
  char msg[256];
  CHECK_INT(try_host(ca_path, 1, "localhost", 0, msg, sizeof(msg)), 0);
  /* IP literals match the certificate's iPAddress entries. */
  CHECK_INT(try_host(ca_path, 1, "127.0.0.1", 0, msg, sizeof(msg)), 0);
  CHECK_INT(try_host(ca_path, 1, "::1", 0, msg, sizeof(msg)), 0);
}

static void test_wrong_host(void) {
  char msg[256];
  CHECK_INT(try_host(ca_path, 1, "example.com", 0, msg, sizeof(msg)), EXP_ETLS);
  CHECK(strstr(msg, "certificate verification failed") != NULL);
  CHECK(strstr(msg, "CN") != NULL);
  CHECK_INT(try_host(ca_path, 1, "127.0.0.2", 0, msg, sizeof(msg)), EXP_ETLS);
  CHECK(strstr(msg, "CN") != NULL);
  CHECK_INT(try_host(ca_path, 1, "::2", 0, msg, sizeof(msg)), EXP_ETLS);
  CHECK_INT(try_host(ca_path, 1, "localhost", 1, msg, sizeof(msg)), EXP_ETLS);
  CHECK(strstr(msg, "CN") != NULL);
  CHECK_INT(try_host(ca_path, 1, "wrong.example", 1, msg, sizeof(msg)), 0);
}

static void test_untrusted(void) {
  char msg[256];
  CHECK_INT(try_host(other_path, 1, "localhost", 0, msg, sizeof(msg)),
            EXP_ETLS);
  CHECK(strstr(msg, "not correctly signed") != NULL);
  CHECK(strchr(msg, '\n') == NULL);
  if (access("/etc/ssl/certs/ca-certificates.crt", R_OK) == 0) {
    CHECK_INT(try_host(NULL, 1, "localhost", 0, msg, sizeof(msg)), EXP_ETLS);
    CHECK(strstr(msg, "not correctly signed") != NULL);
  }
  /* With checks off anything goes. */
  CHECK_INT(try_host(other_path, 0, "example.com", 1, msg, sizeof(msg)), 0);
  CHECK_INT(try_host("/nonexistent", 0, "127.0.0.9", 0, msg, sizeof(msg)), 0);
}

static void test_bad_ca_file(void) {
  char msg[256] = "", path[64];
  CHECK(exp_tls_config_new("/nonexistent/ca.pem", 1, &err, msg, sizeof(msg)) ==
        NULL);
  CHECK_INT(err, EXP_ETLS);
  CHECK(strstr(msg, "/nonexistent/ca.pem") != NULL);
  write_file(path, "/tmp/exp-tls-bad-XXXXXX", "not a certificate\n");
  CHECK(exp_tls_config_new(path, 1, &err, msg, sizeof(msg)) == NULL);
  CHECK_INT(err, EXP_ETLS);
  CHECK(strstr(msg, "CA file") != NULL);
  unlink(path);
}

static void test_data(void) {
  server s;
  char m[200], buf[4096];
  exp_tls_config *cfg = exp_tls_config_new(ca_path, 1, &err, m, sizeof(m));
  exp_tls *c = exp_tls_new(cfg, "localhost", &err, m, sizeof(m));
  size_t big = 100000, got = 0, n;
  char *data = malloc(big), *out;
  int r;
  server_init(&s, TEST_SERVER_CERT_PEM, sizeof(TEST_SERVER_CERT_PEM),
              TEST_SERVER_KEY_PEM, sizeof(TEST_SERVER_KEY_PEM));
  CHECK_INT(handshake(c, &s), 0);
  /* Client to server: more than one record. */
  for (size_t i = 0; i < big; i++)
    data[i] = (char)(i * 7);
  CHECK_INT(exp_tls_write(c, data, 1000), 0);
  to_server(c, &s);
  while ((r = mbedtls_ssl_read(&s.ssl, (unsigned char *)buf, sizeof(buf))) >
         0) {
    CHECK(memcmp(buf, data + got, (size_t)r) == 0);
    got += (size_t)r;
  }
  CHECK_INT(got, 1000);
  /* Server to client, fed in small slices. */
  got = 0;
  for (size_t off = 0; off < big; off += 16000) {
    size_t l = big - off < 16000 ? big - off : 16000;
    CHECK_INT(mbedtls_ssl_write(&s.ssl, (unsigned char *)data + off, l),
              (int)l);
  }
  for (size_t off = 0; off < s.out_len; off += 777) {
    size_t l = s.out_len - off < 777 ? s.out_len - off : 777;
    CHECK_INT(exp_tls_feed(c, s.out + off, l), 0);
    do {
      r = exp_tls_read(c, buf, sizeof(buf), &n);
      CHECK_INT(r, 0);
      CHECK(got + n <= big && memcmp(buf, data + got, n) == 0);
      got += n;
    } while (r == 0 && n > 0);
  }
  s.out_len = 0;
  CHECK_INT(got, big);
  /* close_notify both ways. */
  CHECK_INT(mbedtls_ssl_close_notify(&s.ssl), 0);
  to_client(&s, c);
  CHECK_INT(exp_tls_read(c, buf, sizeof(buf), &n), 1);
  CHECK_INT(exp_tls_close_notify(c), 0);
  out = exp_tls_take_output(c, &n);
  CHECK(out != NULL && n > 0);
  free(out);
  CHECK(exp_tls_take_output(c, &n) == NULL);
  CHECK_INT(n, 0);
  free(data);
  exp_tls_free(c);
  exp_tls_config_free(cfg);
  server_free(&s);
}

static void test_garbage(void) {
  char m[200], buf[100];
  exp_tls_config *cfg = exp_tls_config_new(ca_path, 1, &err, m, sizeof(m));
  exp_tls *c = exp_tls_new(cfg, "localhost", &err, m, sizeof(m));
  size_t n;
  CHECK_INT(exp_tls_handshake(c), 1);
  free(exp_tls_take_output(c, &n));
  CHECK(n > 0);
  CHECK_INT(exp_tls_feed(c, "HTTP/1.1 400 Bad Request\r\n\r\n", 28), 0);
  CHECK_INT(exp_tls_handshake(c), EXP_ETLS);
  CHECK(strstr(exp_tls_message(c), "TLS handshake") != NULL);
  CHECK_INT(exp_tls_read(c, buf, sizeof(buf), &n), EXP_ETLS);
  exp_tls_free(c);
  exp_tls_config_free(cfg);
}

/* Reading the CA file and making a session with each allocation failing
 * in turn (mbedtls's and libc's fopen among them): EXP_ENOMEM, never
 * EXP_ETLS or a crash. */
static void test_oom(void) {
  char m[200];
  long n;
  for (n = 1;; n++) {
    exp_tls_config *cfg;
    exp_tls *c = NULL;
    int cerr = 0;
    fail_alloc_arm(n);
    cfg = exp_tls_config_new(ca_path, 1, &err, m, sizeof(m));
    if (cfg != NULL)
      c = exp_tls_new(cfg, "localhost", &cerr, m, sizeof(m));
    fail_alloc_disarm();
    if (cfg == NULL ? err != EXP_ENOMEM : c == NULL && cerr != EXP_ENOMEM)
      fprintf(stderr, "allocation %ld failing: %s\n", n, m);
    CHECK(cfg != NULL || err == EXP_ENOMEM);
    CHECK(cfg == NULL || c != NULL || cerr == EXP_ENOMEM);
    exp_tls_free(c);
    exp_tls_config_free(cfg);
    if (!fail_alloc_failed())
      break;
  }
  CHECK(n > 10);
}

int main(void) {
  write_file(ca_path, "/tmp/exp-tls-ca-XXXXXX", TEST_CA_PEM);
  write_file(other_path, "/tmp/exp-tls-other-XXXXXX", TEST_OTHER_CA_PEM);
  RUN(test_accepted);
  RUN(test_wrong_host);
  RUN(test_untrusted);
  RUN(test_bad_ca_file);
  RUN(test_data);
  RUN(test_garbage);
  if (fail_alloc_active())
    RUN(test_oom);
  else
    puts("skipped test_oom: malloc is not fail_alloc.c's");
  unlink(ca_path);
  unlink(other_path);
  return t_done();
}
