#!/usr/bin/env bash
# cli_test.sh EXP GROUP: drives the exp command (EXP, the built binary)
# against the reference server at $EXP_HOST (with_server starts it).  Each
# GROUP is one meson test: rest, resources, network, pairing, usage,
# unreachable.  Exit statuses and output are checked, never timings: where
# a listener must be subscribed first, the broadcast is repeated until it
# is heard.
set -u
exp=$1
group=$2
tmp=$(mktemp -d)
bg_pids=()
cleanup() {
  for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT

export EXP_USERNAME=test@goexp.io EXP_PASSWORD=test-Password1
export EXP_ORGANIZATION=scala
unset EXP_UUID EXP_SECRET EXP_API_KEY EXP_CA_FILE
failures=0
out=
err=

fail() {
  echo "FAIL: $*" >&2
  echo "  stdout: $out" >&2
  echo "  stderr: $err" >&2
  failures=$((failures + 1))
}

# run STATUS ARG...: runs exp ARG..., expects STATUS; $out, $err get its
# stdout and stderr.  A generous bound turns a hang into a failure.
run() {
  local want=$1 got
  shift
  timeout 60 "$exp" "$@" >"$tmp/out" 2>"$tmp/err"
  got=$?
  out=$(cat "$tmp/out")
  err=$(cat "$tmp/err")
  [ "$got" = "$want" ] || fail "exp $* exited $got, not $want"
}

# has TEXT / err_has TEXT: the last run's stdout / stderr contains TEXT.
has() { grep -qF -- "$1" <<<"$out" || fail "stdout lacks $1"; }
err_has() { grep -qF -- "$1" <<<"$err" || fail "stderr lacks $1"; }
lines() {
  [ "$(grep -c '' <<<"$out")" = "$1" ] || fail "stdout has not $1 line(s)"
}

# field NAME: the string member NAME of the first line of $out.
field() { sed -n "1s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" <<<"$out"; }

# start NAME ARG...: runs exp ARG... in the background, output in
# $tmp/NAME.out and .err; waitfor NAME STATUS checks how it ended.
start() {
  local name=$1
  shift
  timeout 60 "$exp" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  eval "pid_$name=$!"
  bg_pids+=($!)
}
waitfor() {
  local pid got
  eval "pid=\$pid_$1"
  wait "$pid"
  got=$?
  out=$(cat "$tmp/$1.out")
  err=$(cat "$tmp/$1.err")
  [ "$got" = "$2" ] || fail "background exp $1 exited $got, not $2"
}

# ready NAME: waits until background exp NAME (started with --verbose)
# hears broadcasts.
ready() {
  for _ in $(seq 600); do
    grep -q 'listening for' "$tmp/$1.err" && return 0
    sleep 0.1
  done
  fail "exp $1 never listened"
}

test_rest() {
  run 0 login
  has '"type":"user"'
  has '"username":"test@goexp.io"'
  grep -q token <<<"$out" && fail "login printed the token"
  EXP_UUID=test-uuid EXP_SECRET=test-secret run 0 login --as device
  has '"type":"device"'
  EXP_UUID=test-uuid EXP_API_KEY=test-api-key run 0 login --as consumer
  has '"type":"consumerApp"'
  run 0 login --username "" --uuid test-uuid --secret test-secret
  has '"uuid":"test-uuid"'
  run 1 login --password wrong
  err_has 'auth.invalid'
  grep -q wrong <<<"$err" && fail "the password is in the message"

  run 0 get devices limit=1
  has '"total":'
  run 0 get /api/devices/test-uuid
  has '"uuid":"test-uuid"'
  run 0 get /api/devices/test-uuid --pretty
  [ "$(grep -c '' <<<"$out")" -gt 1 ] || fail "--pretty printed one line"
  run 1 get /api/devices/nope
  err_has 'not.found'
  err_has 'HTTP 404'

  run 0 post things '{"name":"rest-thing"}'
  has '"name":"rest-thing"'
  uuid=$(field uuid)
  run 0 patch "/api/things/$uuid" '{"note":"patched"}'
  has '"note":"patched"'
  out=$(echo '{"value":{"n":1}}' | "$exp" put /api/data/cli/rest -) ||
    fail "put from stdin failed"
  has '"n":1'
  run 0 delete "/api/things/$uuid"
  run 1 get "/api/things/$uuid"

  # Several nodes: the first refuses connections, the next answers; the
  # flag, or EXP_HOSTS, which wins over EXP_HOST.
  run 0 --hosts "http://127.0.0.1:1,$EXP_HOST" get /api/devices/test-uuid
  has '"uuid":"test-uuid"'
  EXP_HOSTS="http://127.0.0.1:1 $EXP_HOST" run 0 login
  has '"username":"test@goexp.io"'
  EXP_HOSTS="http://127.0.0.1:1 $EXP_HOST" run 0 --host "$EXP_HOST" login
}

test_resources() {
  for kind in devices things experiences locations feeds content data \
    device thing; do
    run 0 find "$kind"
  done
  run 0 find devices limit=2
  lines 2
  has '"uuid":"test-uuid"'
  run 0 find devices name="Test Device 2"
  lines 1
  has '"uuid":"test-device-2"'

  run 0 show devices test-uuid
  has '"name":"Test Device"'
  run 1 show devices nope
  err_has 'not.found'

  run 0 create things '{"name":"cli-thing","note":"x","deep":{"a":1,"b":2}}'
  uuid=$(field uuid)
  [ -n "$uuid" ] || fail "create printed no uuid"
  run 0 save things "$uuid" '{"name":"renamed","note":null,"deep":{"a":null}}'
  has '"name":"renamed"'
  has '"deep":{"b":2}'
  grep -q '"note"' <<<"$out" && fail "the patch did not remove note"
  run 0 show thing "$uuid"
  has '"name":"renamed"'
  run 0 rm things "$uuid"
  [ -z "$out" ] || fail "rm printed something"
  run 1 show things "$uuid"
  run 1 rm things "$uuid"

  run 0 create data cli/key '{"v":1}'
  has '"group":"cli"'
  run 0 save data cli/key '{"w":2}'
  has '"value":{"v":1,"w":2}'
  run 0 find data group=cli
  has '"key":"key"'
  run 0 create data plain '{"v":3}'
  has '"group":"default"'
  run 0 show data default/plain
  has '"v":3'
  run 0 rm data cli/key
  run 1 show data cli/key

  run 0 url test-content-file
  has '/api/delivery/'
  has '_rt='
  run 0 url test-content-file --variant 320.png
  has '&variant=320.png'
  run 1 url test-content-file --variant nope
  err_has 'no variant "nope"'
  run 1 url nope
}

test_network() {
  run 0 broadcast cli-ch hello '{"text":"hi"}'
  [ -z "$out" ] || fail "a broadcast nobody answered printed something"
  run 1 broadcast cli-ch hello --system
  err_has 'network.system'
  run 1 broadcast cli-ch hello --as consumer --uuid test-uuid \
    --api-key test-api-key
  err_has 'network.consumer'
  run 0 broadcast cli-ch hello --as consumer --uuid test-uuid \
    --api-key test-api-key --consumer

  # listen: two broadcasts as JSON lines, then it stops by itself.
  start listen listen cli-ch hello --count 2 --verbose
  ready listen
  run 0 broadcast cli-ch hello '{"n":1}'
  run 0 broadcast cli-ch hello '"second"'
  waitfor listen 0
  lines 2
  has '"name":"hello","channel":"cli-ch"'
  has '"payload":{"n":1}'
  has '"payload":"second"'
  # Without EVENT: every event on the channel.
  start all listen cli-ch --count 2 --verbose
  ready all
  run 0 broadcast cli-ch one
  run 0 broadcast cli-ch two '[2]'
  waitfor all 0
  lines 2
  has '"name":"one","channel":"cli-ch"'
  has '"name":"two","channel":"cli-ch"'
  has '"payload":[2]'
  run 3 listen cli-ch hello --count 1 --timeout 300
  err_has '0 of 1'
  run 0 listen cli-ch hello --timeout 300
  # The server's own events: a save is an "update" on the system channel
  # named by the document's uuid.
  start update listen test-device-2 update --system --count 1 -v
  ready update
  run 0 save devices test-device-2 '{"note":"u"}'
  waitfor update 0
  has '"note":"u"'

  # respond --with, heard by a broadcast that collects responses (a window
  # long enough for a loaded machine).
  start with respond cli-ch ping --with '{"pong":true}' --count 1 -v
  ready with
  run 0 broadcast cli-ch ping --timeout 4000
  has '{"pong":true}'
  waitfor with 0
  has '"response":{"pong":true}'

  # respond --exec: the payload on stdin, stdout the response; a command
  # that fails or runs too long is reported and answers nothing.
  # shellcheck disable=SC2016 # the command's own $x
  start exec respond cli-ch up --count 3 --exec-timeout 300 -v --exec \
    'read -r x; case $x in *slow*) sleep 30;; *fail*) exit 4;;
     *text*) echo plain words;; *) echo "$x" | tr a-z A-Z;; esac'
  ready exec
  for payload in '"abc"' '"slow"' '"fail"' '{"k":"text"}' '{"k":"v"}'; do
    run 0 broadcast cli-ch up "$payload"
  done
  waitfor exec 0
  lines 3
  has '"payload":"abc","response":"ABC"'
  has '"response":"plain words"'
  has '"response":{"K":"V"}'
  err_has 'ran past 300 ms'
  err_has 'exited with status 4'

  # fling and identify are broadcasts of their own names.
  start fling respond cli-ch fling --with '"launched"' --count 1 -v
  ready fling
  run 0 fling cli-ch '{"content":"x"}' --timeout 4000
  has '"launched"'
  waitfor fling 0
  has '"payload":{"content":"x"}'
  start identify respond test-uuid identify --with '"here"' --count 1 -v
  ready identify
  run 0 identify test-uuid --timeout 4000
  has '"here"'
  waitfor identify 0
  run 0 identify test-uuid --timeout 1
}

test_pairing() {
  start pairing pairing --timeout 30000
  for _ in $(seq 300); do
    grep -q pairingCode "$tmp/pairing.out" && break
    sleep 0.1
  done
  out=$(cat "$tmp/pairing.out")
  code=$(field pairingCode)
  [ -n "$code" ] || fail "pairing printed no code"
  run 0 pair "${code:0:3}-${code:3}"
  has '"uuid":'
  grep -q secret <<<"$out" && fail "pair printed the device's secret"
  waitfor pairing 0
  lines 2
  out=$(sed -n 2p <<<"$out")
  uuid=$(field uuid)
  secret=$(field secret)
  [ -n "$secret" ] || fail "pairing printed no secret"
  EXP_UUID=$uuid EXP_SECRET=$secret run 0 login --as device
  has "\"uuid\":\"$uuid\""

  run 1 pair ZZZZZZ
  err_has 'not.found'
  run 3 pairing --timeout 300
  err_has 'nobody paired'
  EXP_UUID=test-uuid EXP_SECRET=test-secret run 1 pair ABCDEF --as device
  err_has 'auth.user'
}

test_usage() {
  run 0 --help
  has 'Usage: exp'
  has 'EXP_HOST'
  for cmd in login get post put patch delete find show create save rm url \
    broadcast listen respond fling identify pair pairing; do
    run 0 "$cmd" --help
    has "Usage: exp"
    has "Exit status"
    grep -qE "exp ([a-z|]*\\|)?$cmd" <<<"$out" || fail "$cmd --help"
  done
  run 2
  err_has 'Usage: exp'
  run 2 frobnicate
  err_has 'unknown command "frobnicate"'
  run 2 login extra
  err_has 'exp login: takes no arguments'
  run 2 get
  err_has 'PATH is missing'
  run 2 get devices '{"a":1}'
  err_has 'GET takes no body'
  run 2 post things '{"a":'
  err_has 'not valid JSON'
  run 2 post things '{}' '{}'
  err_has 'one body only'
  run 2 find
  err_has 'KIND is missing'
  run 2 find gadgets
  err_has 'unknown KIND "gadgets"'
  run 2 find devices oops
  err_has '"oops" is not NAME=VALUE'
  run 2 show devices
  err_has 'UUID is missing'
  run 2 show data
  err_has 'GROUP/KEY is missing'
  run 2 show data /key
  err_has 'is not GROUP/KEY'
  run 2 show devices a b
  err_has 'too many arguments'
  run 2 create things
  err_has 'JSON is missing'
  run 2 save things x '[1]'
  err_has 'must be a JSON object'
  run 2 rm
  run 2 url
  err_has 'CONTENT-UUID is missing'
  run 2 url x --variant
  err_has '--variant wants a value'
  run 2 broadcast ch
  err_has 'EVENT is missing'
  run 2 broadcast ch ev '{' --timeout 5
  run 2 broadcast ch ev --timeout soon
  err_has '--timeout wants a number'
  run 2 broadcast ch ev --timeout=-1
  run 2 listen
  err_has 'CHANNEL is missing'
  run 2 listen ch ev more
  err_has 'too many arguments'
  run 2 listen ch ev --with 1
  err_has 'unknown option --with'
  run 2 respond ch ev
  err_has 'give one of --with JSON and --exec CMD'
  run 2 respond ch ev --with 1 --exec true
  run 2 respond ch ev --with '{'
  run 2 fling ch
  err_has 'JSON is missing'
  run 2 identify
  err_has 'DEVICE-UUID is missing'
  run 2 pair
  err_has 'CODE is missing'
  run 2 pairing now
  run 2 login --as robot
  err_has '--as wants user, device or consumer'
  run 2 login --pretty=yes
  err_has '--pretty takes no value'
  run 2 login --username "" --password "" --organization ""
  err_has 'no credentials'
  run 2 get devices --host 'not a url'
  run 2 login --host http://127.0.0.1:1 --hosts http://127.0.0.1:1
  err_has 'give one of --host and --hosts'
}

test_unreachable() {
  # Nothing listens on port 1: refused at once.
  for args in "login" "get devices" "broadcast ch ev" "listen ch ev" \
    "respond ch ev --with 1" "pairing"; do
    # shellcheck disable=SC2086
    run 3 --host http://127.0.0.1:1 $args
    err_has 'connection refused'
  done
  # A server that accepts and never answers: the request timeout ends it.
  node -e 'const s = require("net").createServer(() => {});
    s.listen(0, "127.0.0.1", () => console.log(s.address().port));' \
    >"$tmp/silent" &
  bg_pids+=($!)
  for _ in $(seq 100); do
    [ -s "$tmp/silent" ] && break
    sleep 0.1
  done
  port=$(cat "$tmp/silent")
  run 3 --host "http://127.0.0.1:$port" --request-timeout 300 login
  err_has '300 ms'
  run 3 --host "http://127.0.0.1:$port" --request-timeout 300 listen ch ev
  run 3 --hosts http://127.0.0.1:1,http://127.0.0.1:1 get devices
  err_has 'connection refused'
}

"test_$group"
if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s) in $group" >&2
  exit 1
fi
echo "$group: ok"
