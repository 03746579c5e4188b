#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on this machine; start them when they do not.
set -u
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if ! answers 5432; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
if ! answers 6379; then
  echo "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
fi
for port in 5432 6379; do
  for _ in $(seq 1 30); do answers "$port" && break; sleep 0.5; done
  answers "$port" || echo "warning: nothing answers on 127.0.0.1:$port; 'services' tests will be skipped"
done
exit 0
