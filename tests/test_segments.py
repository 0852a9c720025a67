"""How a number is cut into candidates (segments.py) and how the likeliest run of them is
found (serve/number.py), on drawings whose answer is known."""

import numpy as np

import contract
import segments
from serve import number


def bars(*columns, height=60, width=200) -> np.ndarray:
    """Ink: a vertical bar `height` px tall for each (left, right) in `columns`."""
    ink = np.zeros((height + 20, width), dtype=np.float32)
    for left, right in columns:
        ink[10:10 + height, left:right] = 1
    return ink


def test_the_line_is_cropped_to_its_ink_and_scaled_to_line_height():
    line = segments.line(bars((30, 45), (90, 105)))
    assert line.ink.shape == (segments.LINE, round(75 * segments.LINE / 60))
    assert (line.left, line.top) == (30, 10) and line.scale == segments.LINE / 60


def test_gaps_give_blank_stretches_and_each_bar_is_a_candidate():
    line = segments.line(bars((30, 45), (90, 105)))
    found, stretches = segments.candidates(line)
    boxes = set(found)
    first, second = (0, 0, 5, 20), (20, 0, 5, 20)  # 15 px bars at a third of the scale
    assert first in boxes and second in boxes
    assert (first[0] + first[2], second[0]) in stretches and stretches[first[0] + first[2], second[0]] == -1
    assert len(boxes) == len(found)  # each ink box once, however many stretches hold it
    assert all(w <= segments.MAX_WIDTH for _, _, w, _ in found)


def test_a_field_holds_its_stretch_centred_and_bright_the_line_beyond_it_dim():
    line = segments.line(bars((30, 45), (60, 75)))  # at a third: ink 0-5 and 10-15
    found, _ = segments.candidates(line)
    field = segments.fields(line, [(0, 0, 5, 20)])[0]
    assert (0, 0, 5, 20) in found
    assert field.shape == (segments.SIDE, segments.SIDE)
    rows = slice(segments.TOP, segments.TOP + segments.LINE)
    columns = field[rows].max(axis=0)
    assert np.flatnonzero(columns > 0.9).tolist() == list(range(11, 16))  # the bar, in the middle
    neighbour = np.flatnonzero((columns > 0.3) & (columns <= segments.DIM + 1e-6)).tolist()
    assert neighbour == list(range(21, 26))  # the next bar, 5 columns further, dim
    assert not field[:segments.TOP].any() and not field[segments.TOP + segments.LINE:].any()


def test_a_stretch_across_a_gap_does_not_cut_into_the_ink_beyond_it():
    line = segments.line(bars((30, 45), (90, 120)))  # at a third: ink 0-5, blank 5-20, ink 20-30
    found, stretches = segments.candidates(line)
    assert (0, 22) not in stretches and (2, 20) not in stretches  # a gap and a sliver of a bar
    assert (0, 20) in stretches and (5, 30) in stretches and (0, 3) in stretches  # whole bars, or within one


def test_a_mark_wider_than_the_field_is_one_candidate_squeezed_into_it():
    line = segments.line(bars((30, 135), (150, 165), height=60))  # at a third: ink 0-35, blank 35-40, ink 40-45
    found, stretches = segments.candidates(line)
    wide = (0, 0, 35, 20)
    assert wide in found and stretches[0, 35] == found.index(wide)
    assert [box for box in found if box[2] > segments.MAX_WIDTH] == [wide]  # none so wide cut from ink
    field = segments.fields(line, [wide])[0]
    rows = slice(segments.TOP, segments.TOP + segments.LINE)
    assert field[rows].min() > 0.9 and not field[:segments.TOP].any()  # the mark fills the field, nothing beside it


def test_marks_too_short_beside_the_rest_are_no_candidates():
    ink = bars((30, 45))
    ink[60:70, 60:70] = 1  # a speck a sixth of the bar's height
    found, _ = segments.candidates(segments.line(ink))
    assert found and all(h >= segments.MIN_HEIGHT for _, _, _, h in found)


def test_only_digits_with_blank_columns_beside_them_stand_alone():
    line = segments.line(bars((30, 45), (90, 120), (120, 150)))  # at a third: ink 0-5, blank, ink 20-30 and 30-40
    inked = (line.ink > segments.INKED).any(axis=0)
    assert number.standing_alone(inked, [(0, 0, 5, 20), (20, 0, 10, 20), (30, 0, 10, 20), (20, 0, 20, 20)]) == [0, 3]


def probabilities_of(*rows) -> np.ndarray:
    """(N, 11) probabilities: each row {digit: probability}, the rest "not one digit"."""
    table = np.zeros((len(rows), 11))
    for table_row, row in zip(table, rows):
        for digit, p in row.items():
            table_row[digit] = p
        table_row[contract.NOT_ONE_DIGIT] = 1 - sum(row.values())
    return table


def test_the_likeliest_run_crosses_gaps_and_prefers_two_whole_digits_to_one_blob():
    # stretches 0-4 and 6-10 are each one digit; 0-10 is both together; 4-6 is blank
    probabilities = probabilities_of({1: 0.9}, {7: 0.95}, {4: 0.3})
    stretches = {(0, 4): 0, (6, 10): 1, (0, 10): 2, (4, 6): -1}
    assert number.likeliest_run(probabilities, stretches) == [0, 1]
    probabilities = probabilities_of({1: 0.2}, {7: 0.3}, {4: 0.9})
    assert number.likeliest_run(probabilities, stretches) == [2]


def test_no_run_across_the_line_is_an_empty_run():
    probabilities = probabilities_of({1: 0.9})
    assert number.likeliest_run(probabilities, {(0, 4): 0, (4, 10): -1}) == [0]  # a gap at the end is crossed
    assert number.likeliest_run(probabilities, {(0, 4): 0, (5, 10): -1}) == []  # 4-5 is missing
    assert number.likeliest_run(probabilities, {}) == []


def test_alternatives_read_one_digit_otherwise_on_the_reading_scale():
    def digit(value, probabilities):
        return number.Digit(value, 1.0, np.array(probabilities), [0, 0, 1, 1], np.zeros((28, 28)))

    first = digit(2, [0, 0, 0.9, 0, 0, 0, 0, 0, 0.1, 0])
    second = digit(6, [0, 0, 0, 0, 0, 0.3, 0.7, 0, 0, 0])
    assert number.alternatives([first, second], 0.63) == [("25", 0.27), ("86", 0.07)]


def test_two_models_sure_of_different_digits_leave_the_segment_models_reading():
    """Softmax outputs can be exactly 0: a digit standing alone that the segment model
    reads as a 3 and the digit model as an 8 (both certain) once gave 0/0, NaN for
    every probability of the answer."""
    sure = lambda digit: np.eye(10, dtype=np.float32)[digit]  # noqa: E731
    by_segments = np.stack([sure(3), sure(1), np.zeros(10, np.float32)])
    both = number.agreed(by_segments, [0, 2], np.stack([sure(8), sure(5)]))
    assert np.isfinite(both).all() and np.allclose(both.sum(axis=1), 1)
    assert both.argmax(axis=1).tolist()[:2] == [3, 1]
    assert np.allclose(both[2], 0.1)  # nothing read: every digit as likely
    agreeing = number.agreed(np.full((1, 10), 0.1, np.float32), [0], sure(4)[None] * 0.9 + 0.01)
    assert agreeing.argmax() == 4 and np.isclose(agreeing.sum(), 1)
