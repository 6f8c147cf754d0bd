# Sourced by tests/integration/run.sh: tracing a live service.  Connections
# that predate the attach, workers forked before and after it, process
# names, cgroups, a command run under trace, an owner that dies.  Real
# software where it matters: nginx with two workers, curl.

HOLDER=tests/integration/holder.py
CASES=tests/integration/scope_cases.py

# report_matches NAME LOG: `report` on a live run's log gives its connection records.
report_matches() {
	if "$TRACER" report --json "$2" >"$2.report" &&
		diff <(jq -c 'select(.type=="connection")' "$2") \
			<(jq -c 'select(.type=="connection")' "$2.report") >"$2.diff"; then
		ok "$1: report gives the live verdicts"
	else
		not_ok "$1: report gives the live verdicts" "differs" "$2.diff"
	fi
}

# count_of FILE CAUSE [DPORT]: how many connection records have this cause.
count_of() {
	jq -s --arg c "$2" --arg d "${3:-}" \
		'map(select(.type=="connection" and .cause==$c and ($d=="" or .dport==($d|tonumber)))) | length' "$1"
}

# --- 200 connections held before the attach ------------------------------------

fresh_ns
out=$WORK/holder.jsonl
ip netns exec "$NS" python3 "$HOLDER" server 200 >"$WORK/holder.srv" 2>&1 &
srv=$!
wait_for "$WORK/holder.srv" "^port" 10
hport=$(awk '/^port/{print $2}' "$WORK/holder.srv")
ip netns exec "$NS" python3 "$HOLDER" client "$hport" 200 >"$WORK/holder.cli" 2>&1 &
cli=$!
wait_for "$WORK/holder.srv" "^accepted" 10
"$TRACER" -p "$srv" --json -o "$out" &
tp=$!
wait_for "$out" '"type":"start"' 20
# The tracer has attached once its join events are out; give it a moment.
sleep 1
kill -USR1 "$cli"
wait_for "$WORK/holder.cli" "^done" 10
# 10 more, destroyed on the server's side as an operator would: ss -K.
for p in $(awk '/^connected/{for (i = 22; i <= 31; i++) print $i}' "$WORK/holder.cli"); do
	ip netns exec "$NS" ss -K src 127.0.0.1 sport = ":$hport" dport = ":$p" >/dev/null 2>&1
done
sleep 0.5
kill -INT "$tp"
wait "$tp"
rc=$?
kill "$cli" "$srv" 2>/dev/null
wait "$cli" "$srv" 2>/dev/null
if [ "$rc" = 0 ]; then ok "held connections: tracer exit 0"; else not_ok "held connections: tracer exit" "rc $rc"; fi
check "held connections: all 200 and the listener joined at attach" "$out" \
	'map(select(.type=="event" and .kind=="join")) | length == 201'
check "held connections: 10 reset by clients are peer_reset/ECONNRESET" "$out" \
	'map(select(.type=="connection" and .cause=="peer_reset" and .errno=="ECONNRESET")) | length == 10'
check "held connections: 10 killed with ss -K are local_abort/ECONNABORTED" "$out" \
	'map(select(.type=="connection" and .cause=="local_abort" and .errno=="ECONNABORTED")) | length == 10'
check "held connections: 10 closed by the server are orderly_close" "$out" \
	'map(select(.type=="connection" and .cause=="orderly_close")) | length == 10'
check "held connections: the 170 untouched are open, none an error or unknown" "$out" \
	'map(select(.type=="connection")) | (length == 200) and (map(select(.cause=="open" and .errno==null)) | length == 170) and (map(select(.cause=="unknown")) | length == 0)'
check "held connections: every record says it joined mid-life" "$out" \
	'map(select(.type=="connection")) | all(.complete == false and (.missing | test("joined")))'
report_matches "held connections" "$out"

# --- nginx, master and two workers started before the attach ----------------------

nginx_case() { # name tracer-args...
	local name=$1 dir=$WORK/nginx-$1 master
	shift
	fresh_ns
	mkdir -p "$dir/tmp"
	cat >"$dir/nginx.conf" <<-CONF
		user root;
		worker_processes 2;
		pid $dir/nginx.pid;
		error_log $dir/error.log error;
		events { worker_connections 64; }
		http {
		  access_log off;
		  client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp;
		  fastcgi_temp_path $dir/tmp; uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
		  server {
		    listen 127.0.0.1:8080;
		    location /reset { proxy_pass http://127.0.0.1:9001; }
		    location /refused { proxy_pass http://127.0.0.1:9002; }
		    location /slow { proxy_pass http://127.0.0.1:9003; proxy_read_timeout 1s; }
		  }
		}
	CONF
	# Upstreams: 9001 reads the request and resets the connection; 9003 reads it
	# and never answers (nginx's proxy_read_timeout gives up).
	ip netns exec "$NS" python3 -c '
import socket, struct, threading
def reset():
    l = socket.socket(); l.bind(("127.0.0.1", 9001)); l.listen(16)
    while True:
        c, _ = l.accept(); c.recv(4096)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); c.close()
held = []
def silent():
    l = socket.socket(); l.bind(("127.0.0.1", 9003)); l.listen(16)
    while True:
        c, _ = l.accept(); c.recv(4096); held.append(c)
threading.Thread(target=silent, daemon=True).start()
reset()
' &
	local backend=$!
	# With NGINX_CGROUP set, nginx starts inside that cgroup, as systemd starts a unit
	# (moved there before `ip netns exec`, whose private /sys hides cgroupfs).
	sh -c "${NGINX_CGROUP:+echo \$\$ > $NGINX_CGROUP/cgroup.procs;} exec ip netns exec $NS nginx -c $dir/nginx.conf -p $dir" 2>"$dir/start.err"
	wait_for "$dir/nginx.pid" . 10
	master=$(cat "$dir/nginx.pid")
	local args=("$@")
	args=("${args[@]//@MASTER@/$master}")
	args=("${args[@]//@ALL@/$(pgrep -d' ' -P "$master") $master}")
	"$TRACER" "${args[@]}" --json -o "$dir/out.jsonl" 2>"$dir/tracer.err" &
	local tp=$!
	wait_for "$dir/out.jsonl" '"type":"start"' 20
	sleep 1
	for _ in 1 2 3; do
		ip netns exec "$NS" curl -s -o /dev/null http://127.0.0.1:8080/reset
		ip netns exec "$NS" curl -s -o /dev/null http://127.0.0.1:8080/refused
	done
	ip netns exec "$NS" curl -s -o /dev/null http://127.0.0.1:8080/slow
	sleep 0.5
	kill -INT "$tp"
	wait "$tp"
	ip netns exec "$NS" nginx -c "$dir/nginx.conf" -p "$dir" -s stop 2>/dev/null
	kill "$backend" 2>/dev/null
	wait "$backend" 2>/dev/null
	local resets refused timeouts
	resets=$(grep -c "recv() failed (104: Connection reset by peer)" "$dir/error.log")
	refused=$(grep -c "connect() failed (111: Connection refused)" "$dir/error.log")
	timeouts=$(grep -c "upstream timed out (110: Connection timed out)" "$dir/error.log")
	if [ "$resets" = 3 ] && [ "$refused" = 3 ] && [ "$timeouts" = 1 ] &&
		[ "$(count_of "$dir/out.jsonl" peer_reset 9001)" = "$resets" ] &&
		[ "$(count_of "$dir/out.jsonl" connection_refused 9002)" = "$refused" ] &&
		[ "$(count_of "$dir/out.jsonl" closed_without_reply 9003)" = "$timeouts" ]; then
		ok "nginx $name: upstream resets, refusals and timeouts match error.log ($resets, $refused, $timeouts)"
	else
		not_ok "nginx $name: verdicts match error.log" \
			"error.log: $resets resets, $refused refused, $timeouts timed out; tracer: $(count_of "$dir/out.jsonl" peer_reset 9001), $(count_of "$dir/out.jsonl" connection_refused 9002), $(count_of "$dir/out.jsonl" closed_without_reply 9003)" \
			"$dir/tracer.err"
	fi
	report_matches "nginx $name" "$dir/out.jsonl"
	check "nginx $name: the workers own the upstream connections, named nginx" "$dir/out.jsonl" \
		"(map(select(.type==\"connection\" and .dport==9001)) | length == 3) and (map(select(.type==\"connection\" and .dport==9001)) | all(.pid != $master and .comm == \"nginx\"))"
}

if command -v nginx >/dev/null && command -v curl >/dev/null; then
	nginx_case pidof -p @ALL@
	nginx_case tree --tree -p @MASTER@
	nginx_case comm --comm nginx
	# --unit finds a unit's cgroup by name (systemctl where systemd runs, else the
	# cgroup tree): a cgroup named like a unit stands in for nginx.service here.
	cgroot=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/self/mounts)
	if [ -n "$cgroot" ]; then
		mkdir -p "$cgroot/ta-nginx-$$.service"
		NGINX_CGROUP=$cgroot/ta-nginx-$$.service nginx_case unit --unit "ta-nginx-$$"
		# `nginx -s stop` returns before the master is gone; an empty cgroup can go.
		for _ in $(seq 100); do
			[ -s "$cgroot/ta-nginx-$$.service/cgroup.procs" ] || break
			sleep 0.05
		done
		rmdir "$cgroot/ta-nginx-$$.service" 2>/dev/null
	fi
else
	not_ok "nginx" "nginx or curl is not installed (make deps)"
fi

# --- a cgroup (what --unit resolves a service to) ----------------------------------

cgroot=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/self/mounts)
if [ -n "$cgroot" ]; then
	fresh_ns
	unit=ta-it-$$.service
	mkdir "$cgroot/$unit"
	out=$WORK/unit.jsonl
	# The unit is empty when the tracer starts; a process enters it, then execs.
	"$TRACER" --unit "ta-it-$$" -d 6 --json -o "$out" 2>"$WORK/unit.err" &
	tp=$!
	wait_for "$out" '"type":"start"' 20
	# (Into the cgroup before `ip netns exec`, whose private /sys hides cgroupfs.)
	sh -c "echo \$\$ > $cgroot/$unit/cgroup.procs; exec ip netns exec $NS python3 $PY peer-crash" \
		>"$WORK/unit.late" 2>&1 &
	late=$!
	wait_for "$WORK/unit.late" paused 10
	kill -USR1 "$late"
	wait "$late"
	wait "$tp"
	rc=$?
	rmdir "$cgroot/$unit" 2>/dev/null
	if [ "$rc" = 0 ]; then ok "unit: runs for -d seconds, exit 0"; else not_ok "unit: exit" "rc $rc" "$WORK/unit.err"; fi
	check "unit: a process that execs inside the cgroup joins and is traced" "$out" \
		'(map(select(.type=="event" and .kind=="process" and .what=="exec")) | length >= 1) and (map(select(.type=="connection" and .cause=="peer_reset" and .errno=="ECONNRESET")) | length == 1)'
	expect_exit "unit: no such unit" 3 "no cgroup for unit" "$TRACER" --unit "ta-none-$$"
	expect_exit "cgroup: no such cgroup" 3 "no such cgroup" "$TRACER" --cgroup "/ta-none-$$"
fi

# --- -- CMD: a command traced from its first connect --------------------------------

fresh_ns
out=$WORK/cmd.jsonl
"$TRACER" --json -o "$out" -- ip netns exec "$NS" curl -s http://127.0.0.1:9/ >/dev/null 2>&1
rc=$?
if [ "$rc" = 0 ]; then ok "-- CMD: exit 0 once the command exits"; else not_ok "-- CMD: exit" "rc $rc"; fi
check "-- CMD: curl's refused connect is connection_refused, from its first event" "$out" \
	'map(select(.type=="connection")) | length >= 1 and all(.cause=="connection_refused" and .errno=="ECONNREFUSED" and .complete)'

# --- forks after the attach are followed -----------------------------------------

fresh_ns
out=$WORK/fork.jsonl
run_traced "$NS" "$out" --json python3 "$CASES" fork-connect 2
check "fork: both children are followed, their refused connects explained" "$out" \
	"(map(select(.type==\"event\" and .kind==\"process\" and .what==\"fork\" and .parent==$APP_PID)) | length == 2) and (map(select(.type==\"connection\" and .cause==\"connection_refused\" and .pid != $APP_PID)) | length == 2)"
fresh_ns
out=$WORK/nofork.jsonl
run_traced "$NS" "$out" "--json --no-children" python3 "$CASES" fork-connect 1
check "--no-children: a child's connection is not traced" "$out" \
	'map(select(.type=="connection")) | length == 0'

# --- the owner dies with the socket open ------------------------------------------

fresh_ns
out=$WORK/killed.jsonl
ip netns exec "$NS" python3 "$CASES" owner-killed >"$out.app" 2>&1 &
app=$!
wait_for "$out.app" paused 10
server=$(sed -n 's/.*server pid \([0-9]*\).*/\1/p' "$out.app")
# Both ends, as a comma list.
"$TRACER" -p "$app,$server" --json -o "$out" &
tp=$!
wait_for "$out" '"type":"start"' 20
kill -USR1 "$app"
wait "$app"
wait "$tp"
check "owner killed: its exit is an event, with the signal" "$out" \
	"map(select(.type==\"event\" and .kind==\"syscall\" and .call==\"exit\" and .pid==$server and .arg==9)) | length == 1"
check "owner killed: the server's verdict says the owner died, not that the peer closed" "$out" \
	"map(select(.type==\"connection\" and .pid==$server)) | length == 1 and (.[0].explanation | test(\"exited|killed|died\")) and (.[0].evidence | map(.proves) | all(test(\"peer's FIN\") | not))"
check "owner killed: the client's EOF then EPIPE is explained" "$out" \
	"map(select(.type==\"connection\" and .pid==$app)) | length == 1 and .[0].cause == \"reset_after_peer_fin\" and .[0].errno == \"EPIPE\""

# --- scope: bad input ----------------------------------------------------------------

expect_exit "-p with an empty list (pidof found nothing)" 3 "given no PID" "$TRACER" -p ""
expect_exit "-p with a bad element" 2 "invalid PID 'x'" "$TRACER" -p "1,x"
expect_exit "--tree without -p" 2 "descendants of -p" "$TRACER" --tree
expect_exit "--comm too long" 2 "invalid process name" "$TRACER" --comm 0123456789abcdefg
expect_exit "--cgroup with --unit" 2 "give one" "$TRACER" --cgroup a --unit b
expect_exit "bad duration" 2 "invalid duration" "$TRACER" -p 1 -d 0

# --- (g) a traced listener's second child, reset in the accept queue ------------------

fresh_ns
out=$WORK/twochildren.jsonl
run_traced "$NS" "$out" "--json --no-children" python3 "$CASES" two-children-reset
app=$APP_PID
check "listener: both children reset in the accept queue are seen from birth (the second too)" "$out" \
	"map(select(.type==\"connection\" and .pid==$app)) | length == 2 and all(.cause==\"peer_reset\" and .errno==\"ECONNRESET\" and .complete)"

# --- (e) the same loopback tuple in another namespace -----------------------------------

# In $NS the traced client closes in order; in a second namespace an untraced twin
# with the very same 4-tuple is reset.  That RST must not join the traced record.
fresh_ns
ns2=$NS-twin
netns_down "$ns2"
netns_up "$ns2"
out=$WORK/twin.jsonl
ip netns exec "$NS" python3 "$CASES" twin quiet >"$out.app" 2>&1 &
app=$!
wait_for "$out.app" paused 10
"$TRACER" -p "$app" --json -o "$out" &
tp=$!
wait_for "$out" '"type":"start"' 20
kill -USR1 "$app"
wait_for "$out.app" connected 10
ip netns exec "$ns2" python3 "$CASES" twin reset >"$out.twin" 2>&1
wait_for "$out.twin" "reset done" 10
kill -USR1 "$app"
wait "$app"
wait "$tp"
netns_down "$ns2"
if grep -q "reset done" "$out.twin"; then
	ok "netns: the twin in the other namespace was reset while the traced one was up"
else
	not_ok "netns: the twin was reset while the traced one was up" "it was not" "$out.twin"
fi
check "netns: an RST between a twin tuple in another namespace does not join the record" "$out" \
	"(map(select(.type==\"event\" and .kind==\"peer_rst\")) | length == 0) and (map(select(.type==\"connection\" and .sport==40000)) | length == 1 and .[0].cause == \"orderly_close\")"

# --- a multi-threaded process killed: one exit event, not one per thread ---------------

out=$WORK/threads.jsonl
python3 -c '
import sys, threading, time
for _ in range(3):
    threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
print("ready", flush=True)
time.sleep(30)
' >"$out.app" 2>&1 &
app=$!
wait_for "$out.app" ready 10
"$TRACER" -p "$app" --json -o "$out" &
tp=$!
wait_for "$out" '"type":"start"' 20
kill -KILL "$app"
wait "$app" 2>/dev/null
wait "$tp"
check "threads: a killed 4-thread process is reported exited once, with SIGKILL" "$out" \
	"map(select(.type==\"event\" and .kind==\"process\" and .what==\"exit\")) | length == 1 and .[0].pid == $app and .[0].status == 9"
