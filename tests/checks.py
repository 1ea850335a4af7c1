"""The Python tests' one assertion: check() prints and counts a failure and goes on, finish() says how the test went
and exits with its status (1 if anything failed)."""
import sys

failed = 0


def check(ok, what):
    global failed
    if not ok:
        failed += 1
        print("FAIL", what)


def finish(name):
    print(f"{name}:", f"{failed} failed" if failed else "ok")
    sys.exit(1 if failed else 0)
