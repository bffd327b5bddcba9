"""Ends the way argv[1] says, after a short reactor run: the shim must not change any of it."""
import json
import os
import sys

from twisted.internet import reactor


def nested_failure():
    raise ValueError("boom")


def report_environment():
    main = sys.modules["__main__"]
    print(json.dumps({"argv": sys.argv, "name": __name__, "main_file": getattr(main, "__file__", None),
                      "path0": sys.path[0], "main_is_this": main.__dict__.get("report_environment") is report_environment}))


reactor.callLater(0.01, reactor.stop)
reactor.run()
print("stdout line", flush=True)
sys.stderr.write("stderr line\n")

how = sys.argv[1] if len(sys.argv) > 1 else "zero"
if how == "code":
    sys.exit(int(sys.argv[2]))
elif how == "message":
    sys.exit("it went wrong")
elif how == "raise":
    nested_failure()
elif how == "interrupt":
    raise KeyboardInterrupt
elif how == "environment":
    report_environment()
elif how == "os_exit":  # a process that is done and leaves at once, as pre-fork workers do
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(sys.argv[2]))
elif how == "signal":  # twisted.application.app._exitWithSignal: the default disposition, then the signal
    import signal

    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)
