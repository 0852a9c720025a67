"""Turn any picture of one digit into the 28x28 image the model was trained on.

MNIST digits are not arbitrary 28x28 pictures: each is white ink on black, its
bounding box scaled (antialiased, aspect kept) so the longer side is 20 px, and
placed so its centre of mass sits at the centre of the 28x28 field. A canvas
drawing or a photo looks nothing like that, and squashing the whole picture to
28x28 gets about a third of drawn digits right. So every input goes through:

  decode (cost checked from the header first; turned upright) -> grey levels,
  transparency composited -> ink made bright on dark, against the paper's light (a
  smooth surface, under a hard-edged shadow its envelope) -> ruled or squared
  paper's lines taken out, what is below Otsu's threshold, and faint marks joined
  to no strong ink -> (ink small in a large picture: the same again on the
  picture's own pixels around it) -> crop to the ink -> longer side to 20 px ->
  centre of mass to the centre of 28x28.

Strokes (serve/strokes.py) are drawn as clean ink and join at the crop. The last two
steps are pen.field, which the synthetic drawings share.

Pure numpy and Pillow, so the serve image needs nothing else.
"""

import io
import warnings
from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

import pen

FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")
MAX_SIDE = 4096  # px: no picture of a digit needs more, and a file's rows cost time even when they are blank
MAX_PIXELS = 4_000_000  # decoded pixels, JPEGs counted after their reduced-scale decoding
RLE_BMP = (1, 2)  # Pillow decodes these in pure Python: 0.5 CPU-second for a busy 2 MiB file
MAX_JPEG_SCANS = 32  # encoders write 1 (baseline) to about 12 (progressive); each scan walks every block again
WORK_SIDE = 256  # px: pictures are reduced to this before the ink is looked for
SMALL_INK = 48  # px at WORK_SIDE: ink this small is looked at again in the picture's own pixels (closer_look)
STRONG_INK = 0.5  # of the ink's level: a pen's strokes reach it, a photo's paper noise does not
DETAIL_SIDE = 1000  # px: a larger JPEG decodes at least this big, for closer_look; one under twice that whole, within MAX_PIXELS
MIN_CONTRAST = 0.15  # ink this close to the paper is no ink at all
FLAT_PAPER = 0.02  # paper this even all round its border needs no lighting correction
STROKES_WITHIN = 0.25  # of a picture's shorter side: no pen's stroke is wider (envelope(); a digit's is 10-25% of its height, and a number runs along the longer side)
CALM = 1 / 12  # of the envelope's window: about the side of the squares the picture is averaged over before it (box_mean)
SHADE = 0.4  # of the paper's light a shadow leaves, at least; a pen is darker (ink_intensity)
INK_ACROSS = 0.2  # of the border's brightest: its darkest 1% is darker only where ink crosses it (a shadow in a room's dimmest corner leaves SHADE x 0.6)
SHADOW_STEP, SHADOWED = 0.05, 0.05  # a shadow's edge takes this much light from this share of the border, at least
RULING_SLOPES = np.tan(np.radians(np.arange(-5, 5.1, 0.25)))  # a page turned up to 5 degrees in a photo
RULING_SPAN = 0.6  # of its length within the picture a ruling is inked over at least; strokes cross it
RULING_SHORTEST = 0.1  # of the picture's width: a ruling that only clips a corner is still one
RULING_WIDTH = 0.06  # of the picture's width a ruling's band is at most, blurred by the lens and a JPEG
RULING_EDGE = 2  # px either side of a ruling's band that its antialiasing and a JPEG's blur still darken
RULING_SAMPLE = 2000  # inked pixels enough to find the slope of a page's lines
RULING_INK = 0.6  # a ruling is fainter than the pen, whose ink is 1
RULING_ALONE = 0.2  # of its length a ruling runs with paper either side at least; a stroke's faint edge never does

# open_image() enforces its own, lower limits right after reading the header;
# Pillow's warning about large images would only repeat that in the logs.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


class ImageError(ValueError):
    """An input that cannot be read as a digit; the message says why, in words for a person."""


class UnsupportedImage(ImageError):
    """A picture in a format the service does not read."""


class ImageTooLarge(ImageError):
    """A picture that would cost too much to decode."""


class EmptyDrawing(ImageError):
    """A picture with no ink in it."""


def open_image(data: bytes) -> Image.Image:
    """The picture's header read and checked; no pixel is decoded yet.

    What decoding will cost is known from the header alone, so a small file that
    would take seconds or gigabytes to decode is refused here: one that inflates
    to a huge size (a decompression bomb), a JPEG with thousands of scans, a strip
    of millions of rows, a BMP only a slow decoder reads. A JPEG is set to decode at a reduced scale (libjpeg's
    DCT scaling, 1/2 to 1/8) that still leaves DETAIL_SIDE px on its longer side,
    so a phone photo costs a fraction of its full decoding; its pixels are counted
    at that scale.
    """
    if not data:
        raise ImageError("The image is empty (0 bytes).")
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise ImageTooLarge(f"The image is too large; at most {MAX_SIDE} px a side.") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise ImageError("This is not an image (expected PNG, JPEG, WebP, GIF or BMP).") from None
    if image.format not in FORMATS:
        raise UnsupportedImage(f"{image.format} images are not supported; send PNG, JPEG, WebP, GIF or BMP.")
    if image.format == "BMP" and image.info.get("compression") in RLE_BMP:
        raise UnsupportedImage("Run-length compressed BMPs are not supported; send PNG or JPEG.")
    width, height = image.size
    if max(width, height) > MAX_SIDE:
        raise ImageTooLarge(f"The image is {width}x{height} pixels; the limit is {MAX_SIDE} px a side.")
    image.info["sent_size"] = image.size  # a JPEG's shrinks as it is drafted; boxes are given in this one
    if image.format == "JPEG":
        if data.count(b"\xff\xda") > MAX_JPEG_SCANS:  # start-of-scan markers; never stuffed in coded data
            raise ImageTooLarge(f"The JPEG has more than {MAX_JPEG_SCANS} scans; save it again as an ordinary JPEG.")
        image.draft("L", (DETAIL_SIDE * width // max(width, height), DETAIL_SIDE * height // max(width, height)))
    if pixels(image) > MAX_PIXELS:
        raise ImageTooLarge(f"The image is {width}x{height} pixels; the limit is {MAX_PIXELS / 1e6:g} megapixels "
                            "(a JPEG may be larger). Shrink it to 2000 px a side.")
    return image


def pixels(image: Image.Image) -> int:
    """How many pixels decoding `image` will make: its cost, known before decoding."""
    return image.width * image.height


def load(image: Image.Image) -> Image.Image:
    """The first frame decoded, turned upright as its EXIF orientation says.

    A phone stores a photo as the sensor saw it and records how to turn it; read
    sideways, a 3 is a 7. Everything after this sees the picture as people see it.
    """
    try:
        image.load()  # decodes the first frame of an animation only
        ImageOps.exif_transpose(image, in_place=True)
    except (OSError, ValueError, SyntaxError, EOFError):
        raise ImageError("The image is damaged or truncated and cannot be decoded.") from None
    return image


def decode(data: bytes) -> Image.Image:
    """The picture in `data`, checked before decoding and turned upright."""
    return load(open_image(data))


def grey_levels(image: Image.Image, side: int = WORK_SIDE) -> np.ndarray:
    """Luminance in [0, 1], at most `side` px a side, transparency composited.

    A digit ends up 20 px tall, so finer detail than 256 px is wasted work (a number,
    whose digits are a fraction of a wide picture, asks for more); the reduction
    averages pixels (antialiasing) before anything else is computed.
    A canvas exports untouched pixels as transparent black, so dropping alpha would
    turn black-on-transparent into black-on-black. What is opaque is what was drawn;
    it goes onto white if it is dark and onto black if it is light. Alpha is
    premultiplied before reducing, so transparent pixels lend no colour to edges.
    """
    factor = -(-max(image.size) // side)
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        values = np.asarray(image.convert("F").reduce(factor))  # 16- or 32-bit grey
        return values / (65535 if values.max() > 255 else 255)
    if not image.has_transparency_data:
        return np.asarray(image.convert("L").reduce(factor), dtype=np.float32) / 255
    rgba = np.asarray(image.convert("RGBA").convert("RGBa").reduce(factor), dtype=np.float32) / 255
    luma = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)  # premultiplied
    alpha = rgba[..., 3]
    if alpha.min() == 1:
        return luma
    drawn_luma = luma.sum() / max(alpha.sum(), 1e-6)
    backdrop = 1.0 if drawn_luma < 0.5 else 0.0
    return luma + backdrop * (1 - alpha)


def ink_intensity(luma: np.ndarray) -> np.ndarray:
    """Ink in [0, 1] on a background of 0, whichever way round the picture was.

    The paper is judged from the picture's border, which a single digit rarely
    touches; the ink is whichever of darker or lighter departs more from the paper
    as the border shows it lit (border_light()). Dark ink on paper is measured
    against the paper's local brightness, as light falls on both alike: a pen
    stroke in the shade is as black as one in the sun. Light ink on a dark ground
    is measured as a difference.

    In a photo, the paper is nowhere brighter than its own upper envelope (and for
    light ink, darker than its lower one) at the scale of a digit's strokes
    (envelope()). Where a shadow with a hard edge falls across the page, which no
    smooth lighting follows, the envelope is the shadowed paper's level, and the
    shadow is not taken for ink. It is taken only where the border strays from the
    smooth light by a shadow's step (most photos' does not: it costs a 256 px photo
    about as much as the rest together). A shadow leaves the paper SHADE of its
    light at least: where the envelope is darker, it follows a stroke wider than the
    envelope's window, and the smooth light stands; and where the border's darkest
    1% is under INK_ACROSS of its brightest, ink crosses the border (a digit filling
    the picture, whose strokes may be that wide), and no envelope is taken. Paper
    lit beside a shadow is brighter than the lower envelope, which takes a lit strip
    narrower than its window (between the shadow and the picture's edge, a stroke,
    or the lines of squared paper) for light ink on the shade; but it is at most
    1 / SHADE times as bright as the shade, and light ink is judged above that.
    The envelope is taken of the picture's local means (box_mean): of its pixels, it
    would ride on the sensor noise's highest peaks, and shaded paper, whose noise is
    a larger share of its light, would be left as faint ink.
    """
    ring = border(luma)
    paper, light = float(np.median(ring)), border_light(luma)
    upper, lower = np.inf, -np.inf  # paper the smooth light explains (a canvas', most photos'): no envelope bounds it
    off_the_light = np.abs(ring - border(np.broadcast_to(light, luma.shape))) > SHADOW_STEP
    if off_the_light.mean() >= SHADOWED and np.percentile(ring, 1) >= INK_ACROSS * np.percentile(ring, 90):
        width = max(3, round(STROKES_WITHIN * min(luma.shape)))
        calm = box_mean(luma, round(CALM * width / 2))
        upper, lower = envelope(calm, width), -envelope(-calm, width)
    darker = np.clip(np.minimum(light, upper) - luma - 0.1, 0, None).sum()
    lighter = np.clip(luma - np.maximum(light, lower / SHADE) - 0.1, 0, None).sum()
    if darker > lighter:
        smooth = paper - lighting(paper - luma)
        paper_luma = np.clip(upper, SHADE * smooth, smooth)
        ink = 1 - luma / np.maximum(paper_luma, 0.05)
    else:
        ink = luma - np.maximum(paper + lighting(luma - paper), lower)
    ink = np.clip(ink, 0, None)
    contrast = ink_level(ink)
    if contrast < MIN_CONTRAST:
        raise EmptyDrawing("The drawing is empty: no ink was found.")
    return np.clip(ink / contrast, 0, 1)


def box_mean(values: np.ndarray, radius: int) -> np.ndarray:
    """Each pixel the mean of the square 2 radius + 1 px wide around it, the picture's
    edge copied beyond it."""
    values = np.pad(values, radius, mode="edge")
    for axis in (0, 1):
        values = sliding_window_view(values, 2 * radius + 1, axis=axis).mean(axis=-1)
    return values


def envelope(values: np.ndarray, width: int) -> np.ndarray:
    """The upper envelope of `values` at `width` px: their grey-level closing, the
    most in every width x width square, then the least of those. Dark marks
    narrower than `width` (a pen's strokes) are filled in; a region darker over a
    larger area (a shadow) keeps its level, and its edge its place. The page goes on
    past the picture's edge as it is at the edge, so a shadow along the edge,
    however narrow, is a region, not a mark (half a window of it is as much as the
    closing sees: the edge's copies are all alike)."""
    beyond = width // 2
    values = np.pad(values, beyond, mode="edge")
    for extreme in (np.maximum, np.minimum):
        values = running(running(values, width, 0, extreme), width, 1, extreme)
    return values[beyond:-beyond, beyond:-beyond]


def running(values: np.ndarray, width: int, axis: int, extreme: np.ufunc) -> np.ndarray:
    """The `extreme` (np.maximum or np.minimum) of every `width` values along `axis`,
    centred on each (van Herk and Gil-Werman: two running extremes over blocks of
    `width`, so the cost does not grow with it)."""
    values = np.moveaxis(values, axis, -1)
    length, before = values.shape[-1], width // 2
    blocks = -(-(length + width) // width)
    padded = np.full((*values.shape[:-1], blocks * width), np.inf if extreme is np.minimum else -np.inf,
                     dtype=np.float32)
    padded[..., before:before + length] = values
    by_block = padded.reshape(*values.shape[:-1], blocks, width)
    onward = extreme.accumulate(by_block, axis=-1).reshape(padded.shape)
    back = extreme.accumulate(by_block[..., ::-1], axis=-1)[..., ::-1].reshape(padded.shape)
    return np.moveaxis(extreme(back[..., :length], onward[..., width - 1:width - 1 + length]), -1, axis)


def ink_level(ink: np.ndarray) -> float:
    """How strong the pen's ink is: the most that two touching pixels both reach.

    A speck of one pixel (sensor noise, a JPEG's ringing) does not set it; nor, unlike
    a percentile, does the share of the picture the ink covers, which for a digit
    written small on a whole page is under a thousandth.
    """
    pairs = [(ink[:, :-1], ink[:, 1:]), (ink[:-1], ink[1:]), (ink[:-1, :-1], ink[1:, 1:]), (ink[:-1, 1:], ink[1:, :-1])]
    return max((float(np.minimum(one, other).max()) for one, other in pairs if one.size), default=float(ink.max()))


def border(values: np.ndarray) -> np.ndarray:
    """The outermost ring of pixels: paper, in a picture of a single digit."""
    return np.concatenate([values[0], values[-1], values[:, 0], values[:, -1]])


def border_light(luma: np.ndarray) -> float | np.ndarray:
    """The paper's brightness over the picture as its border shows it: the border's
    median where it is even to within FLAT_PAPER, else a quadratic surface through
    the border of a 64 px copy.

    In a photo taken with a flash, the middle of the page is brighter than its
    corners, and so than the border's median, by more than the pen is darker than
    the paper; against that median, the lit paper would outweigh the digit and be
    taken for light ink on a dark ground. The surface is fitted three times, each
    time to the border pixels near the last fit (starting from the median), so ink
    crossing the edge is left out. The border, not the whole picture: in a photo
    cropped close, most of the picture can be ink. Where the border strays from the
    surface by as much as ink's least contrast, ink runs along much of it (a digit
    cut out to its edges), and its median is kept.
    """
    ring = border(luma)
    if np.ptp(ring) < FLAT_PAPER:
        return float(np.median(ring))
    small = Image.fromarray(luma.astype(np.float32))
    small.thumbnail((64, 64), Image.Resampling.BOX)
    values, terms = border(np.asarray(small)), border(quadratic_terms(small.height, small.width))
    coefficients = np.array([np.median(values), 0, 0, 0, 0, 0], dtype=np.float32)
    for _ in range(3):
        residuals = values - terms @ coefficients
        kept = np.abs(residuals) < max(3 * spread(residuals), FLAT_PAPER)
        if kept.sum() < 6:
            break
        coefficients = np.linalg.lstsq(terms[kept], values[kept], rcond=None)[0].astype(np.float32)
    if spread((values - terms @ coefficients)[kept]) >= MIN_CONTRAST:
        return float(np.median(ring))  # ink runs along much of the border: the surface would follow it
    return quadratic_surface(coefficients, *luma.shape)


def spread(values: np.ndarray) -> float:
    """The standard deviation of `values`, estimated from their median absolute
    deviation, which a minority of outliers (ink on paper) does not move."""
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def lighting(ink: np.ndarray) -> np.ndarray:
    """How far the paper itself departs from its median level, as a quadratic surface.

    A photo is lit unevenly: one side of the paper can be darker than the ink's
    contrast, and would be cropped in as ink. On a 64 px copy, the surface is
    fitted to the paper alone (what stays below Otsu's threshold, kept clear of
    the strokes' edges), twice, the second time with the first shading removed.
    A picture whose border is even to within FLAT_PAPER is taken as evenly lit.
    """
    if np.ptp(border(ink)) < FLAT_PAPER:
        return np.zeros_like(ink)  # evenly lit, as a canvas always is
    small = Image.fromarray(ink.astype(np.float32))
    small.thumbnail((64, 64), Image.Resampling.BOX)
    values = np.asarray(small)
    terms = quadratic_terms(*values.shape).reshape(-1, 6)
    coefficients = np.zeros(6, dtype=np.float32)
    for _ in range(2):
        flat = values - (terms @ coefficients).reshape(values.shape)
        low, high = flat.min(), flat.max()
        if high - low < MIN_CONTRAST:
            break
        is_ink = flat > low + (high - low) * otsu_threshold((flat - low) / (high - low))
        near_ink = np.asarray(Image.fromarray(is_ink).filter(ImageFilter.MaxFilter(3)))
        paper = ~near_ink.ravel()
        if paper.sum() < 6:
            break
        coefficients = np.linalg.lstsq(terms[paper], values.ravel()[paper], rcond=None)[0].astype(np.float32)
    return quadratic_surface(coefficients, *ink.shape)


def quadratic_terms(height: int, width: int) -> np.ndarray:
    """1, x, y, x², xy, y² at every pixel, x and y running over [0, 1]."""
    y, x = np.meshgrid(np.linspace(0, 1, height, dtype=np.float32),
                       np.linspace(0, 1, width, dtype=np.float32), indexing="ij")
    return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=-1)


def quadratic_surface(coefficients: np.ndarray, height: int, width: int) -> np.ndarray:
    """quadratic_terms(height, width) @ coefficients, without making the six terms'
    pictures: at 256 px, 0.06 ms instead of 1.6."""
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, width, dtype=np.float32)
    one, by_x, by_y, by_xx, by_xy, by_yy = coefficients
    return (one + by_x * x + by_xx * x * x) + y * (by_y + by_xy * x + by_yy * y)


def otsu_threshold(values: np.ndarray) -> float:
    """Otsu's threshold on [0, 1] values: the level that best splits ink from paper.

    A few lines of numpy, so the serve image does not need scikit-image for it.
    """
    counts = np.bincount(np.clip(values * 256, 0, 255).astype(np.intp).ravel(), minlength=256)
    centres = (np.arange(256) + 0.5) / 256
    weight_low = np.cumsum(counts)
    weight_high = weight_low[-1] - weight_low
    mass_low = np.cumsum(counts * centres)
    mean_low = mass_low / np.maximum(weight_low, 1)
    mean_high = (mass_low[-1] - mass_low) / np.maximum(weight_high, 1)
    between_variance = weight_low * weight_high * (mean_low - mean_high) ** 2
    return float(centres[np.argmax(between_variance)])


def clear_ink(ink: np.ndarray) -> np.ndarray:
    """The ink once paper grain below Otsu's level, the printed lines of ruled or
    squared paper, a photo's specks, and faint marks joined to no strong ink are
    cleared: what is left was drawn."""
    threshold = otsu_threshold(ink)
    cleared = without_rulings(ink, threshold / 4)
    floor = (threshold if cleared is ink else otsu_threshold(cleared)) / 2  # again, once rulings were looked for
    ink = cleared
    ink = np.clip((ink - floor) / (1 - floor), 0, 1)
    if min(ink.shape) >= 64:  # specks of a photo's noise; too coarse a filter for a small image
        ink = ink * without_specks(ink > 0)
    return ink * joined_to_strong_ink(ink)


def joined_to_strong_ink(ink: np.ndarray) -> np.ndarray:
    """Where `ink` is joined through ink to ink of STRONG_INK or more (hysteresis, as
    Canny's edge detector keeps faint edges).

    What a shadow's edge or the paper's shading leaves above Otsu's level is faint
    and lies apart from the strokes; it would widen the ink's box, and a number's
    line. A stroke's own faint parts (a pen running dry, a light touch) are joined
    to its strong ones and stay. Each pass keeps the runs of ink along the rows,
    then the columns, that hold kept ink, so two passes follow a stroke round
    three bends; more passes kept no more of a stroke fading to a fifth of its ink.
    """
    inked, kept = ink > 0, ink >= STRONG_INK
    for _ in range(2):
        kept = runs_holding(runs_holding(kept, inked, axis=1), inked, axis=0)
    return kept


def runs_holding(kept: np.ndarray, inked: np.ndarray, axis: int) -> np.ndarray:
    """The runs of `inked` along `axis` that hold a pixel of `kept`, whole.

    Only the inked pixels are numbered by run, in the order they lie along `axis`:
    ink is seldom more than a fifth of a picture, so this takes half the time that
    numbering every pixel took on a number's picture (and 1.6 times as long on one
    all ink).
    """
    along = np.moveaxis(inked, axis, -1)
    at = np.flatnonzero(along)  # the inked pixels, row by row along the axis
    starts = np.ones(at.size, dtype=bool)
    starts[1:] = (np.diff(at) != 1) | (at[1:] % along.shape[-1] == 0)  # a gap before it, or a new row
    run = np.cumsum(starts) - 1
    holding = np.zeros(starts.sum(), dtype=bool)
    holding[run[np.moveaxis(kept, axis, -1).ravel()[at]]] = True
    held = np.zeros(along.size, dtype=bool)
    held[at] = holding[run]
    return np.moveaxis(held.reshape(along.shape), -1, axis)


def without_rulings(ink: np.ndarray, trace: float) -> np.ndarray:
    """`ink` without the lines printed on ruled or squared paper: straight, within
    5 degrees of level or upright, inked along most of their length across the
    picture, thin, fainter than the pen, and with paper either side of them.

    Left in, a photo's rulings are ink to every later step, and the digit becomes a
    speck in a crop of the whole page. They are looked for among the pixels inked
    over `trace`, which is low enough that a faint ruling is still a line. A pen's
    stroke is not a ruling, however long and straight: it is as dark as the pen,
    and its faint edge has the stroke beside it. Where a stroke crosses a ruling,
    only the pixels nearer the ruling's level than the pen's go.
    """
    if not (border(ink) > trace).any():
        return ink  # a ruling crosses the picture: a drawing clear of its edges has none
    ink = ink.copy()
    for view in (ink, ink.T):  # level lines, then upright ones (the transposed view writes to ink too)
        ys, xs = np.nonzero(view > trace)
        values = view[ys, xs]
        if len(xs) >= RULING_SPAN * view.shape[1]:
            for on_it, level in level_rulings(view.shape, ys, xs, values):
                faint = on_it & (values < (level + 1) / 2)  # nearer the ruling's level than the pen's
                view[ys[faint], xs[faint]] = 0
    return ink


def level_rulings(shape: tuple[int, int], ys: np.ndarray, xs: np.ndarray,
                  values: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """The rulings running across a picture of `shape` through its inked pixels (ys, xs)
    of ink `values`: for each, which of those pixels lie on it or its blurred edges,
    and how dark it is.

    A page's lines are parallel, so all are looked for at the one slope along which
    a sample of the ink lines up best. Along it, the picture is a stack of rows, each
    holding at most one pixel of each column; a ruling is a band of consecutive rows
    inked over RULING_SPAN of their length within the picture.
    """
    height, width = shape
    climb = int(np.ceil(width * np.abs(RULING_SLOPES).max()))
    first = -climb - RULING_EDGE - 1  # the first row (its height at x = 0), with rows of paper above and below
    rows_count = height + 2 * climb + 2 * RULING_EDGE + 2
    sample = slice(None, None, max(1, len(xs) // RULING_SAMPLE))
    sampled_rows = np.round(ys[sample] - xs[sample] * RULING_SLOPES[:, None]).astype(np.intp) - first
    sampled_rows += np.arange(len(RULING_SLOPES))[:, None] * rows_count  # one bincount for all slopes
    slope = RULING_SLOPES[np.bincount(sampled_rows.ravel()).argmax() // rows_count]
    rows = np.round(ys - xs * slope).astype(np.intp) - first
    lengths = length_in_picture(np.arange(rows_count) + first, slope, height, width)
    inked = (np.bincount(rows, minlength=rows_count) >= RULING_SPAN * lengths) & (lengths >= RULING_SHORTEST * width)
    found = []
    for band in np.split(np.flatnonzero(inked), np.flatnonzero(np.diff(np.flatnonzero(inked)) > 1) + 1):
        if band.size == 0 or band.size > max(2, RULING_WIDTH * width):
            continue  # no line, or a band as wide as a pen's stroke
        in_band = (rows >= band[0]) & (rows <= band[-1])
        darkest = np.zeros(width, dtype=values.dtype)  # across the band, column by column
        np.maximum.at(darkest, xs[in_band], values[in_band])
        beside = np.zeros(width, dtype=bool)
        beside[xs[(rows == band[0] - RULING_EDGE - 1) | (rows == band[-1] + RULING_EDGE + 1)]] = True
        alone = (darkest > 0) & (darkest < RULING_INK) & ~beside  # a faint line, paper either side
        if alone.sum() >= RULING_ALONE * lengths[band].max():
            on_it = (rows >= band[0] - RULING_EDGE) & (rows <= band[-1] + RULING_EDGE)
            found.append((on_it, np.median(darkest[alone])))
    return found


def length_in_picture(starts: np.ndarray, slope: float, height: int, width: int) -> np.ndarray:
    """How many columns of a `height` x `width` picture each line of `slope` crosses,
    starting at the heights `starts` at x = 0."""
    if slope == 0:
        return np.where((starts >= 0) & (starts < height), width, 0)
    bounds = (-0.5 - starts) / slope, (height - 0.5 - starts) / slope  # where it crosses the top and the bottom
    enter, leave = bounds if slope > 0 else bounds[::-1]
    first, last = np.ceil(np.maximum(enter, 0)), np.floor(np.minimum(leave, width - 1))
    return np.maximum(last - first + 1, 0).astype(np.intp)


def without_specks(mask: np.ndarray) -> np.ndarray:
    """A 3x3 median of a binary mask: a pixel stays ink if 5 of the 9 around it are.

    Isolated specks go, strokes 2 px wide or more stay. Counting neighbours in numpy
    is five times quicker here than Pillow's general rank filter.
    """
    height, width = mask.shape
    padded = np.pad(mask, 1).astype(np.uint8)
    neighbours = sum(padded[dy:dy + height, dx:dx + width] for dy in range(3) for dx in range(3))
    return neighbours >= 5


def to_mnist(image: Image.Image) -> np.ndarray:
    """float32 (28, 28) in [0, 1], white on black: what the model expects."""
    return from_ink(closer_look(image, ink_of(image)))


def ink_of(image: Image.Image, side: int = WORK_SIDE) -> np.ndarray:
    """A decoded picture's ink, found in it reduced to `side`, and cleared."""
    return clear_ink(ink_intensity(grey_levels(image, side)))


def closer_look(image: Image.Image, ink: np.ndarray) -> np.ndarray:
    """`ink`, or, where it is small in a larger picture, the ink of the picture's own
    pixels around it.

    A digit written small on a whole page is a few px tall once the page is reduced
    to WORK_SIDE: too coarse to read. Its box, widened by its own size on each side
    so that paper surrounds it, is cut from the decoded picture and read again.
    """
    around = around_small_ink(image, ink, lambda box: max(box[2:]), SMALL_INK)
    return ink if around is None else ink_of(image.crop(around))


def around_small_ink(image: Image.Image, ink: np.ndarray, size: Callable[[tuple[int, int, int, int]], int],
                     small: int) -> tuple[int, int, int, int] | None:
    """The region of the decoded `image` (left, top, right, bottom, for Image.crop)
    around `ink`, read from it reduced, where the strong ink's box is under `small` px
    by `size` (a function of the box x, y, w, h) and the picture at least twice as
    large: the box widened by that size on each side. None where there is no ink,
    under twice the detail to gain, or ink large enough."""
    box = strong_box(ink)
    scale = max(image.size) / max(ink.shape)  # the decoded picture's px in one of ink's
    if box is None or scale < 2 or size(box) >= small:
        return None
    return widened(box, size(box), scale, image.size)


def strong_box(ink: np.ndarray) -> tuple[int, int, int, int] | None:
    """The box (x, y, w, h) of the ink at STRONG_INK or more, None if there is none.

    Not all the ink's: a digit written small on a page is a few dozen of the page's
    tens of thousands of pixels, too few for Otsu's threshold to set it apart, which
    then splits the paper's own noise and leaves specks all over the page as faint ink.
    """
    strong = ink >= STRONG_INK
    rows, cols = np.flatnonzero(strong.any(axis=1)), np.flatnonzero(strong.any(axis=0))
    if rows.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


def widened(box: tuple[int, int, int, int], by: int, scale: float, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """`box` (x, y, w, h) widened by `by` on each side, in the pixels of a picture
    `scale` times as large and `size` (width, height), within it: for Image.crop."""
    x, y, w, h = box
    left, top = (max(round((start - by) * scale), 0) for start in (x, y))
    right, bottom = (min(round((start + length + by) * scale), most) for start, length, most in zip((x, y), (w, h), size))
    return left, top, right, bottom


def from_ink(ink: np.ndarray) -> np.ndarray:
    """The model's input from clean ink: a picture's once cleared, or drawn strokes."""
    if not ink.any():
        raise EmptyDrawing("The drawing is empty: no ink was found.")
    return pen.field(ink)


def from_bytes(data: bytes) -> np.ndarray:
    """The whole path from an uploaded file's bytes to the model's input."""
    with decode(data) as image:
        return to_mnist(image)


def to_png(field: np.ndarray) -> bytes:
    """The 28x28 model input as an 8-bit PNG, to show people what the model saw."""
    buffer = io.BytesIO()
    Image.fromarray((field * 255).round().astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()
