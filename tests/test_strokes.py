"""The strokes form: hostile documents refused by field, drawings rasterised as the page shows them."""

import json

import numpy as np
import pytest

import contract
import pen
from serve import preprocess, strokes
from serve.model import OnnxModel


def document(**changes):
    """A valid one-stroke drawing on a 100x100 pad, with some fields changed."""
    return {"strokes": [[[10, 10], [20, 20]]], "width": 100, "height": 100, "brush": 5} | changes


@pytest.mark.parametrize("broken, field", [
    (document(strokes="7"), '"strokes"'),
    (document(strokes=None), '"strokes"'),
    (document(strokes=[[[1, 1]]] * 101), '"strokes"'),
    (document(strokes=[[[1, 1]] * 5_001] * 2), '"strokes" holds 10002 points'),
    (document(strokes=[[[1, 1]], 5]), "strokes[1]"),
    (document(strokes=[[[1, 1]], []]), "strokes[1]"),
    (document(strokes=[[[1, 1], [1, 2, 3]]]), "strokes[0][1]"),
    (document(strokes=[[[1, 1]], [[1, 1], [2, 2], ["3", 3]]]), "strokes[1][2]"),
    (document(strokes=[[[True, 1]]]), "strokes[0][0]"),
    (document(strokes=[[[1, 1], {"x": 1, "y": 1}]]), "strokes[0][1]"),
    (json.loads('{"strokes": [[[1, 1], [NaN, 1]]], "width": 100, "height": 100, "brush": 5}'), "strokes[0][1]"),
    (json.loads('{"strokes": [[[1, Infinity]]], "width": 100, "height": 100, "brush": 5}'), "strokes[0][0]"),
    (json.loads('{"strokes": [[[1, 1]]], "width": Infinity, "height": 100, "brush": 5}'), '"width"'),
    (json.loads('{"strokes": [[[1, 1]]], "width": 100, "height": 100, "brush": NaN}'), '"brush"'),
    (document(strokes=[[[1, 1], [350, 10]]]), "strokes[0][1]"),
    (document(strokes=[[[1, -101]]]), "strokes[0][0]"),
    (document(strokes=[[[10 ** 400, 1]]]), "strokes[0][0]"),
    (document(width=0), '"width"'),
    (document(width=10_001), '"width"'),
    (document(height="100"), '"height"'),
    (document(height=True), '"height"'),
    (document(brush=-5), '"brush"'),
    (document(brush=51), '"brush"'),
    ({"strokes": [[[1, 1]]], "width": 100, "height": 100}, '"brush"'),
])
def test_broken_documents_are_refused_naming_the_field(broken, field):
    with pytest.raises(preprocess.ImageError) as refused:
        strokes.parse(broken)
    assert type(refused.value) is preprocess.ImageError  # a 400, not one of the other statuses
    assert field in str(refused.value)


@pytest.mark.parametrize("drawing", [
    [[[5, 5]] * 10_000_000],
    [[[5, 5]] * 100_000] * 100,
])
def test_ten_million_points_are_refused_by_count(drawing):
    with pytest.raises(preprocess.ImageError, match="at most 10000"):
        strokes.parse(document(strokes=drawing))


@pytest.mark.parametrize("drawing", [
    [],
    [[[-60, 50], [-10, 50]]],  # left of the pad, beyond the brush's reach
    [[[50, 130], [90, 200]], [[150, -40], [190, -10]]],  # below, and above-right
])
def test_no_ink_on_the_pad_is_an_empty_drawing(drawing):
    with pytest.raises(preprocess.EmptyDrawing):
        strokes.parse(document(strokes=drawing))


@pytest.mark.parametrize("drawing, across", [
    ([[[50, 50]]], 1.0),  # a tap of the pen
    ([[[50, 50]], [[50.5, 50.5]]], 1.1),  # a double tap
    ([[[50, 50], [57, 50]]], 2.4),  # a dash a little longer than the pen is wide
])
def test_ink_smaller_than_a_digit_can_be_drawn_is_refused_as_too_small(drawing, across):
    with pytest.raises(strokes.TooSmall, match=f"Its ink is {across} pen widths across"):
        strokes.parse(document(strokes=drawing, brush=5))


def test_ink_just_big_enough_is_read():
    assert strokes.parse(document(strokes=[[[50, 50], [58, 50]]], brush=5))  # 2.6 pen widths across


def test_a_valid_document_is_parsed_to_float_arrays():
    parsed = strokes.parse(document(strokes=[[[10, 10], [20.5, 20]], [[30, 40]]]))
    assert [xy.tolist() for xy in parsed.paths] == [[[10, 10], [20.5, 20]], [[30, 40]]]
    assert all(xy.dtype == np.float64 and xy.shape[1] == 2 for xy in parsed.paths)
    assert (parsed.width, parsed.height, parsed.brush) == (100, 100, 5)


def drawn(paths, width=200, height=100, brush=10, side=400):
    return pen.draw(strokes.parse(document(strokes=paths, width=width, height=height, brush=brush)), side)


def test_horizontal_stroke_is_a_band_brush_wide_with_round_ends():
    ink = drawn([[[50, 50], [150, 50]]])  # scale 2: the band is 20 px tall, from x = 100 to 300 px
    assert ink.shape == (200, 400) and ink.dtype == np.float32 and set(np.unique(ink)) == {0, 1}
    assert ink[:, 200].sum() == 20 and np.array_equal(ink, ink[::-1, ::-1])  # centred on the pad, as drawn
    reach = [np.flatnonzero(ink[row]).max() + 1 for row in (100, 109)]  # the band's middle row and an edge row
    assert 308 <= reach[0] <= 311 and reach[1] < reach[0] - 3  # a half-disc past the end, not a square cap
    assert np.flatnonzero(ink[100]).min() in (89, 90, 91)


def test_one_point_stroke_is_a_disc():
    ink = pen.draw(pen.Strokes([np.array([[100.0, 50.0]])], 200, 100, 20), 400)  # a disc 40 px across at (200, 100)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    assert rows.size == cols.size == 40 and np.array_equal(ink, ink[::-1, ::-1])
    assert abs(ink.sum() / (np.pi * 20 ** 2) - 1) < 0.02
    assert ink[rows[0], cols[0]] == ink[rows[-1], cols[-1]] == 0  # the corners of its box are empty


@pytest.mark.parametrize("width, height, shape", [(300, 200, (19, 28)), (200, 300, (28, 19)), (250, 250, (28, 28))])
def test_the_longer_side_becomes_side(width, height, shape):
    ink = drawn([[[10, 10], [100, 100]]], width=width, height=height, brush=4, side=28)
    assert ink.shape == shape and ink.max() == 1


def test_a_small_brush_keeps_one_pixel_of_ink():
    ink = drawn([[[10, 50], [190, 50]]], brush=0.2, side=40)  # 0.04 px at this scale
    assert ink.any(axis=0)[3:37].all()


def test_ink_beyond_the_pad_is_cut_off():
    ink = drawn([[[-150, 50], [350, 50]]])  # from far left of the pad to far right
    assert ink.shape == (200, 400) and ink[95:105].all()
    ink = drawn([[[100, 50], [100, 190]]])  # a stroke leaving through the bottom edge
    assert ink.shape == (200, 400) and ink[-1, 200] == 1 and ink[:85].sum() == 0  # only the round start above


def test_a_brush_edge_reaching_into_the_pad_is_ink():
    ink = drawn([[[-3, 50]], [[100, 20], [100, 80]]], brush=10)  # the first point is off the pad, its disc is not
    assert ink[100, 0] == 1 and ink[100, 5] == 0


def test_ink_is_drawn_just_big_enough_to_be_framed_with_a_whole_pixel_brush():
    """A long stroke on a wide pad: its ink box (1,840 x 40) is drawn about FRAMED px
    wide, at the scale nearest to that which makes the brush whole pixels (2, not 1.7)."""
    drawing = strokes.parse(document(strokes=[[[100, 500], [1900, 500]]], width=2000, height=1000, brush=40))
    ink = pen.ink_to_frame(drawing)
    assert ink.shape == (2, 92) and pen.FRAMED <= ink.shape[1] <= 1.2 * pen.FRAMED
    assert (ink.sum(axis=0)[2:-2] == 2).all()  # a band two pixels tall all along, bar the round ends


def test_a_hair_thin_brush_is_not_drawn_larger_than_largest():
    drawing = strokes.parse(document(strokes=[[[100, 100], [9000, 9000]]], width=10_000, height=10_000, brush=0.01))
    ink = pen.ink_to_frame(drawing)
    assert max(ink.shape) == pen.LARGEST and ink.any(axis=0).all()


def test_only_the_ink_on_the_pad_is_framed():
    ink = pen.ink_to_frame(strokes.parse(document(strokes=[[[50, 50], [50, 190]]], brush=10)))  # leaves through the bottom
    assert ink.shape == (83, 15) and ink[-1].all()  # its 10 x 55 px on the pad, at 1.5 px each (a 15 px brush)


def test_strokes_whose_box_meets_the_pad_but_whose_ink_does_not_are_an_empty_drawing():
    drawing = strokes.parse(document(strokes=[[[-50, 10], [10, -50]]]))  # passes the pad's corner 28 px off
    with pytest.raises(preprocess.EmptyDrawing):
        preprocess.from_ink(pen.ink_to_frame(drawing))


def test_ink_is_cut_to_the_box_of_its_pixels_over_the_threshold():
    ink = np.zeros((10, 12), np.float32)
    ink[2, 3], ink[5:7, 4:9] = 0.1, 1  # a faint speck, and a stroke
    assert pen.cut(ink).shape == (5, 6)  # rows 2-6, columns 3-8
    assert pen.cut(ink, 0.2).shape == (2, 5)  # the stroke alone
    blank = np.zeros((4, 4), np.float32)
    assert pen.cut(blank) is blank  # no ink: all of it


def pointer_path(start, end):
    """25 points along a line, to a tenth of a pixel, as a pointer reports them."""
    return np.linspace(start, end, 25).round(1).tolist()


def test_a_seven_drawn_in_two_strokes_is_read_as_seven():
    seven = {"strokes": [pointer_path([70, 70], [230, 65]), pointer_path([228, 72], [130, 250])],
             "width": 300, "height": 300, "brush": 0.055 * 300}  # the page's pen
    field = preprocess.from_ink(pen.ink_to_frame(strokes.parse(seven)))
    probabilities = OnnxModel(contract.ARTIFACTS / contract.DIGITS.onnx_file).predict(field[None])[0]
    assert probabilities.argmax() == 7 and probabilities[7] > 0.9
