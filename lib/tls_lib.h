/*
 * tls_lib.h: libmbedtls, with libmbedx509 and libmbedcrypto, loaded with
 * the first TLS configuration (internal).
 *
 * libexpsdk links none of mbedtls: a plain-http session opens
 * libmbedcrypto only for its two hashes (crypto.h), so a process that
 * never makes an https:// connection keeps none of their pages (about
 * 620 KB resident for the three).  tls.c includes this header after
 * mbedtls's: the macros below turn its calls into calls through the loaded
 * table, so the code reads as plain mbedtls.  A call to a function missing
 * from the table fails the link of libexpsdk (--no-undefined) instead of
 * loading eagerly.
 */
#ifndef EXP_TLS_LIB_H
#define EXP_TLS_LIB_H

#include <stddef.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

#include "dl.h"

#if MBEDTLS_VERSION_MAJOR != 2 || MBEDTLS_VERSION_MINOR != 28
#error "EXP_TLS_LIB_SONAME is mbedtls 2.28's"
#endif
/* libmbedtls 2.28's soname (SOVERSION 14 through the 2.28 releases); it
 * needs libmbedx509.so.1 and libmbedcrypto.so.7, the one crypto.h opens.
 * A build for another name passes -DEXP_TLS_LIB_SONAME=... */
#ifndef EXP_TLS_LIB_SONAME
#define EXP_TLS_LIB_SONAME "libmbedtls.so.14"
#endif

/* Every function of mbedtls that tls.c calls; libmbedtls's dependencies
 * provide those of libmbedx509 and libmbedcrypto. */
#define EXP_TLS_LIB_FUNCTIONS(X)                                               \
  X(mbedtls_ctr_drbg_free)                                                     \
  X(mbedtls_ctr_drbg_init)                                                     \
  X(mbedtls_ctr_drbg_random)                                                   \
  X(mbedtls_ctr_drbg_seed)                                                     \
  X(mbedtls_entropy_free)                                                      \
  X(mbedtls_entropy_func)                                                      \
  X(mbedtls_entropy_init)                                                      \
  X(mbedtls_ssl_conf_authmode)                                                 \
  X(mbedtls_ssl_conf_ca_chain)                                                 \
  X(mbedtls_ssl_conf_rng)                                                      \
  X(mbedtls_ssl_config_defaults)                                               \
  X(mbedtls_ssl_config_free)                                                   \
  X(mbedtls_ssl_config_init)                                                   \
  X(mbedtls_ssl_close_notify)                                                  \
  X(mbedtls_ssl_free)                                                          \
  X(mbedtls_ssl_get_verify_result)                                             \
  X(mbedtls_ssl_handshake)                                                     \
  X(mbedtls_ssl_init)                                                          \
  X(mbedtls_ssl_read)                                                          \
  X(mbedtls_ssl_set_bio)                                                       \
  X(mbedtls_ssl_set_hostname)                                                  \
  X(mbedtls_ssl_set_verify)                                                    \
  X(mbedtls_ssl_setup)                                                         \
  X(mbedtls_ssl_write)                                                         \
  X(mbedtls_strerror)                                                          \
  X(mbedtls_x509_crt_free)                                                     \
  X(mbedtls_x509_crt_init)                                                     \
  X(mbedtls_x509_crt_parse_file)                                               \
  X(mbedtls_x509_crt_verify_info)

typedef struct exp_tls_lib {
  EXP_TLS_LIB_FUNCTIONS(EXP_DL_TABLE_MEMBER)
} exp_tls_lib;

/* Filled by the first successful exp_tls_lib_load, then never changed. */
extern exp_tls_lib exp_tls_lib_fns;

/* Loads EXP_TLS_LIB_SONAME unless done: 0, or EXP_ETLS with msg saying
 * which library could not be loaded and why (EXP_ENOMEM when that was
 * memory).  A failure is not kept: the next call tries again.  Safe from
 * any thread. */
int exp_tls_lib_load(char *msg, size_t msg_size);

#ifndef EXP_TLS_LIB_IMPL
#define mbedtls_ctr_drbg_free exp_tls_lib_fns.mbedtls_ctr_drbg_free
#define mbedtls_ctr_drbg_init exp_tls_lib_fns.mbedtls_ctr_drbg_init
#define mbedtls_ctr_drbg_random exp_tls_lib_fns.mbedtls_ctr_drbg_random
#define mbedtls_ctr_drbg_seed exp_tls_lib_fns.mbedtls_ctr_drbg_seed
#define mbedtls_entropy_free exp_tls_lib_fns.mbedtls_entropy_free
#define mbedtls_entropy_func exp_tls_lib_fns.mbedtls_entropy_func
#define mbedtls_entropy_init exp_tls_lib_fns.mbedtls_entropy_init
#define mbedtls_ssl_conf_authmode exp_tls_lib_fns.mbedtls_ssl_conf_authmode
#define mbedtls_ssl_conf_ca_chain exp_tls_lib_fns.mbedtls_ssl_conf_ca_chain
#define mbedtls_ssl_conf_rng exp_tls_lib_fns.mbedtls_ssl_conf_rng
#define mbedtls_ssl_config_defaults exp_tls_lib_fns.mbedtls_ssl_config_defaults
#define mbedtls_ssl_config_free exp_tls_lib_fns.mbedtls_ssl_config_free
#define mbedtls_ssl_config_init exp_tls_lib_fns.mbedtls_ssl_config_init
#define mbedtls_ssl_close_notify exp_tls_lib_fns.mbedtls_ssl_close_notify
#define mbedtls_ssl_free exp_tls_lib_fns.mbedtls_ssl_free
#define mbedtls_ssl_get_verify_result                                          \
  exp_tls_lib_fns.mbedtls_ssl_get_verify_result
#define mbedtls_ssl_handshake exp_tls_lib_fns.mbedtls_ssl_handshake
#define mbedtls_ssl_init exp_tls_lib_fns.mbedtls_ssl_init
#define mbedtls_ssl_read exp_tls_lib_fns.mbedtls_ssl_read
#define mbedtls_ssl_set_bio exp_tls_lib_fns.mbedtls_ssl_set_bio
#define mbedtls_ssl_set_hostname exp_tls_lib_fns.mbedtls_ssl_set_hostname
#define mbedtls_ssl_set_verify exp_tls_lib_fns.mbedtls_ssl_set_verify
#define mbedtls_ssl_setup exp_tls_lib_fns.mbedtls_ssl_setup
#define mbedtls_ssl_write exp_tls_lib_fns.mbedtls_ssl_write
#define mbedtls_strerror exp_tls_lib_fns.mbedtls_strerror
#define mbedtls_x509_crt_free exp_tls_lib_fns.mbedtls_x509_crt_free
#define mbedtls_x509_crt_init exp_tls_lib_fns.mbedtls_x509_crt_init
#define mbedtls_x509_crt_parse_file exp_tls_lib_fns.mbedtls_x509_crt_parse_file
#define mbedtls_x509_crt_verify_info                                           \
  exp_tls_lib_fns.mbedtls_x509_crt_verify_info
#endif

#endif
