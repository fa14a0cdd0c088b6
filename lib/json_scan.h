/*
 * json_scan.h: reads JSON text without building it (internal, no I/O).
 *
 * Received broadcasts are kept as their raw bytes and routed on three short
 * strings of their envelope, so nothing here allocates or recurses:
 * - exp_json_check validates one JSON text, with a nesting limit (a bit
 *   stack on the C stack) and a cap on the values it holds, which is what
 *   cJSON would allocate for it (one item per value);
 * - exp_json_members hands over the raw spans of the members of an object
 *   or the elements of an array, finding each one's end by structure only
 *   (strings and brackets), so that a member can be judged on its own;
 * - exp_json_unescape decodes a string's raw text into a buffer.
 * Whatever exp_json_check accepts within CJSON_NESTING_LIMIT, cJSON parses.
 * Bytes of 0x80 and above are taken as they come (UTF-8 is checked by the
 * websocket below).
 */
#ifndef EXP_JSON_SCAN_H
#define EXP_JSON_SCAN_H

#include <stddef.h>

/* The deepest nesting exp_json_check can track. */
#define EXP_JSON_MAX_DEPTH 1024

typedef enum exp_json_status {
  EXP_JSON_OK = 0,
  EXP_JSON_INVALID = 1,  /* not JSON */
  EXP_JSON_DEEP = 2,     /* nested deeper than the limit */
  EXP_JSON_TOO_MANY = 3, /* more values than the cap */
  EXP_JSON_TOO_LONG = 4  /* exp_json_unescape: the buffer is too small */
} exp_json_status;

typedef struct exp_json_info {
  size_t nodes;    /* values counted (scalars, arrays and objects) */
  size_t depth;    /* the deepest nesting reached */
  size_t error_at; /* where the scan stopped on an error */
} exp_json_info;

/* Whether [text, text + len) is exactly one JSON value (with whitespace
 * around it) nested at most max_depth deep (0, or above
 * EXP_JSON_MAX_DEPTH: EXP_JSON_MAX_DEPTH) and holding at most max_nodes
 * values (0: no cap).  Returns an exp_json_status; info (may be NULL)
 * tells how far it got. */
int exp_json_check(const char *text, size_t len, size_t max_depth,
                   size_t max_nodes, exp_json_info *info);

/* The end of the value that starts at text (after any whitespace), by
 * structure only: strings are skipped, brackets counted, a scalar runs to
 * the next delimiter; nothing is validated.  0 and *end (the offset just
 * past the value), or EXP_JSON_INVALID when no value ends within len. */
int exp_json_skip(const char *text, size_t len, size_t *end);

/* A member of an object (key set) or an element of an array (key NULL):
 * the key's raw text between its quotes and the value's raw JSON text,
 * both lent from the scanned text. */
typedef struct exp_json_member {
  const char *key;
  size_t key_len;
  const char *value;
  size_t value_len;
} exp_json_member;

/* Calls cb for every member of the object or array that [text, text + len)
 * holds, in order; a nonzero return of cb stops the scan and is returned.
 * The container's own punctuation is checked, its members' values only
 * skipped (exp_json_skip).  EXP_JSON_INVALID when the text is no object or
 * array, or breaks before its end. */
int exp_json_members(const char *text, size_t len,
                     int (*cb)(void *ud, const exp_json_member *m), void *ud);

/* Decodes the raw text of a string (between its quotes) into out, NUL-
 * terminated, *out_len its length (may be NULL).  EXP_JSON_INVALID for a
 * bad escape, an unpaired surrogate, \u0000 or a control character;
 * EXP_JSON_TOO_LONG when out_size is too small. */
int exp_json_unescape(const char *raw, size_t raw_len, char *out,
                      size_t out_size, size_t *out_len);

/* Whether a value's raw text is a JSON string ("..."). */
int exp_json_is_string(const char *value, size_t len);

#endif
