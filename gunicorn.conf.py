"""
gunicorn's settings for Intercession in production:

    gunicorn -c gunicorn.conf.py intercession.wsgi

(deploy/intercession.service, `make serve`, tests/test_production.py). Each
can be changed from the environment (deploy/intercession.env.example):

GUNICORN_BIND            where to listen; 127.0.0.1:8000, behind Caddy
GUNICORN_WORKERS         processes; 2 x cores + 1, at most 8
GUNICORN_THREADS         threads per process; 1 (more switches to gthread workers)
GUNICORN_TIMEOUT         seconds a request may take before its worker is restarted; 30
GUNICORN_MAX_REQUESTS    requests a worker serves before it is replaced; 1000 (0: never)

The access log goes to stdout (the journal under systemd), with no
follow-up token, reset token or query value in it
(intercession/gunicorn_logging.py).
"""

import os


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _cores() -> int:
    # The cores this process may run on (a container or CPUAffinity= may give fewer than the machine has).
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


wsgi_app = "intercession.wsgi:application"
bind = [address.strip() for address in os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",") if address]

# Sync workers, as gunicorn recommends behind a buffering proxy (Caddy reads
# each request before passing it on): a page is database work, so more
# processes than 2 x cores + 1 only queue for the same cores; the cap keeps
# a large machine from holding dozens of idle Django processes in memory.
workers = _env_int("GUNICORN_WORKERS", min(2 * _cores() + 1, 8))
threads = _env_int("GUNICORN_THREADS", 1)

# A request longer than this is stuck (statements stop at 15 s, SMTP at 10 s):
# its worker is killed and replaced.
timeout = _env_int("GUNICORN_TIMEOUT", 30)
# On stop or reload, requests under way get this long to finish
# (deploy/intercession.service waits a little longer before it kills).
graceful_timeout = 20
# Idle seconds a connection from the proxy is kept open (threaded workers;
# sync workers answer one request per connection).
keepalive = 5

# Each worker is replaced, gracefully, after about this many requests (the
# jitter keeps them from all restarting at once): memory that a long-lived
# process gathers is given back.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = max_requests // 10

# The access log to stdout, redacted, with the time each request took.
accesslog = "-"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'
logger_class = "intercession.gunicorn_logging.RedactingLogger"
errorlog = "-"
proc_name = "intercession"

# No control socket: nothing here uses gunicornc (systemctl reload sends
# SIGHUP), and several servers on one machine (tests) would share its path.
control_socket_disable = True
