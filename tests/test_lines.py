"""How a number's line is drawn for the number model (lines.py) and how its frames
are read into digits and their boxes (serve/number.py), on drawings whose answer is known."""

import itertools

import numpy as np

import contract
import lines
from drawings.numbers import numbers
from serve import number, preprocess
from serve.model import OnnxModel


def bars(*columns, height=60, width=200) -> np.ndarray:
    """Ink: a vertical bar `height` px tall for each (left, right) in `columns`."""
    ink = np.zeros((height + 20, width), dtype=np.float32)
    for left, right in columns:
        ink[10:10 + height, left:right] = 1
    return ink


def test_the_line_is_cropped_to_its_ink_and_scaled_to_line_height():
    line = lines.line(bars((30, 45), (90, 105)))
    assert line.ink.shape == (lines.LINE, round(75 * lines.LINE / 60))
    assert (line.left, line.top) == (30, 10) and line.scale == lines.LINE / 60


def test_the_model_reads_the_line_padded_whole_frames_wide():
    ink = np.ones((lines.LINE, 25), np.float32)
    framed = lines.framed(ink)
    assert framed.shape == (lines.HEIGHT, 36)  # 25 + 2 * 4 = 33 px, rounded up to 9 frames of 4
    assert framed[lines.PAD:lines.PAD + lines.LINE, lines.PAD:lines.PAD + 25].min() == 1
    assert framed.sum() == ink.sum()  # blank all around
    assert lines.frame_centre(0) == -2 and lines.frame_centre(2) == 6  # frame 2 sees columns 4-7 of the line


def frames_of(*readings, blank=0.98) -> np.ndarray:
    """(frames, 11) probabilities: a digit (or None for a blank) per frame; the likeliest
    output gets `blank` of the mass, the rest spread evenly."""
    table = np.full((len(readings), 11), (1 - blank) / 10)
    for row, digit in zip(table, readings):
        row[contract.BLANK if digit is None else digit] = blank
    return table


def test_repeats_merge_and_blanks_part_the_digits_read():
    frames = frames_of(None, 1, 1, None, 1, 7, 7, 7, None)
    frames[6, 7] = 0.99  # where the 7 is surest
    assert lines.spikes(frames) == [(1, 1), (1, 4), (7, 6)]  # "11" needs the blank between its 1s
    assert lines.spikes(frames_of(None, None)) == []


def test_the_line_is_read_half_a_frame_further_right_at_the_second_phase():
    ink = np.ones((lines.LINE, 25), np.float32)
    first, second = lines.phased(ink)
    assert first.shape == second.shape == (lines.HEIGHT, 36)  # 25 + 2 * 4 + 2 = 35 px, rounded up to 9 frames
    assert (first == lines.framed(ink, width=36)).all()
    assert (second[:, 2:] == first[:, :-2]).all() and not second[:, :2].any()
    assert lines.frame_centre(2, shift=2) == 4  # the same frame sees 2 px further left on the line


def test_the_log_likelihood_sums_every_way_of_spelling_the_digits():
    readings = np.random.default_rng(0).dirichlet(np.ones(11), size=(2, 4))
    spellings = [(), (3,), (3, 5), (3, 3), (3, 5, 3)]
    likelihood = np.zeros((len(readings), len(spellings)))
    for path in itertools.product(range(11), repeat=readings.shape[1]):  # every output per frame: what it spells
        spelled = tuple(digit for digit, _ in lines.spikes(np.eye(11)[list(path)]))
        if spelled in spellings:
            likelihood[:, spellings.index(spelled)] += readings[:, range(len(path)), path].prod(axis=1)
    assert np.allclose(lines.log_likelihoods(readings, spellings), np.log(likelihood).sum(axis=0))


def test_of_two_phases_the_reading_both_find_likelier_is_kept():
    split = frames_of(None, 4, None, 4, None)  # one phase's frames part a 4 and read "44"
    split[2, [4, contract.BLANK]] = 0.45, 0.53  # ... though the frame between them is nearly as likely the 4 again
    whole = frames_of(None, 4, 4, None, None)  # the other reads it whole, sure of no second 4
    assert lines.likeliest(np.stack([split, whole])) == 1
    assert lines.likeliest(np.stack([whole, split])) == 0
    assert lines.likeliest(np.stack([whole, whole])) == 0


class Recording:
    """A served model that keeps what it was given and what it answered."""

    def __init__(self, model: OnnxModel):
        self.model, self.calls = model, []

    def predict(self, images: np.ndarray) -> np.ndarray:
        self.calls.append((images, self.model.predict(images)))
        return self.calls[-1][1]


def test_a_line_is_read_at_the_second_phase_only_where_the_first_is_unsure(data):
    number_model = Recording(OnnxModel(contract.ARTIFACTS / contract.NUMBERS.onnx_file, contract.NUMBERS))
    digit_model = OnnxModel(contract.ARTIFACTS / contract.DIGITS.onnx_file)
    phases_read = []
    for png, _, _ in numbers(data.test_images, data.test_labels, 40, seed=5, spacing="touching"):
        number_model.calls.clear()
        with preprocess.decode(png) as image:
            number.read(*number.picture_ink(image), number_model, digit_model)
        (first, frames), *second = number_model.calls
        assert len(first) == 1  # the first phase alone
        sure = lines.path_probability(frames[0]) >= lines.SURE
        assert len(second) == (0 if sure else 1)
        if second:
            assert (second[0][0][0, :, lines.PHASES[1]:] == first[0, :, :-lines.PHASES[1]]).all()  # half a frame on
        phases_read.append(1 + len(second))
    assert 1 in phases_read and 2 in phases_read  # both happen among 40 touching numbers


def test_digits_are_parted_at_the_widest_gap_between_them_or_where_touching_ink_is_thinnest():
    ink = np.zeros((lines.LINE, 40), np.float32)
    ink[:, 0:8] = 1
    ink[:, 10:11] = 1  # a speck of the first digit, past a 2-column gap
    ink[:, 14:22] = 1  # a 3-column gap, then the second digit
    ink[5:7, 22:26] = 1  # ... which touches the third by a thin stroke
    ink[:, 26:34] = 1
    spans = number.digit_spans(ink, [4, 18, 30])  # where the model reads each digit
    assert spans == [(0, 12), (12, 22), (22, 40)]  # the middle of the wider gap; the first thinnest column
    boxes = [number.span_box(ink, span) for span in spans]
    assert boxes == [(0, 0, 11, 20), (14, 0, 8, 20), (22, 0, 12, 20)]
    inked = (ink > lines.INKED).any(axis=0)
    assert number.standing_alone(inked, boxes) == [0]  # the others touch


def test_only_digits_with_blank_columns_beside_them_stand_alone():
    line = lines.line(bars((30, 45), (90, 120), (120, 150)))  # at a third: ink 0-5, blank, ink 20-30 and 30-40
    inked = (line.ink > lines.INKED).any(axis=0)
    assert number.standing_alone(inked, [(0, 0, 5, 20), (20, 0, 10, 20), (30, 0, 10, 20), (20, 0, 20, 20)]) == [0, 3]


def test_alternatives_read_one_digit_otherwise_on_the_reading_scale():
    def digit(value, probabilities):
        return number.Digit(value, 1.0, np.array(probabilities), [0, 0, 1, 1], np.zeros((28, 28)))

    first = digit(2, [0, 0, 0.9, 0, 0, 0, 0, 0, 0.1, 0])
    second = digit(6, [0, 0, 0, 0, 0, 0.3, 0.7, 0, 0, 0])
    assert number.alternatives([first, second], [], 0.63) == [("25", 0.27), ("86", 0.07)]
    point = number.Sign(".", 1, (10, 12))
    assert number.alternatives([first, second], [point], 0.63) == [("2.5", 0.27), ("8.6", 0.07)]


def test_two_models_sure_of_different_digits_leave_the_number_models_reading():
    """Softmax outputs can be exactly 0: a digit standing alone that the number model
    reads as a 3 and the digit model as an 8 (both certain) once gave 0/0, NaN for
    every probability of the answer."""
    sure = lambda digit: np.eye(10, dtype=np.float32)[digit]  # noqa: E731
    by_numbers = np.stack([sure(3), sure(1), np.zeros(10, np.float32)])
    both = number.agreed(by_numbers, [0, 2], np.stack([sure(8), sure(5)]))
    assert np.isfinite(both).all() and np.allclose(both.sum(axis=1), 1)
    assert both.argmax(axis=1).tolist()[:2] == [3, 1]
    assert np.allclose(both[2], 0.1)  # nothing read: every digit as likely
    agreeing = number.agreed(np.full((1, 10), 0.1, np.float32), [0], sure(4)[None] * 0.9 + 0.01)
    assert agreeing.argmax() == 4 and np.isclose(agreeing.sum(), 1)


def test_a_cut_the_digit_model_finds_no_digit_in_leaves_the_choice_to_the_other_readings():
    """A 7 whose short bar its cut from the line leaves faint: the digit model finds no
    digit in that cut (a little more 1 than 7 in what is left) and a 7 in its cut from
    the ink as drawn; the number model leans to 1. Taken at face value, the faint cut's
    1:7 odds of 5 to 1 would have made it a 1."""
    def reading(digits: dict, not_a_digit: float) -> np.ndarray:
        row = np.zeros(12, np.float32)
        row[list(digits)] = list(digits.values())
        row[contract.NOT_A_DIGIT] = not_a_digit
        return row / row.sum()

    from_line = reading({1: 0.010, 7: 0.002}, not_a_digit=0.985)
    from_ink = reading({1: 0.09, 7: 0.91}, not_a_digit=0)
    by_numbers = np.zeros((1, 10), np.float32)
    by_numbers[0, [1, 7]] = 0.88, 0.12
    hedged = number.hedged(np.stack([from_line, from_ink]))
    assert np.allclose(hedged.sum(axis=1), 1)
    assert hedged[0].max() < 1.2 * hedged[0].min()  # sure of no digit: every digit about as likely
    assert np.allclose(hedged[1], from_ink[:10])  # sure of a digit: its reading as it is
    assert number.agreed(by_numbers, [0], hedged[:1] * hedged[1:]).argmax() == 7
    assert number.agreed(by_numbers, [0], (from_line[:10] * from_ink[:10])[None]).argmax() == 1
