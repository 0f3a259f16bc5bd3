"""The quiz's screens as SVG snapshots (``--snapshot-update`` to accept a change after looking at
it): a step whose value is hidden until it is predicted, and the same step graded."""

from test_snapshots import BIG, app, at


def test_quiz_hides_dE_dW5_until_it_is_predicted(snap_compare):
    assert snap_compare(app(), terminal_size=BIG, run_before=at("quiz on", "goto dE/dW[2,1,1]@1"))


def test_quiz_graded_dE_dW5(snap_compare):
    async def answer(pilot):
        await at("quiz on", "goto dE/dW[2,1,1]@1")(pilot)
        await pilot.press("0", "full_stop", "0", "2", "5", "9", "enter")  # at the prompt
        await pilot.pause()

    assert snap_compare(app(), terminal_size=BIG, run_before=answer)
