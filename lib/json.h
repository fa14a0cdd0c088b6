/*
 * json.h: dotted paths into JSON documents (internal, no I/O).
 *
 * A path is member names joined by dots: "location.uuid" is the member
 * "uuid" of the member "location".  In an array, a segment of decimal
 * digits picks an element: "zones.0.key".  Names are case-sensitive and
 * cannot contain a dot; the empty path is the root.
 */
#ifndef EXP_JSON_H
#define EXP_JSON_H

#include <cjson/cJSON.h>

/* The value at path, or NULL when there is none (or root or path is
 * NULL). */
cJSON *exp_json_path(const cJSON *root, const char *path);

/* Replaces the value at path with value, or adds it as the last member of
 * its object; objects missing on the way are added.  value is taken over,
 * also on failure, when it is freed.  0; EXP_EOPTIONS when root is not an
 * object, the path is empty or has an empty segment, or the way is
 * blocked (a value that is neither object nor array, an index outside the
 * array); EXP_ENOMEM (also for value NULL, what a failed cJSON_Create*
 * gives).  On failure root is unchanged, but for objects added on the way
 * when memory ran out. */
int exp_json_set_path(cJSON *root, const char *path, cJSON *value);

/* Why cJSON could not parse [text, text + len): EXP_ENOMEM when the text is
 * one JSON value within cJSON's nesting limit (cJSON reports a failed
 * allocation as it reports bad JSON, so only memory can have failed it),
 * else EXP_EPROTOCOL. */
int exp_json_parse_error(const char *text, size_t len);

#endif
