"""inflight.py's accounting when one write holds several EVENTS frames (a flush of more than EVENTS_PER_FRAME
callbacks): only the frames the kernel did not take whole are lost, never the ones before them."""
from reactorscope.inflight import InFlight


def test_a_write_cut_inside_its_third_events_frame_loses_that_frame_and_the_next_only():
    flight = InFlight(None)  # what the send queue holds is not known: only what the kernel took counts
    frames = [(100, 1000), (100, 2000), (100, 3000), (50, 3500)]  # (callbacks, end offset in the write)
    flight.written = 2500  # the kernel took the first two frames whole and half of the third
    assert flight.took(0, frames) == 150
    flight.written = 2500 + 3500
    assert flight.took(2500, frames) == 0


def test_frames_the_server_kernel_has_not_acknowledged_are_lost_on_giving_up():
    unacknowledged = [1500]  # the peer's kernel has the first 1500 bytes of 3000: the first frame only
    flight = InFlight(lambda: unacknowledged[0])
    flight.written = 3000
    assert flight.took(0, [(10, 1000), (20, 2000), (30, 3000)]) == 0
    assert flight.undelivered() == 50
