"""model.py: the app's function behind a library callback is a handler known from stall samples (the twin of the
TypeScript test 'the app's function behind a library callback...' in test/unit/sessionStore.test.ts)."""
from reactorscope import wire
from reactorscope.model import Model

MS = 1_000_000
LIB = "/venv/lib/python3.11/site-packages/twisted/internet/task.py"


def test_the_apps_function_behind_a_library_callback_is_a_sampled_handler():
    model = Model()
    model.add_sites([(1, 672, LIB, "Cooperator._tick"), (2, 20, "/srv/app/spider.py", "parse"),
                     (3, 8, "/srv/app/spider.py", "spin"), (4, 99, LIB, "other")])
    for k in range(3):
        start = k * 1000 * MS
        model.add_events([1], [wire.KIND_TIMER], [start], [70 * MS])
        model.add_stall(start, 1, wire.KIND_TIMER, [
            (start + 20 * MS, [[3, 9], [2, 21], [4, 100], [1, 680]]),
            (start + 40 * MS, [[3, 9], [2, 21], [4, 100], [1, 680]]),
            (start + 60 * MS, [[4, 101], [2, 22], [1, 680]]),
            (start + 65 * MS, [[4, 102], [1, 680]]),  # back in the library: not parse's
        ])
    parse = next(h for h in model.hotspots() if h.name == "parse")
    assert parse.sampled and parse.nested
    assert parse.count == 3 and parse.max_ns == 60 * MS
    assert [(b.name, b.line, b.samples, b.held_ns) for b in parse.blocking_lines] == [
        ("spin", 9, 6, 120 * MS), ("other", 101, 3, 60 * MS)]


def test_an_app_callback_the_loop_ran_is_its_own_handler():
    model = Model()
    model.add_sites([(2, 20, "/srv/app/spider.py", "parse"), (3, 8, "/srv/app/spider.py", "spin")])
    model.add_events([3], [wire.KIND_TIMER], [0], [70 * MS])
    model.add_stall(0, 3, wire.KIND_TIMER, [(20 * MS, [[3, 9], [2, 21], [3, 8]])])
    assert [(h.name, h.sampled) for h in model.hotspots()] == [("spin", False)]
