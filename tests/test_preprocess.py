"""Preprocessing: any picture of a digit becomes a centred 20-in-28 MNIST-style image."""

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from bench.hostile import many_scans, rle_bmp
import pen
from drawings import PAPERS, as_photo, encoded, png_bytes, scaled
from serve import preprocess


def mass_centre(field):
    rows, cols = np.indices(field.shape)
    return (rows * field).sum() / field.sum(), (cols * field).sum() / field.sum()


def ink_box(field):
    rows, cols = np.flatnonzero(field.max(axis=1) > 0.05), np.flatnonzero(field.max(axis=0) > 0.05)
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def best_alignment(got, expected) -> float:
    """How alike two model inputs are: their correlation, at the best shift of a pixel or
    none (centring may round the other way)."""
    return max(np.corrcoef(np.roll(got, (dy, dx), axis=(0, 1)).ravel(), expected.ravel())[0, 1]
               for dy in (-1, 0, 1) for dx in (-1, 0, 1))


def seven(size=400, ink=0, paper=255, mode="L", width=24, offset=(60, 40)):
    """A '7' drawn with thick lines somewhere on a canvas."""
    image = Image.new(mode, (size, size), paper)
    draw = ImageDraw.Draw(image)
    x, y = offset
    draw.line([(x, y), (x + 150, y), (x + 60, y + 250)], fill=ink, width=width, joint="curve")
    return image


def photographed_seven(light: np.ndarray, noise: float = 8, quality: int = 85, offset=(60, 40)) -> bytes:
    """seven(), a dark pen on light paper, as a phone photo: `light` (400 x 400, 1 where
    the page is lit fully) falls on it, sensor noise of `noise` grey levels, a JPEG."""
    clean = np.asarray(seven(ink=40, paper=230, offset=offset), dtype=np.float32)
    photo = np.clip(clean * light + np.random.default_rng(0).normal(0, noise, clean.shape), 0, 255)
    return encoded(Image.fromarray(photo.astype(np.uint8)).convert("RGB"), format="JPEG", quality=quality)


def test_digit_is_scaled_to_20px_and_centred_by_mass():
    field = preprocess.to_mnist(seven())
    assert field.shape == (28, 28) and field.dtype == np.float32
    assert 0 <= field.min() and field.max() <= 1
    assert max(ink_box(field)) in (20, 21)  # 20 px box, plus antialiasing's faint edge
    row, col = mass_centre(field)
    assert abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5


def test_aspect_ratio_is_kept():
    image = Image.new("L", (300, 300), 255)
    ImageDraw.Draw(image).rectangle([140, 50, 159, 249], fill=0)  # 20 wide, 200 tall
    height, width = ink_box(preprocess.to_mnist(image))
    assert height in (20, 21) and width in (2, 3, 4)


def test_polarity_is_detected():
    dark_on_light = preprocess.to_mnist(seven(ink=0, paper=255))
    light_on_dark = preprocess.to_mnist(seven(ink=255, paper=0))
    grey_on_grey = preprocess.to_mnist(seven(ink=60, paper=180))
    assert np.abs(dark_on_light - light_on_dark).max() < 0.02
    assert np.abs(dark_on_light - grey_on_grey).max() < 0.05


@pytest.mark.parametrize("ink", [(0, 0, 0, 255), (255, 255, 255, 255), (30, 60, 200, 255)])
def test_transparent_background_is_composited(ink):
    drawn = seven(mode="RGBA", ink=ink, paper=(0, 0, 0, 0))
    expected = preprocess.to_mnist(seven())
    assert np.abs(preprocess.to_mnist(drawn) - expected).max() < 0.05


@pytest.mark.parametrize("image", [
    Image.new("L", (300, 300), 255),
    Image.new("RGBA", (300, 300), (0, 0, 0, 0)),
    Image.new("L", (1, 1), 0),
    Image.new("RGB", (200, 200), (128, 128, 128)),
], ids=["white", "transparent", "1x1", "grey"])
def test_empty_drawing_is_refused(image):
    with pytest.raises(preprocess.EmptyDrawing, match="empty"):
        preprocess.from_bytes(png_bytes(image))


def test_sixteen_bit_cmyk_palette_and_animation_read_like_the_plain_image():
    expected = preprocess.to_mnist(seven())
    sixteen = Image.fromarray(np.asarray(seven(), dtype=np.uint16) * 257)
    cmyk = io.BytesIO()
    seven().convert("CMYK").save(cmyk, format="JPEG", quality=95)
    palette = seven().convert("P")
    animation = io.BytesIO()
    seven().save(animation, format="GIF", save_all=True, append_images=[Image.new("L", (400, 400), 255)])
    for data in (png_bytes(sixteen), cmyk.getvalue(), png_bytes(palette), animation.getvalue()):
        assert np.abs(preprocess.from_bytes(data) - expected).max() < 0.1


def test_photo_with_uneven_light_and_noise_reads_like_a_clean_drawing():
    light = np.linspace(0.65, 1.0, 400)[None, :] * np.linspace(0.8, 1.0, 400)[:, None]
    got = preprocess.from_bytes(photographed_seven(light, noise=12, quality=80))
    expected = preprocess.to_mnist(seven())
    assert np.abs(np.subtract(ink_box(got), ink_box(expected))).max() <= 1
    assert np.abs(np.subtract(mass_centre(got), (14, 14))).max() <= 1  # not pulled off by shaded paper
    assert best_alignment(got, expected) > 0.9


def test_a_flash_photo_is_dark_ink_on_light_paper():
    """A phone's flash lights the middle of the page and leaves its corners half as
    bright: the lit paper is brighter than the border by more than the pen is darker
    than it, and must not be taken for light ink on a dark ground."""
    y, x = np.mgrid[0:400, 0:400] / 399 - 0.5
    flash = 1 - (x * x + y * y)  # 1 in the middle, 0.5 in the corners
    got = preprocess.from_bytes(photographed_seven(flash))
    assert best_alignment(got, preprocess.to_mnist(seven())) > 0.9


def test_paper_lit_beside_a_shadow_is_not_light_ink():
    """A shadow over most of a squared page leaves a lit strip along its edge, narrower
    than the envelope's window, as do the paper's squares between their lines: lit
    paper, brighter than the shade but by less than a shadow takes, not light ink."""
    y, x = np.mgrid[0:400, 0:400]
    lines = ((x % 50 < 3) | (y % 50 < 3)) * 0.25  # squared paper's lines, a quarter darker
    shade = 1 - 0.5 / (1 + np.exp((y - 340) / 4))  # half the light above a blurred edge 60 px from the foot
    got = preprocess.from_bytes(photographed_seven((1 - lines) * shade))
    assert best_alignment(got, preprocess.to_mnist(seven())) > 0.9


def test_a_narrow_shadow_along_the_edge_is_not_ink():
    """A shadow across the top of the page, a twentieth of the picture tall: it runs on
    past the picture's edge, so it is shade, however narrow, not a stroke."""
    y = np.mgrid[0:400, 0:400][0]
    shade = 1 - 0.5 / (1 + np.exp((y - 20) / 3))  # half the light above a blurred edge 20 px down
    got = preprocess.from_bytes(photographed_seven(shade, offset=(120, 80)))
    assert best_alignment(got, preprocess.to_mnist(seven())) > 0.9


def test_shaded_paper_is_not_left_as_faint_ink():
    """Under a shadow the paper's level is its envelope, taken of the picture's local
    means: taken of its pixels, it rides on the noise's peaks, which in the shade are
    a larger share of the light, and the shaded paper is left as faint ink."""
    x = np.mgrid[0:400, 0:400][1]
    shade = 1 - 0.5 / (1 + np.exp((x - 160) / 4))  # half the light left of a blurred edge
    jpeg = photographed_seven(shade, offset=(200, 80))
    ink = preprocess.ink_intensity(preprocess.grey_levels(preprocess.decode(jpeg)))
    shaded = ink[:, :int(0.35 * ink.shape[1])]  # paper in the shade, away from the edge
    assert np.median(shaded) < 0.03


@pytest.mark.parametrize("paper", PAPERS[1:])
def test_the_lines_of_ruled_and_squared_paper_are_not_ink(data, paper):
    """The same digits photographed on plain paper and on ruled or squared paper (the
    same place, size, light and pen) give the model the same input."""
    alignments = [best_alignment(preprocess.from_bytes(as_photo(digit, np.random.default_rng(i), paper)),
                                 preprocess.from_bytes(as_photo(digit, np.random.default_rng(i))))
                  for i, digit in enumerate(data.test_images[:40])]
    assert np.mean(np.array(alignments) > 0.9) >= 0.9 and np.median(alignments) > 0.95, sorted(alignments)[:5]


def test_a_digit_filling_its_picture_is_not_taken_for_rulings(data):
    """Long straight strokes touching the picture's edges (a 7's bar, a 1, the foot of a
    2), and the faint edges of strokes and curves, are the pen's, not the paper's."""
    for digit in data.test_images[:300]:
        filling = png_bytes(Image.fromarray(255 - scaled(pen.cut(digit), 8)))
        ink = preprocess.ink_intensity(preprocess.grey_levels(preprocess.decode(filling)))
        assert np.array_equal(preprocess.without_rulings(ink, preprocess.otsu_threshold(ink) / 4), ink)


def test_faint_ink_stays_only_where_it_is_joined_to_strong_ink():
    """A stroke bending twice and fading to a fifth of its ink stays whole; a faint mark
    apart from it (a shadow's edge, shading) goes."""
    ink = np.zeros((100, 100), dtype=np.float32)
    ink[10:14, 10:60] = np.linspace(1, 0.2, 50)  # along, fading
    ink[10:80, 56:60] = 0.2  # down
    ink[76:80, 20:60] = 0.2  # back along
    ink[40:60, 80:95] = 0.4  # apart
    kept = preprocess.joined_to_strong_ink(ink)
    assert np.array_equal(kept[:, :60], ink[:, :60] > 0) and not kept[:, 60:].any()


@pytest.mark.parametrize("axis", [0, 1])
def test_a_run_ends_with_its_row_though_the_next_row_starts_inked(axis):
    """Runs are numbered over the inked pixels in order: the last pixel of one row and
    the first of the next are neighbours there, not on the page."""
    inked = np.ones((3, 4), dtype=bool)
    kept = np.zeros_like(inked)
    kept[0, 0] = True
    held = np.zeros_like(inked)
    held[(0, slice(None)) if axis == 1 else (slice(None), 0)] = True  # the first row's run, or the first column's
    assert np.array_equal(preprocess.runs_holding(kept, inked, axis), held)
    assert not preprocess.runs_holding(kept, np.zeros_like(inked), axis).any()


def test_mnist_digit_passes_through_nearly_unchanged(data):
    digits = data.test_images[:50]
    fields = np.stack([preprocess.to_mnist(Image.fromarray(d)) for d in digits])
    assert np.abs(fields - digits / 255).mean() < 0.03


@pytest.mark.parametrize("data, error, words", [
    (b"", preprocess.ImageError, "empty"),
    (b"hello, not an image", preprocess.ImageError, "not an image"),
    (png_bytes(seven())[:300], preprocess.ImageError, "truncated"),
], ids=["zero-bytes", "text", "truncated-png"])
def test_undecodable_bytes_are_refused(data, error, words):
    with pytest.raises(error, match=words):
        preprocess.decode(data)


def test_unsupported_formats_are_refused():
    with pytest.raises(preprocess.UnsupportedImage, match="TIFF"):
        preprocess.decode(encoded(seven(), format="TIFF"))
    with pytest.raises(preprocess.UnsupportedImage, match="Run-length"):
        preprocess.open_image(rle_bmp(400, 400))


@pytest.mark.parametrize("picture, words", [
    (png_bytes(Image.new("1", (10_000, 10_000), 1)), "10000x10000 pixels; the limit is 4096 px a side"),
    (png_bytes(Image.new("L", (1, 100_000), 255)), "1x100000"),
    (png_bytes(Image.new("L", (2100, 2100), 255)), "the limit is 4 megapixels"),
    (many_scans(seven(), 33), "more than 32 scans"),
], ids=["bomb", "strip", "over-4-megapixels", "jpeg-scans"])
def test_costly_pictures_are_refused_from_their_header(picture, words):
    assert len(picture) < 100_000  # small files that would be costly to decode
    with pytest.raises(preprocess.ImageTooLarge, match=words):
        preprocess.open_image(picture)


def test_a_big_jpeg_is_decoded_at_a_reduced_scale():
    """A 12-megapixel phone photo is read at 1/4 scale: cheap, and still 1000 px wide,
    for a digit written small on it (closer_look)."""
    photo = encoded(seven(size=400).resize((4000, 3000)).convert("RGB"), format="JPEG")
    image = preprocess.open_image(photo)
    assert preprocess.pixels(image) == 1000 * 750 and image.mode == "L"
    assert preprocess.load(image).size == (1000, 750)


@pytest.mark.parametrize("orientation, stored_as", [
    (3, Image.Transpose.ROTATE_180), (6, Image.Transpose.ROTATE_90), (8, Image.Transpose.ROTATE_270)])
def test_exif_orientation_is_applied_first(orientation, stored_as):
    """A phone stores the sensor's pixels and an EXIF tag saying how to turn them."""
    upright = seven()
    exif = Image.Exif()
    exif[0x0112] = orientation
    photo = encoded(upright.transpose(stored_as), format="JPEG", quality=95, exif=exif.tobytes())
    read = preprocess.to_mnist(preprocess.decode(photo))
    assert np.abs(read - preprocess.to_mnist(upright)).max() < 0.15
    sideways = preprocess.to_mnist(Image.open(io.BytesIO(photo)).convert("L"))
    assert np.abs(sideways - preprocess.to_mnist(upright)).max() > 0.5  # without the tag it is another shape
