"""gunicorn settings for every gunicorn the tests start (``--config``).

A config file rather than command-line flags: gunicorn ignores names it does
not know here, so releases that lack a setting still start.
"""

# gunicorn 25.1 added a control socket at one path per user
# ($XDG_RUNTIME_DIR/gunicorn.ctl or ~/.gunicorn/gunicorn.ctl), which every
# gunicorn of that user on the machine then contends for; and in the eventlet
# worker's patched master, joining its thread when halting times out (2 s) and
# ends gunicorn with that Timeout's traceback instead of its own reason (e.g.
# "Worker failed to boot.").  The tests do not use it.
control_socket_disable = True
