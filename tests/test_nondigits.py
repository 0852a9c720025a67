"""Synthetic drawings that are not one digit, and digits in the world's styles: they are
valid strokes on the pad, framed as the server frames strokes, deterministic for a
seed; held-out kinds stay out of training. (How the served model reads them:
tests/test_verdicts.py.)"""

import numpy as np
import pytest

import pen
from drawings import nondigits, styles
from drawings.nondigits import HELD_OUT, KINDS, SHAPES, TRAINED
from serve import preprocess, strokes

STROKE_KINDS = tuple(SHAPES)


def as_document(drawing: pen.Strokes) -> dict:
    """The JSON document the page would send for `drawing`."""
    return {"strokes": [xy.tolist() for xy in drawing.paths], "width": drawing.width,
            "height": drawing.height, "brush": drawing.brush}


def same_strokes(parsed: pen.Strokes, drawing: pen.Strokes) -> bool:
    return (parsed[1:] == drawing[1:] and len(parsed.paths) == len(drawing.paths)
            and all(np.array_equal(a, b) for a, b in zip(parsed.paths, drawing.paths)))


def test_held_out_kinds_are_kinds_that_never_train():
    assert set(HELD_OUT) <= set(KINDS) and len(HELD_OUT) >= 2
    assert set(nondigits.HELD_OUT_LETTERS) < set(nondigits.LETTERS)
    rng = np.random.default_rng(0)
    held_out = {id(nondigits.LETTERS[name]) for name in nondigits.HELD_OUT_LETTERS}
    assert not {id(nondigits.letter(rng)) for _ in range(300)} & held_out


def test_fields_are_model_inputs_of_each_kind_in_turn(data):
    made, kinds = nondigits.fields(3 * len(KINDS), seed=0, kinds=KINDS, digits=data.test_images)
    assert made.shape == (3 * len(KINDS), 28, 28) and made.dtype == np.float32
    assert made.min() >= 0 and made.max() <= 1
    assert (made.max(axis=(1, 2)) > 0.5).all()  # every one has ink
    assert kinds == list(KINDS) * 3


def test_fields_are_deterministic_for_a_seed(data):
    first, _ = nondigits.fields(30, seed=1, kinds=TRAINED, digits=data.test_images)
    again, _ = nondigits.fields(30, seed=1, kinds=TRAINED, digits=data.test_images)
    other, _ = nondigits.fields(30, seed=2, kinds=TRAINED, digits=data.test_images)
    assert (first == again).all()
    assert (first != other).any(axis=(1, 2)).all()


def test_fragments_need_digits_and_are_not_strokes():
    with pytest.raises(ValueError):
        nondigits.fields(3, seed=0, kinds=("star", "fragment"))
    with pytest.raises(ValueError):
        nondigits.sketch("fragment", np.random.default_rng(0))


def test_a_fragment_is_no_bar_and_like_no_whole_digit(data):
    rng = np.random.default_rng(3)
    bank = nondigits.digit_bank(data.test_images)
    wholes = [pen.field(digit.astype(np.float32) / 255) for digit in data.test_images[-100:]]
    assert sum(nondigits.digit_like(whole, bank) for whole in wholes) >= 20  # a quarter of test digits are
    for _ in range(50):
        piece = nondigits.fragment(data.test_images, rng, bank)
        assert piece.shape == (28, 28) and piece.dtype == np.float32 and piece.max() > 0.5
        assert not nondigits.is_bar(piece) and not nondigits.digit_like(piece, bank)


@pytest.mark.parametrize("kind", STROKE_KINDS)
def test_every_kind_is_valid_strokes_inked_inside_the_pad(kind):
    rng = np.random.default_rng(4)
    for pad in (280, 400):
        for _ in range(20):
            drawing = nondigits.sketch(kind, rng, pad)
            assert drawing.width == drawing.height == pad
            assert 6 <= drawing.brush * 280 / pad <= 36
            points = np.concatenate(drawing.paths)
            assert all(xy.dtype == np.float64 and xy.ndim == 2 and xy.shape[1] == 2 for xy in drawing.paths)
            assert np.isfinite(points).all()
            assert (points - drawing.brush / 2 >= 0).all() and (points + drawing.brush / 2 <= pad).all()
            assert same_strokes(strokes.parse(as_document(drawing)), drawing)  # the server takes it as it is
            assert pen.draw(drawing, preprocess.WORK_SIDE).max() == 1


def test_drawings_are_framed_as_the_server_frames_strokes():
    rng = np.random.default_rng(5)
    for kind in STROKE_KINDS:
        drawing = nondigits.sketch(kind, rng)
        assert (nondigits.field_of(drawing) == preprocess.from_ink(pen.ink_to_frame(drawing))).all()  # app.digit_input


def test_hardly_any_negative_is_an_upright_bar(data):
    made, _ = nondigits.fields(600, seed=6, kinds=KINDS, digits=data.test_images)
    assert sum(map(nondigits.is_bar, made)) <= 6
    rng = np.random.default_rng(6)
    assert nondigits.is_bar(nondigits.field_of(styles.sketch_digit(1, "plain", rng)))
    assert nondigits.has_hole(nondigits.field_of(styles.sketch_digit(0, "plain", rng)))


def test_several_digits_are_numbers_of_two_or_three(data):
    made, texts = nondigits.several_digits(data.test_images, data.test_labels, 12, seed=7)
    assert made.shape == (12, 28, 28) and made.dtype == np.float32
    assert made.min() >= 0 and made.max() <= 1 and (made.max(axis=(1, 2)) > 0.5).all()
    assert [len(text) for text in texts] == [2, 3] * 6 and all(text.isdigit() for text in texts)
    again, _ = nondigits.several_digits(data.test_images, data.test_labels, 12, seed=7)
    assert (made == again).all()


def test_every_digit_has_a_plain_style_and_styles_are_valid_strokes():
    assert {digit for digit, style in styles.STYLED if style == "plain"} == set(range(10))
    rng = np.random.default_rng(8)
    for digit, style in styles.STYLED:
        drawing = styles.sketch_digit(digit, style, rng)
        points = np.concatenate(drawing.paths)
        assert np.isfinite(points).all() and points.min() >= 0 and points.max() <= drawing.width
        assert same_strokes(strokes.parse(as_document(drawing)), drawing)
