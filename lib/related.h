/* related.h: following a document's links to other resources
 * (internal). */
#ifndef EXP_RELATED_H
#define EXP_RELATED_H

#include "resource.h"

/* Returned by exp_related_next when the document names no location (so no
 * zones either) or no experience. */
#define EXP_RELATED_NONE 1

/* Starts the request for what op->kind names in doc, a device's or
 * thing's document: its location (EXP_LOCATION), experience
 * (EXP_EXPERIENCE) or zones (EXP_ZONE).  0 when started; EXP_RELATED_NONE
 * when doc names none (nothing started: finish the op with
 * exp_related_none); another error (set). */
int exp_related_next(exp_resource_op *op, const cJSON *doc);

/* A step finishing an op whose document named none: an empty set of zones
 * (a device in no location is in no zone), else EXP_ENOTFOUND. */
void exp_related_none(exp_resource_op *op, int status, cJSON *answer);

#endif
