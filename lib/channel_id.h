/*
 * channel_id.h: the id of a real-time channel (internal).
 *
 * The id is the standard base64 (with padding) of the compact JSON array
 * [organization, name, system?1:0, consumer?1:0], strings escaped exactly as
 * JavaScript's JSON.stringify does and non-ASCII written raw as UTF-8, so
 * that the ids match the ones the official JavaScript SDK subscribes to.
 */
#ifndef EXP_CHANNEL_ID_H
#define EXP_CHANNEL_ID_H

/* *out: the NUL-terminated id, malloc'd, freed by the caller.  Returns 0,
 * EXP_EOPTIONS when organization or name is NULL or not valid UTF-8, or
 * EXP_ENOMEM. */
int exp_channel_id_encode(const char *organization, const char *name,
                          int system, int consumer, char **out);

#endif
