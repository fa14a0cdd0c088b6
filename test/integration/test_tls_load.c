/* None of mbedtls stays in a plain-http process: libmbedcrypto is opened
 * only while a login's HMAC or a websocket's SHA-1 is computed, libmbedtls
 * and libmbedx509 not before the first https:// connection, which then
 * works beside the plain session.  Linked with the shared libexpsdk alone,
 * as an application is. */
#define _GNU_SOURCE /* dl_iterate_phdr */
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <exp.h>

#include "refserver.h"
#include "testlib.h"
#include "tls_certs.h"

static int find_one(struct dl_phdr_info *info, size_t size, void *name) {
  (void)size;
  return strstr(info->dlpi_name, name) != NULL;
}

/* Whether a library whose path has name in it is mapped. */
static int loaded(const char *name) {
  return dl_iterate_phdr(find_one, (void *)name);
}

static void write_file(char *path, const char *tmpl, const char *text) {
  int fd;
  strcpy(path, tmpl);
  fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd < 0)
    return;
  CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
  close(fd);
}

static exp_sdk *start(const char *origin, const char *ca_file) {
  exp_sdk *sdk = exp_new(NULL);
  CHECK(sdk != NULL);
  exp_set_log(sdk, EXP_LOG_ERROR, NULL, NULL);
  CHECK_INT(exp_set_str(sdk, EXP_OPT_HOST, origin), 0);
  if (ca_file != NULL)
    CHECK_INT(exp_set_str(sdk, EXP_OPT_CA_FILE, ca_file), 0);
  refserver_credentials(sdk, DEVICE);
  CHECK_INT(exp_start_wait(sdk, 20000), 0);
  return sdk;
}

int main(int argc, char **argv) {
  char ca[64], cert[64], key[64];
  const char *tls_args[] = {"--tls-cert", cert, "--tls-key", key, NULL};
  refserver plain, tls;
  exp_sdk *a, *b;
  if (argc < 3) {
    fprintf(stderr, "usage: %s NODE MAIN_JS\n", argv[0]);
    return 2;
  }
  setvbuf(stdout, NULL, _IONBF, 0);
  write_file(ca, "/tmp/exp-tls-load-ca-XXXXXX", TEST_CA_PEM);
  write_file(cert, "/tmp/exp-tls-load-cert-XXXXXX", TEST_SERVER_CERT_PEM);
  write_file(key, "/tmp/exp-tls-load-key-XXXXXX", TEST_SERVER_KEY_PEM);
  if (refserver_start(&plain, argv[1], argv[2], NULL) != 0 ||
      refserver_start(&tls, argv[1], argv[2], tls_args) != 0) {
    fprintf(stderr, "the reference servers did not start\n");
    return 1;
  }
  CHECK(strncmp(tls.origin, "https://", 8) == 0);

  /* Online over plain http (login, REST, the websocket): no mbedtls. */
  CHECK(!loaded("libmbedcrypto.so"));
  a = start(plain.origin, NULL);
  CHECK(exp_is_connected(a));
  CHECK_INT(exp_get_wait(a, "/api/devices/test-uuid", NULL, NULL), 0);
  CHECK(!loaded("libmbedtls.so"));
  CHECK(!loaded("libmbedx509.so"));
  CHECK(!loaded("libmbedcrypto.so"));
  printf("ok plain http online without mbedtls\n");

  /* The first https:// handle loads them; both sessions keep working. */
  b = start(tls.origin, ca);
  CHECK_INT(exp_get_wait(b, "/api/devices/test-uuid", NULL, NULL), 0);
  CHECK(loaded("libmbedtls.so"));
  CHECK(loaded("libmbedx509.so"));
  CHECK(loaded("libmbedcrypto.so"));
  CHECK_INT(exp_get_wait(a, "/api/devices/test-uuid", NULL, NULL), 0);
  exp_stop(b);
  b = start(tls.origin, ca);
  CHECK_INT(exp_get_wait(b, "/api/devices/test-uuid", NULL, NULL), 0);
  printf("ok https after plain http, twice\n");

  exp_stop(a);
  exp_stop(b);
  refserver_stop(&plain);
  refserver_stop(&tls);
  unlink(ca);
  unlink(cert);
  unlink(key);
  return t_done();
}
