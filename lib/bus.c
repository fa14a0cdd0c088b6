/* bus.c: subscriptions, routes and the socket's events of an SDK handle. */
#include "bus.h"

#include <stdio.h>

#include "json_scan.h"
#include "listener.h"
#include "message.h"
#include "network.h"
#include "sdk.h"

static void on_connected(void *ud, int renewal);
static void on_event(void *ud, const char *name, const char *arg,
                     size_t arg_len, size_t size, int twins);
static void bus_stop(void *self);

static const exp_network_events events = {on_connected, on_event};
static const exp_layer_ops bus_ops = {NULL, NULL, bus_stop, 0};

/* ------------------------------------------------------------- lifetime */

exp_bus *exp_bus_of(exp_sdk *sdk) {
  exp_network *net;
  exp_bus *bus = exp_sdk_layer(sdk, &bus_ops);

  if (bus != NULL)
    return bus;
  if (sdk->state != EXP_SDK_STARTED) {
    exp_sdk_error(sdk, EXP_ERUNTIME, 0, NULL,
                  sdk->state == EXP_SDK_NEW ? "channels need exp_start first"
                                            : "the SDK is stopping");
    return NULL;
  }
  bus = exp_calloc(1, sizeof(*bus));
  if (bus == NULL) {
    exp_sdk_error(sdk, EXP_ENOMEM, 0, NULL, "out of memory");
    return NULL;
  }
  bus->refs = 1;
  bus->sdk = sdk;
  exp_hmap_init(&bus->chans);
  exp_hmap_init(&bus->routes);
  exp_list_init(&bus->listens);
  if (exp_sdk_attach(sdk, &bus_ops, bus) != 0) {
    exp_free(bus);
    exp_sdk_error(sdk, EXP_ERUNTIME, 0, NULL, "the SDK is stopping");
    return NULL;
  }
  net = exp_network_of(sdk);
  if (net != NULL)
    exp_network_set_events(net, &events, bus);
  return bus;
}

void exp_bus_ref(exp_bus *bus) {
  bus->refs++;
}

void exp_bus_unref(exp_bus *bus) {
  if (--bus->refs == 0)
    exp_free(bus);
}

/* ------------------------------------------------------- chans, routes */

/* A listen waiting for the server's acknowledgement of its channel. */
typedef struct exp_bus_pending {
  exp_list node;        /* in its channel's ring, in listen order */
  exp_list by_deadline; /* in bus->listens */
  uint64_t deadline;    /* on the loop's clock */
  uint64_t timeout_ms;
  uint64_t seq;
  exp_listener *l;
  exp_listener_cb cb;
  void *ud;
  int deferred; /* the timer completes a listen on a subscribed channel */
} exp_bus_pending;

static uint32_t chan_hash(const char *id) {
  return exp_hash_str(EXP_HASH_SEED, id);
}

/* From the channel's hash, so that a broadcast hashes its id once (perf,
 * issue 14).  Channel ids are base64, so "\n" cannot occur in them. */
static uint32_t route_hash(uint32_t chan_h, const char *name) {
  return exp_hash_str(exp_hash_str(chan_h, "\n"), name);
}

static exp_bus_chan *find_chan(const exp_bus *bus, const char *id) {
  uint32_t h = chan_hash(id);
  for (exp_hnode *n = exp_hmap_bucket(&bus->chans, h); n != NULL; n = n->next)
    if (n->hash == h && strcmp(((exp_bus_chan *)n)->id, id) == 0)
      return (exp_bus_chan *)n;
  return NULL;
}

static exp_bus_route *find_route(const exp_bus *bus, const exp_bus_chan *c,
                                 const char *name) {
  uint32_t h = route_hash(c->hnode.hash, name);
  for (exp_hnode *n = exp_hmap_bucket(&bus->routes, h); n != NULL;
       n = n->next) {
    exp_bus_route *r = (exp_bus_route *)n;
    if (n->hash == h && r->chan == c && strcmp(r->name, name) == 0)
      return r;
  }
  return NULL;
}

exp_bus_chan *exp_bus_chan_get(exp_bus *bus, const char *id, const char *name,
                               int flags) {
  exp_bus_chan *c = find_chan(bus, id);
  size_t ni = strlen(id) + 1, nn = strlen(name) + 1;

  if (c != NULL) {
    if (c->handles == UINT32_MAX)
      return NULL;
    c->handles++;
    return c;
  }
  c = exp_calloc(1, offsetof(exp_bus_chan, id) + ni + nn);
  if (c == NULL)
    return NULL;
  memcpy(c->id, id, ni);
  memcpy(c->id + ni, name, nn);
  c->hnode.hash = chan_hash(id);
  if (exp_hmap_insert(&bus->chans, &c->hnode) != 0) {
    exp_free(c);
    return NULL;
  }
  c->flags = (unsigned)flags & 3u;
  c->handles = 1;
  exp_bus_ref(bus);
  c->bus = bus;
  return c;
}

const char *exp_bus_chan_name(const exp_bus_chan *c) {
  return c->id + strlen(c->id) + 1;
}

/* Frees c once nothing holds it; after the stop it is in no table. */
static void maybe_free_chan(exp_bus_chan *c) {
  exp_bus *bus = c->bus;

  if (c->handles > 0 || c->routes > 0)
    return;
  if (!bus->stopping)
    exp_hmap_remove(&bus->chans, &c->hnode);
  exp_free(c);
  exp_bus_unref(bus);
}

void exp_bus_chan_release(exp_bus_chan *c) {
  c->handles--;
  maybe_free_chan(c);
}

/* c's catch-all route, or NULL: looked up only when there is one, so
 * that a broadcast on a channel without one costs no second lookup. */
static exp_bus_route *find_all(const exp_bus *bus, const exp_bus_chan *c) {
  return c->has_all ? find_route(bus, c, "") : NULL;
}

/* The route of name on c; name NULL: c's catch-all route. */
static exp_bus_route *get_route(exp_bus *bus, exp_bus_chan *c,
                                const char *name) {
  const char *key = name != NULL ? name : "";
  exp_bus_route *r = find_route(bus, c, key);
  size_t n = strlen(key) + 1;

  if (r != NULL)
    return r;
  if (c->routes == UINT32_MAX)
    return NULL;
  r = exp_calloc(1, offsetof(exp_bus_route, name) + n);
  if (r == NULL)
    return NULL;
  memcpy(r->name, key, n);
  r->chan = c;
  exp_list_init(&r->listeners);
  r->hnode.hash = route_hash(c->hnode.hash, key);
  if (exp_hmap_insert(&bus->routes, &r->hnode) != 0) {
    exp_free(r);
    return NULL;
  }
  if (name == NULL)
    c->has_all = 1;
  c->routes++;
  return r;
}

static void free_route(exp_bus *bus, exp_bus_route *r) {
  exp_bus_chan *c = r->chan;

  if (r->name[0] == '\0')
    c->has_all = 0;
  exp_hmap_remove(&bus->routes, &r->hnode);
  exp_free(r);
  if (--c->routes == 0) {
    /* Forget the subscription (bus.h). */
    c->requested = 0;
    c->subscribed = 0;
    maybe_free_chan(c);
  }
}

/* A route a broadcast is being delivered on holds a reference, so that it
 * stays until the delivery is done. */
static void release_route(exp_bus *bus, exp_bus_route *r) {
  if (--r->refs == 0)
    free_route(bus, r);
}

size_t exp_bus_chan_count(const exp_bus *bus) {
  const exp_hnode *n;
  size_t i, count = 0;

  for (n = exp_hmap_first(&bus->chans, &i); n != NULL;
       n = exp_hmap_next(&bus->chans, n, &i))
    count += ((const exp_bus_chan *)n)->routes > 0;
  return count;
}

/* Sends "subscribe" for c unless it went out on this session already; when
 * the socket is down, on_connected sends it.  EXP_ENOMEM when memory ran
 * out (a listen would otherwise wait its whole timeout), else 0. */
static int subscribe(exp_bus *bus, exp_bus_chan *c) {
  exp_network *net = exp_network_of(bus->sdk);
  cJSON *ids;
  int err = 0;

  if (c->requested || net == NULL || !exp_network_is_connected(net))
    return 0;
  ids = cJSON_CreateArray();
  if (ids == NULL ||
      !cJSON_AddItemToArray(ids, cJSON_CreateStringReference(c->id)))
    err = EXP_ENOMEM;
  else if ((err = exp_network_send(net, "subscribe", ids)) != 0)
    exp_logf(&bus->sdk->log, EXP_LOG_WARN, "subscribing a channel failed: %s",
             bus->sdk->err.message);
  else {
    c->requested = 1;
    exp_logf(&bus->sdk->log, EXP_LOG_DEBUG, "subscribing channel %s", c->id);
  }
  cJSON_Delete(ids);
  return err == EXP_ENOMEM ? err : 0;
}

/* ------------------------------------------------------------- listens */

static void on_listen_timer(uv_timer_t *t);

static exp_bus_pending *first_listen(exp_bus *bus) {
  return exp_list_empty(&bus->listens)
             ? NULL
             : EXP_CONTAINER_OF(bus->listens.next, exp_bus_pending,
                                by_deadline);
}

/* Sets the bus's timer for the soonest deadline; stopped when no listen
 * waits, so that it keeps no loop running. */
static void arm(exp_bus *bus) {
  exp_bus_pending *p = first_listen(bus);
  uint64_t now;

  if (p == NULL) {
    uv_timer_stop(bus->timer);
    return;
  }
  now = uv_now(bus->sdk->loop);
  uv_timer_start(bus->timer, on_listen_timer,
                 p->deadline > now ? p->deadline - now : 0, 0);
}

/* Puts p in deadline order, after those due at the same time. */
static void schedule(exp_bus *bus, exp_bus_pending *p, uint64_t ms) {
  exp_list *at = bus->listens.prev;
  uint64_t now;

  /* A callback may have run long since the loop last read the clock. */
  uv_update_time(bus->sdk->loop);
  now = uv_now(bus->sdk->loop);
  p->deadline = ms > UINT64_MAX - now ? UINT64_MAX : now + ms;
  while (at != &bus->listens &&
         EXP_CONTAINER_OF(at, exp_bus_pending, by_deadline)->deadline >
             p->deadline)
    at = at->prev;
  /* Inserting before at->next is inserting at the tail of at->next's. */
  exp_list_insert_tail(at->next, &p->by_deadline);
  if (bus->listens.next == &p->by_deadline)
    arm(bus);
}

/* A channel's listens form a ring without a head (c->pending is the
 * oldest), 8 B in the channel where a list head would take 16. */
static void pend(exp_bus_chan *c, exp_bus_pending *p) {
  if (c->pending == NULL) {
    exp_list_init(&p->node);
    c->pending = p;
  } else {
    exp_list_insert_tail(&c->pending->node, &p->node);
  }
}

static void unlink_pending(exp_bus_chan *c, exp_bus_pending *p) {
  if (c->pending == p)
    c->pending = exp_list_empty(&p->node)
                     ? NULL
                     : EXP_CONTAINER_OF(p->node.next, exp_bus_pending, node);
  exp_list_remove(&p->node);
}

/* Takes p out of its lists and frees it; returns its listener. */
static exp_listener *unpend(exp_bus *bus, exp_bus_pending *p) {
  exp_listener *l = p->l;

  unlink_pending(l->route->chan, p);
  exp_list_remove(&p->by_deadline);
  exp_free(p);
  if (exp_list_empty(&bus->listens))
    arm(bus);
  return l;
}

/* Returns nonzero when the handle stops meanwhile. */
static int complete_listen(exp_bus *bus, exp_bus_pending *p) {
  exp_sdk *sdk = bus->sdk;
  exp_listener_cb cb = p->cb;
  void *ud = p->ud;
  exp_listener *l = unpend(bus, p);

  l->state = EXP_LISTENER_ACTIVE;
  exp_list_insert_tail(&l->route->listeners, &l->node);
  exp_sdk_enter(sdk);
  cb(sdk, 0, l, ud);
  return exp_sdk_leave(sdk);
}

/* Returns nonzero when the handle stops meanwhile. */
static int fail_listen(exp_bus *bus, exp_bus_pending *p, int code,
                       const char *msg) {
  exp_sdk *sdk = bus->sdk;
  exp_listener_cb cb = p->cb;
  void *ud = p->ud;
  exp_listener *l = unpend(bus, p);

  release_route(bus, l->route);
  l->route = NULL;
  exp_listener_free(l);
  exp_sdk_error(sdk, code, 0, NULL, "%s", msg);
  exp_sdk_enter(sdk);
  cb(sdk, code, NULL, ud);
  return exp_sdk_leave(sdk);
}

static int running(const exp_bus *bus) {
  return bus->sdk != NULL && bus->sdk->state == EXP_SDK_STARTED;
}

/* Handles the listens due, those the callbacks start excepted: they wait
 * for the next pass. */
static void on_listen_timer(uv_timer_t *t) {
  exp_bus *bus = t->data;
  uint64_t now, seq = bus->listen_seq;
  exp_bus_pending *p;
  int stopped = 0;

  if (!running(bus)) /* the teardown to come cancels them */
    return;
  now = uv_now(bus->sdk->loop);
  while (!stopped && (p = first_listen(bus)) != NULL && p->deadline <= now &&
         p->seq < seq) {
    exp_bus_chan *c = p->l->route->chan;
    if (c->subscribed) {
      stopped = complete_listen(bus, p);
    } else if (p->deferred) {
      /* The socket reconnected since: wait for the new acknowledgement. */
      p->deferred = 0;
      exp_list_remove(&p->by_deadline);
      schedule(bus, p, p->timeout_ms);
    } else {
      /* The server may have dropped the subscribe: the next listen asks
       * again. */
      c->requested = 0;
      stopped = fail_listen(bus, p, EXP_ENETWORK, "listen timed out");
    }
  }
  if (!stopped && running(bus))
    arm(bus);
}

static void free_timer(uv_handle_t *h) {
  exp_free(h);
}

int exp_bus_listen(exp_bus_chan *c, const char *name, exp_listener *l,
                   uint64_t timeout_ms, exp_listener_cb cb, void *ud) {
  exp_bus *bus = c->bus;
  exp_bus_route *r = get_route(bus, c, name);
  exp_bus_pending *p = r != NULL ? exp_malloc(sizeof(*p)) : NULL;

  if (p != NULL && bus->timer == NULL) {
    bus->timer = exp_malloc(sizeof(*bus->timer));
    if (bus->timer != NULL) {
      uv_timer_init(bus->sdk->loop, bus->timer);
      bus->timer->data = bus;
    }
  }
  if (p == NULL || bus->timer == NULL) {
    exp_free(p);
    if (r != NULL && r->refs == 0)
      free_route(bus, r);
    exp_listener_free(l);
    return exp_sdk_error(bus->sdk, EXP_ENOMEM, 0, NULL, "out of memory");
  }
  l->route = r;
  r->refs++;
  p->l = l;
  p->cb = cb;
  p->ud = ud;
  p->timeout_ms = timeout_ms;
  p->seq = bus->listen_seq++;
  p->deferred = c->subscribed;
  pend(c, p);
  schedule(bus, p, c->subscribed ? 0 : timeout_ms);
  if (subscribe(bus, c) != 0) {
    unpend(bus, p);
    l->route = NULL;
    release_route(bus, r);
    exp_listener_free(l);
    return exp_sdk_error(bus->sdk, EXP_ENOMEM, 0, NULL,
                         "out of memory subscribing the channel");
  }
  return 0;
}

void exp_bus_unroute(exp_listener *l) {
  exp_bus_route *r = l->route;
  exp_bus *bus = r->chan->bus;

  if (bus->cursor == &l->node)
    bus->cursor = l->node.next;
  exp_list_remove(&l->node);
  l->route = NULL;
  release_route(bus, r);
}

/* --------------------------------------------------------- socket events */

/* The bytes an id adds to a "subscribe" frame: quotes and a comma (ids
 * are base64, cJSON escapes nothing in them). */
static size_t id_bytes(const exp_bus_chan *c) {
  return strlen(c->id) + 3;
}

/* Room for 42["subscribe",[]] and a namespace. */
#define FRAME_OVERHEAD 64

/* Sends ids as one "subscribe" and marks them requested; returns how many
 * were not sent. */
static size_t send_chunk(exp_bus *bus, cJSON *ids) {
  const cJSON *id;

  if (exp_network_send(exp_network_of(bus->sdk), "subscribe", ids) != 0)
    return (size_t)cJSON_GetArraySize(ids);
  cJSON_ArrayForEach(id, ids) find_chan(bus, id->valuestring)->requested = 1;
  exp_logf(&bus->sdk->log, EXP_LOG_DEBUG, "subscribing %d channel(s) again",
           cJSON_GetArraySize(ids));
  return 0;
}

/* A new session: subscribes every channel on it, in frames bounded by
 * EXP_BUS_CHUNK_BYTES so that none passes the server's limit on a message.
 * After a loss the server forgot every subscription; for a renewal's
 * session the current one still has them all. */
static void on_connected(void *ud, int renewal) {
  exp_bus *bus = ud;
  exp_hnode *n;
  cJSON *ids = NULL;
  size_t i, bytes = 0, unsent = 0;
  int oom = 0;

  if (!running(bus))
    return;
  for (n = exp_hmap_first(&bus->chans, &i); n != NULL;
       n = exp_hmap_next(&bus->chans, n, &i)) {
    exp_bus_chan *c = (exp_bus_chan *)n;
    if (c->routes == 0) /* a handle's entry only: nobody listens */
      continue;
    if (!renewal) {
      c->requested = 0;
      c->subscribed = 0;
    }
    if (oom)
      continue;
    if (ids != NULL &&
        bytes + id_bytes(c) > EXP_BUS_CHUNK_BYTES - FRAME_OVERHEAD) {
      unsent += send_chunk(bus, ids);
      cJSON_Delete(ids);
      ids = NULL;
    }
    if (ids == NULL) {
      ids = cJSON_CreateArray();
      bytes = 0;
    }
    if (ids == NULL ||
        !cJSON_AddItemToArray(ids, cJSON_CreateStringReference(c->id)))
      oom = 1;
    bytes += id_bytes(c);
  }
  if (ids != NULL && !oom)
    unsent += send_chunk(bus, ids);
  cJSON_Delete(ids);
  if (oom)
    exp_logf(&bus->sdk->log, EXP_LOG_ERROR,
             "out of memory: channels not subscribed again");
  if (unsent > 0)
    exp_logf(&bus->sdk->log, EXP_LOG_WARN,
             "%zu channels not subscribed again: %s", unsent,
             bus->sdk->err.message);
}

/* A JSON string member decoded into buf, which has room for its raw
 * length (the quotes make room for the NUL); NULL when it is no string. */
static const char *decode(const exp_json_member *m, char *buf) {
  if (m->value == NULL || !exp_json_is_string(m->value, m->value_len) ||
      exp_json_unescape(m->value + 1, m->value_len - 2, buf, m->value_len,
                        NULL) != 0)
    return NULL;
  return buf;
}

/* Ids and names are short: longer ones take the heap. */
#define SHORT 512

static int on_subscribed_id(void *ud, const exp_json_member *m) {
  exp_bus *bus = ud;
  char small[SHORT],
      *id = m->value_len <= SHORT ? small : exp_malloc(m->value_len);
  exp_bus_chan *c =
      id != NULL && decode(m, id) != NULL ? find_chan(bus, id) : NULL;
  size_t n = 0;

  if (id != small)
    exp_free(id);
  if (c == NULL || c->routes == 0)
    return 0;
  if (!c->subscribed)
    exp_logf(&bus->sdk->log, EXP_LOG_DEBUG, "channel %s subscribed", c->id);
  c->requested = 1;
  c->subscribed = 1;
  /* Only the listens waiting now: those their callbacks start are
   * completed by their own timer. */
  if (c->pending != NULL) {
    const exp_list *first = &c->pending->node;
    n = 1;
    for (const exp_list *e = first->next; e != first; e = e->next)
      n++;
  }
  while (n-- > 0)
    if (complete_listen(bus, c->pending))
      return 1;
  return 0;
}

static void on_subscribed(exp_bus *bus, const char *ids, size_t len) {
  if (ids == NULL || ids[0] != '[' ||
      exp_json_members(ids, len, on_subscribed_id, bus) == EXP_JSON_INVALID)
    exp_logf(&bus->sdk->log, EXP_LOG_WARN,
             "ignoring a \"subscribed\" that is not an array");
}

/* The members of a broadcast's envelope, the first of each name. */
typedef struct envelope_parts {
  exp_json_member id, name, channel, payload;
} envelope_parts;

static int on_envelope_member(void *ud, const exp_json_member *m) {
  envelope_parts *e = ud;
  exp_json_member *to = NULL;
#define IS(k)                                                                  \
  (m->key_len == sizeof(k) - 1 && memcmp(m->key, k, m->key_len) == 0)
  if (IS("id"))
    to = &e->id;
  else if (IS("name"))
    to = &e->name;
  else if (IS("channel"))
    to = &e->channel;
  else if (IS("payload"))
    to = &e->payload;
#undef IS
  if (to != NULL && to->value == NULL)
    *to = *m;
  return 0;
}

/* Every listener of r gets a message of env.  Nonzero when the handle
 * stopped meanwhile. */
static int deliver(exp_bus *bus, exp_bus_route *r, exp_envelope *env) {
  for (exp_list *n = r->listeners.next; n != &r->listeners; n = bus->cursor) {
    exp_listener *l = EXP_CONTAINER_OF(n, exp_listener, node);
    exp_message *msg;

    bus->cursor = n->next;
    if (env == NULL || (msg = exp_message_new(env)) == NULL)
      l->dropped++;
    else if (exp_listener_deliver(l, msg) && !running(bus))
      return 1;
  }
  bus->cursor = NULL;
  return 0;
}

static void count_dropped(exp_bus_route *r) {
  if (r != NULL)
    for (exp_list *n = r->listeners.next; n != &r->listeners; n = n->next)
      EXP_CONTAINER_OF(n, exp_listener, node)->dropped++;
}

/* Delivers a broadcast (its envelope's raw text, size bytes on the wire)
 * to the listeners of its (channel, name) and to the channel's catch-all
 * listeners, every one sharing one copy of its bytes.  A payload nobody
 * could parse is dropped and counted on those listeners. */
static void route(exp_bus *bus, envelope_parts *e, const char *id,
                  const char *name, const char *channel);

/* The strings of a broadcast took more than the stack and memory ran out:
 * it is counted on the listeners it was for when its channel and name
 * alone fit buf to be looked up.  Not one that came on both sessions of a
 * renewal: without its id, the copy delivered on the other one cannot be
 * told apart. */
static void count_lost(exp_bus *bus, const envelope_parts *e, char *buf,
                       size_t size, int twins) {
  const char *name, *channel;
  exp_bus_chan *c;

  if (twins || e->channel.value_len > size ||
      e->name.value_len > size - e->channel.value_len)
    return;
  name = decode(&e->name, buf);
  channel = decode(&e->channel, buf + e->name.value_len);
  if (name == NULL || channel == NULL || (c = find_chan(bus, channel)) == NULL)
    return;
  count_dropped(name[0] != '\0' ? find_route(bus, c, name) : NULL);
  count_dropped(find_all(bus, c));
}

static void dispatch(exp_bus *bus, const char *arg, size_t arg_len, int twins) {
  envelope_parts e;
  char small[3 * SHORT], *strings = small;
  const char *id, *name, *channel;

  memset(&e, 0, sizeof(e));
  id = name = channel = NULL;
  if (arg != NULL && arg[0] == '{' &&
      exp_json_members(arg, arg_len, on_envelope_member, &e) == 0) {
    size_t need = e.id.value_len + e.name.value_len + e.channel.value_len;
    if (need > sizeof(small))
      strings = exp_malloc(need);
    if (strings != NULL) {
      id = decode(&e.id, strings);
      name = decode(&e.name, strings + e.id.value_len);
      channel = decode(&e.channel, strings + e.id.value_len + e.name.value_len);
    } else {
      count_lost(bus, &e, small, sizeof(small), twins);
    }
  }
  if (id == NULL || name == NULL || channel == NULL)
    exp_logf(
        &bus->sdk->log, strings == NULL ? EXP_LOG_ERROR : EXP_LOG_WARN, "%s",
        strings == NULL ? "out of memory: a broadcast was dropped"
                        : "ignoring a broadcast without string id, name and "
                          "channel");
  else if (twins && exp_recent_seen(&bus->recent, id))
    exp_logf(&bus->sdk->log, EXP_LOG_DEBUG,
             "broadcast %s came on both sessions of a renewal: delivered once",
             id);
  else
    route(bus, &e, id, name, channel);
  if (strings != small)
    exp_free(strings);
}

/* The second half of dispatch, once the envelope's strings are decoded. */
static void route(exp_bus *bus, envelope_parts *e, const char *id,
                  const char *name, const char *channel) {
  exp_bus_chan *c;
  exp_bus_route *r, *all, *routes[2];
  exp_envelope *env;
  int status;

  c = find_chan(bus, channel);
  /* name "" is the catch-all's key: such a broadcast goes to it once. */
  r = c != NULL && name[0] != '\0' ? find_route(bus, c, name) : NULL;
  all = c != NULL ? find_all(bus, c) : NULL;
  if (r != NULL && exp_list_empty(&r->listeners))
    r = NULL;
  if (all != NULL && exp_list_empty(&all->listeners))
    all = NULL;
  if (r == NULL && all == NULL)
    return;
  if (e->payload.value == NULL) {
    e->payload.value = "null";
    e->payload.value_len = 4;
  }
  status = exp_json_check(e->payload.value, e->payload.value_len,
                          CJSON_NESTING_LIMIT, 0, NULL);
  if (status != EXP_JSON_OK) {
    count_dropped(r);
    count_dropped(all);
    if (status == EXP_JSON_DEEP)
      exp_logf(&bus->sdk->log, EXP_LOG_WARN,
               "dropped broadcast \"%s\" on channel %s: its payload of %zu "
               "bytes is nested deeper than %d levels",
               name, channel, e->payload.value_len, CJSON_NESTING_LIMIT);
    else
      exp_logf(&bus->sdk->log, EXP_LOG_WARN,
               "dropped broadcast \"%s\" on channel %s: its payload of %zu "
               "bytes is not valid JSON",
               name, channel, e->payload.value_len);
    return;
  }
  env = exp_envelope_new(bus, id, name, channel, e->payload.value,
                         e->payload.value_len, uv_now(bus->sdk->loop));
  if (env == NULL)
    exp_logf(&bus->sdk->log, EXP_LOG_ERROR,
             "out of memory: a broadcast was dropped");
  routes[0] = r;
  routes[1] = all;
  for (int i = 0; i < 2; i++)
    if (routes[i] != NULL)
      routes[i]->refs++;
  for (int i = 0; i < 2; i++)
    if (routes[i] != NULL && deliver(bus, routes[i], env))
      break;
  /* After a teardown the stop freed the routes already. */
  if (bus->sdk != NULL)
    for (int i = 0; i < 2; i++)
      if (routes[i] != NULL)
        release_route(bus, routes[i]);
  if (env != NULL)
    exp_envelope_unref(env);
}

static void on_event(void *ud, const char *name, const char *arg,
                     size_t arg_len, size_t size, int twins) {
  exp_bus *bus = ud;

  EXP_UNUSED(size);
  if (!running(bus))
    return;
  /* Callbacks may stop the handle: the bus stays readable until we
   * return. */
  exp_bus_ref(bus);
  if (strcmp(name, "broadcast") == 0)
    dispatch(bus, arg, arg_len, twins);
  else if (strcmp(name, "subscribed") == 0)
    on_subscribed(bus, arg, arg_len);
  exp_bus_unref(bus);
}

/* ------------------------------------------------------------------ stop */

static void detach_route(exp_bus_route *r, exp_list *notify) {
  while (!exp_list_empty(&r->listeners)) {
    exp_listener *l = EXP_CONTAINER_OF(r->listeners.next, exp_listener, node);
    exp_list_remove(&l->node);
    l->route = NULL;
    exp_listener_detach(l, notify);
  }
}

static void bus_stop(void *self) {
  exp_bus *bus = self;
  exp_sdk *sdk = bus->sdk;
  exp_list listening, notify;
  exp_hnode *n, *next;
  size_t i;

  exp_list_init(&listening);
  exp_list_init(&notify);
  bus->stopping = 1;
  /* First take everything apart, then call back: callbacks may cancel
   * listeners, which are then in no bus list any more, and free channels,
   * which are then in no table. */
  for (n = exp_hmap_first(&bus->routes, &i); n != NULL; n = next) {
    exp_bus_route *r = (exp_bus_route *)n;
    next = exp_hmap_next(&bus->routes, n, &i);
    detach_route(r, &notify);
    exp_free(r);
  }
  for (n = exp_hmap_first(&bus->chans, &i); n != NULL; n = next) {
    exp_bus_chan *c = (exp_bus_chan *)n;
    next = exp_hmap_next(&bus->chans, n, &i);
    while (c->pending != NULL) {
      exp_bus_pending *p = c->pending;
      unlink_pending(c, p);
      exp_list_remove(&p->by_deadline);
      p->l->route = NULL;
      exp_list_insert_tail(&listening, &p->node);
    }
    c->has_all = 0;
    c->routes = 0;
    c->requested = 0;
    c->subscribed = 0;
    maybe_free_chan(c);
  }
  exp_hmap_free(&bus->routes);
  exp_hmap_free(&bus->chans);
  if (bus->timer != NULL)
    uv_close((uv_handle_t *)bus->timer, free_timer);
  bus->timer = NULL;
  bus->cursor = NULL;
  while (!exp_list_empty(&listening)) {
    exp_bus_pending *p =
        EXP_CONTAINER_OF(listening.next, exp_bus_pending, node);
    exp_listener_cb cb = p->cb;
    void *ud = p->ud;
    exp_list_remove(&p->node);
    exp_listener_free(p->l);
    exp_free(p);
    exp_sdk_error(sdk, EXP_ECANCELLED, 0, NULL, "the SDK was stopped");
    exp_sdk_enter(sdk);
    cb(sdk, EXP_ECANCELLED, NULL, ud);
    exp_sdk_leave(sdk);
  }
  while (!exp_list_empty(&notify))
    exp_listener_cancel_next(EXP_CONTAINER_OF(notify.next, exp_listener, node));
  bus->sdk = NULL;
  exp_bus_unref(bus);
}
