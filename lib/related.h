/* related.h: following a document's links to other resources
 * (internal). */
#ifndef EXP_RELATED_H
#define EXP_RELATED_H

#include "resource.h"

/* Returned by exp_related_next when a device or thing has no location, so
 * no zones. */
#define EXP_RELATED_NO_LOCATION 1

/* Starts the request for what op->kind names in doc, a device's or
 * thing's document: its location (EXP_LOCATION), experience
 * (EXP_EXPERIENCE) or zones (EXP_ZONE).  0 when started;
 * EXP_ENOTFOUND (error set) when doc names no such resource, except
 * EXP_RELATED_NO_LOCATION for zones; another error. */
int exp_related_next(exp_resource_op *op, const cJSON *doc);

#endif
