#!/usr/bin/env bash
# quickstart.sh: the README's first command.  Installs and builds, starts the
# local EXP reference server, runs the showcase sample against it, says what
# happened, and stops the server.
source "$(dirname "$0")/setup.sh"

log=$(mktemp)
node test/server/main.js --port 0 >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -f "$log"' EXIT

for _ in $(seq 100); do
  grep -q '^listening ' "$log" && break
  kill -0 $server 2>/dev/null || { cat "$log"; echo "The server did not start."; exit 1; }
  sleep 0.1
done
origin=$(sed -n 's/^listening //p' "$log" | head -n1)
[ -n "$origin" ] || { cat "$log"; echo "The server did not start."; exit 1; }
say "The local EXP reference server is listening on $origin"

export EXP_HOST=$origin
if [ -x build/samples/showcase ]; then
  say "Running samples/showcase.c against it"
  build/samples/showcase
  say "Done: the C SDK logged in, made a REST call, and answered its own broadcast."
else
  say "Logging in to the server as the seeded user (the C showcase sample is not built yet)"
  node -e '
    fetch(process.argv[1] + "/api/auth/login", {method: "POST",
      headers: {"content-type": "application/json"},
      body: JSON.stringify({username: "test@goexp.io", password: "test-Password1",
                            organization: "scala", type: "user"})})
      .then(r => r.json()).then(a => {
        console.log("The server answered the login: identity " + JSON.stringify(a.identity) +
                    ", token valid until " + new Date(a.expiration).toISOString());
      });' "$origin"
fi
say "Stopping the server."
