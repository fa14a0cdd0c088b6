/* tls.c: mbedtls client sessions over memory buffers (no I/O). */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include <mbedtls/asn1.h>
#include <mbedtls/bignum.h>
#include <mbedtls/cipher.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/dhm.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "common.h"
#include "tls_lib.h"

#define SYSTEM_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

struct exp_tls_config {
  int refs; /* the creator's hold plus one per session */
  int verify;
  mbedtls_ssl_config conf;
  mbedtls_x509_crt ca;
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
};

/* A growable byte buffer; bytes before off are already consumed. */
typedef struct buf {
  char *data;
  size_t off, len, cap;
} buf;

struct exp_tls {
  exp_tls_config *cfg;
  mbedtls_ssl_context ssl;
  buf in, out;
  unsigned char ip[16]; /* the host as an address, for IP literals */
  size_t ip_len;        /* 0 for a DNS name */
  int oom;              /* the send callback ran out of memory */
  char msg[256];
};

static void set_msg(char *msg, size_t size, const char *fmt, ...) {
  va_list ap;
  if (msg == NULL || size == 0)
    return;
  va_start(ap, fmt);
  vsnprintf(msg, size, fmt, ap);
  va_end(ap);
}

/* Whether an mbedtls call that returned ret ran out of memory.  Its own
 * codes (a high-level module's plus, perhaps, a low-level one's) do not
 * always say so: inside a signature check an allocation failure comes out
 * as "not correctly signed", and a file's fopen failure as a file error.
 * mbedtls allocates with libc's calloc, which sets errno to ENOMEM when it
 * fails, so each call into mbedtls clears errno first. */
static int alloc_failed(int ret) {
  static const int high[] = {
      MBEDTLS_ERR_SSL_ALLOC_FAILED,    MBEDTLS_ERR_X509_ALLOC_FAILED,
      MBEDTLS_ERR_PK_ALLOC_FAILED,     MBEDTLS_ERR_PEM_ALLOC_FAILED,
      MBEDTLS_ERR_ECP_ALLOC_FAILED,    MBEDTLS_ERR_DHM_ALLOC_FAILED,
      MBEDTLS_ERR_CIPHER_ALLOC_FAILED, MBEDTLS_ERR_MD_ALLOC_FAILED};
  int hi, lo;
  if (ret >= 0)
    return 0;
  if (errno == ENOMEM)
    return 1;
  hi = -(-ret & 0xff80);
  lo = -(-ret & 0x7f);
  if (lo == MBEDTLS_ERR_ASN1_ALLOC_FAILED || lo == MBEDTLS_ERR_MPI_ALLOC_FAILED)
    return 1;
  for (size_t i = 0; i < sizeof(high) / sizeof(high[0]); i++)
    if (hi == high[i])
      return 1;
  return 0;
}

/* Sets msg to what failed ("what: why") and returns the error code for
 * an mbedtls failure ret: EXP_ENOMEM when it ran out of memory. */
static int mbed_error(char *msg, size_t size, int ret, const char *fmt, ...) {
  char what[200], e[160];
  va_list ap;
  /* First, before anything else can change errno. */
  int oom = alloc_failed(ret);
  va_start(ap, fmt);
  vsnprintf(what, sizeof(what), fmt, ap);
  va_end(ap);
  if (oom) {
    set_msg(msg, size, "%s: out of memory", what);
    return EXP_ENOMEM;
  }
  mbedtls_strerror(ret, e, sizeof(e));
  set_msg(msg, size, "%s: %s (-0x%04x)", what, e, (unsigned)-ret);
  return EXP_ETLS;
}

static void config_release(exp_tls_config *c) {
  if (--c->refs > 0)
    return;
  mbedtls_ssl_config_free(&c->conf);
  mbedtls_x509_crt_free(&c->ca);
  mbedtls_ctr_drbg_free(&c->drbg);
  mbedtls_entropy_free(&c->entropy);
  exp_free(c);
}

exp_tls_config *exp_tls_config_new(const char *ca_file, int verify, int *err,
                                   char *msg, size_t msg_size) {
  static const char pers[] = "exp-sdk-c";
  exp_tls_config *c;
  int ret;
  if ((*err = exp_tls_lib_load(msg, msg_size)) != 0)
    return NULL;
  c = exp_calloc(1, sizeof(*c));
  *err = EXP_ENOMEM;
  if (c == NULL) {
    set_msg(msg, msg_size, "out of memory");
    return NULL;
  }
  c->refs = 1;
  c->verify = verify;
  mbedtls_ssl_config_init(&c->conf);
  mbedtls_x509_crt_init(&c->ca);
  mbedtls_entropy_init(&c->entropy);
  mbedtls_ctr_drbg_init(&c->drbg);
  errno = 0;
  ret = mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy,
                              (const unsigned char *)pers, sizeof(pers) - 1);
  if (ret != 0) {
    *err = mbed_error(msg, msg_size, ret, "seeding the TLS random generator");
    goto fail;
  }
  errno = 0;
  ret = mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT,
                                    MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT);
  if (ret != 0) {
    *err = mbed_error(msg, msg_size, ret, "TLS configuration");
    goto fail;
  }
  mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
  if (verify) {
    const char *file = ca_file != NULL ? ca_file : SYSTEM_CA_FILE;
    /* A positive result counts certificates mbedtls could not use; the
     * bundle is fine as long as some were loaded. */
    errno = 0;
    ret = mbedtls_x509_crt_parse_file(&c->ca, file);
    if (ret < 0 || c->ca.version == 0) {
      if (ret < 0) {
        *err = mbed_error(msg, msg_size, ret, "reading CA file %s", file);
      } else {
        set_msg(msg, msg_size, "reading CA file %s: no usable certificate",
                file);
        *err = EXP_ETLS;
      }
      goto fail;
    }
    mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
    mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
  } else {
    mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_NONE);
  }
  *err = 0;
  return c;
fail:
  config_release(c);
  return NULL;
}

void exp_tls_config_free(exp_tls_config *c) {
  if (c != NULL)
    config_release(c);
}

/* Appends to b, growing it geometrically.  0 or -1. */
static int buf_put(buf *b, const void *data, size_t len) {
  if (b->off == b->len)
    b->off = b->len = 0;
  if (b->len + len > b->cap && b->off > 0) {
    memmove(b->data, b->data + b->off, b->len - b->off);
    b->len -= b->off;
    b->off = 0;
  }
  if (b->len + len > b->cap) {
    size_t c = b->cap ? b->cap : 4096;
    char *nd;
    while (c < b->len + len)
      c *= 2;
    nd = exp_realloc(b->data, c);
    if (nd == NULL)
      return -1;
    b->data = nd;
    b->cap = c;
  }
  memcpy(b->data + b->len, data, len);
  b->len += len;
  return 0;
}

static int bio_send(void *ctx, const unsigned char *data, size_t len) {
  exp_tls *t = ctx;
  if (buf_put(&t->out, data, len) != 0) {
    t->oom = 1;
    return MBEDTLS_ERR_SSL_ALLOC_FAILED;
  }
  return (int)len;
}

static int bio_recv(void *ctx, unsigned char *data, size_t len) {
  exp_tls *t = ctx;
  size_t n = t->in.len - t->in.off;
  if (n == 0)
    return MBEDTLS_ERR_SSL_WANT_READ;
  if (n > len)
    n = len;
  memcpy(data, t->in.data + t->in.off, n);
  t->in.off += n;
  return (int)n;
}

/* For IP literals: mbedtls 2.28 matches names only, so the leaf must carry
 * an iPAddress entry equal to the address we connected to. */
static int verify_ip(void *ctx, mbedtls_x509_crt *crt, int depth,
                     uint32_t *flags) {
  exp_tls *t = ctx;
  const mbedtls_x509_sequence *s;
  if (depth != 0)
    return 0;
  for (s = &crt->subject_alt_names; s != NULL; s = s->next)
    if (s->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) &&
        s->buf.len == t->ip_len && memcmp(s->buf.p, t->ip, t->ip_len) == 0)
      return 0;
  *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
  return 0;
}

exp_tls *exp_tls_new(exp_tls_config *c, const char *host, int *err, char *msg,
                     size_t msg_size) {
  exp_tls *t = exp_calloc(1, sizeof(*t));
  int ret;
  *err = EXP_ENOMEM;
  if (t == NULL) {
    set_msg(msg, msg_size, "out of memory");
    return NULL;
  }
  mbedtls_ssl_init(&t->ssl);
  t->cfg = c;
  c->refs++;
  errno = 0;
  ret = mbedtls_ssl_setup(&t->ssl, &c->conf);
  if (ret != 0) {
    *err = mbed_error(msg, msg_size, ret, "TLS session setup");
    exp_tls_free(t);
    return NULL;
  }
  if (inet_pton(AF_INET, host, t->ip) == 1)
    t->ip_len = 4;
  else if (inet_pton(AF_INET6, host, t->ip) == 1)
    t->ip_len = 16;
  if (t->ip_len > 0) {
    /* No SNI for addresses (RFC 6066 section 3). */
    if (c->verify)
      mbedtls_ssl_set_verify(&t->ssl, verify_ip, t);
  } else {
    errno = 0;
    ret = mbedtls_ssl_set_hostname(&t->ssl, host);
    if (ret != 0) {
      *err = mbed_error(msg, msg_size, ret, "TLS host name");
      exp_tls_free(t);
      return NULL;
    }
  }
  mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
  *err = 0;
  return t;
}

void exp_tls_free(exp_tls *t) {
  if (t == NULL)
    return;
  mbedtls_ssl_free(&t->ssl);
  exp_free(t->in.data);
  exp_free(t->out.data);
  config_release(t->cfg);
  exp_free(t);
}

int exp_tls_feed(exp_tls *t, const char *data, size_t len) {
  if (buf_put(&t->in, data, len) != 0) {
    set_msg(t->msg, sizeof(t->msg), "out of memory");
    return EXP_ENOMEM;
  }
  return 0;
}

static int fail(exp_tls *t, const char *what, int ret) {
  if (t->oom) {
    set_msg(t->msg, sizeof(t->msg), "%s: out of memory", what);
    return EXP_ENOMEM;
  }
  if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && !alloc_failed(ret)) {
    char info[200];
    int n = mbedtls_x509_crt_verify_info(
        info, sizeof(info), "", mbedtls_ssl_get_verify_result(&t->ssl));
    /* One line: the reasons come newline-separated. */
    for (int i = 0; i < n; i++)
      if (info[i] == '\n')
        info[i] = i == n - 1 ? '\0' : ';';
    set_msg(t->msg, sizeof(t->msg), "certificate verification failed: %s",
            n > 0 ? info : "unknown reason");
    return EXP_ETLS;
  }
  return mbed_error(t->msg, sizeof(t->msg), ret, "%s", what);
}

int exp_tls_handshake(exp_tls *t) {
  int ret;
  errno = 0;
  ret = mbedtls_ssl_handshake(&t->ssl);
  if (ret == 0 || ret == MBEDTLS_ERR_SSL_WANT_READ ||
      ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
    /* mbedtls 2.28 ignores some allocation failures (the PRF of its
     * Finished message): what it sends then is garbage the peer refuses
     * with an alert, so a step that ran out of memory fails here. */
    if (errno == ENOMEM)
      return fail(t, "TLS handshake", MBEDTLS_ERR_SSL_ALLOC_FAILED);
    return ret == 0 ? 0 : 1;
  }
  return fail(t, "TLS handshake", ret);
}

int exp_tls_write(exp_tls *t, const char *data, size_t len) {
  /* The send callback never blocks, so each call takes a whole record. */
  while (len > 0) {
    int ret;
    errno = 0;
    ret = mbedtls_ssl_write(&t->ssl, (const unsigned char *)data, len);
    if (ret < 0)
      return fail(t, "TLS write", ret);
    data += ret;
    len -= (size_t)ret;
  }
  return 0;
}

int exp_tls_read(exp_tls *t, char *buf, size_t size, size_t *got) {
  int ret;
  errno = 0;
  ret = mbedtls_ssl_read(&t->ssl, (unsigned char *)buf, size);
  *got = 0;
  if (ret > 0) {
    *got = (size_t)ret;
    return 0;
  }
  if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
    return 0;
  if (ret == 0 || ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
    return 1;
  return fail(t, "TLS read", ret);
}

int exp_tls_close_notify(exp_tls *t) {
  int ret;
  errno = 0;
  ret = mbedtls_ssl_close_notify(&t->ssl);
  if (ret != 0 && ret != MBEDTLS_ERR_SSL_WANT_WRITE)
    return fail(t, "TLS close", ret);
  return 0;
}

char *exp_tls_take_output(exp_tls *t, size_t *len) {
  char *d = t->out.data;
  *len = t->out.len - t->out.off;
  if (*len == 0)
    return NULL;
  /* The sender only appends and we never consume: off stays 0. */
  t->out.data = NULL;
  t->out.len = t->out.off = t->out.cap = 0;
  return d;
}

const char *exp_tls_message(const exp_tls *t) {
  return t->msg;
}
