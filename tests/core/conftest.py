import pytest

from fsw.core import Executive, VirtualClock


@pytest.fixture
def executive():
    """An executive on a virtual clock with 10 Hz and 1 Hz rate groups."""
    return Executive(VirtualClock(), rate_groups_hz=(10.0, 1.0))


@pytest.fixture
def results(executive):
    """A pipe collecting every command verification report."""
    from fsw.core import COMMAND_RESULT_MSG

    executive.bus.register(COMMAND_RESULT_MSG)
    pipe = executive.bus.create_pipe("test.results", 256)
    executive.bus.subscribe(pipe, COMMAND_RESULT_MSG.msg_id)

    def take():
        return [COMMAND_RESULT_MSG.unpack(p) for _, p in pipe.drain()]

    return take
