# Shell helpers shared by test/tools/pgenv.sh and the TAP scripts in
# test/scripts/ (sourced, not run).

# ok <status> <description>: one TAP line; counts tests in n, failures in
# failures
ok() {
    n=$((${n:-0} + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2"
        failures=$((${failures:-0} + 1))
    fi
}

# as_pg <command...>: run as the postgres user when we are root (the server
# refuses to run as root), as ourselves otherwise
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}
